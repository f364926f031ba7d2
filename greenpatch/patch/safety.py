"""Path and size rules: a patch may only touch plain workspace-relative paths, never reach
outside the root or into `.git/`, and must stay within size limits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True, slots=True)
class Limits:
    """Upper bounds on what one patch may do (characters, not bytes: we work on text)."""

    max_patch_chars: int = 4_000_000
    max_file_chars: int = 8_000_000
    max_files: int = 500


DEFAULT_LIMITS = Limits()

_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafePath(ValueError):
    """The path must not be touched; the message says why."""


def safe_relpath(path: str) -> str:
    """The normalised workspace-relative POSIX form of `path`, or `UnsafePath`."""
    if not path or "\x00" in path:
        raise UnsafePath("empty or malformed path")
    if "\\" in path:
        raise UnsafePath(f"{path!r}: use '/' to separate directories")
    if path.startswith(("/", "~")) or _DRIVE.match(path):
        raise UnsafePath(f"{path!r} is absolute; give the path relative to the project root")
    parts = [p for p in PurePosixPath(path).parts if p != "."]
    if not parts:
        raise UnsafePath(f"{path!r} names no file")
    if ".." in parts:
        raise UnsafePath(f"{path!r} leaves the project root ('..' is not allowed)")
    if ".git" in parts:
        raise UnsafePath(f"{path!r} is inside .git/, which patches must not touch")
    return "/".join(parts)
