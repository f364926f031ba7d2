"""Render sales figures as aligned plain-text tables for e-mail reports."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Sale:
    region: str
    amount: float


def format_money(amount: float, currency: str = "EUR") -> str:
    """Thousands separated by commas, always two decimals: 1234.5 -> "1,234.50 EUR"."""
    return f"{amount:,.2} {currency}"


def totals_by_region(sales: Iterable[Sale]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for sale in sales:
        totals[sale.region] = totals.get(sale.region, 0.0) + sale.amount
    return totals


def render_table(rows: list[tuple[str, str]]) -> str:
    """Two columns: the first left-aligned, the second right-aligned, one space apart."""
    if not rows:
        return ""
    left = max(len(a) for a, _ in rows)
    right = max(len(b) for _, b in rows)
    return "\n".join(f"{a:<{left}} {b:>{right}}" for a, b in rows)


def sales_report(sales: list[Sale], currency: str = "EUR") -> str:
    """Regions by name with their totals, then a TOTAL line."""
    totals = totals_by_region(sales)
    rows = [(region, format_money(totals[region], currency)) for region in sorted(totals)]
    rows.append(("TOTAL", format_money(sum(totals.values()), currency)))
    return render_table(rows)
