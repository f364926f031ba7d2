"""Where does a hunk go? A strategy table from most literal to most forgiving.

Levels, tried in order until one finds candidates: exact lines, then lines equal up to
trailing whitespace, then lines equal up to a uniform change of indentation (the added lines
are re-indented the same way); each first with the full context, then with progressively
less outer context (always keeping the context line next to each change). The first level
that finds anything gives the candidates; `resolve` decides among several, only by evidence
the diff carries, and otherwise the hunk is refused as ambiguous: never guessed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from greenpatch.patch.model import Hunk, HunkLine, LineKind

Key = Callable[[str], str]

_COMPARATORS: tuple[tuple[str, Key], ...] = (
    ("exact", lambda s: s),
    ("whitespace", lambda s: s.rstrip()),
    ("indentation", lambda s: s.strip()),
)


@dataclass(frozen=True, slots=True)
class Placement:
    """A located hunk: `lines` (outer context possibly trimmed) replace file lines
    [start, start + old_len). `indent` is the indentation to add (or, with `dedent`,
    remove) on added lines."""

    start: int
    old_len: int
    lines: tuple[HunkLine, ...]
    strategy: str
    indent: str = ""
    dedent: bool = False
    hint: int | None = None

    @property
    def end(self) -> int:
        """One past the last file line replaced."""
        return self.start + self.old_len


class FileIndex:
    """The file's lines under each comparator's key, computed once per file."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        self._keyed: dict[str, list[str]] = {}
        self._where: dict[str, dict[str, list[int]]] = {}

    def keyed(self, name: str, key: Key) -> list[str]:
        """The lines under `key`."""
        if name not in self._keyed:
            self._keyed[name] = [key(s) for s in self.lines]
        return self._keyed[name]

    def starts(self, name: str, key: Key, first: str) -> list[int]:
        """Line numbers whose key equals `first`."""
        if name not in self._where:
            where: dict[str, list[int]] = {}
            for i, k in enumerate(self.keyed(name, key)):
                where.setdefault(k, []).append(i)
            self._where[name] = where
        return self._where[name].get(first, [])


def candidates(index: FileIndex, hunk: Hunk) -> list[Placement]:
    """Every place the first level of the strategy table that finds any gives for `hunk`
    (empty when no level does). Choosing among several is `resolve.resolve`'s job."""
    lines = list(hunk.lines)
    lead, trail = _context_run(lines), _context_run(lines[::-1])
    if lead == len(lines):  # context only: nothing changes, but it must still exist
        lead, trail = 0, 0
    for cut_lead, cut_trail in _trims(lead, trail):
        view = lines[cut_lead : len(lines) - cut_trail]
        before = [ln.text for ln in view if ln.kind is not LineKind.ADD]
        if not before:
            return []
        hint = hunk.old_start - 1 + cut_lead if hunk.old_start else None
        trim = max(cut_lead, cut_trail)
        for name, key in _COMPARATORS:
            found = _matches(index, before, key, name, view)
            if found:
                strategy = name if not trim else f"{name}-context-{trim}"
                return [replace(p, strategy=strategy, hint=hint) for p in found]
    return []


def _trims(lead: int, trail: int) -> list[tuple[int, int]]:
    """Context to cut on each side, least first; the line next to a change always stays."""
    out: list[tuple[int, int]] = []
    for t in range(max(lead, trail) + 1):
        pair = (min(t, max(lead - 1, 0)), min(t, max(trail - 1, 0)))
        if pair not in out:
            out.append(pair)
    return out


def _context_run(lines: Sequence[HunkLine]) -> int:
    n = 0
    for ln in lines:
        if ln.kind is not LineKind.CONTEXT:
            break
        n += 1
    return n


def _matches(
    index: FileIndex, before: list[str], key: Key, name: str, view: list[HunkLine]
) -> list[Placement]:
    want = [key(s) for s in before]
    keyed = index.keyed(name, key)
    m = len(want)
    out: list[Placement] = []
    for i in index.starts(name, key, want[0]):
        if i + m > len(keyed) or keyed[i : i + m] != want:
            continue
        if name != "indentation":
            out.append(Placement(i, m, tuple(view), name))
            continue
        placed = _reindent(index.lines[i : i + m], before, view, i)
        if placed is not None:
            out.append(placed)
    return out


def _indent(s: str) -> str:
    return s[: len(s) - len(s.lstrip())]


def _reindent(
    window: Sequence[str], before: list[str], view: list[HunkLine], start: int
) -> Placement | None:
    """Accept the window only when every non-blank line's indentation differs from the
    hunk's by the same prefix; re-indent the added lines by that prefix."""
    deltas: set[tuple[str, bool]] = set()
    for have, want in zip(window, before, strict=True):
        if not have.strip():
            continue
        fi, pi = _indent(have), _indent(want)
        if fi.endswith(pi):
            deltas.add((fi[: len(fi) - len(pi)], False))
        elif pi.endswith(fi):
            deltas.add((pi[: len(pi) - len(fi)], True))
        else:
            return None
    if len(deltas) > 1:
        return None
    prefix, dedent = deltas.pop() if deltas else ("", False)
    lines: list[HunkLine] = []
    for ln in view:
        if ln.kind is LineKind.ADD and ln.text.strip() and prefix:
            if dedent and not ln.text.startswith(prefix):
                return None
            text = ln.text[len(prefix) :] if dedent else prefix + ln.text
            ln = HunkLine(ln.kind, text, ln.no_eol)
        lines.append(ln)
    return Placement(start, len(before), tuple(lines), "indentation", prefix, dedent)
