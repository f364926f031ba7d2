"""`greenpatch run` end to end: the real loop, the real sandbox, the scripted model."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path


def greenpatch(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greenpatch.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def tree_hash(root: Path) -> str:
    """The user's files; Greenpatch's own state lives in .greenpatch/ (which ignores itself)."""
    digest = hashlib.sha256()
    skip = {"__pycache__", ".greenpatch"}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not skip & set(p.parts)):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def test_run_fixes_the_example_and_applies_with_yes(shop: Path, scripted_model: str) -> None:
    done = greenpatch(
        "run",
        "Fix the failing tests",
        "--workspace",
        str(shop),
        "--model",
        scripted_model,
        "--yes",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "green" and result["iterations"] == 2
    assert result["applied"] == ["shop/pricing.py"]
    assert [c["agent"] for c in result["calls"]] == ["coder", "debugger", "critic"]
    assert "price * (100 - percent) / 100" in (shop / "shop" / "pricing.py").read_text()
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=shop,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout


def test_without_yes_nothing_is_written(shop: Path, scripted_model: str) -> None:
    before = tree_hash(shop)
    done = greenpatch(
        "run", "Fix the failing tests", "--workspace", str(shop), "--model", scripted_model
    )
    assert done.returncode == 0
    assert done.stdout.startswith("diff --git a/shop/pricing.py b/shop/pricing.py")
    assert "not applied" in done.stderr
    assert tree_hash(shop) == before


def test_a_model_that_never_writes_a_diff_fails_cleanly(shop: Path, tmp_path: Path) -> None:
    script = tmp_path / "garbage.json"
    script.write_text(json.dumps({"replies": ["I am not sure what you mean."] * 12}))
    before = tree_hash(shop)
    done = greenpatch(
        "run",
        "Fix the failing tests",
        "--workspace",
        str(shop),
        "--model",
        f"scripted/{script}",
        "--yes",
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("greenpatch: failed: no green change after 3 iterations")
    assert "Traceback" not in done.stderr
    assert tree_hash(shop) == before


def test_bad_workspace_is_one_line_and_exit_1(tmp_path: Path) -> None:
    done = greenpatch("run", "anything", "--workspace", str(tmp_path / "missing"))
    assert done.returncode == 1
    assert done.stderr.strip() == f"greenpatch: workspace {tmp_path / 'missing'} is not a directory"


def test_unreachable_model_is_reported(shop: Path) -> None:
    env = {
        **os.environ,
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "GREENPATCH_MODELS__MAX_RETRIES": "1",
    }
    before = tree_hash(shop)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "greenpatch.cli",
            "run",
            "Fix the failing tests",
            "--workspace",
            str(shop),
            "--model",
            "openai/gpt-4o-mini",
            "--yes",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert "failed: no model answered: openai/gpt-4o-mini: not reachable" in last
    assert "Traceback" not in done.stderr
    assert tree_hash(shop) == before
