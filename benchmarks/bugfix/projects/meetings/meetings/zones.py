"""Wall-clock times at fixed UTC offsets ("+02:00", "-05:30") and meeting overlaps."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


def parse_offset(text: str) -> timedelta:
    """ "+05:30" -> 5 h 30 min; "-03:00" -> -3 h."""
    match = _OFFSET.match(text.strip())
    if not match:
        raise ValueError(f"bad UTC offset: {text!r}")
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return -delta if sign == "-" else delta


def to_utc(local: datetime, offset: str) -> datetime:
    """The UTC instant of the naive wall-clock time `local` in the zone at `offset`.

    9:00 at +02:00 is 7:00 UTC.
    """
    return (local + parse_offset(offset)).replace(tzinfo=timezone.utc)


def from_utc(instant: datetime, offset: str) -> datetime:
    """The naive wall-clock time at `offset` of the aware UTC `instant`."""
    return (instant.astimezone(timezone.utc) + parse_offset(offset)).replace(tzinfo=None)


@dataclass(frozen=True)
class Meeting:
    title: str
    start: datetime  # aware, UTC
    minutes: int

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)

    def overlaps(self, other: Meeting) -> bool:
        return self.start < other.end and other.start < self.end


def schedule(title: str, local: datetime, offset: str, minutes: int) -> Meeting:
    """A meeting booked by someone whose clock runs at `offset`."""
    return Meeting(title, to_utc(local, offset), minutes)
