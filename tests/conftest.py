"""Fixtures every room's tests share: a fresh copy of the example shop."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "shop"
SCRIPT = REPO / "examples" / "scripted" / "fix-shop.json"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A private copy of examples/shop (its tests fail until the discount bug is fixed)."""
    target = tmp_path / "shop"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    return target
