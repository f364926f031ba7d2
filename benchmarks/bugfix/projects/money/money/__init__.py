"""Exact money amounts stored as integer cents."""
