"""Split a file into chunks: definitions by tree-sitter, line windows for everything else.

For parsed languages every function or method becomes a chunk of its own (decorators
included, nested helpers stay inside their function); classes and other containers are
descended into, and the lines no definition covers (imports, constants, class headers and
attributes) become chunks owned by the innermost container, or module-level ones. Chunks
longer than MAX_LINES are split into overlapping windows that keep their symbol.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from greenpatch.indexer.languages import LanguageSpec, Node, parser_for, spec_for
from greenpatch.indexer.types import Chunk

log = logging.getLogger(__name__)

CHUNKER_VERSION = 1
MAX_LINES = 120
WINDOW_LINES = 60
WINDOW_OVERLAP = 10


@dataclass(frozen=True, slots=True)
class _Def:
    start: int  # 0-based line, inclusive
    end: int  # 0-based line, inclusive
    symbol: str
    kind: str
    depth: int


def chunk_file(path: str, text: str) -> list[Chunk]:
    """Chunks of one file's text, in line order."""
    lines = text.split("\n")
    spec = spec_for(path)
    parser = parser_for(spec) if spec is not None else None
    if spec is None or parser is None:
        return _windows(path, lines, 0, len(lines) - 1, "", "window", "text")
    try:
        tree = parser.parse(text.encode("utf-8", "surrogatepass"))
    except (ValueError, UnicodeError) as exc:
        log.debug("%s: parse failed (%s); using line windows", path, exc)
        return _windows(path, lines, 0, len(lines) - 1, "", "window", spec.name)
    defs: list[_Def] = []
    _collect(tree.root_node, spec, "", 0, defs)
    return _assemble(path, lines, defs, spec.name)


def _collect(node: Node, spec: LanguageSpec, scope: str, depth: int, out: list[_Def]) -> None:
    for child in node.named_children:
        target = child
        if child.type in spec.wrappers:
            inner = child.child_by_field_name(spec.wrappers[child.type])
            target = inner if inner is not None else child
        definition = spec.definitions.get(target.type)
        name = definition.name(target) if definition is not None else ""
        if definition is None or not name:
            _collect(child, spec, scope, depth, out)
            continue
        prefix = definition.scope(target) if definition.scope is not None else ""
        qualified = ".".join(p for p in (scope, prefix, name) if p)
        out.append(
            _Def(child.start_point[0], child.end_point[0], qualified, definition.kind, depth)
        )
        if definition.kind == "class":
            _collect(target, spec, qualified, depth + 1, out)


def _assemble(path: str, lines: list[str], defs: list[_Def], language: str) -> list[Chunk]:
    n = len(lines)
    owner: list[_Def | None] = [None] * n  # innermost container of each uncovered line
    covered = [False] * n
    chunks: list[Chunk] = []
    for d in sorted(defs, key=lambda d: d.depth):
        end = min(d.end, n - 1)
        if d.kind == "class":
            for i in range(d.start, end + 1):
                owner[i] = d
            continue
        if any(covered[d.start : end + 1]):
            continue  # a function inside a function already chunked
        for i in range(d.start, end + 1):
            covered[i] = True
        chunks.extend(_windows(path, lines, d.start, end, d.symbol, d.kind, language))
    i = 0
    while i < n:
        if covered[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and not covered[j + 1] and owner[j + 1] is owner[i]:
            j += 1
        if any(lines[k].strip() for k in range(i, j + 1)):
            who = owner[i]
            symbol, kind = (who.symbol, "class") if who is not None else ("", "module")
            chunks.extend(_windows(path, lines, i, j, symbol, kind, language))
        i = j + 1
    chunks.sort(key=lambda c: (c.start_line, c.end_line))
    return chunks


def _windows(
    path: str, lines: list[str], start: int, end: int, symbol: str, kind: str, language: str
) -> list[Chunk]:
    """One chunk for [start, end] (0-based, inclusive), or overlapping windows if long.
    Leading and trailing blank lines are trimmed."""
    while start <= end and not lines[start].strip():
        start += 1
    while end >= start and not lines[end].strip():
        end -= 1
    if start > end:
        return []
    if end - start + 1 <= MAX_LINES:
        spans = [(start, end)]
    else:
        step = WINDOW_LINES - WINDOW_OVERLAP
        spans = [(s, min(s + WINDOW_LINES - 1, end)) for s in range(start, end + 1, step)]
        if len(spans) > 1 and spans[-1][1] - spans[-1][0] < WINDOW_OVERLAP:
            spans.pop()  # its lines are all in the previous window's overlap
    return [
        Chunk(path, s + 1, e + 1, symbol, kind, language, "\n".join(lines[s : e + 1]))
        for s, e in spans
    ]
