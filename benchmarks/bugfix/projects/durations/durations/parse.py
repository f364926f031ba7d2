"""Durations written the way people type them: "45s", "2m", "1h30m", "1d4h"."""

from __future__ import annotations

import re

# Seconds in one of each unit.
_UNITS = {"d": 86400, "h": 60, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)([dhms])")


def parse_duration(text: str) -> int:
    """Return the number of seconds in `text`, e.g. "1h30m" -> 5400.

    Units are d, h, m and s, largest first; spaces around the text are ignored.
    Raises ValueError for anything else.
    """
    text = text.strip().lower()
    if not text:
        raise ValueError("empty duration")
    total = 0
    position = 0
    for match in _PART.finditer(text):
        if match.start() != position:
            raise ValueError(f"bad duration: {text!r}")
        total += int(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(text):
        raise ValueError(f"bad duration: {text!r}")
    return total


def format_duration(seconds: int) -> str:
    """The shortest text `parse_duration` reads back as `seconds`, e.g. 3725 -> "1h2m5s"."""
    if seconds < 0:
        raise ValueError("negative duration")
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
