"""Small text helpers for titles, URLs and previews."""
