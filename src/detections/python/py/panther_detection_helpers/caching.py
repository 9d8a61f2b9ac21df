"""Stubs for panther_detection_helpers.caching (DynamoDB-backed in Panther).

Vigil has no shared cache yet, so these raise; rule tests must mock them, exactly as `pat test` requires.
"""


class CachingUnavailableError(RuntimeError):
    pass


def _unavailable(name):
    def stub(*_args, **_kwargs):
        raise CachingUnavailableError(f"panther_detection_helpers.caching.{name} is not available in Vigil; mock it")

    stub.__name__ = name
    return stub


get_string_set = _unavailable("get_string_set")
put_string_set = _unavailable("put_string_set")
add_to_string_set = _unavailable("add_to_string_set")
remove_from_string_set = _unavailable("remove_from_string_set")
reset_string_set = _unavailable("reset_string_set")
get_counter = _unavailable("get_counter")
increment_counter = _unavailable("increment_counter")
reset_counter = _unavailable("reset_counter")
set_key_expiration = _unavailable("set_key_expiration")
get_dictionary = _unavailable("get_dictionary")
put_dictionary = _unavailable("put_dictionary")
