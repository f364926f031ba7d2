"""Hours worked from clock-in/clock-out times, and weekly pay with overtime."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

REGULAR_HOURS_PER_WEEK = 40


def shift_hours(clock_in: str, clock_out: str) -> float:
    """Hours between two "HH:MM" times; a shift that ends before it starts ran past midnight
    ("22:00" to "06:00" is 8 hours)."""
    start = datetime.strptime(clock_in, "%H:%M")
    end = datetime.strptime(clock_out, "%H:%M")
    return (end - start) / timedelta(hours=1)


@dataclass(frozen=True)
class Shift:
    clock_in: str
    clock_out: str
    unpaid_break_minutes: int = 0

    @property
    def hours(self) -> float:
        return shift_hours(self.clock_in, self.clock_out) - self.unpaid_break_minutes / 60


def weekly_pay(shifts: list[Shift], hourly_rate: float, overtime_multiplier: float = 1.0) -> float:
    """Pay for a week: hours above 40 are paid at time and a half unless told otherwise."""
    hours = sum(shift.hours for shift in shifts)
    regular = min(hours, REGULAR_HOURS_PER_WEEK)
    overtime = hours - regular
    return round(regular * hourly_rate + overtime * hourly_rate * overtime_multiplier, 2)
