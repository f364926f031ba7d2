"""Resource limits for one sandboxed run, and how they are applied to a process.

Limits are rlimits set in the child just before `exec`, so they bind the sandboxed command
and everything it starts. The one exception is the process count: RLIMIT_NPROC counts every
process of the user and is never enforced for root, so where a `pids` cgroup can be created
the count is bounded there instead (see `PidsCgroup`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MB = 1024 * 1024
# cgroup v1 (one hierarchy per controller) and v2 (unified) locations of the pids controller.
_PIDS_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))


@dataclass(frozen=True, kw_only=True)
class Limits:
    """What one run may use. Every field is defaulted; 0 means unlimited."""

    cpu_seconds: int = 120
    memory_mb: int = 2048
    processes: int = 256
    file_size_mb: int = 256
    open_files: int = 1024
    # Output kept per stream (head and tail), and the total after which the run is killed.
    output_bytes: int = 256 * 1024
    output_kill_bytes: int = 64 * MB

    def rlimits(self) -> tuple[tuple[int, int], ...]:
        """(resource, value) pairs to apply in the child; unlimited ones are left out."""
        pairs = (
            (resource.RLIMIT_CPU, self.cpu_seconds),
            (resource.RLIMIT_AS, self.memory_mb * MB),
            (resource.RLIMIT_NPROC, self.processes),
            (resource.RLIMIT_FSIZE, self.file_size_mb * MB),
            (resource.RLIMIT_NOFILE, self.open_files),
        )
        return tuple((res, value) for res, value in pairs if value > 0)

    def describe(self) -> str:
        """One line for logs and reports."""
        return (
            f"cpu {self.cpu_seconds}s, memory {self.memory_mb} MB, processes {self.processes}, "
            f"file size {self.file_size_mb} MB, open files {self.open_files}"
        )


def apply_rlimits(pairs: tuple[tuple[int, int], ...]) -> None:
    """Set each rlimit, never raising a hard limit (that would fail for non-root)."""
    for res, value in pairs:
        _soft, hard = resource.getrlimit(res)
        cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
        # RLIMIT_CPU: a soft limit below the hard one sends SIGXCPU first, then SIGKILL.
        new_hard = cap + 5 if res == resource.RLIMIT_CPU and hard == resource.RLIM_INFINITY else cap
        resource.setrlimit(res, (cap, new_hard))


class PidsCgroup:
    """A throwaway `pids` cgroup bounding how many processes one run may have.

    Created per run and removed afterwards; `procs_path` is what the child writes its pid to
    before `exec`. `create` returns None where no writable pids controller exists, and the
    caller falls back to RLIMIT_NPROC alone.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.procs_path = str(path / "cgroup.procs").encode()

    @classmethod
    def create(cls, max_pids: int) -> PidsCgroup | None:
        """A new cgroup with `pids.max` set, or None when none can be made here."""
        if max_pids <= 0:
            return None
        for root in _PIDS_ROOTS:
            if not (root / "cgroup.procs").exists() or not os.access(root, os.W_OK):
                continue
            if root.name != "pids" and "pids" not in _v2_controllers(root):
                continue
            path = root / f"greenpatch-{uuid.uuid4().hex[:12]}"
            try:
                path.mkdir()
                (path / "pids.max").write_text(str(max_pids))
            except OSError as exc:
                log.debug("pids cgroup under %s not usable: %s", root, exc)
                with contextlib.suppress(OSError):
                    path.rmdir()
                continue
            return cls(path)
        return None

    def hit_limit(self) -> bool:
        """True when a fork was refused because of `pids.max`."""
        try:
            events = (self.path / "pids.events").read_text()
        except OSError:
            return False
        return any(line.split()[-1] != "0" for line in events.splitlines() if "max" in line)

    def remove(self) -> None:
        """Kill what is left in the cgroup and remove it."""
        for _ in range(200):
            try:
                pids = (self.path / "cgroup.procs").read_text().split()
            except OSError:
                return
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(int(pid), 9)
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.01)
        log.warning("could not remove cgroup %s", self.path)


def _v2_controllers(root: Path) -> set[str]:
    try:
        return set((root / "cgroup.subtree_control").read_text().split())
    except OSError:
        return set()
