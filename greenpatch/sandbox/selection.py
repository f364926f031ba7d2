"""Which tests to run first: those named, then those touching the changed files."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

_SKIP_DIRS = frozenset(
    {".git", ".venv", "venv", "env", ".tox", "node_modules", "__pycache__", "build", "dist"}
)
_MAX_TEST_FILES = 5000


def is_test_file(rel: str) -> bool:
    """pytest's default test file names: test_*.py and *_test.py."""
    name = PurePosixPath(rel).name
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def related_tests(workspace: Path, changed: Iterable[str]) -> tuple[str, ...]:
    """Test files (workspace-relative) touching `changed`: changed test files themselves,
    then test files importing a changed module. Reads test files only, never the whole
    tree's contents; returns () when nothing matches (the caller then runs the suite)."""
    changed = [c for c in changed if c.endswith(".py")]
    direct = [c for c in changed if is_test_file(c)]
    modules = [_module_names(c) for c in changed if not is_test_file(c)]
    if not modules:
        return tuple(direct)
    pattern = _import_pattern(modules)
    found = list(direct)
    for rel in _test_files(workspace):
        if rel in found:
            continue
        try:
            text = (workspace / rel).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if pattern.search(text):
            found.append(rel)
    return tuple(found)


def _module_names(rel: str) -> tuple[str, str]:
    """(dotted module path, last name), e.g. ('pkg.calc', 'calc'); a package's
    `__init__.py` stands for the package itself; a `src/` prefix is dropped."""
    parts = list(PurePosixPath(rel).with_suffix("").parts)
    if parts and parts[0] == "src":
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts), parts[-1] if parts else ""


def _import_pattern(modules: list[tuple[str, str]]) -> re.Pattern[str]:
    alternatives = []
    for dotted, last in modules:
        if not last:
            continue
        parent = dotted.rpartition(".")[0]
        alternatives.append(rf"(?:from|import)\s+{re.escape(dotted)}\b")
        if parent:
            alternatives.append(
                rf"from\s+{re.escape(parent)}\s+import\s+[^\n]*\b{re.escape(last)}\b"
            )
    return re.compile("|".join(alternatives) or r"(?!)", re.MULTILINE)


def _test_files(workspace: Path) -> list[str]:
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(workspace):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            rel = (Path(dirpath) / name).relative_to(workspace).as_posix()
            if is_test_file(rel):
                found.append(rel)
                if len(found) >= _MAX_TEST_FILES:
                    return found
    return found
