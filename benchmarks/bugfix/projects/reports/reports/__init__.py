"""Plain-text sales reports."""
