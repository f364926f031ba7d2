"""Throwaway cgroups for one run: a bound on the number of processes (`pids`) and on the
memory of all of them together (`memory`).

Each run gets fresh child cgroups under the cgroups this process is in (so a limit set on us
by whoever started us still applies), the child joins them before `exec`, and they are
emptied and removed afterwards. Works with cgroup v1 (one hierarchy per controller) and v2
(unified, where the controller must be delegated to us). Where neither is writable the run
has rlimits only, and the result says which limit is not enforced.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class _Group:
    controller: str
    path: Path
    v2: bool


class RunCgroups:
    """The cgroups of one run; `procs_paths` are what the child writes its pid to."""

    def __init__(self, groups: list[_Group]) -> None:
        self.groups = groups
        self.procs_paths = tuple(str(g.path / "cgroup.procs").encode() for g in groups)

    @property
    def controllers(self) -> set[str]:
        """The controllers this run is actually bounded by."""
        return {g.controller for g in self.groups}

    @classmethod
    def create(cls, *, max_pids: int, memory_bytes: int) -> RunCgroups:
        """Fresh cgroups for the limits that are set; none where cgroups are not writable."""
        wanted = {"pids": max_pids, "memory": memory_bytes}
        groups = []
        for controller, value in wanted.items():
            if value <= 0:
                continue
            group = _make(controller, value)
            if group is not None:
                groups.append(group)
        return cls(groups)

    def hit(self, controller: str) -> bool:
        """True when the run hit the controller's limit (a refused fork, an OOM kill)."""
        for group in self.groups:
            if group.controller != controller:
                continue
            if controller == "pids":
                return _counter(group.path / "pids.events", "max") > 0
            if group.v2:
                return _counter(group.path / "memory.events", "oom_kill") > 0
            return _counter(group.path / "memory.oom_control", "oom_kill") > 0
        return False

    def remove(self) -> None:
        """Kill whatever is left in the run's cgroups, then remove them."""
        for group in self.groups:
            _empty_and_remove(group.path)


def _make(controller: str, value: int) -> _Group | None:
    for parent, v2 in _parents(controller):
        _sweep_once(parent)
        path = parent / f"greenpatch-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir()
            _write_limit(path, controller, value, v2)
        except OSError as exc:
            log.debug("%s cgroup under %s not usable: %s", controller, parent, exc)
            with contextlib.suppress(OSError):
                path.rmdir()
            continue
        return _Group(controller, path, v2)
    return None


STALE_S = 3600.0  # a run's cgroup is filled within milliseconds of its creation
_swept: set[Path] = set()


def _sweep_once(parent: Path) -> None:
    """Remove empty run cgroups an hour old that a process which died without cleaning up
    left under `parent` (once per parent and process). rmdir refuses a cgroup that still
    holds a process, so nothing running is touched."""
    if parent in _swept:
        return
    _swept.add(parent)
    now = time.time()
    with contextlib.suppress(OSError):
        for path in parent.glob("greenpatch-*"):
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > STALE_S:
                    path.rmdir()


def _write_limit(path: Path, controller: str, value: int, v2: bool) -> None:
    if controller == "pids":
        (path / "pids.max").write_text(str(value))
    elif v2:
        (path / "memory.max").write_text(str(value))
        with contextlib.suppress(OSError):
            (path / "memory.swap.max").write_text("0")
    else:
        (path / "memory.limit_in_bytes").write_text(str(value))
        with contextlib.suppress(OSError):  # absent without swap accounting
            (path / "memory.memsw.limit_in_bytes").write_text(str(value))


def _parents(controller: str) -> list[tuple[Path, bool]]:
    """Where this process's own cgroup for `controller` is, v1 first, then v2."""
    found: list[tuple[Path, bool]] = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        _id, _, rest = line.partition(":")
        names, _, rel = rest.partition(":")
        if controller in names.split(","):
            found.append((CGROUP_ROOT / controller / rel.lstrip("/"), False))
        elif names == "":
            for mount in (CGROUP_ROOT / "unified", CGROUP_ROOT):
                parent = mount / rel.lstrip("/")
                if controller in _read(parent / "cgroup.subtree_control").split():
                    found.append((parent, True))
                    break
    return [(p, v2) for p, v2 in found if os.access(p, os.W_OK)]


def _counter(path: Path, key: str) -> int:
    for line in _read(path).splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _empty_and_remove(path: Path) -> None:
    deadline = time.monotonic() + 5
    # The kernel tears a pid namespace down asynchronously: rmdir is refused (EBUSY) for a
    # millisecond or so after the run. Retry soon, then back off.
    pause = 0.0002
    while time.monotonic() < deadline:
        for pid in _read(path / "cgroup.procs").split():
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(pause)
            pause = min(pause * 2, 0.02)
    log.warning("could not remove cgroup %s", path)
