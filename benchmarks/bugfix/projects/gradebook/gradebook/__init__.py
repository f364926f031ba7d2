"""A teacher's gradebook: scores, averages, letter grades and rankings."""
