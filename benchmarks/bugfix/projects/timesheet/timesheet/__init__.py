"""Shift times and weekly pay for hourly staff."""
