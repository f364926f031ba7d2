"""LSP-shaped edits: minimal text edits (UTF-16 positions, as LSP counts them) and an ordered
plan of document edits and file operations that the server turns into a WorkspaceEdit."""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from greenpatch.patch.model import FileChange, TextEdit

_BREAK = re.compile(r"\r\n|\r|\n")


def _lines(text: str) -> list[str]:
    """Lines with their endings, split on "\\n" only."""
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


class _Positions:
    """Absolute character offsets of a text -> LSP (line, UTF-16 character)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in _BREAK.finditer(text)]

    def at(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset) - 1
        prefix = self.text[self.starts[line] : offset]
        return line, len(prefix.encode("utf-16-le")) // 2


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _minimal(old: str, start: int, end: int, new_text: str) -> tuple[int, int, str]:
    """Shrink the replacement of old[start:end] by new_text to what actually differs, without
    cutting a CRLF pair in two (LSP positions cannot point between "\\r" and "\\n")."""
    chunk = old[start:end]
    pre = _common_prefix(chunk, new_text)
    suf = _common_prefix(chunk[pre:][::-1], new_text[pre:][::-1])
    s, e = start + pre, end - suf
    text = new_text[pre : len(new_text) - suf]
    if 0 < s < len(old) and old[s - 1] == "\r" and old[s] == "\n":
        s, text = s - 1, "\r" + text
    if 0 < e < len(old) and old[e - 1] == "\r" and old[e] == "\n":
        e, text = e + 1, text + "\n"
    return s, e, text


def text_edits(old: str, new: str) -> list[TextEdit]:
    """Minimal, non-overlapping edits (all relative to `old`, in document order) that turn
    `old` into `new`; 0-based lines, characters in UTF-16 code units."""
    if old == new:
        return []
    a, b = _lines(old), _lines(new)
    offsets = [0]
    for ln in a:
        offsets.append(offsets[-1] + len(ln))
    pos = _Positions(old)
    out: list[TextEdit] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        s, e, text = _minimal(old, offsets[a1], offsets[a2], "".join(b[b1:b2]))
        if s == e and not text:
            continue
        (sl, sc), (el, ec) = pos.at(s), pos.at(e)
        out.append(TextEdit(sl, sc, el, ec, text))
    return out


def apply_text_edits(text: str, edits: Sequence[TextEdit]) -> str:
    """Apply LSP-shaped edits to `text` as an editor would (used to check `text_edits`)."""
    pos = _Positions(text)

    def offset(line: int, character: int) -> int:
        start = pos.starts[line]
        units, i = 0, start
        while units < character:
            units += len(text[i].encode("utf-16-le")) // 2
            i += 1
        return i

    spans = [
        (offset(e.start_line, e.start_character), offset(e.end_line, e.end_character), e)
        for e in edits
    ]
    for s, e, edit in sorted(spans, key=lambda t: t[0], reverse=True):
        text = text[:s] + edit.new_text + text[e:]
    return text


@dataclass(frozen=True, slots=True)
class DocumentEdit:
    """Text edits for one document; `version` is the editor's version when it is open."""

    path: str
    version: int | None
    edits: tuple[TextEdit, ...]


@dataclass(frozen=True, slots=True)
class FileOperation:
    """A create, delete or rename of a whole file (LSP resource operations)."""

    kind: Literal["create", "delete", "rename"]
    path: str
    new_path: str | None = None


EditStep = DocumentEdit | FileOperation


def edit_plan(
    changes: Sequence[FileChange], versions: Mapping[str, int] | None = None
) -> tuple[EditStep, ...]:
    """The ordered steps of a workspace edit (LSP `documentChanges`) for `changes`; open
    documents carry their version from `versions` (workspace-relative path -> version)."""
    versions = versions or {}
    steps: list[EditStep] = []
    for ch in changes:
        if ch.new_text is None:
            steps.append(FileOperation("delete", ch.path))
            continue
        if ch.old_text is None:
            steps.append(FileOperation("create", ch.path))
            if ch.new_text:
                steps.append(DocumentEdit(ch.path, None, tuple(text_edits("", ch.new_text))))
            continue
        version = versions.get(ch.old_path or ch.path)
        if ch.old_path and ch.old_path != ch.path:
            steps.append(FileOperation("rename", ch.old_path, ch.path))
            version = None  # the renamed document is a new one to the editor
        edits = tuple(text_edits(ch.old_text, ch.new_text))
        if edits:
            steps.append(DocumentEdit(ch.path, version, edits))
    return tuple(steps)
