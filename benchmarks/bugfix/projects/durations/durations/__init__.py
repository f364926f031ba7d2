"""Parse and format human-friendly durations."""
