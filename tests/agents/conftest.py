"""Loop fixtures: the scripted replies that fix the example shop (see tests/conftest.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import SCRIPT


@pytest.fixture
def shop_replies() -> dict[str, Any]:
    """The scripted fix of the shop: `wrong` (the coder's first try, red), `right` (the
    debugger's diff, which applies only on top of `wrong`) and `approve` (the critic)."""
    wrong, right, approve = json.loads(SCRIPT.read_text())["replies"]
    return {"wrong": wrong, "right": right, "approve": approve}
