"""Which files of a workspace are indexed, and reading them as text.

Rules: built-in excludes (VCS, virtual environments, caches, dependencies, build output),
every `.gitignore` on the way down plus `.git/info/exclude`, no binaries, nothing over the
size limit, no symlinked directories (loops) and no symlinks leaving the workspace.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 1_000_000
EXCLUDED_DIRS = frozenset(
    [
        ".git",
        ".hg",
        ".svn",
        ".greenpatch",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        ".eggs",
        "build",
        "dist",
        "target",
        "out",
        ".next",
        ".nuxt",
        ".gradle",
        ".idea",
        ".cache",
        "coverage",
        "htmlcov",
        "site-packages",
        "bower_components",
        "vendor",
    ]
)
EXCLUDED_SUFFIXES = frozenset(
    [
        ".pyc",
        ".pyo",
        ".so",
        ".dll",
        ".dylib",
        ".exe",
        ".o",
        ".a",
        ".class",
        ".jar",
        ".war",
        ".zip",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".7z",
        ".tar",
        ".whl",
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".bmp",
        ".ico",
        ".webp",
        ".pdf",
        ".mp3",
        ".mp4",
        ".mov",
        ".wav",
        ".ttf",
        ".otf",
        ".woff",
        ".woff2",
        ".eot",
        ".db",
        ".sqlite",
        ".sqlite3",
        ".pkl",
        ".npy",
        ".npz",
        ".bin",
        ".onnx",
        ".safetensors",
        ".gguf",
        ".lock",
        ".min.js",
        ".map",
    ]
)
_SNIFF_BYTES = 8192


@dataclass(frozen=True, slots=True)
class FileInfo:
    """A candidate file: workspace-relative path, size and modification time."""

    path: str
    size: int
    mtime_ns: int


def _excluded_name(name: str, is_dir: bool) -> bool:
    if is_dir:
        return name in EXCLUDED_DIRS or name.endswith(".egg-info")
    lower = name.lower()
    return any(lower.endswith(s) for s in EXCLUDED_SUFFIXES)


class IgnoreRules:
    """Gitignore semantics per directory, loaded lazily and cached."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._specs: dict[str, pathspec.GitIgnoreSpec | None] = {}

    def reset(self) -> None:
        """Forget cached specs (a .gitignore changed)."""
        self._specs.clear()

    def _spec(self, rel_dir: str) -> pathspec.GitIgnoreSpec | None:
        if rel_dir not in self._specs:
            lines: list[str] = []
            sources = [self.root / rel_dir / ".gitignore"]
            if rel_dir == "":
                sources.append(self.root / ".git" / "info" / "exclude")
            for src in sources:
                try:
                    lines.extend(src.read_text(encoding="utf-8", errors="replace").splitlines())
                except OSError:
                    continue
            self._specs[rel_dir] = pathspec.GitIgnoreSpec.from_lines(lines) if lines else None
        return self._specs[rel_dir]

    def ignored(self, rel: str, is_dir: bool) -> bool:
        """Whether a workspace-relative path is excluded by a built-in rule or a .gitignore
        in any of its ancestors (a deeper .gitignore can re-include with `!`)."""
        parts = rel.split("/")
        if any(_excluded_name(p, True) for p in parts[:-1]):
            return True
        if _excluded_name(parts[-1], is_dir):
            return True
        verdict = False
        for depth in range(len(parts)):
            spec = self._spec("/".join(parts[:depth]))
            if spec is None:
                continue
            sub = "/".join(parts[depth:]) + ("/" if is_dir else "")
            result = spec.check_file(sub).include
            if result is not None:
                verdict = result
        return verdict


def walk(
    root: Path, rules: IgnoreRules, max_bytes: int = MAX_FILE_BYTES, start: str = ""
) -> Iterator[FileInfo]:
    """Every indexable file under root, or under its subdirectory `start` (not yet checked
    for binary content)."""
    stack = [start]
    while stack:
        rel_dir = stack.pop()
        try:
            entries = list(os.scandir(root / rel_dir))
        except OSError as exc:
            log.debug("cannot list %s: %s", rel_dir or ".", exc)
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                if rules.ignored(rel, is_dir):
                    continue
                if not _utf8(rel):
                    _warn_once(root, rel)
                    continue
                if is_dir:
                    stack.append(rel)
                    continue
                info = _stat(root, rel, max_bytes)
            except OSError:
                continue
            if info is not None:
                yield info


_warned: set[tuple[Path, str]] = set()


def _warn_once(root: Path, rel: str) -> None:
    """One warning a process for a name that cannot be indexed, not one every update."""
    if (root, rel) not in _warned:
        _warned.add((root, rel))
        log.warning("skipping %r: its name is not UTF-8", rel)


def _utf8(rel: str) -> bool:
    """Whether a path decoded from the file system is valid UTF-8 (Python keeps undecodable
    bytes as lone surrogates; the catalog, Chroma, JSON and LSP URIs all need real text)."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def stat_file(
    root: Path, rel: str, rules: IgnoreRules, max_bytes: int = MAX_FILE_BYTES
) -> FileInfo | None:
    """FileInfo when rel is an indexable regular file right now, else None."""
    if not _utf8(rel) or rules.ignored(rel, False):
        return None
    return _stat(root, rel, max_bytes)


def _stat(root: Path, rel: str, max_bytes: int) -> FileInfo | None:
    path = root / rel
    try:
        if path.is_symlink() and not path.resolve().is_relative_to(root.resolve()):
            return None
        st = path.stat()
    except (OSError, RuntimeError):  # RuntimeError: symlink loop on some Pythons
        return None
    if not path.is_file() or st.st_size > max_bytes:
        return None
    return FileInfo(rel, st.st_size, st.st_mtime_ns)


def decode(data: bytes) -> str | None:
    """Text of file content, or None for binary. UTF-8 first, else a detected encoding."""
    if b"\0" in data[:_SNIFF_BYTES]:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is None:
        return None
    try:
        return data.decode(best.encoding, errors="replace")
    except LookupError:
        return None


def read_bytes(root: Path, rel: str, max_bytes: int = MAX_FILE_BYTES) -> bytes | None:
    """The file's bytes, or None when it vanished, is unreadable or grew too large."""
    try:
        with (root / rel).open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError:
        return None
    return None if len(data) > max_bytes else data
