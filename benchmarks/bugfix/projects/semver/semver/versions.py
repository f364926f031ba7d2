"""Versions like "1.10.2": parse them, order them, check simple constraints."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable

Version = tuple[int, int, int]

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")
_CONSTRAINT = re.compile(r"^(>=|<=|==|>|<)\s*(\S+)$")
_OPERATORS: dict[str, Callable[[Version, Version], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
}


def parse_version(text: str) -> Version:
    """ "1.10.2" or "v1.10.2" -> (1, 10, 2)."""
    match = _VERSION.match(text.strip())
    if not match:
        raise ValueError(f"not a version: {text!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def satisfies(version: str, constraint: str) -> bool:
    """Whether `version` meets every comma-separated constraint, e.g. ">=1.2.0, <2.0.0"."""
    current = parse_version(version)
    for part in constraint.split(","):
        match = _CONSTRAINT.match(part.strip())
        if not match:
            raise ValueError(f"bad constraint: {part!r}")
        op, bound = match.groups()
        if not _OPERATORS[op](current, parse_version(bound)):
            return False
    return True


def latest(versions: Iterable[str]) -> str:
    """The highest version of `versions`, as it was written."""
    candidates = list(versions)
    if not candidates:
        raise ValueError("no versions")
    return max(candidates)


def bump(version: str, part: str) -> str:
    """Increase "major", "minor" or "patch", resetting the parts after it."""
    major, minor, patch = parse_version(version)
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    if part == "patch":
        return f"{major}.{minor}.{patch + 1}"
    raise ValueError(f"unknown part {part!r}")
