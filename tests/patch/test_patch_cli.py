"""`greenpatch apply-patch`: exit codes, --check, --json, all-or-nothing on disk, symlinks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from greenpatch.cli import main
from greenpatch.patch.cli import run

GOOD = """```diff
--- a/pkg/a.py
+++ b/pkg/a.py
@@ -1,2 +1,2 @@
 x = 1
-y = 2
+y = 3
--- /dev/null
+++ b/pkg/new.py
@@ -0,0 +1 @@
+z = 0
```
"""
BAD_SECOND_FILE = GOOD.replace("```\n", "") + "--- a/b.txt\n+++ b/b.txt\n@@ -1 +1 @@\n-nope\n+yes\n"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "pkg").mkdir(parents=True)
    (ws / "pkg" / "a.py").write_bytes(b"x = 1\r\ny = 2\r\n")
    (ws / "pkg" / "a.py").chmod(0o755)
    (ws / "b.txt").write_text("hello\n")
    return ws


def _patch(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "change.diff"
    p.write_text(text)
    return p


def test_applies_and_writes(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_patch(tmp_path, GOOD), root, check=False, as_json=False) == 0
    assert (root / "pkg" / "a.py").read_bytes() == b"x = 1\r\ny = 3\r\n"
    assert (root / "pkg" / "new.py").read_text() == "z = 0\n"
    assert (root / "pkg" / "a.py").stat().st_mode & 0o777 == 0o755
    assert not [p for p in root.rglob(".greenpatch-*")]
    assert "modified: pkg/a.py" in capsys.readouterr().out


def test_check_writes_nothing(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(_patch(tmp_path, GOOD), root, check=True, as_json=True) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["check"] and not report["written"]
    assert [f["status"] for f in report["files"]] == ["modified", "created"]
    assert report["files"][0]["hunks"][0] == {
        "index": 0,
        "applied": True,
        "line": 1,
        "strategy": "exact",
    }
    assert report["diff"].startswith("diff --git a/pkg/a.py b/pkg/a.py")
    assert (root / "pkg" / "a.py").read_bytes() == b"x = 1\r\ny = 2\r\n"
    assert not (root / "pkg" / "new.py").exists()


def test_refusal_writes_nothing(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(_patch(tmp_path, BAD_SECOND_FILE), root, check=False, as_json=True) == 1
    report = json.loads(capsys.readouterr().out)
    assert not report["ok"] and not report["written"]
    (failure,) = report["failures"]
    assert failure["path"] == "b.txt" and failure["hunk_index"] == 0
    assert failure["reason"] == "no_match"
    assert "NOT applied" in report["message"]
    assert (root / "pkg" / "a.py").read_bytes() == b"x = 1\r\ny = 2\r\n"
    assert not (root / "pkg" / "new.py").exists()


def test_symlink_leaving_the_root_is_refused(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n")
    os.symlink(outside, root / "link.txt")
    diff = "--- a/link.txt\n+++ b/link.txt\n@@ -1 +1 @@\n-secret\n+owned\n"
    assert run(_patch(tmp_path, diff), root, check=False, as_json=False) == 1
    assert outside.read_text() == "secret\n"


def test_symlinked_directory_leaving_the_root_is_refused_for_new_files(
    root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.symlink(outside, root / "out")
    diff = "--- /dev/null\n+++ b/out/x.py\n@@ -0,0 +1 @@\n+x\n"
    assert run(_patch(tmp_path, diff), root, check=False, as_json=False) == 1
    assert list(outside.iterdir()) == []


def test_usage_errors(root: Path, tmp_path: Path) -> None:
    assert run(tmp_path / "missing.diff", root, check=False, as_json=False) == 2
    assert run(_patch(tmp_path, GOOD), tmp_path / "nope", check=False, as_json=False) == 2


def test_through_the_greenpatch_command(root: Path, tmp_path: Path) -> None:
    assert main(["apply-patch", str(_patch(tmp_path, GOOD)), "--root", str(root), "--check"]) == 0


def test_as_a_subprocess_without_heavy_imports(root: Path, tmp_path: Path) -> None:
    code = (
        "import sys; from greenpatch.cli import main; rc = main(sys.argv[1:]); "
        "heavy = {'litellm', 'chromadb', 'pygls'} & set(sys.modules); "
        "sys.exit(rc if not heavy else 99)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    args = [
        sys.executable,
        "-c",
        code,
        "apply-patch",
        str(_patch(tmp_path, GOOD)),
        "--root",
        str(root),
        "--json",
    ]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["written"] is True
