"""Parse and build URL query strings."""
