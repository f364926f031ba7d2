"""A small, strict editor for the tests: it holds open documents with versions and applies
`workspace/applyEdit` the way an editor must (refusing stale versions)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types


def path_of(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path))


def offset(text: str, position: types.Position) -> int:
    lines = text.splitlines(keepends=True)
    before = sum(len(line) for line in lines[: position.line])
    line = lines[position.line] if position.line < len(lines) else ""
    # LSP counts UTF-16 code units
    units, index = 0, 0
    while index < len(line) and units < position.character:
        units += 2 if ord(line[index]) > 0xFFFF else 1
        index += 1
    return before + index


def apply_text_edits(text: str, edits: list[types.TextEdit]) -> str:
    spans = sorted(
        ((offset(text, e.range.start), offset(text, e.range.end), e.new_text) for e in edits),
        reverse=True,
    )
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


@dataclass
class Editor:
    """Open documents: uri -> (version, text). Unopened files are edited on disk.

    Like a real editor it tells the server what changed (`changed(uri, version, text)` for
    an open document) and what it saved (`saved(uri)`). `autosave` False keeps applied edits
    of open documents in the buffer until `save(uri)`, as VS Code does."""

    docs: dict[str, tuple[int, str]] = field(default_factory=dict)
    applied: list[types.WorkspaceEdit] = field(default_factory=list)
    autosave: bool = True
    changed: Callable[[str, int, str], None] = lambda uri, version, text: None
    saved: Callable[[str], None] = lambda uri: None

    def save(self, uri: str) -> None:
        path_of(uri).write_text(self.docs[uri][1], encoding="utf-8")
        self.saved(uri)

    def apply(self, edit: types.WorkspaceEdit) -> types.ApplyWorkspaceEditResult:
        staged: dict[str, str] = {}
        for change in edit.document_changes or []:
            if not isinstance(change, types.TextDocumentEdit):
                return types.ApplyWorkspaceEditResult(False, "only text edits expected here")
            uri, version = change.text_document.uri, change.text_document.version
            if uri in self.docs:
                open_version, text = self.docs[uri]
                if version != open_version:
                    return types.ApplyWorkspaceEditResult(
                        False, f"version {version} is not the open {open_version}"
                    )
            else:
                text = path_of(uri).read_text(encoding="utf-8")
            staged[uri] = apply_text_edits(staged.get(uri, text), list(change.edits))
        for uri, text in staged.items():
            if uri in self.docs:
                version, _ = self.docs[uri]
                self.docs[uri] = (version + 1, text)
                self.changed(uri, version + 1, text)
                if not self.autosave:
                    continue
            path_of(uri).write_text(text, encoding="utf-8")  # and save, as the user would
            self.saved(uri)
        self.applied.append(edit)
        return types.ApplyWorkspaceEditResult(applied=True)
