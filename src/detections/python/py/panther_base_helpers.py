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


def is_base64(b64):
    if len(b64) < 12:
        return ""
    try:
        decoded = base64.b64decode(b64, validate=True)
        return decoded.decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ""


_EMAIL = re.compile(r"^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$")


def is_email(value):
    return isinstance(value, str) and bool(_EMAIL.match(value))
