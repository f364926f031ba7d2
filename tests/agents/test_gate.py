"""The loop's gate: only new failures count against a red baseline; targets must pass."""

from greenpatch.agents.loop import is_green
from greenpatch.sandbox import TestCase, TestReport


def report(status: str, failing: tuple[str, ...] = ()) -> TestReport:
    cases = tuple(
        TestCase(nodeid=n, outcome="failed", duration_s=0.0, message="boom") for n in failing
    )
    return TestReport(status=status, cases=cases)  # type: ignore[arg-type]


def test_green_when_nothing_fails() -> None:
    assert is_green(report("passed"), set(), set())


def test_an_old_failure_does_not_block_an_unrelated_change() -> None:
    assert is_green(report("failed", ("t.py::old",)), set(), {"t.py::old"})


def test_a_new_failure_blocks() -> None:
    assert not is_green(report("failed", ("t.py::old", "t.py::new")), set(), {"t.py::old"})


def test_targets_must_pass_even_when_they_failed_before() -> None:
    baseline = {"t.py::a"}
    assert not is_green(report("failed", ("t.py::a",)), {"t.py::a"}, baseline)
    assert not is_green(
        report("failed", ("tests/test_new.py::x",)), {"tests/test_new.py"}, {"tests/test_new.py::x"}
    )


def test_broken_runs_are_never_green() -> None:
    for status in ("error", "timeout", "interrupted"):
        assert not is_green(report(status), set(), set())
    assert not is_green(report("no_tests"), {"t.py::a"}, set())
