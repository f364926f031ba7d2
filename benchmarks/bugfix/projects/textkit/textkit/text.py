"""Helpers for turning titles into URL slugs and long text into previews."""

from __future__ import annotations

import re
import unicodedata

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify(title: str, max_length: int = 50) -> str:
    """A lowercase ASCII slug of `title`: words joined by single dashes.

    Accents are dropped ("Crème" -> "creme"). The slug is at most `max_length` characters
    and never starts or ends with a dash, even after it was cut short.
    """
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = _NOT_ALNUM.sub("-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length]
    return slug


def truncate_words(text: str, max_words: int, ellipsis: str = "…") -> str:
    """The first `max_words` words of `text`, with `ellipsis` appended if any were dropped."""
    words = text.split()
    if len(words) <= max_words:
        return " ".join(words)
    return " ".join(words[:max_words]) + ellipsis


def initials(name: str) -> str:
    """Upper-case initials of a person's name: "ada lovelace" -> "AL"."""
    return "".join(part[0].upper() for part in name.split() if part)
