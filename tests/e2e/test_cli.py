"""`greenpatch run` end to end: the real loop, the real sandbox, the scripted model."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from greenpatch.agents.headless import where
from greenpatch.agents.store import RunStore
from greenpatch.errors import WorkspaceError
from tests.e2e.conftest import SCRIPT


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
    assert "not applied" in done.stderr and "greenpatch run --revise " in done.stderr
    assert tree_hash(shop) == before


def test_a_proposal_is_revised_with_feedback_then_applied(shop: Path, tmp_path: Path) -> None:
    script = tmp_path / "revise.json"
    keep_docstring = (
        "```diff\n--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -1,1 +1,1 @@\n"
        '-"""Prices and discounts for a small shop."""\n+"""Prices for a small shop."""\n```\n'
    )
    script.write_text(
        json.dumps({"replies": [keep_docstring, {"role": "critic", "reply": "APPROVE"}]})
    )
    first = greenpatch(
        "run",
        "Fix the failing tests",
        "--workspace",
        str(shop),
        "--model",
        f"scripted/{SCRIPT}",
        "--json",
    )
    proposed = json.loads(first.stdout)
    run_id = proposed["run_id"]
    assert "Prices and discounts" in proposed["diff"]
    revised = greenpatch(
        "run",
        "Leave the module docstring as it was.",
        "--revise",
        run_id,
        "--workspace",
        str(shop),
        "--model",
        f"scripted/{script}",
        "--yes",
        "--json",
    )
    assert revised.returncode == 0, revised.stderr
    result = json.loads(revised.stdout)
    assert result["run_id"] == run_id and result["applied"] == ["shop/pricing.py"]
    assert [c["agent"] for c in result["calls"]] == ["debugger", "critic"]
    text = (shop / "shop" / "pricing.py").read_text()
    assert text.startswith('"""Prices for a small shop."""') and "(100 - percent)" in text
    record = RunStore(shop).get(run_id)
    assert record.status == "applied" and "REVISE" in [t.state for t in record.transitions]
    again = greenpatch("run", "More.", "--revise", run_id, "--workspace", str(shop))
    assert again.returncode == 1 and "only a run with a proposal can be revised" in again.stderr
    assert "Traceback" not in again.stderr


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


def wait_for_checkpoint(shop: Path, iteration: int, proc: subprocess.Popen[str]) -> str:
    """The run id, once its checkpoint says `iteration` is done (the store, read as a
    second process would)."""
    from greenpatch.agents.snapshot import Position
    from greenpatch.agents.store import RunStore

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        if (shop / ".greenpatch" / "state.db").exists():
            store = RunStore(shop)
            try:
                for run in store.unfinished():
                    data = store.checkpoint(run.run_id)
                    if data and Position.from_json(data)[1].iteration >= iteration:
                        return run.run_id
            finally:
                store.close()
        time.sleep(0.2)
    raise AssertionError("the run never saved its first iteration")


def start_hanging_run(shop: Path, tmp_path: Path) -> subprocess.Popen[str]:
    """`greenpatch run` whose coder's first try is wrong and whose debugger then hangs."""
    wrong, right, _ = json.loads(Path(SCRIPT).read_text())["replies"]
    script = tmp_path / "hangs.json"
    script.write_text(json.dumps([wrong, {"sleep": 600, "reply": right}]))
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "greenpatch.cli", "run", "Fix the failing tests"),
            *("--workspace", str(shop), "--model", f"scripted/{script}"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_killed_run_resumes_from_its_checkpoint(shop: Path, tmp_path: Path) -> None:
    _, right, approve = json.loads(Path(SCRIPT).read_text())["replies"]
    second = tmp_path / "second.json"  # what the resumed run's model answers
    second.write_text(json.dumps([right, approve]))
    proc = start_hanging_run(shop, tmp_path)
    try:
        run_id = wait_for_checkpoint(shop, 1, proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    listed = greenpatch("run", "--list", "--workspace", str(shop), "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["run_id"] for r in json.loads(listed.stdout)] == [run_id]

    done = greenpatch(
        "run",
        "--resume",
        run_id,
        "--workspace",
        str(shop),
        "--model",
        f"scripted/{second}",
        "--yes",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    # The debugger's diff applies only on top of the killed run's first edit.
    assert result["status"] == "green" and result["iterations"] == 2
    assert [c["agent"] for c in result["calls"]] == ["debugger", "critic"]
    assert "resumed after iteration 1" in done.stderr and "[baseline" not in done.stderr
    assert "price * (100 - percent) / 100" in (shop / "shop" / "pricing.py").read_text()
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=shop,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout
    after = greenpatch("run", "--list", "--workspace", str(shop))
    assert after.stdout == "" and "no paused or interrupted runs" in after.stderr


def test_ctrl_c_leaves_the_run_interrupted_and_resumable(shop: Path, tmp_path: Path) -> None:
    proc = start_hanging_run(shop, tmp_path)
    try:
        run_id = wait_for_checkpoint(shop, 1, proc)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == (
        f"greenpatch: interrupted; to continue: greenpatch run --resume {run_id}"
    )
    assert "Traceback" not in err
    record = RunStore(shop).get(run_id)
    assert record.status == "interrupted" and record.finished
    listed = greenpatch("run", "--list", "--workspace", str(shop), "--json")
    assert [r["run_id"] for r in json.loads(listed.stdout)] == [run_id]


def test_resume_of_an_unknown_run_is_one_line(shop: Path) -> None:
    done = greenpatch("run", "--resume", "feedbeef", "--workspace", str(shop))
    assert done.returncode == 1
    assert done.stderr.startswith("greenpatch: no run feedbeef in this workspace")
    assert "Traceback" not in done.stderr


CLAMP = '''def clamp(x, lo, hi):
    """Limit x to the range from lo to hi.

    >>> clamp(5, 0, 3)
    3
    >>> clamp(-1, 0, 3)
    0
    """
    raise NotImplementedError
'''
CLAMP_TESTS = """from mathx.ops import clamp


def test_clamp_caps():
    assert clamp(10, 0, 4) == 4


def test_clamp_wrongly():
    assert clamp(-3, 0, 4) == -3
"""


def clamp_project(root: Path) -> Path:
    files = {
        "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["."]\n',
        # The function-rewrite format the embedded models use, and fewer samples.
        ".greenpatch.toml": '[models]\nedit_format = "whole"\n[sampling]\nsamples = 3\nagree = 2\n',
        "mathx/__init__.py": "",
        "mathx/ops.py": CLAMP,
        "tests/test_smoke.py": "def test_imports():\n    import mathx.ops  # noqa: F401\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_at_points_an_implement_request_at_a_function(tmp_path: Path) -> None:
    project = clamp_project(tmp_path / "mathx-project")
    body = "```python\ndef clamp(x, lo, hi):\n    return {}\n```"
    script = tmp_path / "implement.json"
    script.write_text(
        json.dumps(
            {
                "replies": [
                    {"role": "tester", "reply": f"```python\n{CLAMP_TESTS}```"},
                    body.format("min(max(x, lo), hi)"),
                    body.format("max(lo, min(x, hi))"),
                    {"role": "critic", "reply": "APPROVE\nclamp does what it says."},
                ]
            }
        )
    )
    done = greenpatch(
        "run",
        "Implement clamp",
        "--kind",
        "implement",
        "--at",
        "mathx/ops.py::clamp",
        "--workspace",
        str(project),
        "--model",
        f"scripted/{script}",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "green", result["message"]
    assert [c["agent"] for c in result["calls"]] == ["tester", "coder", "coder", "critic"]
    evidence = result["evidence"]
    assert evidence["new_tests"] == ["tests/test_greenpatch_clamp.py"]
    assert evidence["dropped_tests"] == ["tests/test_greenpatch_clamp.py::test_clamp_wrongly"]
    assert "sampling 2/3 for clamp" in done.stderr


def test_at_names_what_is_not_there_in_one_line(tmp_path: Path) -> None:
    project = clamp_project(tmp_path / "mathx-project")
    for at, said in [
        ("mathx/missing.py", "--at: no file mathx/missing.py in"),
        ("mathx/ops.py::nope", "--at: mathx/ops.py defines no function or class nope"),
        ("../outside.py", "--at: no file ../outside.py in"),
        ("mathx/ops.py:0", "--at: lines count from 1 (mathx/ops.py:0)"),
    ]:
        done = greenpatch("run", "Implement it", "--at", at, "--workspace", str(project))
        assert done.returncode == 1, at
        assert done.stderr.startswith(f"greenpatch: {said}"), done.stderr
        assert "Traceback" not in done.stderr


def test_at_reads_a_line_a_function_or_a_file(tmp_path: Path) -> None:
    project = clamp_project(tmp_path / "mathx-project")
    assert where("mathx/ops.py:3", project) == {"path": "mathx/ops.py", "symbol": None, "line": 2}
    assert where("mathx/ops.py::clamp", project)["symbol"] == "clamp"
    assert where("./mathx/ops.py", project) == {
        "path": "mathx/ops.py",
        "symbol": None,
        "line": None,
    }
    with pytest.raises(WorkspaceError, match=re.escape("no file mathx/ops.py:²")):
        where("mathx/ops.py:²", project)  # a digit int() would take, not a line number


def test_roles_shows_what_was_learned_and_rolls_back(shop: Path, tmp_path: Path) -> None:
    none_yet = greenpatch("roles", "--workspace", str(shop))
    assert none_yet.returncode == 0 and "no role has learned anything here yet" in none_yet.stderr
    script = tmp_path / "prose.json"
    script.write_text(json.dumps(["I am not sure what to change."] * 12))
    failed = greenpatch(
        "run", "Fix the failing tests", "--workspace", str(shop), "--model", f"scripted/{script}"
    )
    assert failed.returncode == 1
    shown = greenpatch("roles", "--workspace", str(shop), "--json")
    [coder] = [r for r in json.loads(shown.stdout) if r["role"] == "coder"]
    assert coder["mistakes"] and coder["mistakes"][0].startswith("Gave a reply the loop could not")
    history = greenpatch("roles", "coder", "--history", "--workspace", str(shop))
    assert history.stdout.splitlines()[0].split()[0] == "1" and "mistake added" in history.stdout
    back = greenpatch("roles", "coder", "--rollback", "1", "--workspace", str(shop), "--json")
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)[0]["mistakes"] == []
    assert "as it was at version 1" in back.stderr
    wrong = greenpatch("roles", "coder", "--rollback", "99", "--workspace", str(shop))
    assert wrong.returncode == 1 and "no version 99" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    unknown = greenpatch("roles", "poet", "--workspace", str(shop))
    assert unknown.returncode == 1 and "no role 'poet' here" in unknown.stderr
