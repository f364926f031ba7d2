"""Schedule meetings across time zones given as fixed UTC offsets."""
