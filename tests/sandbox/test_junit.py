"""JUnit XML parsing and report wording, without running anything."""

from __future__ import annotations

from pathlib import Path

from greenpatch.sandbox.junit import parse_junit, project_frame
from greenpatch.sandbox.report import TestCase, TestReport

WS = Path("/home/u/proj")

XML = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="2" tests="5">
<testcase classname="tests.test_calc" name="test_ok" file="tests/test_calc.py" line="3"
  time="0.001"/>
<testcase classname="tests.test_calc.TestK" name="test_bad[2-3]" file="tests/test_calc.py"
  line="10" time="0.002"><failure message="AssertionError: assert 5 == 6&#10;more">
tests/test_calc.py:12: in test_bad
    assert add(a, b) == 6
pkg/calc.py:4: in add
    return helper(a) + b
/home/u/proj/pkg/util.py:9: in helper
    raise_it()
/usr/lib/python3.11/site-packages/lib.py:1: in raise_it
E   AssertionError
</failure><system-out>captured print</system-out></testcase>
<testcase classname="tests.test_calc" name="test_skip" file="tests/test_calc.py" line="20"
  time="0"><skipped type="pytest.skip" message="not today"/></testcase>
<testcase classname="tests.test_calc" name="test_xf" file="tests/test_calc.py" line="24"
  time="0"><skipped type="pytest.xfail" message="known"/></testcase>
<testcase classname="" name="tests.test_broken" file="tests/test_broken.py" time="0">
<error message="collection failure">ImportError: nope</error></testcase>
<testcase classname="" name="pkg.test_old" time="0"><error message="collection failure">
ImportError: nope</error></testcase>
</testsuite></testsuites>"""


def test_parse_cases():
    cases = parse_junit(XML, WS)
    assert [c.nodeid for c in cases] == [
        "tests/test_calc.py::test_ok",
        "tests/test_calc.py::TestK::test_bad[2-3]",
        "tests/test_calc.py::test_skip",
        "tests/test_calc.py::test_xf",
        "tests/test_broken.py",
        "pkg/test_old.py",
    ]
    outcomes = ["passed", "failed", "skipped", "xfailed", "error", "error"]
    assert [c.outcome for c in cases] == outcomes
    bad = cases[1]
    assert bad.message == "AssertionError: assert 5 == 6"
    assert (bad.file, bad.line) == ("pkg/util.py", 9)  # deepest frame in the project
    assert "captured print" in bad.output
    assert (cases[0].file, cases[0].line) == ("tests/test_calc.py", 4)


def test_project_frame_ignores_outside_files():
    assert project_frame("/usr/lib/python3.11/x.py:3: in f\n", WS) is None
    assert project_frame("/elsewhere/x.py:3: in f\n", WS) is None
    assert project_frame("../up.py:3: in f\n", WS) is None
    assert project_frame(".venv/lib/python3.11/site-packages/x.py:3: in f\n", WS) is None


def test_report_texts():
    failing = TestCase(
        nodeid="t.py::test_a",
        outcome="failed",
        message="boom",
        file="m.py",
        line=3,
        output="X" * 5000,
    )
    report = TestReport(
        status="failed", cases=(failing, TestCase(nodeid="t.py::b", outcome="passed"))
    )
    assert report.failures == (failing,)
    assert not report.ok
    assert report.summary().startswith("failed: 1 failed, 1 passed")
    text = report.failure_text(1000)
    assert len(text) <= 1000
    assert "FAILED t.py::test_a at m.py:3: boom" in text
    assert TestReport(status="passed", cases=(failing,)).ok
    empty = TestReport(status="error", reason="pytest did not run", output="Traceback: crash")
    assert "crash" in empty.failure_text() and "pytest did not run" in empty.summary()


def test_entities_are_refused():
    import pytest

    from greenpatch.sandbox.junit import JUnitError

    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><testsuite>&a;</testsuite>'
    with pytest.raises(JUnitError):
        parse_junit(bomb, WS)
    with pytest.raises(JUnitError):
        parse_junit("<testsuite><testcase", WS)
