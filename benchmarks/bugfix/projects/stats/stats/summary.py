"""Summaries of latency samples in milliseconds: mean, median, percentiles."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


class EmptySample(ValueError):
    """A statistic of no values was asked for."""


def mean(values: Sequence[float]) -> float:
    if not values:
        raise EmptySample("mean of no values")
    return sum(values) / len(values)


def median(values: Sequence[float]) -> float:
    """The middle value; for an even count, the mean of the two middle values."""
    if not values:
        raise EmptySample("median of no values")
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle]


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p% of values at or below."""
    if not values:
        raise EmptySample("percentile of no values")
    if not 0 < p <= 100:
        raise ValueError("p must be in (0, 100]")
    ordered = sorted(values)
    rank = math.ceil(p / 100 * len(ordered))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Summary:
    count: int
    mean: float
    median: float
    p95: float
    maximum: float


def summarize(values: Sequence[float]) -> Summary:
    return Summary(len(values), mean(values), median(values), percentile(values, 95), max(values))
