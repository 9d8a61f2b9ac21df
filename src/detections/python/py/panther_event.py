"""PantherEvent: Panther's immutable, case-insensitive event object (panther_core immutable.py / enriched_event.py).

Rules written for Panther depend on these exact semantics: exact key first, then the first case-insensitive match
in insertion order; nested dicts and lists are wrapped on access; deep_get does not index lists; deep_walk does.
"""

import copy
import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from functools import reduce

import vigil_repository
from vigil_jsonpath import jsonpath_find


def _wrap(value):
    if isinstance(value, dict):
        return ImmutableCaseInsensitiveDict(value)
    if isinstance(value, list):
        return ImmutableList(value)
    return value


class ImmutableList(Sequence):
    """A read-only list backed by a tuple; compares equal to a list/tuple with the same contents."""

    __slots__ = ("_container",)

    def __init__(self, data):
        self._container = tuple(data)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ImmutableList(self._container[index])
        return _wrap(self._container[index])

    def __len__(self):
        return len(self._container)

    def __eq__(self, other):
        if isinstance(other, ImmutableList):
            return self._container == other._container
        if isinstance(other, (list, tuple)):
            return list(self._container) == list(other)
        return NotImplemented

    __hash__ = None

    def __repr__(self):
        return f"ImmutableList({list(self._container)!r})"

    def as_list(self):
        return copy.deepcopy(list(self._container))

    copy = as_list


class ImmutableCaseInsensitiveDict(Mapping):
    """Read-only mapping; lookups try the exact key, then the first case-insensitive match in insertion order."""

    __slots__ = ("_container", "_ci_keys")

    def __init__(self, data):
        self._container = data
        self._ci_keys = None

    def __getitem__(self, item):
        container = self._container
        if item in container:
            return _wrap(container[item])
        if not container or not isinstance(item, str):
            raise KeyError(item)
        if self._ci_keys is None:
            keys = {}
            for key in container:
                if isinstance(key, str):
                    keys.setdefault(key.lower(), key)  # first key in insertion order wins a collision
            self._ci_keys = keys
        original = self._ci_keys.get(item.lower())
        if original is None:
            raise KeyError(item)
        return _wrap(container[original])

    def __contains__(self, item):
        try:
            self[item]
        except KeyError:
            return False
        return True

    def __iter__(self):
        return iter(self._container)

    def __len__(self):
        return len(self._container)

    def __repr__(self):
        return f"{type(self).__name__}({self._container!r})"

    def to_dict(self):
        return copy.deepcopy(self._container)

    copy = to_dict


class PantherError(Exception):
    """panther_core's PantherError: udm_path() on an event whose log type has no data model."""


class PantherEvent(ImmutableCaseInsensitiveDict):
    __slots__ = ("data_model",)

    def __init__(self, data, data_model=None):
        super().__init__(data)
        # A vigil_repository.DataModel, or the wire form {"id", "mappings", "module"?, "values"?} (as rules tests
        # and callers pass it); None: no data model for this log type
        if data_model is not None and not isinstance(data_model, vigil_repository.DataModel):
            data_model = vigil_repository.from_wire(data_model)
        self.data_model = data_model

    def deep_get(self, *keys, default=None):
        out = reduce(lambda d, key: d.get(key, default) if isinstance(d, Mapping) else default, keys, self)
        return default if out is None else out

    def deep_walk(self, *keys, default=None, return_val="all"):
        out = deep_walk(self, *keys, default=default, return_val=return_val)
        # panther_core hands back a list where the walk ends on one: a plain list (elements stay read-only)
        return list(out) if isinstance(out, ImmutableList) else out

    def _mapped(self, name):
        """(found, value) for a data-model mapping; raises as Panther does on a JSONPath with several matches."""
        model = self.data_model
        kind, target = model.mappings[name]
        if model.values is not None and name in model.values:
            computed = model.values[name]
            if "error" in computed:
                raise Exception(computed["error"])
            return computed.get("value")
        if kind == "method":
            fn = getattr(model.module, target, None) if model.module is not None else None
            if not callable(fn):
                raise AttributeError(f"data model [{model.id}] has no method [{target}]")
            return fn(self)
        matches = jsonpath_find(target, self._container)
        if len(matches) > 1:
            raise Exception(f"JSONPath [{target}] in DataModel [{model.id}], matched multiple fields.")
        return matches[0] if matches else None

    def udm(self, *key, default=None):
        model = self.data_model
        if len(key) == 1 and model is not None and key[0] in model.mappings:
            value = self._mapped(key[0])
            return default if value is None else _wrap(value)
        # No mapping: the normalized p_udm field first, then the raw path; the first truthy value wins
        return self.deep_get("p_udm", *key) or self.deep_get(*key) or default

    def udm_path(self, key):
        """The mapping behind a udm name: its JSONPath or its method's name (None when unmapped)."""
        model = self.data_model
        if model is None:
            raise PantherError("a data model hasn't been specified for log type: " + str(self.get("p_log_type")))
        mapping = model.mappings.get(key)
        return None if mapping is None else mapping[1]

    def event_time_epoch(self, force_utc=True):
        from datetime import timezone

        from dateutil import parser as _parser

        try:
            stamp = _parser.parse(str(self.get("p_event_time")))
        except (ValueError, OverflowError, TypeError):
            return 0
        if force_utc or stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
        return int(stamp.timestamp())

    def lookup(self, table, key):
        """In tests Panther reads mocked lookup data from the event (`_mocked_lookup_data_`)."""
        return self.deep_get("_mocked_lookup_data_", table, key)

    @staticmethod
    def json_encoder(obj):
        if isinstance(obj, ImmutableCaseInsensitiveDict):
            return obj._container
        if isinstance(obj, ImmutableList):
            return list(obj._container)
        if isinstance(obj, (set, frozenset)):
            return list(obj)
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    def to_json(self):
        return json.dumps(self._container)


def _is_list(obj):
    return isinstance(obj, Sequence) and not isinstance(obj, (str, bytes))


def _empty_list(obj):
    return all(_empty_list(item) for item in obj) if _is_list(obj) else False


def deep_walk(obj, *keys, default=None, return_val="all"):
    """panther_base_helpers.deep_walk: descends through lists, flattens and de-duplicates in first-seen order."""
    if not keys:
        return default if obj is None or _empty_list(obj) else obj
    current_key = keys[0]
    found = OrderedDict()
    if isinstance(obj, Mapping):
        next_value = obj.get(current_key, default)
        if next_value is None:
            return default
        return deep_walk(next_value, *keys[1:], default=default, return_val=return_val)
    if _is_list(obj):
        for item in obj:
            value = deep_walk(item, *keys, default=default, return_val=return_val)
            if value is not None:
                if _is_list(value):
                    for sub_item in value:
                        found[sub_item] = None
                else:
                    found[value] = None
    found_list = list(found.keys())
    if not found_list:
        return default
    # Panther quirk: an unknown return_val yields the literal string "all"
    return {
        "first": found_list[0],
        "last": found_list[-1],
        "all": found_list[0] if len(found_list) == 1 else found_list,
    }.get(return_val, "all")
