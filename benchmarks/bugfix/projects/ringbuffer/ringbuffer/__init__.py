"""A fixed-size buffer of recent metric samples."""
