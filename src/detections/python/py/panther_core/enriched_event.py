"""panther_core.enriched_event: the PantherEvent class."""

from panther_event import PantherEvent  # noqa: F401

__all__ = ["PantherEvent"]
