"""Outputs: the normalised diff (git accepts it), minimal LSP text edits with UTF-16
positions, per-hunk acceptance and the ordered edit plan."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from greenpatch.patch import (
    DocumentEdit,
    FileChange,
    FileOperation,
    TextEdit,
    apply_hunks,
    apply_patch,
    apply_text_edits,
    edit_plan,
    rebase,
    split_hunks,
    text_edits,
    unified_diff,
)

OLD = "".join(f"line {i}\n" for i in range(1, 31))
NEW = OLD.replace("line 3\n", "line three\n").replace("line 25\n", "line 25\nextra\n")

CHANGES = [
    FileChange("m.txt", OLD, NEW),
    FileChange("crlf.txt", "a\r\nb\r\n", "a\r\nB\r\n"),
    FileChange("noeol.txt", "x\ny", "x\nz"),
    FileChange("new.txt", None, "fresh\n"),
    FileChange("gone.txt", "old\n", None),
    FileChange("moved.txt", "m\n", "m2\n", old_path="orig.txt"),
    FileChange("same.txt", "s\n", "s\n", old_path="was.txt"),
]


def test_unified_diff_is_clean() -> None:
    diff = unified_diff(CHANGES[:1])
    assert diff.startswith(
        "diff --git a/m.txt b/m.txt\n--- a/m.txt\n+++ b/m.txt\n@@ -1,6 +1,6 @@\n"
    )
    assert "@@ -23,6 +23,7 @@" in diff


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_applies_the_normalised_diff(tmp_path: Path) -> None:
    for ch in CHANGES:
        if ch.old_text is not None:
            (tmp_path / (ch.old_path or ch.path)).write_bytes(ch.old_text.encode())
    patch = tmp_path / "p.diff"
    patch.write_bytes(unified_diff(CHANGES).encode())
    subprocess.run(["git", "apply", "--unsafe-paths", str(patch)], cwd=tmp_path, check=True)
    for ch in CHANGES:
        target = tmp_path / ch.path
        if ch.new_text is None:
            assert not target.exists()
        else:
            assert target.read_bytes().decode() == ch.new_text
    assert not (tmp_path / "orig.txt").exists()


def test_our_diff_reapplies_to_the_same_result() -> None:
    files = {c.old_path or c.path: c.old_text for c in CHANGES if c.old_text is not None}
    result = apply_patch(unified_diff(CHANGES), files.get)
    assert result.ok, result.message_for_model()
    assert {c.path: c.new_text for c in result.changes} == {c.path: c.new_text for c in CHANGES}


@pytest.mark.parametrize(
    ("old", "new", "edits"),
    [
        ("abc\n", "abc\n", []),
        ("a = 1\n", "a = 2\n", [TextEdit(0, 4, 0, 5, "2")]),
        ("x\ny\n", "x\nnew\ny\n", [TextEdit(1, 0, 1, 0, "new\n")]),
        ("x\ny\nz\n", "x\nz\n", [TextEdit(1, 0, 2, 0, "")]),
        ("😀 = 1\n", "😀 = 2\n", [TextEdit(0, 5, 0, 6, "2")]),  # the emoji is 2 UTF-16 units
        ("a\r\nb\r\n", "a\r\nc\r\n", [TextEdit(1, 0, 1, 1, "c")]),
        ("a\r\n", "a\n", [TextEdit(0, 1, 1, 0, "\n")]),  # never between \r and \n
        ("end", "end\n", [TextEdit(0, 3, 0, 3, "\n")]),
    ],
)
def test_text_edits_are_minimal(old: str, new: str, edits: list[TextEdit]) -> None:
    assert text_edits(old, new) == edits
    assert apply_text_edits(old, edits) == new


def test_split_and_apply_hunks() -> None:
    change = CHANGES[0]
    hunks = split_hunks(change)
    assert [h.header for h in hunks] == ["@@ -1,6 +1,6 @@", "@@ -23,6 +23,7 @@"]
    assert apply_hunks(change, {0, 1}) == NEW
    assert apply_hunks(change, set()) == OLD
    assert apply_hunks(change, {0}) == OLD.replace("line 3\n", "line three\n")
    assert apply_hunks(change, {1}) == OLD.replace("line 25\n", "line 25\nextra\n")
    assert "".join(h.text for h in hunks) in unified_diff([change])


def test_apply_hunks_on_created_and_deleted_files() -> None:
    created, deleted = CHANGES[3], CHANGES[4]
    assert apply_hunks(created, {0}) == "fresh\n"
    assert apply_hunks(created, set()) is None
    assert apply_hunks(deleted, {0}) is None
    assert apply_hunks(deleted, set()) == "old\n"


def test_edit_plan_orders_operations_and_carries_versions() -> None:
    plan = edit_plan(CHANGES, versions={"m.txt": 7, "orig.txt": 3})
    assert plan[0] == DocumentEdit("m.txt", 7, tuple(text_edits(OLD, NEW)))
    assert FileOperation("create", "new.txt") in plan
    assert DocumentEdit("new.txt", None, (TextEdit(0, 0, 0, 0, "fresh\n"),)) in plan
    assert FileOperation("delete", "gone.txt") in plan
    i = plan.index(FileOperation("rename", "orig.txt", "moved.txt"))
    assert plan[i + 1] == DocumentEdit("moved.txt", None, (TextEdit(0, 1, 0, 1, "2"),))
    assert FileOperation("rename", "was.txt", "same.txt") in plan
    assert not any(isinstance(s, DocumentEdit) and s.path == "same.txt" for s in plan)


def test_rebase_onto_text_the_user_edited_elsewhere() -> None:
    change = CHANGES[0]
    typed = "# a line the user typed\n" + OLD.replace("line 15\n", "line fifteen\n")
    result = rebase([change], {"m.txt": typed}.get)
    assert result.ok
    expected = "# a line the user typed\n" + NEW.replace("line 15\n", "line fifteen\n")
    assert result.changes[0].new_text == expected


def test_rebase_refuses_when_the_user_edited_the_same_lines() -> None:
    typed = OLD.replace("line 3\n", "line 3 edited by the user\n")
    result = rebase([CHANGES[0]], {"m.txt": typed}.get)
    assert not result.ok
    assert result.failures[0].hunk_index == 0
