"""A small warehouse inventory with tags."""
