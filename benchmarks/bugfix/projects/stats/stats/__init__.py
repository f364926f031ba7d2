"""Descriptive statistics for response-time samples."""
