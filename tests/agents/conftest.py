"""Loop fixtures: a fresh copy of the example shop and the scripted replies that fix it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "shop"
SCRIPT = REPO / "examples" / "scripted" / "fix-shop.json"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A private copy of examples/shop (its tests fail until the discount bug is fixed)."""
    target = tmp_path / "shop"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    return target


@pytest.fixture
def shop_replies() -> dict[str, Any]:
    """The scripted fix of the shop: `wrong` (the coder's first try, red), `right` (the
    debugger's diff, which applies only on top of `wrong`) and `approve` (the critic)."""
    wrong, right, approve = json.loads(SCRIPT.read_text())["replies"]
    return {"wrong": wrong, "right": right, "approve": approve}
