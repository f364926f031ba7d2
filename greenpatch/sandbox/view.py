"""The workspace view: the workspace on disk + unsaved buffers + the proposed diff.

The real workspace is never written. The changed files are written to a fresh upper
directory and an overlayfs puts them over the workspace (the read-only lower layer); every
write the command makes lands in the throwaway upper layer, and nothing costs in proportion
to the size of the tree (see benchmarks/sandbox_overhead.py). Strategies, best first:

- `mount`: the overlay mounted by this process (root) at `<scratch>/merged`; a sandbox
  binds it at the workspace's own path, so paths in tracebacks match the editor's.
- `namespace`: the child mounts the overlay over the workspace path in a private mount
  namespace (any user with user namespaces; costs a fork instead of a vfork).
- `copy`: a full copy of the tree, O(tree size), where overlay mounts are refused.
"""

from __future__ import annotations

import contextlib
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
from greenpatch.sandbox.mounts import (
    SCRATCH_PREFIX,
    NamespaceOverlay,
    detach_stale,
    host_mount,
    host_tmpfs,
    host_unmount,
)

log = logging.getLogger(__name__)

STRATEGIES = ("mount", "namespace", "copy")


def check_overlay_paths(overlay: Mapping[str, str | None]) -> None:
    """Refuse overlay keys that are not plain workspace-relative POSIX paths."""
    for key in overlay:
        rel = PurePosixPath(key)
        if not key or rel.is_absolute() or ".." in rel.parts or key.startswith("~"):
            raise SandboxError(f"overlay path {key!r} must be relative to the workspace")


@dataclass
class View:
    """One run's view of a workspace. `path` is the view on the host (what a sandbox binds
    at the workspace's path; for `namespace` it is the workspace path itself, where the
    view appears once `preexec` ran in the child)."""

    workspace: Path
    path: Path
    scratch: Path
    preexec: Callable[[], None] | None
    strategy: str
    upper: Path | None = None
    mounts: tuple[Path, ...] = ()

    def read_back(self, rel: str, max_bytes: int = 32 * 1024 * 1024) -> str | None:
        """A file the run wrote at workspace-relative `rel`, or None. Symlinks and
        non-regular files are refused: the run controls what is there."""
        return safe_read(self.upper or self.path, rel, max_bytes)

    def cleanup(self) -> None:
        """Unmount what this process mounted and remove the throwaway layer."""
        for target in self.mounts:
            host_unmount(target)
        remove_tree(self.scratch)


def remove_tree(path: Path) -> None:
    """rmtree that also removes what overlayfs leaves unreadable (its workdir is mode 000,
    and in a user namespace not ours to enter until we chmod it)."""
    for dirpath, dirnames, _files in os.walk(path):
        for name in dirnames:  # before os.walk descends into them
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(dirpath, name), 0o700, follow_symlinks=False)
    shutil.rmtree(path, ignore_errors=True)


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
    workspace: Path,
    overlay: Mapping[str, str | None],
    *,
    strategies: Sequence[str] = STRATEGIES,
    layer_mb: int = 0,
) -> View:
    """Build the view of `workspace` with `overlay` applied, with the first of `strategies`
    that works here (see the module docstring). `layer_mb`: for `mount`, the writable layer
    is a tmpfs of that size (0: a directory on disk)."""
    check_overlay_paths(overlay)
    root = resolve_workspace(workspace)
    sweep_stale()
    chosen = next((s for s in strategies if strategy_works(s)), "copy")
    scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
    try:
        if chosen == "mount":
            return _mount_view(root, overlay, scratch, layer_mb)
        if chosen == "namespace":
            return _namespace_view(root, overlay, scratch)
        return _copy_view(root, overlay, scratch)
    except BaseException:
        remove_tree(scratch)
        raise


def strategy_works(strategy: str) -> bool:
    """Whether `strategy` can build views here (probed once per process)."""
    if strategy == "mount":
        return _mount_works()
    if strategy == "namespace":
        return _namespace_works()
    return strategy == "copy"


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


def _delete(base: Path, deleted: Sequence[str]) -> None:
    for rel in deleted:
        with contextlib.suppress(FileNotFoundError):
            (base / rel).unlink()


def _copy_view(root: Path, overlay: Mapping[str, str | None], scratch: Path) -> View:
    view = scratch / "view"
    shutil.copytree(root, view, symlinks=True)
    _delete(view, _write_files(view, overlay))
    return View(root, view, scratch, None, "copy")


def _layers(base: Path) -> tuple[Path, Path]:
    upper, work = base / "upper", base / "work"
    upper.mkdir()
    work.mkdir()
    return upper, work


def _mount_view(
    root: Path, overlay: Mapping[str, str | None], scratch: Path, layer_mb: int
) -> View:
    mounted: list[Path] = []
    view = View(root, scratch / "merged", scratch, None, "mount")
    try:
        layer = scratch / "layer"
        layer.mkdir()
        if layer_mb > 0:
            host_tmpfs(layer, layer_mb)
            mounted.append(layer)
        upper, work = _layers(layer)
        view.upper = upper
        deleted = _write_files(upper, overlay)
        view.path.mkdir()
        host_mount(root, upper, work, view.path)
        mounted.insert(0, view.path)
        view.mounts = tuple(mounted)
        _delete(view.path, deleted)  # whiteouts in the upper layer
    except BaseException:
        view.mounts = tuple(mounted)
        view.cleanup()
        raise
    return view


def _namespace_view(root: Path, overlay: Mapping[str, str | None], scratch: Path) -> View:
    upper, work = _layers(scratch)
    deleted = _write_files(upper, overlay)
    mount = NamespaceOverlay(root, upper, work, [root / rel for rel in deleted])
    return View(root, root, scratch, mount, "namespace", upper=upper)


@functools.cache
def sweep_stale() -> int:
    """Once per process: detach the mounts and remove the scratch directories of views left
    by greenpatch processes that died mid-run (killed servers, crashed tests)."""
    detach_stale()
    removed = 0
    for scratch in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        pid = scratch.name[len(SCRATCH_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists() and scratch.is_dir():
            remove_tree(scratch)
            removed += 1
    if removed:
        log.info("removed %d workspace views left by earlier greenpatch processes", removed)
    return removed


@functools.cache
def _mount_works() -> bool:
    if os.geteuid() != 0:
        return False
    return _probe(lambda lower, scratch: _mount_view(lower, {"f": "upper"}, scratch, 1), None)


@functools.cache
def _namespace_works() -> bool:
    return _probe(lambda lower, scratch: _namespace_view(lower, {"f": "upper"}, scratch), "cat")


def _probe(make: Callable[[Path, Path], View], reader: str | None) -> bool:
    probe = Path(tempfile.mkdtemp(prefix="greenpatch-probe-"))
    lower, scratch = probe / "lower", probe / "scratch"
    lower.mkdir()
    scratch.mkdir()
    (lower / "f").write_text("lower")
    try:
        view = make(lower, scratch)
        try:
            if reader is None:
                seen = (view.path / "f").read_bytes()
            else:
                seen = subprocess.run(
                    [reader, str(view.path / "f")],
                    preexec_fn=view.preexec,
                    capture_output=True,
                    timeout=10,
                    check=False,
                ).stdout
        finally:
            view.cleanup()
        ok = seen == b"upper" and (lower / "f").read_text() == "lower"
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("overlay view not available: %s", exc)
        ok = False
    finally:
        remove_tree(probe)
    return ok
