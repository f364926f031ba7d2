"""The `bwrap` backend: bubblewrap namespaces around the command.

Unshared network (loopback only), pid, ipc, uts and cgroup namespaces; a fresh root holding
only the system directories, an allowlist of /etc, the interpreter's installation and the
workspace view, all read-only except the view and a private /tmp; no capabilities; a new
session (no terminal injection); killed with its parent. Nothing else of the host, in
particular no home directory, is visible.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from greenpatch.errors import SandboxError
from greenpatch.sandbox.base import (
    SANDBOX_HOME,
    Sandbox,
    resolve_command,
    resolve_cwd,
    scrubbed_env,
)
from greenpatch.sandbox.execute import execute
from greenpatch.sandbox.limits import Limits
from greenpatch.sandbox.python import SYSTEM_DIRS, interpreter_mounts
from greenpatch.sandbox.result import CommandResult
from greenpatch.sandbox.view import STRATEGIES, create_view
from greenpatch.sandbox.view import collect_files as _collect

log = logging.getLogger(__name__)

# /etc entries programs commonly need; everything else there (shadow, ssh keys, tokens in
# /etc/environment) stays invisible.
ETC_ALLOWLIST = (
    "passwd", "group", "hosts", "nsswitch.conf", "ld.so.cache", "ld.so.conf", "ld.so.conf.d",
    "localtime", "timezone", "alternatives", "ssl", "ca-certificates", "mime.types",
    "os-release", "python3", "python3.11", "pip.conf", "protocols", "services",
)  # fmt: skip
INSTALL_HINT = "install bubblewrap: `sudo apt-get install -y bubblewrap` (or dnf/pacman)"


class BwrapSandbox(Sandbox):
    """Runs each command under bubblewrap on an overlay view of the workspace."""

    name = "bwrap"

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        bwrap: str | None = None,
        ro_paths: Sequence[Path] = (),
    ) -> None:
        super().__init__(limits)
        found = bwrap or shutil.which("bwrap")
        if not found:
            raise SandboxError(f"bubblewrap (bwrap) is not installed; {INSTALL_HINT}")
        self.bwrap = found
        self.ro_paths = tuple(Path(p) for p in ro_paths)
        self.view_strategies: tuple[str, ...] = STRATEGIES

    def run(
        self,
        workspace: Path,
        command: Sequence[str],
        *,
        overlay: Mapping[str, str | None] = {},
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str = ".",
        collect: Sequence[str] = (),
    ) -> CommandResult:
        """Run `command` under bubblewrap on the view (see `Sandbox.run`)."""
        view = create_view(
            workspace, overlay, strategies=self.view_strategies, layer_mb=self.limits.disk_mb
        )
        try:
            argv = resolve_command(command, view.workspace)
            workdir = resolve_cwd(view.workspace, cwd)
            mounts = (*interpreter_mounts(argv[0]), *self.ro_paths)
            args = bwrap_args(view.path, view.workspace, workdir, mounts)
            outcome = execute(
                [self.bwrap, *args, "--", *argv],
                env=scrubbed_env(env, executable=argv[0]),
                cwd="/",
                limits=self.limits,
                timeout=timeout,
                setup=view.preexec,
                signal_offset=True,
            )
            collected = _collect(view, collect)
        finally:
            view.cleanup()
        return outcome.result(self.name, self.warnings(), collected)


def bwrap_args(view: Path, workspace: Path, workdir: Path, ro_paths: Sequence[Path]) -> list[str]:
    """bubblewrap's arguments: namespaces, the filesystem (order matters: /tmp first, so
    binds below it survive), then the working directory."""
    args = [
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--unshare-cgroup-try", "--die-with-parent", "--new-session",
        "--cap-drop", "ALL", "--hostname", "sandbox",
        "--tmpfs", "/tmp", "--dir", SANDBOX_HOME, "--proc", "/proc", "--dev", "/dev",
    ]  # fmt: skip
    args += _system_args()
    for path in ro_paths:
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--bind", str(view), str(workspace), "--chdir", str(workdir)]
    return args


@functools.cache
def _system_args() -> tuple[str, ...]:
    args: list[str] = []
    for name in SYSTEM_DIRS:
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    for name in ETC_ALLOWLIST:
        path = f"/etc/{name}"
        if os.path.lexists(path):
            args += ["--ro-bind", path, path]
    return tuple(args)


@functools.cache
def bwrap_works(bwrap: str | None = None) -> str | None:
    """None when bubblewrap can create its namespaces here, else why not."""
    found = bwrap or shutil.which("bwrap")
    if not found:
        return f"bubblewrap (bwrap) is not installed; {INSTALL_HINT}"
    probe = [found, "--unshare-net", "--unshare-pid", "--ro-bind", "/", "/", "--", "true"]
    try:
        proc = subprocess.run(probe, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bubblewrap cannot run: {exc}"
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip()
        return (
            f"bubblewrap cannot create namespaces here ({detail}); "
            f"enable unprivileged user namespaces or {INSTALL_HINT}"
        )
    return None
