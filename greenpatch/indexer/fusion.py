"""Reciprocal rank fusion and file-level aggregation."""

from __future__ import annotations

from collections.abc import Sequence

RRF_K = 60


def rrf(
    rankings: Sequence[Sequence[str]], weights: Sequence[float] | None = None, k: int = RRF_K
) -> list[tuple[str, float]]:
    """Fuse ranked lists of keys: score = sum of weight / (k + rank), rank from 1.
    Ties keep the order in which keys were first seen (earlier lists first)."""
    scores: dict[str, float] = {}
    for i, ranking in enumerate(rankings):
        w = 1.0 if weights is None else weights[i]
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + w / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def files_by_best_chunk(chunk_ranking: Sequence[str], path_of: dict[str, str]) -> list[str]:
    """Files in the order of their best-ranked chunk."""
    seen: dict[str, None] = {}
    for key in chunk_ranking:
        path = path_of.get(key)
        if path is not None and path not in seen:
            seen[path] = None
    return list(seen)


def files_by_chunk_sum(
    chunk_ranking: Sequence[tuple[str, float]], path_of: dict[str, str], decay: float
) -> list[str]:
    """Files by a decayed sum of their chunks' scores: the best chunk counts fully, the
    next `decay` times as much, then decay**2, ... A file with several matching
    functions beats one with a single lucky match of the same strength."""
    seen: dict[str, int] = {}
    totals: dict[str, float] = {}
    for key, score in chunk_ranking:
        path = path_of.get(key)
        if path is None:
            continue
        n = seen.get(path, 0)
        seen[path] = n + 1
        totals[path] = totals.get(path, 0.0) + score * decay**n
    return sorted(totals, key=lambda p: -totals[p])
