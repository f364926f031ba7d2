"""Edit formats for models that write diffs badly: whole-file replacement and search/replace
blocks. Both end as `FileChange`s and the same normalised diff as a unified diff would.

A search/replace reply looks like this (the path on the line before the block, fences
optional):

    path/to/file.py
    <<<<<<< SEARCH
    old lines
    =======
    new lines
    >>>>>>> REPLACE

Blocks apply in order, each to the text the previous ones left. SEARCH text is found with the
same strategy table as diff hunks (exact, then whitespace, then indentation) and must occur
exactly once; an empty SEARCH creates a file that does not exist yet."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from greenpatch.patch import feedback
from greenpatch.patch.engine import apply_hunks_to_text
from greenpatch.patch.lines import dominant_eol, split_lines
from greenpatch.patch.model import (
    FailureReason,
    FileChange,
    FileReport,
    Hunk,
    HunkFailure,
    HunkLine,
    LineKind,
    PatchResult,
)
from greenpatch.patch.render import unified_diff
from greenpatch.patch.safety import DEFAULT_LIMITS, Limits, UnsafePath, safe_relpath
from greenpatch.patch.workspace import TooLarge, Workspace

Reader = Callable[[str], str | None]

_SEARCH = re.compile(r"^\s*<{5,9} ?SEARCH\s*$")
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_REPLACE = re.compile(r"^\s*>{5,9} ?REPLACE\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True, slots=True)
class SearchReplace:
    """One block: replace `search` by `replace` in `path`."""

    path: str
    search: str
    replace: str


class BlockSyntaxError(ValueError):
    """The reply has a malformed search/replace block."""


def from_whole_file(path: str, old_text: str | None, new_text: str) -> FileChange:
    """A change replacing the whole of `path` (None `old_text`: a new file). The model's text
    gets the file's line endings, and a final newline when the old file had one."""
    if old_text:
        eol = dominant_eol(split_lines(old_text))
        body = new_text.replace("\r\n", "\n")
        if old_text.endswith("\n") and body and not body.endswith("\n"):
            body += "\n"
        new_text = body.replace("\n", eol) if eol != "\n" else body
    return FileChange(path=path, old_text=old_text, new_text=new_text)


def parse_whole_file(
    reply: str, path: str, read: Reader, *, limits: Limits = DEFAULT_LIMITS
) -> PatchResult:
    """A model reply holding the complete new text of `path` — one fenced code block, or the
    whole reply when it has no fence — as a `PatchResult` like `apply_patch`'s."""
    try:
        safe = safe_relpath(path)
        old_text = Workspace(read, limits).get(safe)
    except (UnsafePath, TooLarge) as exc:
        reason = FailureReason.TOO_LARGE if isinstance(exc, TooLarge) else FailureReason.UNSAFE_PATH
        return _refuse(path, reason, str(exc))
    blocks = _fenced_blocks(reply)
    if len(blocks) > 1:
        msg = f"The reply has {len(blocks)} code blocks; send the whole new {safe} in exactly one."
        return _refuse(safe, FailureReason.PARSE_ERROR, msg)
    new_text = blocks[0] if blocks else reply
    if len(new_text) > limits.max_file_chars:
        return _refuse(safe, FailureReason.TOO_LARGE, f"{safe}: the new text is too large.")
    change = from_whole_file(safe, old_text, new_text)
    if change.new_text == old_text:
        return PatchResult(ok=True)
    status = "created" if old_text is None else "modified"
    return PatchResult(
        ok=True,
        changes=(change,),
        files=(FileReport(safe, status),),
        diff=unified_diff([change]),
    )


def _fenced_blocks(reply: str) -> list[str]:
    blocks: list[str] = []
    current: list[str] | None = None
    for ln in reply.replace("\r\n", "\n").split("\n"):
        if _FENCE.match(ln) and (current is None or ln.strip() in ("```", "~~~")):
            if current is not None:
                blocks.append("".join(x + "\n" for x in current))
            current = None if current is not None else []
        elif current is not None:
            current.append(ln)
    return blocks


def parse_blocks(reply: str) -> list[SearchReplace]:
    """The search/replace blocks of a model reply, in order."""
    lines = reply.replace("\r\n", "\n").split("\n")
    blocks: list[SearchReplace] = []
    path: str | None = None
    i = 0
    while i < len(lines):
        if not _SEARCH.match(lines[i]):
            i += 1
            continue
        path = _path_before(lines, i) or path  # a block without its own path reuses the last
        if path is None:
            raise BlockSyntaxError("a SEARCH block has no file path on the line before it")
        search, i = _until(lines, i + 1, _DIVIDER, "=======")
        replace, i = _until(lines, i + 1, _REPLACE, ">>>>>>> REPLACE")
        blocks.append(SearchReplace(path, search, replace))
        i += 1
    return blocks


def _until(lines: list[str], i: int, end: re.Pattern[str], name: str) -> tuple[str, int]:
    start = i
    while i < len(lines) and not end.match(lines[i]):
        i += 1
    if i == len(lines):
        raise BlockSyntaxError(f"a block is missing its {name!r} line")
    body = lines[start:i]
    return ("\n".join(body) + "\n") if body else "", i


def _path_before(lines: list[str], i: int) -> str | None:
    """The path named on the last non-blank line before line `i`, a code fence's opening
    line skipped (`path` then ```python then <<<<<<< SEARCH, as models write it)."""
    j = i - 1
    while j >= 0 and (not lines[j].strip() or _FENCE.match(lines[j])) and i - j <= 3:
        j -= 1
    if j < 0 or i - j > 3 or not _looks_like_path(lines[j]):
        return None
    return _path_of(lines[j])


def _path_of(ln: str) -> str:
    return ln.strip().strip("`*:").strip()


def _looks_like_path(ln: str) -> bool:
    cand = _path_of(ln)
    if not cand or " " in cand or cand.endswith("."):
        return False
    return "/" in cand or re.search(r"\.[A-Za-z0-9_]+$", cand) is not None


def parse_search_replace(
    reply: str, read: Reader, *, limits: Limits = DEFAULT_LIMITS
) -> PatchResult:
    """Apply the search/replace blocks of `reply` in memory, all-or-nothing, like
    `apply_patch`."""
    try:
        blocks = parse_blocks(reply)
    except BlockSyntaxError as exc:
        return _refuse(
            "", FailureReason.PARSE_ERROR, f"The search/replace blocks could not be read: {exc}."
        )
    if not blocks:
        return _refuse("", FailureReason.EMPTY_PATCH, "No SEARCH/REPLACE block was found.")
    ws = Workspace(read, limits)
    failures: list[HunkFailure] = []
    for k, block in enumerate(blocks):
        failures.extend(_apply_block(ws, k, block))
    if failures:
        return PatchResult(ok=False, failures=tuple(failures))
    changes = ws.changes()
    files = tuple(FileReport(c.path, _status(c)) for c in changes)
    return PatchResult(ok=True, changes=changes, files=files, diff=unified_diff(changes))


def _status(change: FileChange) -> str:
    return "created" if change.old_text is None else "modified"


def _refuse(path: str, reason: FailureReason, msg: str) -> PatchResult:
    return PatchResult(ok=False, failures=(feedback.file_failure(path, reason, msg),))


def _apply_block(ws: Workspace, k: int, block: SearchReplace) -> list[HunkFailure]:
    try:
        path = safe_relpath(block.path)
        text = ws.get(path)
    except (UnsafePath, TooLarge) as exc:
        reason = FailureReason.TOO_LARGE if isinstance(exc, TooLarge) else FailureReason.UNSAFE_PATH
        return [feedback.file_failure(block.path, reason, str(exc))]
    if not block.search.strip():
        if text:
            msg = f"{path}: block {k + 1} has an empty SEARCH but the file is not empty."
            return [HunkFailure(path, k, FailureReason.NO_CONTEXT, msg)]
        ws.put(path, block.replace)
        return []
    if text is None:
        msg = (
            f"{path}: the file does not exist; check the path, or use an empty SEARCH to create it."
        )
        return [feedback.file_failure(path, FailureReason.MISSING_FILE, msg)]
    hunk = Hunk(
        tuple(HunkLine(LineKind.DELETE, s) for s in _block_lines(block.search))
        + tuple(HunkLine(LineKind.ADD, s) for s in _block_lines(block.replace))
    )
    new_text, _, fails = apply_hunks_to_text(path, text, [hunk])
    if new_text is None:
        return [_as_block_failure(f, k) for f in fails]
    ws.put(path, new_text)
    return []


def _block_lines(text: str) -> list[str]:
    return text[:-1].split("\n") if text else []


def _as_block_failure(fail: HunkFailure, k: int) -> HunkFailure:
    message = fail.message.replace("hunk 1", f"block {k + 1}")
    return HunkFailure(
        path=fail.path,
        hunk_index=k,
        reason=fail.reason,
        message=message.replace("(context and removed lines)", "(the SEARCH text)"),
        expected=fail.expected,
        closest=fail.closest,
        closest_line=fail.closest_line,
        candidates=fail.candidates,
    )
