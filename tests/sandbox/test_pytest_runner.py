"""run_pytest end to end on small projects, in the real sandbox."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from greenpatch.sandbox import Sandbox, TestReport, detect_python, run_pytest

TESTS = """\
from pkg.calc import add

def test_add():
    assert add(1, 2) == 3

class TestMore:
    def test_neg(self):
        assert add(-1, -1) == -2
"""


@pytest.fixture
def project(workspace: Path) -> Path:
    (workspace / "tests").mkdir()
    (workspace / "tests" / "test_calc.py").write_text(TESTS)
    (workspace / "conftest.py").write_text("")
    return workspace


def run(sandbox: Sandbox, ws: Path, **kwargs: object) -> TestReport:
    return run_pytest(sandbox, ws, python=sys.executable, timeout=60, **kwargs)  # type: ignore[arg-type]


def test_green(bwrap: Sandbox, project: Path):
    report = run(bwrap, project)
    assert report.status == "passed", report.output
    assert report.ok and not report.failures
    assert {c.nodeid for c in report.cases} == {
        "tests/test_calc.py::test_add",
        "tests/test_calc.py::TestMore::test_neg",
    }
    assert report.summary().startswith("passed: 2 passed")


def test_failure_points_at_the_project_frame(bwrap: Sandbox, project: Path, tree_hash: object):
    broken = "def add(a, b):\n    x = a - b\n    assert x == a + b, 'sum is off'\n    return x\n"
    report = run(bwrap, project, overlay={"pkg/calc.py": broken})
    assert report.status == "failed"
    assert len(report.failures) == 2
    case = report.failures[0]
    assert case.outcome == "failed"
    assert (case.file, case.line) == ("pkg/calc.py", 3)
    assert "sum is off" in case.message
    text = report.failure_text(2000)
    assert "tests/test_calc.py::test_add" in text and "pkg/calc.py:3" in text
    assert len(text) <= 2000


def test_selected_tests_only_then_full(bwrap: Sandbox, project: Path):
    selected = run(bwrap, project, tests=["tests/test_calc.py::test_add"])
    assert [c.nodeid for c in selected.cases] == ["tests/test_calc.py::test_add"]
    full = run(bwrap, project, tests=["tests/test_calc.py::test_add"], then_full=True)
    assert len(full.cases) == 2


def test_collection_error(bwrap: Sandbox, project: Path):
    report = run(bwrap, project, overlay={"tests/test_bad.py": "import nowhere_to_be_found\n"})
    assert report.status == "error"
    assert any("test_bad" in c.nodeid and c.outcome == "error" for c in report.cases)
    assert "nowhere_to_be_found" in report.failure_text()


def test_no_tests(bwrap: Sandbox, workspace: Path):
    report = run(bwrap, workspace)
    assert report.status == "no_tests"
    assert not report.ok


def test_timeout(bwrap: Sandbox, project: Path):
    spin = "def test_spin():\n    while True:\n        pass\n"
    report = run_pytest(
        bwrap, project, overlay={"tests/test_spin.py": spin}, python=sys.executable, timeout=2
    )
    assert report.status == "timeout"
    assert report.reason and "timeout" in report.reason


def test_missing_pytest_is_an_error(bwrap: Sandbox, project: Path):
    report = run_pytest(bwrap, project, python="/usr/bin/python3", timeout=30)
    if report.status != "error":
        pytest.skip("the system python has pytest here")
    assert report.reason


def test_detect_python(tmp_path: Path):
    assert detect_python(tmp_path) == sys.executable
    venv_python = tmp_path / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.symlink_to(sys.executable)
    assert detect_python(tmp_path) == str(venv_python)
