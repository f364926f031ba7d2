"""An invoice is a list of line items priced in cents, plus a tax rate."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LineItem:
    description: str
    quantity: int
    unit_price_cents: int

    @property
    def total_cents(self) -> int:
        return self.quantity * self.unit_price_cents


@dataclass
class Invoice:
    number: str
    tax_rate: float = 0.0
    items: list[LineItem] = field(default_factory=list)

    def add(self, description: str, quantity: int, unit_price_cents: int) -> LineItem:
        """Add a line and return it; quantities and prices must not be negative."""
        if quantity < 0 or unit_price_cents < 0:
            raise ValueError("quantity and price must not be negative")
        item = LineItem(description, quantity, unit_price_cents)
        self.items.append(item)
        return item

    def subtotal_cents(self) -> int:
        return sum(item.total_cents for item in self.items)

    def tax_cents(self) -> int:
        return round(self.subtotal_cents() * self.tax_rate)

    def total_cents(self) -> int:
        return self.subtotal_cents() + self.tax_cents()

    def average_unit_price(self) -> float:
        """The mean price of one unit across all lines, in currency units (not cents).

        Three units at 1.99 and one at 1.00 average 1.7425. An empty invoice averages 0.0.
        """
        quantity = sum(item.quantity for item in self.items)
        if quantity == 0:
            return 0.0
        return self.subtotal_cents() // quantity / 100

    def largest_item(self) -> LineItem | None:
        """The line with the highest total, or None when there are no lines."""
        return max(self.items, key=lambda item: item.total_cents, default=None)
