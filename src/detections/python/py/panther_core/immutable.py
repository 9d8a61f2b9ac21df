"""panther_core.immutable: the read-only containers events hand out."""

from panther_event import ImmutableCaseInsensitiveDict, ImmutableList  # noqa: F401

__all__ = ["ImmutableCaseInsensitiveDict", "ImmutableList"]
