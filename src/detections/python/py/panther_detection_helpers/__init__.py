"""Panther's detection helper package; only the caching module exists, backed by Vigil's rule state."""
