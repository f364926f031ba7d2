"""`greenpatch sandbox-run` through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from greenpatch.sandbox.bwrap import bwrap_works

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"exit_code", "stdout", "stderr", "timed_out", "killed_reason", "duration_s", "backend"}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "greenpatch.cli", "sandbox-run", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture(autouse=True)
def _need_bwrap() -> None:
    if bwrap_works():
        pytest.skip(str(bwrap_works()))


def test_json_contract_and_exit_code(workspace: Path, tree_hash: Callable[[Path], str]):
    before = tree_hash(workspace)
    script = "import sys; open('data.txt', 'w').write('x'); print('hi'); sys.exit(7)"
    proc = cli("--workspace", str(workspace), "--json", "--", "python", "-c", script)
    assert proc.returncode == 7, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) >= KEYS
    assert (data["exit_code"], data["stdout"], data["backend"]) == (7, "hi\n", "bwrap")
    assert data["timed_out"] is False and data["killed_reason"] is None
    assert tree_hash(workspace) == before


def test_timeout_exits_124(workspace: Path):
    proc = cli("--workspace", str(workspace), "--timeout", "0.5", "--json", "--", "sleep", "30")
    assert proc.returncode == 124
    data = json.loads(proc.stdout)
    assert data["timed_out"] is True and "timeout" in data["killed_reason"]


def test_plain_output_passes_through(workspace: Path):
    proc = cli("--workspace", str(workspace), "--", "sh", "-c", "echo out; echo err >&2")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "out\n", "err\n")


def test_usage_errors_exit_2(workspace: Path, tmp_path: Path):
    assert cli("--workspace", str(workspace), "--").returncode == 2
    assert cli("--workspace", str(tmp_path / "absent"), "--", "true").returncode == 2
    assert cli("--workspace", str(workspace), "--timeout", "0", "--", "true").returncode == 2


def test_process_backend_warns(workspace: Path):
    proc = cli("--workspace", str(workspace), "--backend", "process", "--json", "--", "true")
    assert proc.returncode == 0
    assert "isolates nothing" in json.loads(proc.stdout)["warnings"][0]
