"""The interface every backend implements, and what they share: the scrubbed environment,
how a command and its working directory are resolved, and the result's warnings."""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from greenpatch.errors import SandboxError
from greenpatch.sandbox.limits import Limits
from greenpatch.sandbox.python import detect_python
from greenpatch.sandbox.result import CommandResult

log = logging.getLogger(__name__)

# The only variables a sandboxed command inherits from the parent: nothing that can hold a
# credential. The caller adds what a run needs through `env=`.
ENV_ALLOWLIST = ("LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TERM", "TZ", "NO_COLOR")
SANDBOX_HOME = "/tmp/home"
BASE_PATH = ("/usr/local/bin", "/usr/bin", "/bin")


class Sandbox(ABC):
    """Runs commands on a view of a workspace (see README.md for the contract)."""

    name: str = "abstract"

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()

    @abstractmethod
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
        """Run `command` in `cwd` (workspace-relative) on the workspace with `overlay`
        applied; the real workspace is never written. Files named in `collect`
        (workspace-relative) that the run wrote come back in `CommandResult.collected`."""

    def workspace_path(self, root: Path) -> str:
        """Where the command sees the workspace `root` (the same path, for local backends)."""
        return str(root)

    def default_python(self, root: Path) -> str:
        """The interpreter a pytest run uses when none is given."""
        return detect_python(root)

    def warnings(self) -> tuple[str, ...]:
        """What every result of this backend must carry."""
        return ()


def resolve_command(command: Sequence[str], workspace: Path) -> list[str]:
    """`python`/`python3` mean the project's own interpreter (see `detect_python`)."""
    argv = list(command)
    if not argv or not argv[0]:
        raise SandboxError("no command to run")
    if argv[0] in ("python", "python3"):
        argv[0] = detect_python(workspace)
    return argv


def resolve_cwd(root: Path, cwd: str) -> Path:
    """The absolute working directory for a workspace-relative `cwd` (never outside)."""
    rel = PurePosixPath(cwd or ".")
    if rel.is_absolute() or ".." in rel.parts:
        raise SandboxError(f"cwd {cwd!r} must be a path inside the workspace")
    return root / rel


def scrubbed_env(
    extra: Mapping[str, str] | None, *, executable: str, home: str = SANDBOX_HOME
) -> dict[str, str]:
    """The allowlisted environment plus a fixed PATH/HOME/TMPDIR and the caller's `extra`.
    The interpreter's own bin directory comes first on PATH, so its tools (pytest) resolve."""
    env = {key: os.environ[key] for key in ENV_ALLOWLIST if key in os.environ}
    path = list(BASE_PATH)
    if os.path.isabs(executable):
        path.insert(0, os.path.dirname(executable))
    env.update(
        PATH=":".join(dict.fromkeys(path)),
        HOME=home,
        TMPDIR="/tmp",
        PYTHONUNBUFFERED="1",
        LANG=env.get("LANG", "C.UTF-8"),
    )
    env.update(extra or {})
    return env
