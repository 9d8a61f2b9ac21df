"""Panther's panther_core API as rules import it: `from panther_core import PantherEvent`, backed by Vigil's event."""

from panther_event import PantherError, PantherEvent  # noqa: F401

__all__ = ["PantherEvent", "PantherError"]
