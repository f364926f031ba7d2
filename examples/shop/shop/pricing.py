"""Prices for a small shop."""


def apply_discount(price: float, percent: float) -> float:
    """Return the price after taking `percent` percent off, rounded to cents.

    >>> apply_discount(80.0, 25)
    60.0
    """
    if not 0 <= percent <= 100:
        raise ValueError(f"percent must be between 0 and 100, not {percent}")
    return round(price * percent / 100, 2)


def total(prices: list[float]) -> float:
    """The sum of the prices, rounded to cents."""
    return round(sum(prices), 2)
