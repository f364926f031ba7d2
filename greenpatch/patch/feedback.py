"""Failure reports written for the model: what the hunk expected, the closest text the file
has, and where — so the next attempt can copy the real lines."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Sequence

from greenpatch.patch.model import FailureReason, Hunk, HunkFailure

_MAX_SHOWN = 15
_MIN_SIMILARITY = 0.5
_WINDOWS = 30
_FUZZY_LINES = 4


def hunk_label(index: int, hunk: Hunk) -> str:
    """`hunk 2 (@@ -10,7 +10,8 @@)`, 1-based, as the model would recognise it."""
    if hunk.old_start is None:
        return f"hunk {index + 1}"
    return (
        f"hunk {index + 1} (@@ -{hunk.old_start},{hunk.old_count} "
        f"+{hunk.new_start},{hunk.new_count} @@)"
    )


def _block(lines: Sequence[str]) -> str:
    shown = list(lines[:_MAX_SHOWN])
    if len(lines) > _MAX_SHOWN:
        shown.append(f"... ({len(lines) - _MAX_SHOWN} more lines)")
    return "```\n" + "\n".join(shown) + "\n```"


def closest(file_lines: Sequence[str], want: Sequence[str], hint: int | None) -> int | None:
    """0-based start of the window of the file most similar to `want` (ignoring the
    whitespace around lines), nearest the hint on ties; None when nothing is similar."""
    if not want or not file_lines:
        return None
    keys = [s.strip() for s in file_lines]
    want_keys = [s.strip() for s in want]
    m = len(want_keys)
    last = max(len(keys) - m, 0)
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2("\n".join(want_keys))
    best: tuple[float, int] = (_MIN_SIMILARITY, 0)
    best_at: int | None = None
    for i in sorted(_windows(keys, want_keys, hint, last)):
        matcher.set_seq1("\n".join(keys[i : i + m]))
        if matcher.real_quick_ratio() < best[0] or matcher.quick_ratio() < best[0]:
            continue
        score = (matcher.ratio(), -abs(i - hint) if hint is not None else -i)
        if score > best:
            best, best_at = score, i
    return best_at


def _windows(keys: list[str], want: list[str], hint: int | None, last: int) -> set[int]:
    """Window starts worth scoring: those sharing the most non-blank lines with `want` at
    the same offset, those near the hint, and those where a line resembles one of `want`'s
    (comparing every window would be quadratic on large files)."""
    where: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        if k:
            where.setdefault(k, []).append(i)
    votes: Counter[int] = Counter()
    for j, k in enumerate(want):
        for pos in where.get(k, ()) if k else ():
            if 0 <= pos - j <= last:
                votes[pos - j] += 1
    out = {i for i, _ in votes.most_common(_WINDOWS)}
    if hint is not None:
        out.update(range(max(hint - len(want), 0), min(hint + len(want), last) + 1))
    if len(out) < _WINDOWS:
        for j, k in enumerate(want[:_FUZZY_LINES]):
            for near in difflib.get_close_matches(k, list(where), n=3, cutoff=0.6) if k else ():
                out.update(p - j for p in where[near] if 0 <= p - j <= last)
    return out


def no_match(path: str, index: int, hunk: Hunk, file_lines: Sequence[str]) -> HunkFailure:
    """The hunk's old lines are nowhere in the file."""
    want = hunk.before
    hint = hunk.old_start - 1 if hunk.old_start else None
    at = closest(file_lines, want, hint)
    found = list(file_lines[at : at + len(want)]) if at is not None else None
    msg = (
        f"{path}: {hunk_label(index, hunk)} does not match the file. It expects these lines "
        f"(context and removed lines) to be present, in this order:\n{_block(want)}"
    )
    if found is not None and at is not None:
        msg += f"\nThe closest text in {path} is at line {at + 1}:\n{_block(found)}"
        msg += _first_difference(want, found, at)
    else:
        msg += f"\nNothing similar exists in {path}."
    msg += "\nCopy unchanged lines exactly from the current file."
    return HunkFailure(
        path=path,
        hunk_index=index,
        reason=FailureReason.NO_MATCH,
        message=msg,
        expected="\n".join(want),
        closest="\n".join(found) if found is not None else None,
        closest_line=at + 1 if at is not None else None,
    )


def _first_difference(want: Sequence[str], found: Sequence[str], at: int) -> str:
    for j, (w, f) in enumerate(zip(want, found, strict=False)):
        if w.strip() != f.strip():
            return (
                f"\nThey first differ at line {at + j + 1}: the hunk has {w!r}, the file has {f!r}."
            )
    return ""


def ambiguous(path: str, index: int, hunk: Hunk, starts: Sequence[int]) -> HunkFailure:
    """The hunk's old lines occur in several places and nothing says which one is meant."""
    lines = tuple(s + 1 for s in starts)
    where = ", ".join(str(n) for n in lines)
    msg = (
        f"{path}: {hunk_label(index, hunk)} matches {len(lines)} places (lines {where}); "
        "add more unchanged lines around the change so it matches one place only."
    )
    return HunkFailure(
        path=path,
        hunk_index=index,
        reason=FailureReason.AMBIGUOUS,
        message=msg,
        expected="\n".join(hunk.before),
        candidates=lines,
    )


def overlap(path: str, index: int, hunk: Hunk) -> HunkFailure:
    """The hunk's lines are only where another hunk of the same diff already changes them."""
    msg = (
        f"{path}: {hunk_label(index, hunk)} changes the same lines as another hunk of this "
        "diff; merge the two hunks into one."
    )
    return HunkFailure(path, index, FailureReason.OVERLAP, msg, expected="\n".join(hunk.before))


def no_context(path: str, index: int, hunk: Hunk) -> HunkFailure:
    """A hunk that only adds lines, with nothing to say where."""
    msg = (
        f"{path}: {hunk_label(index, hunk)} only adds lines and has no context lines, so "
        "there is no way to tell where they go; include a few unchanged lines around them."
    )
    return HunkFailure(path, index, FailureReason.NO_CONTEXT, msg, expected="")


def file_failure(path: str, reason: FailureReason, message: str) -> HunkFailure:
    """A failure of a whole file (or the whole patch when `path` is empty)."""
    return HunkFailure(path=path, hunk_index=None, reason=reason, message=message)
