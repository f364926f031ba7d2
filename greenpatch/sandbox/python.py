"""The project's own interpreter, and what a sandbox must mount so that it runs."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from greenpatch.sandbox.base import Sandbox

# Where projects keep their virtual environment, most common first.
_VENV_DIRS = (".venv", "venv", "env", ".env", ".tox/py")
# Directories every sandbox already mounts read-only.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def detect_python(workspace: Path) -> str:
    """The project's own interpreter: a virtual environment in the workspace (`.venv`,
    `venv`, `env`, ...), else the active `VIRTUAL_ENV` when it lives in the workspace, else
    `sys.executable` (the interpreter this process runs on)."""
    root = Path(workspace).resolve()
    for name in _VENV_DIRS:
        candidate = root / name / "bin" / "python"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    active = os.environ.get("VIRTUAL_ENV")
    if active and Path(active).resolve().is_relative_to(root):
        candidate = Path(active) / "bin" / "python"
        if candidate.is_file():
            return str(candidate)
    return sys.executable


def can_import(
    sandbox: Sandbox,
    workspace: Path,
    python: str,
    module: str,
    overlay: Mapping[str, str | None] = {},
) -> bool:
    """Whether `module` imports with `python` in the sandbox on the workspace, as the
    project's tests would import it."""
    result = sandbox.run(workspace, [python, "-c", f"import {module}"], overlay=overlay, timeout=60)
    return result.ok


def interpreter_mounts(executable: str) -> tuple[Path, ...]:
    """Directories that must be visible (read-only) for `executable` to run: its virtual
    environment (when it is in one) and the installation the environment was made from.
    Nothing under the system directories, which are mounted anyway."""
    exe = Path(executable)
    if not exe.is_absolute():
        return ()
    mounts: list[Path] = []
    venv = exe.parent.parent
    cfg = venv / "pyvenv.cfg"
    if cfg.is_file():
        mounts.append(venv.resolve())
        home = _cfg_home(cfg)
        if home is not None:
            mounts.append(home.resolve().parent)
    real = exe.resolve()
    mounts.append(real.parent.parent)
    return tuple(_dedupe(m for m in mounts if not _is_system(m)))


def _cfg_home(cfg: Path) -> Path | None:
    try:
        lines = cfg.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "home" and value.strip():
            return Path(value.strip())
    return None


def _is_system(path: Path) -> bool:
    return any(path == Path(d) or path.is_relative_to(d) for d in SYSTEM_DIRS) or path == Path("/")


def _dedupe(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if not any(path == o or path.is_relative_to(o) for o in out):
            out = [o for o in out if not o.is_relative_to(path)] + [path]
    return out
