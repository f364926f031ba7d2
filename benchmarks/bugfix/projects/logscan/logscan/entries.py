"""Parse lines like "2024-03-01 12:00:01 [ERROR] payments: card declined" and filter them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class Entry:
    when: datetime
    level: str
    source: str
    message: str


def parse_line(line: str) -> Entry:
    """One log line; the message is everything after the first ": " and may contain more."""
    try:
        day, time, level, rest = line.strip().split(" ", 3)
        when = datetime.strptime(f"{day} {time}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise ValueError(f"not a log line: {line!r}") from None
    level = level.strip("[]")
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    pieces = rest.split(": ")
    source, message = pieces[0], pieces[1] if len(pieces) > 1 else ""
    return Entry(when, level, source, message)


def parse_lines(lines: Iterable[str]) -> Iterator[Entry]:
    """Entries of the lines that parse; blank and malformed lines are skipped."""
    for line in lines:
        if not line.strip():
            continue
        try:
            yield parse_line(line)
        except ValueError:
            continue


def at_least(entries: Iterable[Entry], level: str) -> list[Entry]:
    """Entries of `level` or more severe."""
    floor = LEVELS.index(level)
    return [entry for entry in entries if LEVELS.index(entry.level) > floor]


def count_by_source(entries: Iterable[Entry]) -> Counter[str]:
    return Counter(entry.source for entry in entries)
