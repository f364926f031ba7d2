"""Greenpatch: an execution-grounded team of coding agents behind the Language Server Protocol."""

__version__ = "0.1.0"
