"""Files an issue names outright: paths in tracebacks and prose (`requests/sessions.py`,
`/usr/lib/python3/site-packages/requests/sessions.py`, `sessions.py`) and dotted module
names (`xarray.core.dataset`, `sphinx.ext.autodoc`). A name that resolves to a file of the
workspace is a stronger signal than any bag of words; one that does not (the user's own
script) is ignored."""

from __future__ import annotations

import re
from typing import Protocol

# A path-like word ending in a source extension, with or without directories.
_PATH = re.compile(r"[\w.\-/\\]*\w\.(?:py|pyi|js|jsx|ts|tsx|go|rs|java|c|h|cpp|rb)\b")
# Dotted names of at least two parts: modules (`xarray.core.dataset`) and attributes.
_DOTTED = re.compile(r"\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\b")
AMBIGUOUS = 3  # a bare file name defined by more files than this names none of them


class Paths(Protocol):
    """The workspace's searchable paths, looked up by suffix (the catalog)."""

    def lookup(self, suffix: str) -> list[str]:
        """Paths ending in `suffix` at a component boundary."""
        ...


def _candidates(query: str) -> list[tuple[str, int]]:
    """(path suffix, fewest components a match must keep) the query spells, in order of
    appearance. A spelled file name may match alone; a dotted name must keep two parts,
    or `self.config` would name every config.py."""
    found: list[tuple[int, str, int]] = []
    for m in _PATH.finditer(query):
        found.append((m.start(), m.group().replace("\\", "/").lstrip("./"), 1))
    for m in _DOTTED.finditer(query):
        parts = m.group().split(".")
        # Each prefix of the dotted name may be the module (`pkg.mod.Class.method`).
        for n in range(len(parts), 1, -1):
            stem = "/".join(parts[:n])
            found.append((m.start(), stem + ".py", 2))
            found.append((m.start(), stem + "/__init__.py", 3))
    found.sort(key=lambda t: t[0])
    return [(suffix, keep) for _, suffix, keep in found]


def mentioned_files(query: str, paths: Paths) -> list[str]:
    """Workspace files the query names, in the order it names them. A spelled path
    matches by its longest suffix that names at most AMBIGUOUS files."""
    out: dict[str, None] = {}
    for suffix, keep in _candidates(query):
        parts = suffix.split("/")
        for i in range(len(parts) - keep + 1):
            hits = paths.lookup("/".join(parts[i:]))
            if hits:
                if len(hits) <= AMBIGUOUS:
                    out.update(dict.fromkeys(sorted(hits)))
                break
    return list(out)
