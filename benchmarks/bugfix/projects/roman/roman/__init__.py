"""Roman numerals for chapter and year numbering."""
