"""Session tokens with expiry, for a small web service."""
