"""Typed application settings read from environment variables."""
