"""Sandbox.run on both local backends: the view, the environment, limits, the timeout."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from greenpatch.errors import ConfigError, SandboxError, WorkspaceError
from greenpatch.sandbox import Sandbox, can_import, get_sandbox
from greenpatch.sandbox.result import TIMEOUT_EXIT_CODE


def test_sees_overlay_instead_of_disk_and_never_writes(
    any_sandbox: Sandbox, workspace: Path, tree_hash: Callable[[Path], str]
):
    before = tree_hash(workspace)
    script = (
        "import pathlib, os\n"
        "print(pathlib.Path('pkg/calc.py').read_text())\n"
        "print(os.path.exists('data.txt'), pathlib.Path('new/mod.py').read_text())\n"
        "pathlib.Path('written.txt').write_text('x')\n"
        "pathlib.Path('pkg/calc.py').write_text('clobbered')\n"
    )
    result = any_sandbox.run(
        workspace,
        [sys.executable, "-c", script],
        overlay={"pkg/calc.py": "EDITED = 1\n", "data.txt": None, "new/mod.py": "NEW"},
    )
    assert result.exit_code == 0, result.stderr
    assert "EDITED = 1" in result.stdout
    assert "False NEW" in result.stdout
    assert tree_hash(workspace) == before


def test_exit_code_and_output(any_sandbox: Sandbox, workspace: Path):
    result = any_sandbox.run(workspace, ["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10)
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert not result.timed_out and result.killed_reason is None
    assert result.backend == any_sandbox.name


def test_timeout_kills_the_group(any_sandbox: Sandbox, workspace: Path):
    result = any_sandbox.run(workspace, ["sh", "-c", "sleep 30 & sleep 30"], timeout=0.5)
    assert result.timed_out
    assert result.exit_code == TIMEOUT_EXIT_CODE
    assert result.killed_reason and "timeout" in result.killed_reason
    assert result.duration_s < 5


def test_environment_is_scrubbed(
    any_sandbox: Sandbox, workspace: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-123")
    result = any_sandbox.run(workspace, ["env"], env={"EXTRA": "given"})
    assert "sk-secret-123" not in result.stdout
    assert "EXTRA=given" in result.stdout


def test_cwd_inside_workspace(any_sandbox: Sandbox, workspace: Path):
    result = any_sandbox.run(workspace, ["pwd"], cwd="pkg")
    assert result.stdout.strip() == str(workspace / "pkg")
    with pytest.raises(SandboxError):
        any_sandbox.run(workspace, ["pwd"], cwd="../..")


def test_overlay_paths_must_stay_inside(any_sandbox: Sandbox, workspace: Path):
    for bad in ("../evil.py", "/etc/passwd"):
        with pytest.raises(SandboxError):
            any_sandbox.run(workspace, ["true"], overlay={bad: "x"})


def test_collect_reads_back_written_files(any_sandbox: Sandbox, workspace: Path):
    result = any_sandbox.run(
        workspace, ["sh", "-c", "echo report > out.xml"], collect=["out.xml", "missing.xml"]
    )
    assert result.collected == {"out.xml": "report\n"}
    assert not (workspace / "out.xml").exists()


def test_collect_refuses_symlinks(any_sandbox: Sandbox, workspace: Path, tmp_path: Path):
    secret = tmp_path / "secret"
    secret.write_text("host secret")
    result = any_sandbox.run(workspace, ["ln", "-s", str(secret), "out.xml"], collect=["out.xml"])
    assert result.collected == {}


def test_python_means_the_project_interpreter(any_sandbox: Sandbox, workspace: Path):
    result = any_sandbox.run(workspace, ["python", "-c", "import sys; print(sys.prefix)"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == sys.prefix


def test_process_backend_warns_in_every_result(workspace: Path):
    result = get_sandbox("process").run(workspace, ["true"])
    assert result.warnings and "isolates nothing" in result.warnings[0]


def test_bad_backend_and_workspace(tmp_path: Path):
    with pytest.raises(ConfigError):
        get_sandbox("chroot")
    with pytest.raises(WorkspaceError):
        get_sandbox("process").run(tmp_path / "absent", ["true"])


def test_missing_command_is_a_sandbox_error(workspace: Path):
    with pytest.raises(SandboxError):
        get_sandbox("process").run(workspace, ["/no/such/binary"])


def test_auto_prefers_bwrap_and_explains_when_nothing_works(monkeypatch: pytest.MonkeyPatch):
    from greenpatch.sandbox import bwrap as bwrap_module

    if bwrap_module.bwrap_works() is None:
        assert get_sandbox("auto").name == "bwrap"
    monkeypatch.setattr(bwrap_module, "bwrap_works", lambda: "bubblewrap is not installed")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(SandboxError, match=r"bubblewrap is not installed.*no Docker engine"):
        get_sandbox("auto")


def test_from_settings_and_diagnose():
    from greenpatch.config import SandboxSettings
    from greenpatch.sandbox import diagnose, from_settings

    sandbox = from_settings(SandboxSettings(backend="process", memory_mb=333))
    assert sandbox.name == "process" and sandbox.limits.memory_mb == 333
    statuses = {s.name: s for s in diagnose()}
    assert set(statuses) == {"bwrap", "docker", "process"}
    assert statuses["process"].ok
    assert statuses["bwrap"].detail


def test_can_import_asks_the_project_interpreter(any_sandbox: Sandbox, workspace: Path):
    python = sys.executable  # this test environment has hypothesis (a dev dependency)
    assert can_import(any_sandbox, workspace, python, "hypothesis")
    assert can_import(any_sandbox, workspace, python, "pkg.calc")  # the workspace's own
    assert not can_import(any_sandbox, workspace, python, "greenpatch_no_such_module")
    # The overlay counts: a module only the unsaved edits have.
    assert can_import(any_sandbox, workspace, python, "pkg.new", {"pkg/new.py": "X = 1\n"})


def test_can_import_asks_the_interpreter_it_is_given(any_sandbox: Sandbox, workspace: Path):
    system = Path("/usr/bin/python3")
    if not system.is_file() or can_import(any_sandbox, workspace, str(system), "hypothesis"):
        pytest.skip("needs a system python3 without hypothesis")
    assert can_import(any_sandbox, workspace, sys.executable, "hypothesis")
    assert can_import(any_sandbox, workspace, str(system), "json")
