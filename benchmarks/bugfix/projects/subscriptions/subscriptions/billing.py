"""Billing dates of monthly and yearly subscriptions."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier, if negative).

    When the target month is shorter, the result is its last day: Jan 31 + 1 month is
    Feb 28 (Feb 29 in a leap year).
    """
    index = day.month - 1 + months
    year = day.year + index // 12
    month = index % 12 + 1
    return day.replace(year=year, month=month)


def days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


@dataclass(frozen=True)
class Subscription:
    customer: str
    start: date
    months_per_period: int = 1
    price_cents: int = 0

    def billing_date(self, period: int) -> date:
        """Date of the `period`-th bill; period 0 is the start date."""
        if period < 0:
            raise ValueError("period must not be negative")
        return add_months(self.start, period * self.months_per_period)

    def billing_dates(self, count: int) -> list[date]:
        return [self.billing_date(period) for period in range(count)]

    def billed_between(self, first: date, last: date) -> int:
        """Total price of the bills dated from `first` to `last`, both included."""
        total = 0
        period = 0
        while (when := self.billing_date(period)) <= last:
            if when >= first:
                total += self.price_cents
            period += 1
        return total
