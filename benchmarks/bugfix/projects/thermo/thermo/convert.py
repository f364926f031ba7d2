"""Temperature conversions and daily summaries of station readings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def celsius_to_fahrenheit(celsius: float) -> float:
    return celsius * 9 / 5 + 32


def fahrenheit_to_celsius(fahrenheit: float) -> float:
    """212 °F -> 100 °C, 32 °F -> 0 °C."""
    return fahrenheit - 32 * 5 / 9


def kelvin_to_celsius(kelvin: float) -> float:
    if kelvin < 0:
        raise ValueError("below absolute zero")
    return kelvin - 273.15


_TO_CELSIUS = {"C": lambda t: t, "F": fahrenheit_to_celsius, "K": kelvin_to_celsius}


@dataclass(frozen=True)
class Reading:
    station: str
    value: float
    unit: str  # "C", "F" or "K"

    def celsius(self) -> float:
        try:
            convert = _TO_CELSIUS[self.unit]
        except KeyError:
            raise ValueError(f"unknown unit {self.unit!r}") from None
        return convert(self.value)


def daily_range(readings: Iterable[Reading]) -> tuple[float, float]:
    """(lowest, highest) in °C, rounded to one decimal, whatever units the stations use."""
    values = [reading.celsius() for reading in readings]
    if not values:
        raise ValueError("no readings")
    return round(min(values), 1), round(max(values), 1)
