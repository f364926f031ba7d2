"""Known failing tests: where each is marked, and when a re-verified re-base is still green."""

from __future__ import annotations

from pathlib import Path

from greenpatch.agents.types import Evidence, Proposal, TaskRequest
from greenpatch.sandbox import TestCase, TestReport
from greenpatch.server.failures import def_line, still_green, targets

TESTS = """import pytest


def test_plain():
    assert True


class TestCart:
    @pytest.mark.parametrize("n", [1, 2])
    def test_total(self, n):
        assert n
"""


def report(status: str, *failing: str) -> TestReport:
    cases = [TestCase(nodeid=f, outcome="failed") for f in failing]
    cases.append(TestCase(nodeid="t.py::test_ok", outcome="passed"))
    return TestReport(status=status, cases=tuple(cases))  # type: ignore[arg-type]


def test_each_test_is_marked_on_its_def_line() -> None:
    assert def_line(TESTS, "tests/t.py::test_plain") == 3
    assert def_line(TESTS, "tests/t.py::TestCart::test_total[2]") == 9
    assert def_line(TESTS, "tests/t.py") == 0  # a collection error: the module's top
    assert def_line(TESTS, "tests/t.py::test_gone") == 0
    assert def_line("def broken(:\n", "tests/t.py::test_plain") == 0


def test_still_green_allows_only_old_failures_outside_the_targets() -> None:
    before = ("t.py::test_a", "t.py::test_b")
    assert still_green(report("passed"), before, ["t.py::test_a"]) == ""
    assert still_green(report("failed", "t.py::test_b"), before, ["t.py::test_a"]) == ""
    stuck = still_green(report("failed", "t.py::test_a"), before, ["t.py::test_a"])
    assert stuck == "still failing: t.py::test_a"
    new = still_green(report("failed", "t.py::test_new"), before, [])
    assert new == "now failing: t.py::test_new"
    assert "t.py::test_a" in still_green(report("failed", "t.py::test_a"), before, ["t.py"])
    assert still_green(report("error"), before, []).startswith("error")


def test_targets_follow_the_gate_of_the_run() -> None:
    proposal = Proposal(
        "r1",
        "fix",
        (),
        "",
        Evidence("failed", "passed", ("t.py::a", "t.py::b"), "", ("n.py",)),
        1,
        0.0,
    )
    fix = TaskRequest(task="fix", workspace=Path("."), kind="fix")
    one = TaskRequest(task="fix", workspace=Path("."), kind="fix", tests=("t.py::a",))
    task = TaskRequest(task="tidy", workspace=Path("."), kind="task")
    assert targets(proposal, fix) == ("t.py::a", "t.py::b", "n.py")
    assert targets(proposal, one) == ("t.py::a", "n.py")
    assert targets(proposal, task) == ("n.py",)
    assert targets(proposal, None) == ("t.py::a", "t.py::b", "n.py")
