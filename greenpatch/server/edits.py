"""Proposal changes -> a versioned `WorkspaceEdit` that never clobbers a keystroke.

Each change carries the text it was made against. If the editor's document still holds that
text, the edit is computed against it and pinned to the document's version. If the user typed
meanwhile, the change is re-based onto the current text through the patch engine; when that
is impossible (the user edited the same lines), nothing is applied and the user is told. When
it is possible but the user's edits touch lines a hunk spans, the plan says so (`overlaps`),
and the caller re-runs the tests on the combined text before offering it.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path
from pygls.workspace import Workspace

from greenpatch import patch
from greenpatch.errors import StaleDocument

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """What the editor holds now for one file."""

    uri: str
    text: str | None
    version: int | None


def current(workspace: Workspace, root: Path, path: str) -> Target:
    """The open document's text and version, else the file on disk (version None)."""
    uri = from_fs_path(str(root / path)) or (root / path).as_uri()
    doc = workspace.text_documents.get(uri)
    if doc is not None:
        return Target(uri, doc.source, doc.version)
    file = root / path
    text = file.read_text(encoding="utf-8") if file.is_file() else None
    return Target(uri, text, None)


def rebase(change: patch.FileChange, now: str | None) -> patch.FileChange:
    """The change re-targeted at the current text, or StaleDocument."""
    if now == change.old_text:
        return change
    if now is None or change.old_text is None or change.new_text is None:
        raise StaleDocument(f"{change.path} was created or deleted meanwhile")
    result = patch.rebase([change], lambda p: now if p == change.path else None)
    if not result.ok or not result.changes:
        raise StaleDocument(
            f"{change.path} changed where the proposal edits it; nothing was applied. "
            "Run the task again on the current text."
        )
    log.info("re-based %s onto the editor's current text", change.path)
    return dataclasses.replace(change, old_text=now, new_text=result.changes[0].new_text)


def touched(change: patch.FileChange, now: str | None) -> bool:
    """Whether the edits that turned `change.old_text` into `now` touch a line one of the
    change's hunks spans (its context included)."""
    if now is None or change.old_text is None or change.new_text is None:
        return False
    if now == change.old_text:
        return False
    spans = [(h.old_start - 1, h.old_start - 1 + h.old_count) for h in patch.split_hunks(change)]
    matcher = difflib.SequenceMatcher(
        None, change.old_text.splitlines(keepends=True), now.splitlines(keepends=True), False
    )
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag == "equal":
            continue
        for start, end in spans:
            if (i1 < end and start < i2) if i1 < i2 else start < i1 < end:
                return True
    return False


@dataclass(frozen=True)
class Planned:
    """One change re-targeted at what the editor holds now."""

    change: patch.FileChange
    target: Target
    overlaps: bool  # the user edited lines the change spans since it was made


def plan(workspace: Workspace, root: Path, changes: Sequence[patch.FileChange]) -> list[Planned]:
    """Every change re-based onto the editor's text; StaleDocument before anything partial."""
    out = []
    for change in changes:
        target = current(workspace, root, change.old_path or change.path)
        out.append(Planned(rebase(change, target.text), target, touched(change, target.text)))
    return out


def lsp_text_edits(old: str, new: str) -> list[types.TextEdit | types.AnnotatedTextEdit]:
    return [
        types.TextEdit(
            range=types.Range(
                start=types.Position(line=e.start_line, character=e.start_character),
                end=types.Position(line=e.end_line, character=e.end_character),
            ),
            new_text=e.new_text,
        )
        for e in patch.text_edits(old, new)
    ]


def workspace_edit(root: Path, planned: Sequence[Planned]) -> types.WorkspaceEdit:
    """All planned changes as one edit, pinned to the versions they were re-based onto."""
    operations: list[
        types.TextDocumentEdit | types.CreateFile | types.RenameFile | types.DeleteFile
    ] = []
    for item in planned:
        change, target = item.change, item.target
        if change.old_path and change.old_path != change.path:
            new_uri = from_fs_path(str(root / change.path)) or ""
            operations.append(types.RenameFile(old_uri=target.uri, new_uri=new_uri))
        if change.new_text is None:
            operations.append(types.DeleteFile(uri=target.uri))
            continue
        if change.old_text is None:
            operations.append(
                types.CreateFile(uri=target.uri, options=types.CreateFileOptions(overwrite=False))
            )
        uri = from_fs_path(str(root / change.path)) or target.uri
        operations.append(
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(
                    uri=uri, version=target.version
                ),
                edits=lsp_text_edits(change.old_text or "", change.new_text),
            )
        )
    return types.WorkspaceEdit(document_changes=operations)
