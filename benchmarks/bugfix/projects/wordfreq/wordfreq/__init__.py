"""Word frequencies of a text."""
