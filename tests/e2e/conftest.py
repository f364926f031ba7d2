"""End-to-end fixtures: the example's scripted model (the shop copy is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.conftest import SCRIPT

__all__ = ["SCRIPT"]


@pytest.fixture
def scripted_model() -> str:
    return f"scripted/{SCRIPT}"
