"""Semantic version strings: parsing, ordering and constraints."""
