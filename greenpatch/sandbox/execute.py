"""Start one process, capture its output within caps, enforce the wall clock, say why it
ended. Shared by the `bwrap` and `process` backends."""

from __future__ import annotations

import contextlib
import os
import resource
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from greenpatch.errors import SandboxError
from greenpatch.sandbox.cgroups import RunCgroups
from greenpatch.sandbox.limits import (
    LAUNCHER,
    LAUNCHER_FAILED,
    MB,
    Limits,
    apply_rlimits,
    apply_rlimits_to,
)
from greenpatch.sandbox.result import TIMEOUT_EXIT_CODE, CommandResult

_READ_CHUNK = 65536
# After the command exits, how long output may keep arriving from what it left behind.
_DRAIN_GRACE_S = 0.5
_MEMORY_MARKERS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")


class _Capture:
    """Keeps the first and last `cap / 2` bytes of a stream and counts the rest."""

    def __init__(self, cap: int) -> None:
        self.half = max(cap // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            del self.tail[: max(len(self.tail) - self.half, 0)]

    def text(self) -> str:
        omitted = self.total - len(self.head) - len(self.tail)
        head = self.head.decode("utf-8", "replace")
        tail = self.tail.decode("utf-8", "replace")
        if omitted > 0:
            return f"{head}\n[... {omitted} bytes omitted by the sandbox ...]\n{tail}"
        return head + tail


@dataclass(frozen=True)
class Outcome:
    """What `execute` observed; the backend turns it into a `CommandResult`."""

    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool
    killed_reason: str | None
    duration_s: float
    warnings: tuple[str, ...] = ()

    def result(
        self, backend: str, warnings: Sequence[str], collected: Mapping[str, str]
    ) -> CommandResult:
        """The `CommandResult` a backend reports for this outcome."""
        return CommandResult(
            exit_code=self.exit_code,
            stdout=self.stdout,
            stderr=self.stderr,
            timed_out=self.timed_out,
            killed_reason=self.killed_reason,
            duration_s=self.duration_s,
            backend=backend,
            warnings=(*warnings, *self.warnings),
            collected=collected,
        )


def execute(
    argv: Sequence[str],
    *,
    env: dict[str, str],
    cwd: str | None,
    limits: Limits,
    timeout: float | None,
    setup: Callable[[], None] | None = None,
    signal_offset: bool = False,
) -> Outcome:
    """Run `argv` in its own session under `limits`; kill the whole group on timeout.

    Without `setup`, a tiny shell launcher waits while this process sets its rlimits and
    cgroups, then execs `argv` (subprocess keeps using vfork). `setup` is Python to run in
    the child before exec (e.g. a namespace mount); then the child sets its own limits and
    subprocess has to fork.
    `signal_offset`: the launcher (bwrap) reports a signal death as exit status 128 + N.
    """
    cgroups = RunCgroups.create(max_pids=limits.processes, memory_bytes=limits.memory_mb * MB)
    start = time.monotonic()
    try:
        if setup is None:
            proc = _spawn([*LAUNCHER, *argv], env, cwd, None)
            _release(proc, limits, cgroups)
        else:
            preexec = _preexec(setup, effective_rlimits(limits, cgroups), cgroups.procs_paths)
            proc = _spawn(list(argv), env, cwd, preexec)
    except (OSError, subprocess.SubprocessError) as exc:
        cgroups.remove()
        raise SandboxError(f"could not start {argv[0]}: {exc}") from exc
    with _live_lock:
        _live_groups[proc.pid] = cgroups
        stopping = _stopping
    if stopping:  # started after kill_all(and_later=True): the process is ending
        _kill_group(proc.pid)
    try:
        out, err, timed_out, overflow = _supervise(proc, limits, timeout, start)
    finally:
        _kill_group(proc.pid)
        with _live_lock:
            _live_groups.pop(proc.pid, None)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        hits = {c for c in ("pids", "memory") if cgroups.hit(c)}
        cgroups.remove()
    duration = time.monotonic() - start
    code = proc.returncode if proc.returncode is not None else -signal.SIGKILL
    sig = -code if code < 0 else (code - 128 if signal_offset and 128 < code < 160 else 0)
    exit_code = TIMEOUT_EXIT_CODE if timed_out else (128 + sig if sig else code)
    reason = _reason(limits, timeout, timed_out, overflow, hits, sig, err)
    warnings = _unenforced(limits, cgroups)
    return Outcome(exit_code, out.text(), err.text(), timed_out, reason, duration, warnings)


def _unenforced(limits: Limits, cgroups: RunCgroups) -> tuple[str, ...]:
    # RLIMIT_NPROC never binds root; without a pids cgroup nothing bounds a fork bomb but
    # the wall clock.
    if limits.processes and os.geteuid() == 0 and "pids" not in cgroups.controllers:
        return (
            "process limit not enforced: running as root and no writable pids cgroup; "
            "only the timeout bounds a fork bomb",
        )
    return ()


# Process groups of the commands this process is running now, with their cgroups: a
# process about to end (a run's process, cancelled or orphaned) kills them and removes the
# cgroups with kill_all(), as their supervisors will not live to.
_live_groups: dict[int, RunCgroups] = {}
_live_lock = threading.Lock()
_stopping = False


def kill_all(*, and_later: bool = False) -> None:
    """Kill every sandboxed command this process has running (their whole groups). With
    `and_later`, each one it starts from now on is killed as it starts: a cancel can come
    after a run decided to test and before the test started, and must not wait for it."""
    global _stopping
    with _live_lock:
        _stopping = _stopping or and_later
        groups = list(_live_groups.items())
    for pgid, cgroups in groups:
        _kill_group(pgid)
        cgroups.remove()


def _spawn(
    argv: list[str], env: dict[str, str], cwd: str | None, preexec: Callable[[], None] | None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if preexec is None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        start_new_session=True,
        preexec_fn=preexec,
    )


def _release(proc: subprocess.Popen[bytes], limits: Limits, cgroups: RunCgroups) -> None:
    """Limit the waiting launcher, then let it exec the command; kill it on failure."""
    assert proc.stdin is not None
    try:
        for procs_path in cgroups.procs_paths:
            with open(procs_path, "w") as fh:
                fh.write(str(proc.pid))
        apply_rlimits_to(proc.pid, effective_rlimits(limits, cgroups))
        proc.stdin.write(b"go\n")
        proc.stdin.close()
    except OSError as exc:
        _kill_group(proc.pid)
        proc.wait()
        cgroups.remove()
        raise SandboxError(
            f"could not apply the run's limits (exit {LAUNCHER_FAILED}): {exc}"
        ) from exc


def effective_rlimits(limits: Limits, cgroups: RunCgroups) -> tuple[tuple[int, int], ...]:
    """The rlimits to set. RLIMIT_NPROC counts every task of the user, not of the run: it
    is left out where a pids cgroup bounds the run exactly, and for root (never enforced);
    otherwise it is set above what the user already runs."""
    pairs = tuple(p for p in limits.rlimits() if p[0] != resource.RLIMIT_NPROC)
    if limits.processes and "pids" not in cgroups.controllers and os.geteuid() != 0:
        pairs += ((resource.RLIMIT_NPROC, user_tasks(os.geteuid()) + limits.processes),)
    return pairs


def user_tasks(uid: int) -> int:
    """How many tasks (threads) `uid` runs now, which RLIMIT_NPROC counts."""
    count = 0
    with os.scandir("/proc") as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue  # exited meanwhile
    return count


def _preexec(
    setup: Callable[[], None] | None,
    rlimits: tuple[tuple[int, int], ...],
    procs_paths: tuple[bytes, ...],
) -> Callable[[], None]:

    def child() -> None:
        for procs_path in procs_paths:
            fd = os.open(procs_path, os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)
        if setup is not None:
            setup()
        apply_rlimits(rlimits)

    return child


def _supervise(
    proc: subprocess.Popen[bytes], limits: Limits, timeout: float | None, start: float
) -> tuple[_Capture, _Capture, bool, bool]:
    assert proc.stdout is not None and proc.stderr is not None
    captures = {proc.stdout.fileno(): _Capture(limits.output_bytes)}
    captures[proc.stderr.fileno()] = _Capture(limits.output_bytes)
    deadline = start + timeout if timeout else None
    timed_out = overflow = False
    exited_at: float | None = None
    with selectors.DefaultSelector() as sel:
        for fd in captures:
            sel.register(fd, selectors.EVENT_READ)
        while sel.get_map():
            now = time.monotonic()
            if exited_at is None and proc.poll() is not None:
                exited_at = now
                _kill_group(proc.pid)  # what it left running in its group
            if exited_at is not None and now - exited_at > _DRAIN_GRACE_S:
                break
            if deadline is not None and now >= deadline and not timed_out and exited_at is None:
                timed_out = True
                _kill_group(proc.pid)
                deadline = now + _DRAIN_GRACE_S
            elif timed_out and deadline is not None and now >= deadline:
                break
            wait = 0.1 if deadline is None else max(min(deadline - now, 0.1), 0.0)
            for key, _ in sel.select(wait):
                data = os.read(int(key.fd), _READ_CHUNK)
                if not data:
                    sel.unregister(key.fd)
                    continue
                captures[int(key.fd)].add(data)
                if (
                    not overflow
                    and sum(c.total for c in captures.values()) > limits.output_kill_bytes
                ):
                    overflow = True
                    _kill_group(proc.pid)
    if not timed_out and exited_at is None:
        remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        try:
            proc.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            timed_out = True
    proc.stdout.close()
    proc.stderr.close()
    out, err = captures.values()
    return out, err, timed_out, overflow


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGKILL)


def _reason(
    limits: Limits,
    timeout: float | None,
    timed_out: bool,
    overflow: bool,
    hits: set[str],
    sig: int,
    err: _Capture,
) -> str | None:
    reasons = []
    if timed_out:
        reasons.append(f"timeout: killed after {timeout:g} s of wall-clock time")
    if overflow:
        mb = limits.output_kill_bytes // (1024 * 1024)
        reasons.append(f"output limit: killed after more than {mb} MB of output")
    if "pids" in hits:
        reasons.append(f"process limit: refused to start more than {limits.processes} processes")
    if sig == signal.SIGXCPU:
        reasons.append(f"cpu limit: used more than {limits.cpu_seconds} s of CPU time")
    elif "memory" in hits:
        reasons.append(f"memory limit: killed using more than {limits.memory_mb} MB in total")
    elif sig == signal.SIGKILL and not (timed_out or overflow):
        reasons.append(f"killed by SIGKILL (cpu limit of {limits.cpu_seconds} s, or out of memory)")
    elif sig == signal.SIGXFSZ:
        reasons.append(f"file size limit: wrote a file larger than {limits.file_size_mb} MB")
    elif sig and not (timed_out or overflow):
        reasons.append(f"killed by signal {signal.strsignal(sig) or sig}")
    if (
        limits.memory_mb
        and "memory" not in hits
        and any(m.encode() in err.head + err.tail for m in _MEMORY_MARKERS)
    ):
        reasons.append(f"memory limit: allocation refused above {limits.memory_mb} MB")
    return "; ".join(reasons) or None
