"""Shared fixtures: small workspaces and a tree hash to prove they were never written."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from greenpatch.sandbox import Limits, Sandbox, get_sandbox
from greenpatch.sandbox.bwrap import bwrap_works


def _tree_hash(root: Path) -> str:
    """Hash of every path, mode, symlink target and file content under `root`."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            st = path.lstat()
            digest.update(f"{path.relative_to(root)}\0{st.st_mode}\0".encode())
            if path.is_symlink():
                digest.update(os.readlink(path).encode())
            elif path.is_file():
                digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def tree_hash() -> Callable[[Path], str]:
    """Hash of a tree: paths, modes, symlink targets, contents."""
    return _tree_hash


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "pkg").mkdir(parents=True)
    (ws / "pkg" / "__init__.py").write_text("")
    (ws / "pkg" / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (ws / "data.txt").write_text("original\n")
    return ws


@pytest.fixture
def bwrap() -> Sandbox:
    problem = bwrap_works()
    if problem:
        pytest.skip(problem)
    return get_sandbox("bwrap", Limits(cpu_seconds=20, memory_mb=1024, processes=64))


@pytest.fixture(params=["bwrap", "process"])
def any_sandbox(request: pytest.FixtureRequest) -> Sandbox:
    if request.param == "bwrap" and bwrap_works():
        pytest.skip(str(bwrap_works()))
    return get_sandbox(request.param, Limits(cpu_seconds=20, memory_mb=1024, processes=64))
