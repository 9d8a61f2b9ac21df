"""panther_core.exceptions: the errors panther_core raises."""

from panther_event import PantherError  # noqa: F401

__all__ = ["PantherError"]
