"""`apply_patch`: apply a model's diff in memory, exactly, or refuse the whole patch.

Every hunk of every file is placed on the file's current text before anything is changed; if
any hunk or file fails, the result carries no change at all (all-or-nothing across files)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from greenpatch.errors import PatchRefused
from greenpatch.patch import feedback
from greenpatch.patch.lines import Line, dominant_eol, fix_inner_eols, join_lines, split_lines
from greenpatch.patch.match import FileIndex, Placement, candidates
from greenpatch.patch.model import (
    FailureReason,
    FileChange,
    FilePatch,
    FileReport,
    Hunk,
    HunkFailure,
    HunkReport,
    LineKind,
    PatchResult,
)
from greenpatch.patch.parse import DiffSyntaxError, parse_diff
from greenpatch.patch.render import unified_diff
from greenpatch.patch.resolve import resolve
from greenpatch.patch.safety import DEFAULT_LIMITS, Limits, UnsafePath, safe_relpath
from greenpatch.patch.workspace import TooLarge, Workspace

log = logging.getLogger(__name__)

Reader = Callable[[str], str | None]


def apply_patch(
    diff_text: str,
    read: Reader,
    *,
    limits: Limits = DEFAULT_LIMITS,
    default_path: str | None = None,
) -> PatchResult:
    """Apply `diff_text` (a unified diff, possibly as models write it) to the files `read`
    returns. `read(relpath)` gives a file's text or None when it does not exist, and may raise
    `PatchRefused` for a path that must not be touched. Nothing is written: the result holds
    the new contents. All-or-nothing: on any failure `ok` is False and `changes` is empty.
    `default_path` is the file that bare hunks (no ---/+++ header) belong to, when the caller
    asked the model to edit one known file."""
    if len(diff_text) > limits.max_patch_chars:
        return _refuse(
            FailureReason.TOO_LARGE, f"The patch exceeds {limits.max_patch_chars} chars."
        )
    try:
        patches = parse_diff(diff_text, default_path)
    except DiffSyntaxError as exc:
        return _refuse(FailureReason.PARSE_ERROR, f"The diff could not be read: {exc}.")
    if not any(p.hunks or p.old_path != p.new_path or p.is_binary for p in patches):
        return _refuse(
            FailureReason.EMPTY_PATCH,
            "No unified diff was found. Write the edit as a unified diff with '--- a/PATH', "
            "'+++ b/PATH' and '@@' hunks.",
        )
    if len(patches) > limits.max_files:
        return _refuse(
            FailureReason.TOO_LARGE, f"The patch touches more than {limits.max_files} files."
        )
    return apply_file_patches(patches, read, limits=limits)


def apply_file_patches(
    patches: Sequence[FilePatch], read: Reader, *, limits: Limits = DEFAULT_LIMITS
) -> PatchResult:
    """Apply already parsed file patches, all-or-nothing."""
    ws = Workspace(read, limits)
    failures: list[HunkFailure] = []
    reports: list[FileReport] = []
    for fp in patches:
        report, fails = _apply_file(fp, ws)
        reports.append(report)
        failures.extend(fails)
    if failures:
        log.info("patch refused: %d failure(s)", len(failures))
        return PatchResult(ok=False, failures=tuple(failures), files=tuple(reports))
    changes = ws.changes()
    return PatchResult(ok=True, changes=changes, files=tuple(reports), diff=unified_diff(changes))


def _refuse(reason: FailureReason, message: str) -> PatchResult:
    return PatchResult(ok=False, failures=(feedback.file_failure("", reason, message),))


def _failed(path: str, fails: list[HunkFailure]) -> tuple[FileReport, list[HunkFailure]]:
    return FileReport(path=path, status="failed"), fails


def _apply_file(fp: FilePatch, ws: Workspace) -> tuple[FileReport, list[HunkFailure]]:
    shown = fp.display_path
    if fp.is_binary:
        msg = f"{shown}: binary patches cannot be applied; edit text files only."
        return _failed(shown, [feedback.file_failure(shown, FailureReason.BINARY, msg)])
    try:
        old = _resolve(ws, fp.old_path, fp.had_ab_prefix)
        new = _resolve(ws, fp.new_path, fp.had_ab_prefix)
        if old and new and old != new and not fp.is_rename:
            # different names without rename lines: patch the one that exists, in place
            old = new = old if ws.get(old) is not None else new
        old_text = ws.get(old) if old else None
        if old and old_text is None and _is_creation(fp.hunks):
            old = None  # `--- a/new.py` with only added lines: a new file written loosely
        if old is None:
            assert new is not None
            return _create(new, fp, ws)
        if old_text is None:
            msg = f"{old}: the file does not exist; check the path (relative to the project root)."
            return _failed(old, [feedback.file_failure(old, FailureReason.MISSING_FILE, msg)])
        return _modify(old, new, old_text, fp, ws)
    except UnsafePath as exc:
        return _failed(shown, [feedback.file_failure(shown, FailureReason.UNSAFE_PATH, str(exc))])
    except TooLarge as exc:
        return _failed(shown, [feedback.file_failure(shown, FailureReason.TOO_LARGE, str(exc))])


def _resolve(ws: Workspace, raw: str | None, ab: bool) -> str | None:
    """The workspace path a header names: with or without its a/ b/ prefix, whichever exists
    (the prefixed reading first when the diff uses prefixes)."""
    if raw is None:
        return None
    stripped = raw[2:] if raw.startswith(("a/", "b/")) and len(raw) > 2 else None
    order = [c for c in ((stripped, raw) if ab else (raw, stripped)) if c]
    safe: list[str] = []
    error: UnsafePath | None = None
    for k, cand in enumerate(order):
        try:
            path = safe_relpath(cand)
        except UnsafePath as exc:
            if k == 0:
                raise  # the likely reading is unsafe: do not fall back to a lesser one
            error = error or exc
            continue
        if ws.get(path) is not None:
            return path
        safe.append(path)
    if not safe:
        assert error is not None
        raise error
    return safe[0]


def _is_creation(hunks: Sequence[Hunk]) -> bool:
    return bool(hunks) and all(not h.before for h in hunks)


def _create(path: str, fp: FilePatch, ws: Workspace) -> tuple[FileReport, list[HunkFailure]]:
    if ws.get(path) is not None:
        msg = f"{path}: the diff creates this file but it already exists; patch it instead."
        return _failed(path, [feedback.file_failure(path, FailureReason.FILE_EXISTS, msg)])
    if not _is_creation(fp.hunks) and fp.hunks:
        msg = f"{path}: the file does not exist, so its diff may only add lines."
        return _failed(path, [feedback.file_failure(path, FailureReason.MISSING_FILE, msg)])
    lines = [
        Line(hl.text, "" if hl.no_eol else "\n")
        for h in fp.hunks
        for hl in h.lines
        if hl.kind is LineKind.ADD
    ]
    ws.put(path, join_lines(fix_inner_eols(lines, "\n")))
    reports = tuple(HunkReport(i, True, 1, "new-file") for i in range(len(fp.hunks)))
    return FileReport(path=path, status="created", hunks=reports), []


def _modify(
    old: str, new: str | None, old_text: str, fp: FilePatch, ws: Workspace
) -> tuple[FileReport, list[HunkFailure]]:
    new_text, reports, fails = apply_hunks_to_text(old, old_text, fp.hunks)
    if fails or new_text is None:
        return FileReport(path=old, status="failed", hunks=reports), fails
    if new is None:
        if fp.hunks and new_text.strip():
            msg = f"{old}: the diff deletes the file but does not remove all of its lines."
            fail = feedback.file_failure(old, FailureReason.NO_MATCH, msg)
            return FileReport(path=old, status="failed", hunks=reports), [fail]
        ws.put(old, None)
        return FileReport(path=old, status="deleted", hunks=reports), []
    if new != old:
        if ws.get(new) is not None:
            msg = f"{new}: the diff renames {old} to this path, which already exists."
            fail = feedback.file_failure(new, FailureReason.FILE_EXISTS, msg)
            return FileReport(path=new, status="failed", old_path=old), [fail]
        ws.rename(old, new, new_text)
        return FileReport(path=new, status="renamed", old_path=old, hunks=reports), []
    ws.put(old, new_text)
    return FileReport(path=old, status="modified", hunks=reports), []


def apply_hunks_to_text(
    path: str, text: str, hunks: Sequence[Hunk]
) -> tuple[str | None, tuple[HunkReport, ...], list[HunkFailure]]:
    """Place every hunk on `text`, then splice them in; None and failures when any misses."""
    lines = split_lines(text)
    index = FileIndex([ln.text for ln in lines])
    found = [_candidates(index, hunk, k) for k, hunk in enumerate(hunks)]
    reports: list[HunkReport] = []
    fails: list[HunkFailure] = []
    placed: list[Placement] = []
    for k, (hunk, got) in enumerate(zip(hunks, resolve(hunks, found), strict=True)):
        if isinstance(got, Placement) and not any(_overlap(got, q) for q in placed):
            placed.append(got)
            reports.append(HunkReport(k, True, got.start + 1, got.strategy))
            continue
        reports.append(HunkReport(k, False))
        if isinstance(got, Placement) or (found[k] and not got):
            fails.append(feedback.overlap(path, k, hunk))
        elif len(got) > 1:
            fails.append(feedback.ambiguous(path, k, hunk, got))
        elif not hunk.before:
            fails.append(feedback.no_context(path, k, hunk))
        else:
            fails.append(feedback.no_match(path, k, hunk, index.lines))
    if fails:
        return None, tuple(reports), fails
    return join_lines(_splice(lines, placed)), tuple(reports), []


def _overlap(a: Placement, b: Placement) -> bool:
    return a.start < b.end and b.start < a.end


def _candidates(index: FileIndex, hunk: Hunk, k: int) -> list[Placement]:
    if hunk.before:
        return candidates(index, hunk)
    if not index.lines and k == 0:  # adding to an empty file needs no context
        return [Placement(0, 0, hunk.lines, "empty-file")]
    return []


def _splice(lines: list[Line], placed: list[Placement]) -> list[Line]:
    """Replace each placement's span; context lines keep the file's own text and ending."""
    eol = dominant_eol(lines)
    out: list[Line] = []
    pos = 0
    for p in sorted(placed, key=lambda q: q.start):
        out.extend(lines[pos : p.start])
        i = p.start
        for hl in p.lines:
            if hl.kind is LineKind.CONTEXT:
                out.append(lines[i])
                i += 1
            elif hl.kind is LineKind.DELETE:
                i += 1
            else:
                out.append(Line(hl.text, "" if hl.no_eol else eol))
        pos = p.end
    out.extend(lines[pos:])
    return fix_inner_eols(out, eol)


def rebase(changes: Sequence[FileChange], read: Reader) -> PatchResult:
    """Re-apply `changes` (computed against older texts) to the texts `read` returns now —
    e.g. editor buffers the user typed in meanwhile. Hunks whose lines the user did not touch
    move with the text; a hunk whose lines changed is refused, never merged blindly."""
    return apply_patch(unified_diff(changes), read)


def reject_unless_ok(result: PatchResult) -> PatchResult:
    """`result` when it applied; else raise `PatchRefused` with the message for the model."""
    if not result.ok:
        raise PatchRefused(result.message_for_model())
    return result
