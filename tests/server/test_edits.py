"""Re-basing onto the editor's text: which user edits touch the lines a change spans, and the
plan that pins each change to the document version it was re-based onto."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pygls.workspace import Workspace

from greenpatch.errors import StaleDocument
from greenpatch.patch import FileChange
from greenpatch.server import edits

OLD = "".join(f"line {i}\n" for i in range(1, 31))
# The change rewrites line 15; its hunk spans lines 12-18 with the context.
CHANGE = FileChange("m.py", OLD, OLD.replace("line 15\n", "line fifteen\n"))


def typed(line: int, text: str) -> str:
    lines = OLD.splitlines(keepends=True)
    lines[line - 1] = text
    return "".join(lines)


def test_an_edit_far_from_the_hunk_does_not_touch_it() -> None:
    assert not edits.touched(CHANGE, typed(2, "user\n"))
    assert not edits.touched(CHANGE, typed(25, "user\n"))
    assert not edits.touched(CHANGE, OLD)


def test_an_edit_on_a_context_line_or_the_changed_line_touches_it() -> None:
    assert edits.touched(CHANGE, typed(12, "user\n"))
    assert edits.touched(CHANGE, typed(15, "user\n"))
    assert edits.touched(CHANGE, typed(18, "user\n"))


def test_an_insertion_inside_the_span_touches_it_but_not_one_just_before() -> None:
    inside = OLD.replace("line 14\n", "line 14\nnew\n")
    before = OLD.replace("line 11\n", "line 11\nnew\n")
    assert edits.touched(CHANGE, inside)
    assert not edits.touched(CHANGE, before)


def test_plan_rebases_an_open_buffer_and_pins_its_version(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(OLD)
    workspace = Workspace(tmp_path.as_uri())
    uri = (tmp_path / "m.py").as_uri()
    workspace.put_text_document(
        types.TextDocumentItem(uri=uri, language_id="python", version=7, text=typed(2, "user\n"))
    )
    [planned] = edits.plan(workspace, tmp_path, [CHANGE])
    assert planned.target.version == 7 and not planned.overlaps
    assert planned.change.new_text == typed(2, "user\n").replace("line 15\n", "line fifteen\n")
    [doc_edit] = edits.workspace_edit(tmp_path, [planned]).document_changes or []
    assert doc_edit.text_document.version == 7  # type: ignore[union-attr]


def test_plan_refuses_when_the_changed_line_itself_was_rewritten(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(typed(15, "the user's line 15\n"))
    with pytest.raises(StaleDocument, match="changed where the proposal edits it"):
        edits.plan(Workspace(tmp_path.as_uri()), tmp_path, [CHANGE])
