"""Commit on accept: only the accepted files, never the user's other staged changes."""

from __future__ import annotations

import subprocess
from pathlib import Path

from greenpatch.agents.types import Evidence, Proposal
from greenpatch.server.commits import commit_only, message
from greenpatch.server.review import Review
from greenpatch.server.reviewing import document_text


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()


def repository(root: Path) -> None:
    git(root, "init", "-q")
    git(root, "config", "user.name", "Test User")
    git(root, "config", "user.email", "test@example.com")
    (root / "a.py").write_text("a = 1\n")
    (root / "b.py").write_text("b = 1\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "initial")


def test_commit_only_takes_the_named_files_and_leaves_the_rest_staged(tmp_path: Path) -> None:
    repository(tmp_path)
    (tmp_path / "b.py").write_text("b = 2\n")
    git(tmp_path, "add", "b.py")  # the user's own staged work
    (tmp_path / "a.py").write_text("a = 2\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "new.py").write_text("new = 1\n")
    sha = commit_only(tmp_path, ["a.py", "pkg/new.py"], "Fix a\n\nGreenpatch run r1\n")
    assert sha == git(tmp_path, "rev-parse", "HEAD")
    assert git(tmp_path, "show", "--name-only", "--format=", "HEAD").split() == [
        "a.py",
        "pkg/new.py",
    ]
    assert git(tmp_path, "diff", "--cached", "--name-only") == "b.py"
    assert git(tmp_path, "log", "-1", "--format=%s") == "Fix a"


def test_a_workspace_below_the_repository_root_commits_with_repository_paths(
    tmp_path: Path,
) -> None:
    repository(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.py").write_text("c = 1\n")
    commit_only(tmp_path / "sub", ["c.py"], "Add c\n")
    assert git(tmp_path, "show", "--name-only", "--format=", "HEAD") == "sub/c.py"


def test_not_a_repository_commits_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("a = 1\n")
    assert commit_only(tmp_path, ["a.py"], "x\n") is None


def test_the_message_leads_with_the_task_and_carries_the_evidence() -> None:
    proposal = Proposal(
        "abc123",
        "Make the failing tests pass\n\nmore words",
        (),
        "",
        Evidence("failed: 2 failed", "passed: 4 passed", ("t.py::test_a",)),
        2,
        0.0,
    )
    text = message(proposal)
    assert text.splitlines()[0] == "Make the failing tests pass"
    assert "Greenpatch run abc123" in text
    assert "Tests before: failed: 2 failed" in text and "Tests after:  passed: 4 passed" in text
    assert "Failing before: t.py::test_a" in text


def test_the_tester_s_new_and_dropped_tests_are_on_record() -> None:
    evidence = Evidence(
        "failed: 1 failed",
        "passed: 3 passed",
        new_tests=("tests/test_greenpatch_add.py",),
        dropped_tests=("tests/test_greenpatch_add.py::test_add_wrongly",),
    )
    proposal = Proposal("r2", "Implement add", (), "", evidence, 1, 0.0)
    assert message(proposal).endswith(
        "Dropped as wrong (the tester's): tests/test_greenpatch_add.py::test_add_wrongly\n"
    )
    header = document_text(Review(proposal)).splitlines()
    assert "# New tests (the tester's): tests/test_greenpatch_add.py" in header
    assert "# Dropped (the tester was wrong): tests/test_greenpatch_add.py::test_add_wrongly" in (
        header
    )
