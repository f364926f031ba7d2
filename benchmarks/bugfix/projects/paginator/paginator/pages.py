"""Pagination of an in-memory result list, as a web listing would show it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


class PageNotFound(LookupError):
    """The requested page number is outside the listing."""


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    number: int
    total_pages: int

    @property
    def has_next(self) -> bool:
        return self.number < self.total_pages

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def page_count(total_items: int, per_page: int) -> int:
    """How many pages `total_items` fill; an empty listing still has one (empty) page."""
    if per_page < 1:
        raise ValueError("per_page must be at least 1")
    return max(1, total_items // per_page)


def paginate(items: Sequence[T], page: int, per_page: int = 10) -> Page[T]:
    """Page number `page` (1-based) of `items`."""
    total_pages = page_count(len(items), per_page)
    if not 1 <= page <= total_pages:
        raise PageNotFound(f"page {page} of {total_pages}")
    start = (page - 1) * per_page
    return Page(items[start : start + per_page], page, total_pages)


def page_links(current: int, total_pages: int, width: int = 2) -> list[int]:
    """Page numbers to show around `current`: up to `width` on each side."""
    low = max(1, current - width)
    high = min(total_pages, current + width)
    return list(range(low, high + 1))
