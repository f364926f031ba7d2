"""The hostile-code suite: code run in the bwrap sandbox that tries to escape, exhaust or
spy. Each attack must be contained, reported with a clear reason, leave the host responsive
and the workspace (and the planted home) byte-for-byte unchanged."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from greenpatch.sandbox import CommandResult, Limits, get_sandbox
from greenpatch.sandbox.bwrap import bwrap_works

SECRET_KEY = "ssh-private-key-PLANTED-7f3a"
API_KEY = "sk-ant-PLANTED-API-KEY-91c2"


@dataclass
class Host:
    """A workspace and a planted home whose trees are hashed before and after each attack."""

    workspace: Path
    home: Path
    outside: Path
    tree_hash: Callable[[Path], str]

    def attack(
        self, code: str, *, timeout: float = 20, limits: Limits | None = None
    ) -> CommandResult:
        sandbox = get_sandbox(
            "bwrap", limits or Limits(cpu_seconds=20, memory_mb=512, processes=32)
        )
        script = textwrap.dedent(code)
        before = [self.tree_hash(p) for p in (self.workspace, self.home, self.outside)]
        result = sandbox.run(self.workspace, [sys.executable, "-c", script], timeout=timeout)
        after = [self.tree_hash(p) for p in (self.workspace, self.home, self.outside)]
        assert after == before, "the attack changed the host's files"
        assert_responsive()
        return result


def assert_responsive() -> None:
    start = time.monotonic()
    subprocess.run(["true"], check=True, timeout=5)
    assert time.monotonic() - start < 2


@pytest.fixture
def host(
    workspace: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tree_hash: Callable[[Path], str],
) -> Iterator[Host]:
    problem = bwrap_works()
    if problem:
        pytest.skip(problem)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(SECRET_KEY)
    (home / ".bashrc").write_text("export PS1='$ '\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET_KEY)
    (workspace / "escape").symlink_to(outside)
    (workspace / "escape_key").symlink_to(home / ".ssh" / "id_rsa")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    yield Host(workspace, home, outside, tree_hash)


def test_outside_network_is_unreachable(host: Host):
    result = host.attack(
        """
        import socket
        for addr in [("1.1.1.1", 443), ("192.0.2.1", 80)]:
            try:
                socket.create_connection(addr, timeout=3)
                print("CONNECTED", addr)
            except OSError as exc:
                print("BLOCKED", addr, exc)
        """
    )
    assert "CONNECTED" not in result.stdout
    assert result.stdout.count("BLOCKED") == 2
    assert "unreachable" in result.stdout.lower()


def test_host_loopback_is_not_reachable(host: Host):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        result = host.attack(
            f"""
            import socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=3)
                print("CONNECTED")
            except OSError as exc:
                print("BLOCKED", exc)
            """
        )
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
    assert "BLOCKED" in result.stdout and "refused" in result.stdout.lower()


def test_writes_deletes_chmods_in_workspace_and_home(host: Host):
    result = host.attack(
        f"""
        import os, pathlib, shutil
        ws, home = pathlib.Path({str(host.workspace)!r}), pathlib.Path({str(host.home)!r})
        (ws / "data.txt").write_text("pwned")
        (ws / "pkg" / "calc.py").unlink()
        os.chmod(ws / "pkg", 0o777)
        shutil.rmtree(ws / "pkg", ignore_errors=True)
        (ws / "dropped.py").write_text("evil")
        for path in (home / ".bashrc", home / ".ssh" / "id_rsa"):
            try:
                path.write_text("pwned")
                print("WROTE", path)
            except OSError as exc:
                print("DENIED", path, exc.strerror)
        try:
            os.chmod(home, 0o777)
            print("CHMOD home")
        except OSError as exc:
            print("DENIED chmod", exc.strerror)
        print("workspace writes go to the throwaway view:", (ws / "data.txt").read_text())
        """
    )
    assert result.exit_code == 0, result.stderr
    assert "WROTE" not in result.stdout and "CHMOD home" not in result.stdout
    assert "throwaway view: pwned" in result.stdout


def test_secrets_are_invisible(host: Host):
    result = host.attack(
        f"""
        import os, pathlib
        for path in [os.path.expanduser("~/.ssh/id_rsa"), {str(host.home / ".ssh/id_rsa")!r},
                     "escape_key", "/root/.ssh/id_rsa", "/etc/shadow"]:
            try:
                print("READ", path, pathlib.Path(path).read_text())
            except OSError as exc:
                print("DENIED", path, exc.strerror)
        print(dict(os.environ))
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    print(pathlib.Path(f"/proc/{{pid}}/environ").read_bytes())
                except OSError:
                    pass
        """
    )
    assert "READ" not in result.stdout
    assert SECRET_KEY not in result.stdout + result.stderr
    assert API_KEY not in result.stdout + result.stderr


def test_fork_bomb_is_bounded(host: Host):
    result = host.attack(
        """
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
        """,
        timeout=3,
        limits=Limits(cpu_seconds=10, memory_mb=256, processes=16),
    )
    assert result.killed_reason and "process limit" in result.killed_reason
    assert result.timed_out


def test_memory_bomb_is_refused(host: Host):
    result = host.attack(
        """
        chunks = []
        while True:
            chunks.append(bytearray(32 * 1024 * 1024))
        """,
        limits=Limits(memory_mb=256),
    )
    assert result.exit_code != 0
    assert result.killed_reason and "memory limit" in result.killed_reason


def test_spinning_forever_hits_the_timeout(host: Host):
    result = host.attack("while True:\n    pass\n", timeout=1)
    assert result.timed_out and result.exit_code == 124
    assert result.killed_reason and "timeout" in result.killed_reason
    assert result.duration_s < 4


def test_spinning_forever_hits_the_cpu_limit(host: Host):
    result = host.attack("while True:\n    pass\n", timeout=20, limits=Limits(cpu_seconds=1))
    assert not result.timed_out
    assert result.killed_reason and "cpu limit" in result.killed_reason


def test_endless_output_is_capped_and_killed(host: Host):
    limits = Limits(output_bytes=64 * 1024, output_kill_bytes=4 * 1024 * 1024)
    result = host.attack(
        "import sys\nwhile True:\n    sys.stdout.write('x' * 4096)\n", limits=limits
    )
    assert result.killed_reason and "output limit" in result.killed_reason
    assert len(result.stdout) < 70 * 1024
    assert "bytes omitted" in result.stdout


def test_leftover_child_is_killed(host: Host):
    marker = f"greenpatch-orphan-{os.getpid()}"
    result = host.attack(
        f"""
        import os, subprocess
        subprocess.Popen(["sh", "-c", "exec -a {marker} sleep 300"], start_new_session=True)
        if os.fork() == 0:
            os.setsid()
            os.execvp("sh", ["sh", "-c", "exec -a {marker} sleep 300"])
        print("parent leaves")
        """,
        timeout=30,
    )
    assert result.exit_code == 0 and "parent leaves" in result.stdout
    assert result.duration_s < 5
    time.sleep(0.2)
    assert not _processes_named(marker)


def test_symlink_out_of_the_workspace_leads_nowhere(host: Host):
    result = host.attack(
        """
        import pathlib
        for path in ["escape/secret.txt", "escape_key"]:
            try:
                print("READ", pathlib.Path(path).read_text())
            except OSError as exc:
                print("DENIED", path, exc.strerror)
        try:
            pathlib.Path("escape/planted.txt").write_text("evil")
            print("WROTE through the link (inside the sandbox only)")
        except OSError as exc:
            print("DENIED write", exc.strerror)
        """
    )
    assert SECRET_KEY not in result.stdout
    assert not (host.outside / "planted.txt").exists()


def test_signalling_the_parent_reaches_nothing_outside(host: Host):
    result = host.attack(
        f"""
        import os, signal
        for pid in (os.getppid(), {os.getpid()}, 1, -1):
            try:
                os.kill(pid, signal.SIGKILL)
                print("SENT", pid)
            except OSError as exc:
                print("DENIED", pid, exc.strerror)
        """
    )
    # The host's pids do not exist in the sandbox's pid namespace; its init ignores
    # SIGKILL from inside. The run ends normally and this test process is still here.
    assert f"DENIED {os.getpid()} No such process" in result.stdout
    assert result.exit_code == 0 and result.killed_reason is None


def _processes_named(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(pid))
    return found
