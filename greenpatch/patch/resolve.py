"""Choosing among a hunk's candidate places, using only evidence the diff itself carries.

In order of strength: a single candidate; the hunk order (a hunk lies between its placed
neighbours, used only while the placed hunks are themselves in order); a line number from a
sound header (see `trusted_hint`) naming a candidate exactly; the offset between header and
file that a placed neighbour shows, naming a candidate exactly. Rules repeat until nothing
more is decided; what stays open is ambiguous.

The one way this can still go wrong: a header that is sound in every checkable way but names
the wrong one of several identical places. Such a diff is indistinguishable from a correct
diff, and every line-number-honouring tool (git apply, patch) applies it the same way."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from greenpatch.patch.match import Placement
from greenpatch.patch.model import Hunk


def trusted_hint(hunk: Hunk, delta: int) -> bool:
    """Whether the header's line number is evidence: the header is sound — its counts agree
    with the body (or it gave line numbers without counts) and its new start is its old start
    moved by what the earlier hunks of the file added (`delta`), as a real diff's would be."""
    if hunk.old_start is None or hunk.new_start is None:
        return False
    if hunk.has_counts and not hunk.counts_match:
        return False
    return hunk.new_start - hunk.old_start == delta


def resolve(
    hunks: Sequence[Hunk], found: Sequence[list[Placement]]
) -> list[Placement | tuple[int, ...]]:
    """Per hunk: its placement, or the 0-based starts it is ambiguous between (empty: no
    candidate left)."""
    chosen: list[Placement | None] = [ps[0] if len(ps) == 1 else None for ps in found]
    trusted = []
    delta = 0
    for hunk in hunks:
        trusted.append(trusted_hint(hunk, delta))
        delta += len(hunk.after) - len(hunk.before)
    progress = True
    while progress:
        progress = False
        for i, places in enumerate(found):
            if chosen[i] is None and places:
                pick = _decide(i, trusted[i], places, chosen)
                if pick is not None:
                    chosen[i] = pick
                    progress = True
    return [
        c if c is not None else tuple(p.start for p in _open(i, found[i], chosen))
        for i, c in enumerate(chosen)
    ]


def _open(i: int, places: list[Placement], chosen: list[Placement | None]) -> list[Placement]:
    """Candidates not overlapping a placed hunk and, while placed hunks are in order, lying
    between the placed neighbours."""
    others = [c for j, c in enumerate(chosen) if c is not None and j != i]
    left = [p for p in places if not any(p.start < q.end and q.start < p.end for q in others)]
    if not _in_order(chosen):
        return left
    lo = max((c.end for c in chosen[:i] if c is not None), default=0)
    hi = min((c.start for c in chosen[i + 1 :] if c is not None), default=None)
    return [p for p in left if p.start >= lo and (hi is None or p.end <= hi)]


def _in_order(chosen: list[Placement | None]) -> bool:
    placed = [c for c in chosen if c is not None]
    return all(a.end <= b.start for a, b in pairwise(placed))


def _decide(
    i: int, trusted: bool, places: list[Placement], chosen: list[Placement | None]
) -> Placement | None:
    left = _open(i, places, chosen)
    if len(left) == 1:
        return left[0]
    if trusted:
        at = [p for p in left if p.start == p.hint]
        if len(at) == 1:
            return at[0]
    offsets = {c.start - c.hint for c in _neighbours(i, chosen) if c.hint is not None}
    at = [p for p in left if p.hint is not None and p.start - p.hint in offsets]
    return at[0] if len(at) == 1 else None


def _neighbours(i: int, chosen: list[Placement | None]) -> list[Placement]:
    before = next((c for c in reversed(chosen[:i]) if c is not None), None)
    after = next((c for c in chosen[i + 1 :] if c is not None), None)
    return [c for c in (before, after) if c is not None]
