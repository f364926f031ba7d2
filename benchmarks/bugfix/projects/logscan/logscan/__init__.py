"""Scan application log files for problems."""
