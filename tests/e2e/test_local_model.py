"""The example fixed by the real embedded model. Needs `greenpatch model pull` and
llama-cpp-python; never part of CI (run with `scripts/test -m local_model`)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from greenpatch.agents import local_models

MODEL = os.environ.get("GREENPATCH_TEST_LOCAL_MODEL", "qwen2.5-coder-1.5b")

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None,
        reason="llama-cpp-python is not installed (pip install 'greenpatch[local]')",
    ),
    pytest.mark.skipif(
        not local_models.is_pulled(MODEL),
        reason=f"the local model is not pulled (greenpatch model pull {MODEL})",
    ),
]


def test_embedded_model_fixes_the_example(shop: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "greenpatch.cli",
            "run",
            "Fix the failing tests",
            "--workspace",
            str(shop),
            "--model",
            f"local/{MODEL}",
            "--yes",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["status"] == "green"
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=shop,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout
