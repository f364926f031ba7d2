"""Monthly subscriptions and their billing dates."""
