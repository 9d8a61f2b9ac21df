"""Panther's detection helper package; only the caching module exists, as stubs."""
