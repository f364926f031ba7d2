"""Resource limits for one sandboxed run, and how they are applied to a process.

Limits are rlimits set in the child just before `exec`, so they bind the sandboxed command
and everything it starts. Two limits need more than rlimits: RLIMIT_NPROC counts every process of
the user and is never enforced for root, and RLIMIT_AS bounds each process, not their sum. So
where cgroups can be created the run also gets `pids` and `memory` cgroups (see cgroups.py).
"""

from __future__ import annotations

import logging
import resource
from dataclasses import dataclass

log = logging.getLogger(__name__)

MB = 1024 * 1024


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
