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
    # The module that cannot be imported is one error; the other tests still ran.
    assert report.status == "failed" and report.counts() == {"error": 1, "passed": 2}
    assert [(c.nodeid, c.outcome) for c in report.failures] == [("tests/test_bad.py", "error")]
    assert (report.failures[0].file, report.failures[0].line) == ("tests/test_bad.py", 1)
    assert "nowhere_to_be_found" in report.failure_text()


def test_no_tests(bwrap: Sandbox, workspace: Path):
    report = run(bwrap, workspace)
    assert report.status == "no_tests"
    assert not report.ok


def test_timeout(bwrap: Sandbox, project: Path):
    spin = "def test_spin():\n    while True:\n        pass\n"
    report = run_pytest(
        bwrap, project, overlay={"tests/test_spin.py": spin}, python=sys.executable, timeout=8
    )
    assert report.status == "timeout"
    assert report.reason and "timeout" in report.reason
    assert "test_spin" in report.failure_text()  # where it hung


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


def test_related_tests_run_first(bwrap: Sandbox, project: Path):
    (project / "tests" / "test_misc.py").write_text("def test_misc():\n    assert True\n")
    edited = "def add(a, b):\n    return b + a\n"
    report = run(bwrap, project, overlay={"pkg/calc.py": edited}, related=True)
    assert {c.nodeid.split("::")[0] for c in report.cases} == {"tests/test_calc.py"}
    full = run(bwrap, project, overlay={"pkg/calc.py": edited}, related=True, then_full=True)
    assert "tests/test_misc.py::test_misc" in {c.nodeid for c in full.cases}


def test_pytest_command_means_the_project_interpreter(bwrap: Sandbox, project: Path):
    result = bwrap.run(project, ["pytest", "-q", "-p", "no:cacheprovider"], timeout=60)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_statuses_from_exit_codes(tmp_path: Path):
    from greenpatch.sandbox.result import CommandResult
    from greenpatch.sandbox.runner import build_report

    def status(code: int, reason: str | None = None, xml: str | None = None) -> str:
        result = CommandResult(
            exit_code=code, stdout="", stderr="MemoryError in a test's own output",
            timed_out=False, killed_reason=reason, duration_s=0.1, backend="x",
        )  # fmt: skip
        return build_report(result, xml, tmp_path, ("pytest",)).status

    one = '<testsuite><testcase classname="t" name="a" file="t.py"/></testsuite>'
    assert status(0, xml=one) == "passed"
    assert status(0) == "no_tests"
    assert status(1, reason="memory limit: allocation refused above 2048 MB") == "failed"
    assert status(5) == "no_tests"
    assert status(137, reason="output limit: killed after more than 64 MB of output") == (
        "interrupted"
    )
    assert status(139) == "interrupted"
    assert status(127) == "error"
