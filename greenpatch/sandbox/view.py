"""The workspace view: the workspace on disk + unsaved buffers + the proposed diff.

The real workspace is never written. Two ways to build the view, chosen once per process:

- `overlay` (preferred): the changed files are written to a fresh upper directory, and the
  child, before it execs the sandbox, enters a private mount namespace and mounts an overlayfs
  with the workspace as the read-only lower layer *on top of the workspace's own path*. The
  command therefore sees the usual paths (tracebacks and node ids match the editor's), every
  write it makes lands in the throwaway upper directory, and the cost is one write per changed
  file: nothing is proportional to the size of the tree. The mount disappears with the
  namespace when the run ends.
- `copy` (fallback where overlay mounts are refused): a full copy of the tree, O(tree size).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from greenpatch.errors import SandboxError, WorkspaceError

log = logging.getLogger(__name__)

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18


def check_overlay_paths(overlay: Mapping[str, str | None]) -> None:
    """Refuse overlay keys that are not plain workspace-relative POSIX paths."""
    for key in overlay:
        rel = PurePosixPath(key)
        if not key or rel.is_absolute() or ".." in rel.parts or key.startswith("~"):
            raise SandboxError(f"overlay path {key!r} must be relative to the workspace")


@dataclass
class View:
    """One run's view of a workspace. `path` is where the command sees the workspace;
    `preexec` (when set) must run in the child before exec to make the view appear there."""

    workspace: Path
    path: Path
    scratch: Path
    preexec: Callable[[], None] | None
    strategy: str

    def read_back(self, rel: str, max_bytes: int = 32 * 1024 * 1024) -> str | None:
        """A file the run wrote at workspace-relative `rel`, or None. Symlinks and
        non-regular files are refused: the run controls what is there."""
        base = self.scratch / "upper" if self.strategy == "overlay" else self.path
        return safe_read(base, rel, max_bytes)

    def cleanup(self) -> None:
        """Remove the throwaway layer (the mount is already gone with its namespace)."""
        shutil.rmtree(self.scratch, ignore_errors=True)


def collect_files(view: View, names: Sequence[str]) -> dict[str, str]:
    """The files in `names` that the run left in its view."""
    found = {name: view.read_back(name) for name in names}
    return {name: text for name, text in found.items() if text is not None}


def safe_read(base: Path, rel: str, max_bytes: int) -> str | None:
    """Read `base/rel` without following any symlink on the way, or None."""
    parts = PurePosixPath(rel).parts
    if not parts or ".." in parts or PurePosixPath(rel).is_absolute():
        return None
    nofollow = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(base, nofollow | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        for part in parts[:-1]:
            next_fd = os.open(part, nofollow | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = next_fd
        file_fd = os.open(parts[-1], nofollow | os.O_NONBLOCK, dir_fd=fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    with os.fdopen(file_fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return None
        return fh.read(max_bytes).decode("utf-8", "replace")


def resolve_workspace(workspace: Path) -> Path:
    """The workspace as an absolute, resolved directory, or `WorkspaceError`."""
    path = Path(workspace).expanduser().resolve()
    if not path.is_dir():
        raise WorkspaceError(f"workspace {workspace} is not a directory")
    return path


def create_view(
    workspace: Path, overlay: Mapping[str, str | None], *, strategy: str | None = None
) -> View:
    """Build the view of `workspace` with `overlay` applied (see the module docstring)."""
    check_overlay_paths(overlay)
    root = resolve_workspace(workspace)
    chosen = strategy or ("overlay" if overlay_supported() else "copy")
    scratch = Path(tempfile.mkdtemp(prefix="greenpatch-view-"))
    try:
        if chosen == "overlay":
            return _overlay_view(root, overlay, scratch)
        return _copy_view(root, overlay, scratch)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _write_files(base: Path, overlay: Mapping[str, str | None]) -> list[str]:
    """Write the overlay's texts under `base`; return the deleted relative paths."""
    deleted = []
    for rel, text in overlay.items():
        if text is None:
            deleted.append(rel)
            continue
        target = base / rel
        if target.is_symlink() or target.is_dir():
            raise SandboxError(f"overlay path {rel!r} is a directory or symlink in the workspace")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return deleted


def _copy_view(root: Path, overlay: Mapping[str, str | None], scratch: Path) -> View:
    view = scratch / "view"
    shutil.copytree(root, view, symlinks=True)
    for rel in _write_files(view, overlay):
        with contextlib.suppress(FileNotFoundError):
            (view / rel).unlink()
    return View(root, view, scratch, None, "copy")


def _overlay_view(root: Path, overlay: Mapping[str, str | None], scratch: Path) -> View:
    upper, work = scratch / "upper", scratch / "work"
    upper.mkdir()
    work.mkdir()
    deleted = _write_files(upper, overlay)
    mount = NamespaceOverlay(root, upper, work, [root / rel for rel in deleted])
    return View(root, root, scratch, mount, "overlay")


def _escape(path: Path) -> str:
    # overlayfs splits its options on ',' and lowerdir lists on ':'.
    return str(path).replace("\\", "\\\\").replace(",", "\\,").replace(":", "\\:")


class NamespaceOverlay:
    """Runs in the child between fork and exec: private mount namespace, overlay mount over
    the workspace path, deletions applied through the overlay (as whiteouts in the upper
    layer). Everything is prepared in the parent; the child only makes system calls."""

    def __init__(self, lower: Path, upper: Path, work: Path, deleted: list[Path]) -> None:
        libc = _libc()
        self._unshare = libc.unshare
        self._mount = libc.mount
        self._target = str(lower).encode()
        self._options = (
            f"lowerdir={_escape(lower)},upperdir={_escape(upper)},workdir={_escape(work)}"
        ).encode()
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


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


@functools.cache
def overlay_supported() -> bool:
    """Whether an overlay view can be mounted here (probed once per process)."""
    scratch = Path(tempfile.mkdtemp(prefix="greenpatch-probe-"))
    try:
        lower = scratch / "lower"
        lower.mkdir()
        (lower / "f").write_text("lower")
        view = _overlay_view(lower, {"f": "upper"}, scratch)
        proc = subprocess.run(
            ["cat", str(lower / "f")],
            preexec_fn=view.preexec,
            capture_output=True,
            timeout=10,
            check=False,
        )
        ok = (
            proc.returncode == 0
            and proc.stdout == b"upper"
            and (lower / "f").read_text() == "lower"
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("overlay view not available: %s", exc)
        ok = False
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not ok:
        log.warning("overlay mounts are refused here; the sandbox copies the workspace per run")
    return ok
