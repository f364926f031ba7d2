"""A second real client: headless Neovim (from the distribution's package) drives the real
server over stdio with its own LSP client. The user's gesture is scripted in
tests/e2e/nvim/drive.lua: code-action menu on a failing test -> pick the fix -> the green
proposal is applied to the open buffer through workspace/applyEdit -> save. Proof that the
server needs nothing VS Code-specific."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
NVIM_DIR = Path(__file__).resolve().parent / "nvim"
DOCS = REPO / "docs" / "editors.md"
NVIM = shutil.which("nvim")
FIX_TITLE = "Greenpatch: fix this failing test (test_apply_discount)"
RUN_TIMEOUT_S = 180  # the scripted run takes about a minute on a busy 2-core machine
NVIM_TIMEOUT_S = RUN_TIMEOUT_S + 90  # startup, code action, shutdown around the run


def nvim_env(shop: Path, model: str, approval: str, scratch: Path) -> dict[str, str]:
    """drive.lua's inputs, the repository on PYTHONPATH for the server, and Neovim's own
    cache/state/data dirs (the LSP log lives there) inside the test's tmp dir. Inherited
    GREENPATCH_* variables are dropped: they are a settings layer of their own, and here the
    settings must come from the client's initializationOptions alone."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENPATCH_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    for name in ("XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        env[name] = str(scratch / name.lower())
    env.update(
        NVIM_GP_WORKSPACE=str(shop),
        NVIM_GP_PYTHON=sys.executable,
        NVIM_GP_MODEL=model,
        NVIM_GP_NVIM_DIR=str(NVIM_DIR),
        NVIM_GP_RESULT=str(scratch / "result.json"),
        NVIM_GP_TIMEOUT_MS=str(RUN_TIMEOUT_S * 1000),
        NVIM_GP_APPROVAL=approval,
    )
    return env


def run_nvim(env: dict[str, str]) -> tuple[dict[str, Any], str]:
    """Run drive.lua headless; returns its result JSON and a failure explanation."""
    assert NVIM is not None
    command = [NVIM, "--headless", "--clean", "-u", "NONE", "-n"]
    command += ["-c", "lua dofile(vim.env.NVIM_GP_NVIM_DIR .. '/drive.lua')"]
    try:
        done = subprocess.run(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=NVIM_TIMEOUT_S,
            check=False,
        )
        outcome = f"nvim exited {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    except subprocess.TimeoutExpired as exc:
        outcome = f"nvim still running after {NVIM_TIMEOUT_S}s: {exc.stderr!r}"
    result_file = Path(env["NVIM_GP_RESULT"])
    result = json.loads(result_file.read_text()) if result_file.is_file() else {}
    return result, explain(result, outcome)


def explain(result: dict[str, Any], outcome: str) -> str:
    """Everything needed to debug a failure without re-running: how far the script got,
    the error, what the server said, and the end of Neovim's LSP log."""
    log_path = Path(result.get("lsp_log") or "/nonexistent")
    log_tail = log_path.read_text(errors="replace")[-6000:] if log_path.is_file() else "(no log)"
    summary = {k: result.get(k) for k in ("steps", "error", "titles", "executed", "applied")}
    return "\n".join(
        [
            outcome,
            json.dumps(summary, indent=1),
            "messages: " + json.dumps(result.get("messages"), indent=1),
            "events: " + json.dumps(result.get("events"), indent=1),
            "server log: " + "\n".join((result.get("log_messages") or [])[-40:]),
            "vim :messages: " + str(result.get("vim_messages")),
            "LSP log tail:\n" + log_tail,
        ]
    )


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def server_exits(pid: int | None, within_s: float = 15.0) -> bool:
    """Wait for the language server Neovim started to end; if it outlives the grace time,
    stop it (it is this test's grandchild) and report False."""
    if pid is None:
        return True
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.2)
    try:
        ours = "greenpatch.cli" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    except OSError:
        return True  # it ended just now
    if ours:
        os.kill(pid, signal.SIGTERM)
    return False


def suite_passes(shop: Path) -> tuple[bool, str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=shop,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0, done.stdout[-3000:]


FIXED_LINE = "return round(price * (100 - percent) / 100, 2)"
NOTE = "# the user's note, typed while the agents worked"
needs_nvim = pytest.mark.skipif(
    NVIM is None, reason="nvim is not on PATH (Debian: apt-get install neovim)"
)


def drive(shop: Path, model: str, approval: str, scratch: Path) -> tuple[dict[str, Any], str]:
    """The scripted Neovim session on a red copy of the example, with the checks every
    session must pass: Neovim quit cleanly, so did the server, the right root, the fix was
    offered and started, the edit arrived in the buffer and was saved, no warnings."""
    shop = shop.resolve()  # the server resolves its root; the buffer names must agree
    source = shop / "shop" / "pricing.py"
    original = source.read_text()
    assert suite_passes(shop)[0] is False, "the example must start red"

    result, why = run_nvim(nvim_env(shop, model, approval, scratch))
    exited = server_exits(result.get("server_pid"))

    assert result.get("ok") is True, why
    assert exited, "the server outlived Neovim's shutdown/exit\n" + why
    assert result["root"] == str(shop), why
    assert FIX_TITLE in result["titles"], why
    assert "runId" in result["executed"]["result"], why
    kinds = [event["kind"] for event in result["events"]]
    assert kinds[0] == "started" and kinds[-1] == "finished", why
    assert len(result["applied"]) == 1 and result["applied"][0]["applied"], why
    assert FIXED_LINE in result["buffer"], why
    assert result["modified"] is True, "the edit lands in the buffer, unsaved, like a keystroke"
    assert source.read_text() == result["buffer"] != original, "Neovim saved what it was given"
    assert any("applied the proposal" in m["message"] for m in result["messages"]), why
    problems = [m for m in result["messages"] if m["type"] in (1, 2)]  # Error, Warning
    assert not problems, why
    return result, why


@needs_nvim
def test_neovim_code_action_fixes_the_open_buffer(
    shop: Path, scripted_model: str, tmp_path: Path
) -> None:
    """approval = auto: pick the code action, and the green fix lands in the open buffer."""
    result, why = drive(shop, scripted_model, "auto", tmp_path / "nvim")
    assert result["buffer"].startswith('"""Prices and discounts for a small shop."""'), why
    passed, output = suite_passes(shop)
    assert passed, output


@needs_nvim
def test_neovim_review_keeps_what_the_user_typed(
    shop: Path, scripted_model: str, tmp_path: Path
) -> None:
    """approval = review (the default): the user types in pricing.py while the run goes;
    nothing changes until :GreenpatchAccept, then the fix is re-based onto the typed text."""
    result, why = drive(shop, scripted_model, "review", tmp_path / "nvim")
    before = result["before_accept"]
    assert NOTE in before and FIXED_LINE not in before, "nothing applied before the accept"
    assert f"+    {FIXED_LINE}" in result["proposal_diff"], why  # :GreenpatchShow
    buffer = result["buffer"]
    assert buffer.endswith(NOTE + "\n") and FIXED_LINE in buffer, why
    passed, output = suite_passes(shop)
    assert passed, output


def test_docs_show_the_tested_neovim_snippet() -> None:
    """docs/editors.md carries the Lua module the Neovim test runs, verbatim."""
    snippet = (NVIM_DIR / "greenpatch.lua").read_text()
    assert snippet.strip() in DOCS.read_text()
