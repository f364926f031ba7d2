"""Per-client request rate limiting."""
