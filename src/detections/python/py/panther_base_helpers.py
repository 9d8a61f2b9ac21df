"""The commonly imported helpers of Panther's global panther_base_helpers module (panther-analysis global_helpers)."""

import base64
import binascii
import fnmatch
import re
from collections.abc import Mapping
from functools import reduce
from ipaddress import ip_address, ip_network

from panther_event import deep_walk  # noqa: F401  (re-exported: rules import it from here)


def deep_get(dictionary, *keys, default=None):
    """Safely return a nested value; does not index lists; a None result becomes the default."""
    out = reduce(lambda d, key: d.get(key, default) if isinstance(d, Mapping) else default, keys, dictionary)
    return default if out is None else out


def is_ip_in_network(ip_addr, networks):
    """True if ip_addr is in any of the CIDR networks."""
    for network in networks:
        if ip_address(ip_addr) in ip_network(network):
            return True
    return False


def pattern_match(string_to_match, pattern):
    return fnmatch.fnmatch(string_to_match, pattern)


def pattern_match_list(string_to_match, patterns):
    return any(fnmatch.fnmatch(string_to_match, p) for p in patterns)


def get_val_from_list(list_of_dicts, return_field_key, field_cmp_key, field_cmp_val):
    """The set of return_field_key values of the dicts whose field_cmp_key equals field_cmp_val."""
    values = set()
    for item in list_of_dicts:
        if item.get(field_cmp_key) == field_cmp_val:
            values.add(item.get(return_field_key))
    return values


def key_value_list_to_dict(list_objects, key, value):
    return {item[key]: item[value] for item in list_objects}


_BASE64_TEXT = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
_PLAIN_ID = re.compile(r"^[A-Za-z0-9]{32}$")


def is_base64(b64, min_length=28):
    """The decoded text when `b64` looks like deliberately base64-encoded text, else "" (Panther's semantics).

    Shorter than `min_length`, a 32-character alphanumeric id (a session or service id that happens to decode),
    or anything outside the base64 alphabet is not; the padding may be left out. The bytes are read as ASCII,
    then UTF-16-LE (PowerShell's -EncodedCommand), then UTF-8, and kept only as mostly printable ASCII text:
    random ids that decode to CJK or control characters are not encoded text.
    """
    if not isinstance(b64, str) or len(b64) < min_length or not b64.isascii():
        return ""
    if len(b64) == 32 and _PLAIN_ID.match(b64):
        return ""
    if not _BASE64_TEXT.match(b64):
        return ""
    try:
        raw = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True)
    except (binascii.Error, ValueError):
        return ""
    for encoding in ("ascii", "utf-16-le", "utf-8"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if text and (sum(c.isprintable() or c.isspace() for c in text) < 0.7 * len(text) or not text.isascii()):
            continue
        return text
    return ""


def listify(maybe_list):
    """`maybe_list` as a list: a string, bytes, a dict or a scalar becomes a list of it; other iterables stay."""
    if isinstance(maybe_list, (str, bytes, dict)):
        return [maybe_list]
    try:
        iter(maybe_list)
    except TypeError:
        return [maybe_list]
    return maybe_list


_EMAIL = re.compile(r"^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$")


def is_email(value):
    return isinstance(value, str) and bool(_EMAIL.match(value))
