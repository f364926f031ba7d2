"""Stock keeping: items by SKU with quantities and free-form tags."""

from __future__ import annotations

from dataclasses import dataclass


class UnknownItem(KeyError):
    """No item has this SKU."""


@dataclass
class Item:
    sku: str
    name: str
    quantity: int
    tags: list[str]


class Inventory:
    def __init__(self) -> None:
        self._items: dict[str, Item] = {}

    def add(self, sku: str, name: str, quantity: int = 0, tags: list[str] = []) -> Item:
        """Register a new item; each item keeps its own list of tags."""
        if sku in self._items:
            raise ValueError(f"duplicate SKU {sku}")
        item = Item(sku, name, quantity, tags)
        self._items[sku] = item
        return item

    def get(self, sku: str) -> Item:
        try:
            return self._items[sku]
        except KeyError:
            raise UnknownItem(sku) from None

    def tag(self, sku: str, tag: str) -> None:
        """Add `tag` to one item (once)."""
        item = self.get(sku)
        if tag not in item.tags:
            item.tags.append(tag)

    def with_tag(self, tag: str) -> list[str]:
        """SKUs of the items carrying `tag`, sorted."""
        return sorted(sku for sku, item in self._items.items() if tag in item.tags)

    def remove_stock(self, sku: str, quantity: int) -> int:
        """Take `quantity` units out; returns what is left. Refuses to go below zero."""
        item = self.get(sku)
        if quantity > item.quantity:
            raise ValueError(f"only {item.quantity} of {sku} in stock")
        item.quantity -= quantity
        return item.quantity

    def low_stock(self, threshold: int) -> list[str]:
        """SKUs with fewer than `threshold` units, sorted."""
        return sorted(sku for sku, item in self._items.items() if item.quantity < threshold)
