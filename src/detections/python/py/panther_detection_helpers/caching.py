"""panther_detection_helpers.caching on Vigil's rule state (DynamoDB-backed in Panther).

Same signatures, defaults and return values as Panther's module. A Panther key is one item holding a counter,
a string set and a dictionary with one expiry; here it is one rule-state entry: the counter, the members and
the value (the dictionary as JSON). The differences (see docs/rules.md):

- Keys are per (source, rule), not global: two rules (or two sources) never share a key.
- "Now" is the event's time, so a relative `epoch_seconds` (under 1e9, e.g. the 90-day default) counts from
  the event, and replays and backfills agree. An absolute epoch is used as given.
- Expiry is exact: an expired key reads as absent whether or not `force_ttl_check` is set.

Rule tests (`vigil rules test`) run each case on an empty state; a test's Mocks still replace these
functions in the rule module, as `pat test` does.
"""

import json
import math
from collections.abc import Mapping

import vigil_state as _state
from vigil_state import CachingUnavailableError  # noqa: F401  (re-exported)

_EPOCH_SECONDS_DELTA_DEFAULT = 90 * (60 * 60 * 24)  # 90 days


def _key(key):
    return key if isinstance(key, str) else str(key)


def _finalize_epoch_seconds(epoch_seconds):
    """Panther's rule: a str or float is truncated; anything else non-int means the default (90 days);
    under 1e9 means that many seconds from now. Now is the event's time."""
    if isinstance(epoch_seconds, str):
        epoch_seconds = float(epoch_seconds)
    if isinstance(epoch_seconds, float):
        epoch_seconds = int(epoch_seconds)
    if not isinstance(epoch_seconds, int) or isinstance(epoch_seconds, bool):
        epoch_seconds = _state.now() + _EPOCH_SECONDS_DELTA_DEFAULT
    if epoch_seconds < 1000000000:
        epoch_seconds = _state.now() + epoch_seconds
    return epoch_seconds


def _optional_expiry(epoch_seconds):
    """None: leave the key's expiry as it is."""
    return None if epoch_seconds is None else _finalize_epoch_seconds(epoch_seconds)


def _strings(val):
    items = {val} if isinstance(val, str) else set(val)
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"string sets hold strings, got {type(item).__name__}")
    return items


def _number(val):
    if isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(val):
        raise TypeError(f"a counter is incremented by a finite number, got {val!r}")
    return val


# ---- counters


def get_counter(key, force_ttl_check=False):
    """A counter's current value (0 if the key does not exist or expired)."""
    e = _state.read(_key(key))
    return 0 if e is None else e[1]


def increment_counter(key, val=1, epoch_seconds=_EPOCH_SECONDS_DELTA_DEFAULT):
    """Adds val to the counter (an expired key restarts from 0); returns the new value. epoch_seconds sets
    the key's expiry (default: 90 days after the event); None leaves it unchanged."""
    return _state.increment(_key(key), _number(val), _optional_expiry(epoch_seconds))


def reset_counter(key):
    """Resets the counter to 0; the key's string set, dictionary and expiry stay."""
    key = _key(key)
    e = _state.read(key)
    if e is not None and e[1] != 0:
        _state.increment(key, -e[1], None)


def set_key_expiration(key, epoch_seconds):
    """Sets the key's expiry (an epoch under 1e9 is relative to the event's time)."""
    _state.increment(_key(key), 0, _finalize_epoch_seconds(epoch_seconds))


def evaluate_threshold(key, threshold=10, expiry_seconds=3600):
    """Increments the counter; at or over the threshold, resets it and returns True."""
    if increment_counter(key, epoch_seconds=expiry_seconds) >= threshold:
        reset_counter(key)
        return True
    return False


# ---- string sets


def get_string_set(key, force_ttl_check=False):
    """The string set (empty if the key does not exist or expired)."""
    e = _state.read(_key(key))
    return set() if e is None else set(e[2])


def put_string_set(key, val, epoch_seconds=None):
    """Overwrites the key with this string set (its counter and dictionary are dropped, as Panther's put_item
    does); an empty val resets the set instead. Default expiry: 90 days after the event."""
    if not val:
        reset_string_set(key)
        return
    members = set(val)
    for m in members:
        if not isinstance(m, str):
            raise TypeError(f"string sets hold strings, got {type(m).__name__}")
    _state.replace(_key(key), None, 0, members, _finalize_epoch_seconds(epoch_seconds))


def add_to_string_set(key, val, epoch_seconds=_EPOCH_SECONDS_DELTA_DEFAULT):
    """Adds one string or several; returns the new set. epoch_seconds as for increment_counter."""
    key = _key(key)
    items = _strings(val)
    if not items:
        return get_string_set(key)
    expires_at = _optional_expiry(epoch_seconds)
    for m in sorted(items):
        _state.add_to_set(key, m, expires_at)
    return get_string_set(key)


def remove_from_string_set(key, val, epoch_seconds=_EPOCH_SECONDS_DELTA_DEFAULT):
    """Removes one string or several; returns the new set. A missing or expired key stays absent."""
    key = _key(key)
    items = _strings(val)
    e = _state.read(key)
    if not items or e is None:
        return set() if e is None else set(e[2])
    expires_at = _optional_expiry(epoch_seconds)
    remaining = set(e[2]) - items
    _state.replace(key, e[0], e[1], remaining, e[3] if expires_at is None else expires_at)
    return remaining


def reset_string_set(key):
    """Empties the string set; the key's counter, dictionary and expiry stay."""
    key = _key(key)
    e = _state.read(key)
    if e is not None and e[2]:
        _state.replace(key, e[0], e[1], (), e[3])


def check_account_age(key):
    """Whether a (non-empty string) key has a non-empty string set."""
    if isinstance(key, str) and key != "":
        return bool(get_string_set(key, force_ttl_check=True))
    return False


# ---- dictionaries


def put_dictionary(key, val, epoch_seconds=None):
    """Overwrites the key with this dictionary (JSON-serializable; its counter and string set are dropped, as
    Panther's put_item does). Default expiry: 90 days after the event."""
    if not isinstance(val, (dict, Mapping)):
        raise TypeError("panther_oss_helpers.put_dictionary: value is not a dictionary")
    try:
        data = json.dumps(val)
    except TypeError as exc:
        raise ValueError(
            "panther_oss_helpers.put_dictionary: value is a dictionary, but it is not JSON serializable"
        ) from exc
    _state.replace(_key(key), data, 0, (), _finalize_epoch_seconds(epoch_seconds))


def get_dictionary(key, force_ttl_check=False):
    """The dictionary ({} if the key has none, does not exist or expired)."""
    e = _state.read(_key(key))
    if e is None or not e[0]:
        return {}
    try:
        return json.loads(e[0])
    except json.decoder.JSONDecodeError as exc:
        raise ValueError(
            "panther_oss_helpers.get_dictionary: the stored value could not be decoded into JSON"
        ) from exc
