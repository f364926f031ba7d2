"""A least-recently-used cache for expensive lookups."""
