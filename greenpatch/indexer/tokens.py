"""Code-aware tokens for BM25: identifiers split on snake and camel case, paths split on
their separators, everything lower-cased, so `getHTTPResponse` matches "http response"."""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+")
# Boundaries inside an identifier: aB, ABc (acronym followed by a word), letter/digit.
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

# Words too common in prose and code to tell files apart; BM25's idf would shrink them
# anyway, dropping them keeps postings short.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "so",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
        "we",
        "you",
        "your",
        "not",
        "no",
        "can",
        "do",
        "does",
        "did",
        "should",
        "would",
        "could",
        "also",
        "just",
        "than",
        "when",
        "which",
        "who",
        "what",
        "how",
        "why",
    ]
)


def split_identifier(word: str) -> list[str]:
    """`parse_HTTPHeader2` -> ['parse', 'http', 'header', '2']."""
    parts: list[str] = []
    for piece in word.split("_"):
        parts.extend(p.lower() for p in _CAMEL.findall(piece))
    return parts


def code_tokens(text: str) -> list[str]:
    """Tokens of code or prose: each identifier whole (lower-cased) and, when compound, its
    parts too; single characters and stopwords dropped."""
    out: list[str] = []
    for word in _WORD.findall(text):
        whole = word.lower().strip("_")
        parts = split_identifier(word)
        if len(whole) > 1 and whole not in STOPWORDS:
            out.append(whole)
        if len(parts) > 1:
            out.extend(p for p in parts if len(p) > 1 and p not in STOPWORDS)
    return out


def path_tokens(path: str) -> list[str]:
    """Tokens of a workspace-relative path: directories, stem and extension."""
    return code_tokens(re.sub(r"[/\\.\-]", " ", path))


def chunk_tokens(path: str, symbol: str, text: str) -> list[str]:
    """What BM25 indexes for a chunk: its path and symbol, then its text."""
    return [*path_tokens(path), *code_tokens(symbol), *code_tokens(text)]


def flatten(groups: Iterable[list[str]]) -> list[str]:
    """Concatenate token lists (file-level documents are their chunks' tokens)."""
    return [t for g in groups for t in g]
