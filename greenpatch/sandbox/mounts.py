"""overlayfs mounts for the workspace view, through libc (no `mount` binary, no shell).

Two ways to mount, both with the workspace as the read-only lower layer and a throwaway
upper layer:

- `host_mount` (root): mounted from the parent at a private path inside the run's scratch
  directory and detached after the run. No code runs in the child, so `subprocess` keeps
  using vfork. A crash can leave the mount behind; `detach_stale` removes mounts of dead
  processes.
- `NamespaceOverlay` (any user with user namespaces): the child enters a private mount
  namespace and mounts over the workspace path itself; the mount dies with the namespace.
  Python runs in the child, so `subprocess` forks.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
import re
from pathlib import Path

log = logging.getLogger(__name__)

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
MS_NOSUID = 2
MS_NODEV = 4
SCRATCH_PREFIX = "greenpatch-view-"
_STALE = re.compile(rf"/{SCRATCH_PREFIX}(\d+)-[^/ ]+/(merged|layer)$")


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _escape(path: Path) -> str:
    # overlayfs splits its options on ',' and lowerdir lists on ':'.
    return str(path).replace("\\", "\\\\").replace(",", "\\,").replace(":", "\\:")


def overlay_options(lower: Path, upper: Path, work: Path, *, volatile: bool = True) -> bytes:
    """The mount data string for one overlay. `volatile` (Linux 5.10+): the upper layer is
    thrown away, so never sync it -- without it, unmounting flushes every file the run
    wrote to disk, which costs more than the run."""
    options = f"lowerdir={_escape(lower)},upperdir={_escape(upper)},workdir={_escape(work)}"
    return (options + (",volatile" if volatile else "")).encode()


def host_mount(lower: Path, upper: Path, work: Path, target: Path) -> None:
    """Mount the overlay at `target` in this (the host's) mount namespace."""
    options = overlay_options(lower, upper, work, volatile=volatile_supported())
    if _libc().mount(b"overlay", str(target).encode(), b"overlay", 0, options) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount overlay at {target}: {os.strerror(errno)}")


@functools.cache
def volatile_supported() -> bool:
    """overlayfs accepts `volatile` from Linux 5.10 on."""
    match = re.match(r"(\d+)\.(\d+)", os.uname().release)
    if match is None:
        return False
    return (int(match.group(1)), int(match.group(2))) >= (5, 10)


def host_tmpfs(target: Path, size_mb: int) -> None:
    """Mount a private tmpfs of `size_mb` at `target`: the run's writable layer, bounded,
    and charged to the run's memory cgroup rather than filling the host's disk."""
    data = f"size={size_mb}m,mode=0700".encode()
    if _libc().mount(b"tmpfs", str(target).encode(), b"tmpfs", MS_NOSUID | MS_NODEV, data) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount tmpfs at {target}: {os.strerror(errno)}")


def host_unmount(target: Path) -> None:
    """Detach the overlay at `target` (lazily: a straggler cannot keep it busy)."""
    if _libc().umount2(str(target).encode(), MNT_DETACH) != 0:
        errno = ctypes.get_errno()
        log.warning("could not unmount %s: %s", target, os.strerror(errno))


def detach_stale() -> int:
    """Detach view mounts left by greenpatch processes that no longer exist."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return 0
    detached = 0
    for line in lines:
        fields = line.split()
        match = _STALE.search(fields[4]) if len(fields) > 4 else None
        if match is None or Path(f"/proc/{match.group(1)}").exists():
            continue
        target = Path(fields[4].replace("\\040", " "))
        host_unmount(target)
        detached += 1
    return detached


class NamespaceOverlay:
    """Runs in the child between fork and exec: private mount namespace, overlay mount over
    the workspace path, deletions applied through the overlay (as whiteouts in the upper
    layer). Everything is prepared in the parent; the child only makes system calls."""

    def __init__(self, lower: Path, upper: Path, work: Path, deleted: list[Path]) -> None:
        libc = _libc()
        self._unshare = libc.unshare
        self._mount = libc.mount
        self._target = str(lower).encode()
        self._options = overlay_options(lower, upper, work, volatile=volatile_supported())
        self._deleted = [str(p).encode() for p in deleted]
        self._uid, self._gid = os.getuid(), os.getgid()

    def __call__(self) -> None:
        flags = CLONE_NEWNS if self._uid == 0 else CLONE_NEWNS | CLONE_NEWUSER
        if self._unshare(flags) != 0:
            raise OSError(ctypes.get_errno(), "unshare")
        if self._uid != 0:
            _map_ids(self._uid, self._gid)
        if self._mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
            raise OSError(ctypes.get_errno(), "mount --make-rprivate /")
        if self._mount(b"overlay", self._target, b"overlay", 0, self._options) != 0:
            raise OSError(ctypes.get_errno(), "mount overlay")
        for path in self._deleted:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        # subprocess changes directory before this runs: re-enter it through the overlay, or
        # relative writes would reach the real workspace underneath.
        os.chdir(os.getcwd())


def _map_ids(uid: int, gid: int) -> None:
    """Map ourselves to root in the new user namespace (needed to mount there)."""
    for name, text in (
        ("/proc/self/uid_map", f"0 {uid} 1"),
        ("/proc/self/setgroups", "deny"),
        ("/proc/self/gid_map", f"0 {gid} 1"),
    ):
        fd = os.open(name, os.O_WRONLY)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
