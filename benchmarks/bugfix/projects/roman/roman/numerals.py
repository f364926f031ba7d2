"""Convert between integers (1-3999) and Roman numerals."""

from __future__ import annotations

import re

_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
_PAIRS = (
    (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
    (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
)  # fmt: skip
_VALID = re.compile(r"^M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$")


def to_roman(number: int) -> str:
    """1994 -> "MCMXCIV"."""
    if not 0 < number < 4000:
        raise ValueError(f"{number} cannot be written in Roman numerals")
    parts = []
    for value, letters in _PAIRS:
        count, number = divmod(number, value)
        parts.append(letters * count)
    return "".join(parts)


def from_roman(text: str) -> int:
    """ "MCMXCIV" -> 1994. A letter before a larger one is subtracted."""
    text = text.strip().upper()
    if not text or not _VALID.match(text):
        raise ValueError(f"not a Roman numeral: {text!r}")
    total = 0
    for i, letter in enumerate(text):
        value = _VALUES[letter]
        if i + 1 < len(text) and _VALUES[text[i + 1]] >= value:
            total -= value
        else:
            total += value
    return total
