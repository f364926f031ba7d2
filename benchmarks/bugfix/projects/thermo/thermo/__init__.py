"""Temperature readings from weather stations."""
