"""Proposal changes -> a versioned `WorkspaceEdit` that never clobbers a keystroke.

Each change carries the text it was made against. If the editor's document still holds that
text, the edit is computed against it and pinned to the document's version. If the user typed
meanwhile, the change is re-based onto the current text through the patch engine; when that
is impossible (the user edited the same lines), nothing is applied and the user is told.
"""

from __future__ import annotations

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
    return patch.FileChange(path=change.path, old_text=now, new_text=result.changes[0].new_text)


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


def workspace_edit(
    workspace: Workspace, root: Path, changes: Sequence[patch.FileChange]
) -> types.WorkspaceEdit:
    """All changes as one edit; raises StaleDocument before building anything partial."""
    operations: list[
        types.TextDocumentEdit | types.CreateFile | types.RenameFile | types.DeleteFile
    ] = []
    for change in changes:
        if change.old_path and change.old_path != change.path:
            old_uri = current(workspace, root, change.old_path).uri
            new_uri = from_fs_path(str(root / change.path)) or ""
            operations.append(types.RenameFile(old_uri=old_uri, new_uri=new_uri))
        target = current(workspace, root, change.path if not change.old_path else change.old_path)
        rebased = rebase(change, target.text)
        if rebased.new_text is None:
            operations.append(types.DeleteFile(uri=target.uri))
            continue
        if rebased.old_text is None:
            operations.append(
                types.CreateFile(uri=target.uri, options=types.CreateFileOptions(overwrite=False))
            )
        uri = from_fs_path(str(root / change.path)) or target.uri
        operations.append(
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(
                    uri=uri, version=target.version
                ),
                edits=lsp_text_edits(rebased.old_text or "", rebased.new_text),
            )
        )
    return types.WorkspaceEdit(document_changes=operations)
