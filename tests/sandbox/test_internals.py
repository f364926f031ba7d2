"""The launcher, the cgroups and the mounts, checked against the real system."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from greenpatch.errors import SandboxError
from greenpatch.sandbox import Limits
from greenpatch.sandbox import cgroups as cgroups_module
from greenpatch.sandbox import execute as execute_module
from greenpatch.sandbox.cgroups import RunCgroups
from greenpatch.sandbox.execute import effective_rlimits, execute, kill_all, user_tasks
from greenpatch.sandbox.mounts import SCRATCH_PREFIX, detach_stale, host_mount
from greenpatch.sandbox.python import interpreter_mounts
from greenpatch.sandbox.view import create_view, strategy_works, sweep_stale


def test_launcher_applies_rlimits():
    limits = Limits(cpu_seconds=7, memory_mb=300, processes=40, file_size_mb=9, open_files=99)
    code = (
        "import resource as r; print([r.getrlimit(x)[0] for x in "
        "(r.RLIMIT_CPU, r.RLIMIT_AS, r.RLIMIT_FSIZE, r.RLIMIT_NOFILE)])"
    )
    outcome = execute([sys.executable, "-c", code], env={}, cwd="/", limits=limits, timeout=30)
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stdout.strip() == str([7, 300 << 20, 9 << 20, 99])


def test_nproc_is_set_above_the_users_own_tasks():
    groups = RunCgroups([])
    pairs = dict(effective_rlimits(Limits(processes=40), groups))
    if os.geteuid() == 0:
        assert resource.RLIMIT_NPROC not in pairs  # never enforced for root
    else:
        assert pairs[resource.RLIMIT_NPROC] >= user_tasks(os.geteuid()) + 40 - 5
    assert user_tasks(os.geteuid()) >= 1
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] != 99  # not ours


def test_launcher_failure_is_a_sandbox_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    def broken(*, max_pids: int, memory_bytes: int) -> RunCgroups:
        groups = RunCgroups([])
        groups.procs_paths = (str(tmp_path / "missing" / "cgroup.procs").encode(),)
        return groups

    monkeypatch.setattr(RunCgroups, "create", staticmethod(broken))
    with pytest.raises(SandboxError, match="limits"):
        execute(["true"], env={}, cwd="/", limits=Limits(), timeout=10)


def test_cgroups_bound_processes_where_available():
    groups = RunCgroups.create(max_pids=8, memory_bytes=64 << 20)
    try:
        if "pids" not in groups.controllers:
            pytest.skip("no writable pids cgroup here")
        assert not groups.hit("pids")
    finally:
        groups.remove()
    assert all(not g.path.exists() for g in groups.groups)


def test_stale_view_mounts_are_detached():
    if not strategy_works("mount"):
        pytest.skip("this process cannot mount overlays")
    dead = subprocess.Popen(["true"])
    dead.wait()
    scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{dead.pid}-"))
    try:
        for name in ("lower", "upper", "work", "merged"):
            (scratch / name).mkdir()
        host_mount(scratch / "lower", scratch / "upper", scratch / "work", scratch / "merged")
        assert str(scratch / "merged") in Path("/proc/self/mountinfo").read_text()
        assert detach_stale() >= 1
        assert str(scratch / "merged") not in Path("/proc/self/mountinfo").read_text()
        (scratch / "work" / "blocked").mkdir(mode=0)
        sweep_stale.cache_clear()
        assert sweep_stale() >= 1
        assert not scratch.exists()
    finally:
        subprocess.run(["umount", "-l", str(scratch / "merged")], capture_output=True, check=False)
        subprocess.run(["rm", "-rf", str(scratch)], check=False)


@pytest.mark.parametrize(
    ("strategy", "layer_mb"), [("mount", 0), ("mount", 8), ("namespace", 0), ("copy", 0)]
)
def test_every_view_strategy_leaves_no_trace(strategy: str, layer_mb: int, workspace: Path):
    if not strategy_works(strategy):
        pytest.skip(f"{strategy} views do not work here")
    view = create_view(
        workspace, {"new.py": "x", "data.txt": None}, strategies=(strategy,), layer_mb=layer_mb
    )
    assert view.strategy == strategy
    view.cleanup()
    assert not view.scratch.exists()
    assert str(view.scratch) not in Path("/proc/self/mountinfo").read_text()
    assert (workspace / "data.txt").exists() and not (workspace / "new.py").exists()


def test_interpreter_mounts_cover_the_venv_and_its_base():
    mounts = interpreter_mounts(sys.executable)
    prefixes = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    for prefix in prefixes:
        if not str(prefix).startswith(("/usr", "/bin", "/lib")):
            assert any(prefix == m or prefix.is_relative_to(m) for m in mounts)
    assert interpreter_mounts("python") == ()


def test_unenforceable_limits_are_reported(monkeypatch: pytest.MonkeyPatch):
    if os.geteuid() != 0:
        pytest.skip("the warning concerns root")
    monkeypatch.setattr(RunCgroups, "create", staticmethod(lambda **_: RunCgroups([])))
    outcome = execute(["true"], env={}, cwd="/", limits=Limits(), timeout=10)
    assert any("process limit not enforced" in w for w in outcome.warnings)
    assert resource.getrlimit(resource.RLIMIT_NPROC)  # the parent's own limits are untouched


def test_kill_all_ends_running_commands_at_once():
    # What a run's process does when it is cancelled or its server is gone.
    outcomes = []
    worker = threading.Thread(
        target=lambda: outcomes.append(
            execute(["sleep", "60"], env={}, cwd="/", limits=Limits(), timeout=120)
        )
    )
    started = time.monotonic()
    worker.start()
    while not execute_module._live_groups:
        assert time.monotonic() - started < 30, "the command never started"
        time.sleep(0.01)
    [cgroups] = execute_module._live_groups.values()
    kill_all()
    # the cgroups go too: a dying process's supervisor threads will not remove them
    assert all(not group.path.exists() for group in cgroups.groups)
    worker.join(30)
    assert outcomes and outcomes[0].exit_code != 0
    assert time.monotonic() - started < 30  # long before the command's 60 s
    assert not execute_module._live_groups


def test_after_kill_all_and_later_a_new_command_is_killed_as_it_starts(monkeypatch):
    # A cancel that comes before the run's next test starts: that test must not run.
    monkeypatch.setattr(execute_module, "_stopping", False)
    kill_all(and_later=True)
    started = time.monotonic()
    outcome = execute(["sleep", "60"], env={}, cwd="/", limits=Limits(), timeout=120)
    assert outcome.exit_code != 0
    assert time.monotonic() - started < 30  # long before the command's 60 s
    assert not execute_module._live_groups


def test_empty_run_cgroups_left_an_hour_ago_are_swept(tmp_path, monkeypatch):
    # A process that died without cleaning up left them; rmdir spares a cgroup in use (here:
    # a directory with a file in it stands for one holding a process).
    old, fresh, busy = (tmp_path / f"greenpatch-{n}" for n in ("old", "fresh", "busy"))
    for path in (old, fresh, busy):
        path.mkdir()
    (busy / "cgroup.procs").write_text("123\n")
    hour_ago = time.time() - cgroups_module.STALE_S - 60
    for path in (old, busy):
        os.utime(path, (hour_ago, hour_ago))
    monkeypatch.setattr(cgroups_module, "_swept", set())
    cgroups_module._sweep_once(tmp_path)
    assert (old.exists(), fresh.exists(), busy.exists()) == (False, True, True)
    old.mkdir()
    os.utime(old, (hour_ago, hour_ago))
    cgroups_module._sweep_once(tmp_path)  # once per parent and process
    assert old.exists()
