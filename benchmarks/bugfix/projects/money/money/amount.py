"""Money as an integer number of cents, so that sums never drift like floats do."""

from __future__ import annotations

import re
from dataclasses import dataclass

_AMOUNT = re.compile(r"^(-?)(\d+)(?:\.(\d{1,2}))?$")


@dataclass(frozen=True, order=True)
class Money:
    cents: int

    @classmethod
    def parse(cls, text: str) -> Money:
        """Read "12", "12.5", "12.05" or "-3.10" (at most two decimals)."""
        match = _AMOUNT.match(text.strip())
        if not match:
            raise ValueError(f"not an amount: {text!r}")
        sign, whole, fraction = match.groups()
        cents = int(whole) * 100 + int(fraction or "0")
        return cls(-cents if sign else cents)

    def __str__(self) -> str:
        """Always two decimals: Money(1205) -> "12.05", Money(-50) -> "-0.50"."""
        sign = "-" if self.cents < 0 else ""
        whole, fraction = divmod(abs(self.cents), 100)
        return f"{sign}{whole}.{fraction}"

    def __add__(self, other: Money) -> Money:
        return Money(self.cents + other.cents)

    def __sub__(self, other: Money) -> Money:
        return Money(self.cents - other.cents)

    def split(self, parts: int) -> list[Money]:
        """Share the amount in `parts` nearly equal amounts that add up exactly.

        The first shares get the leftover cents: 10.00 in 3 is 3.34, 3.33, 3.33.
        """
        if parts < 1:
            raise ValueError("parts must be at least 1")
        share, leftover = divmod(self.cents, parts)
        return [Money(share + (1 if i < leftover else 0)) for i in range(parts)]
