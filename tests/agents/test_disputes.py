"""When the tester is wrong: the real loop, the real bwrap sandbox, the scripted model.

The project and helpers are test_best_of's: `clamp` with three docstring examples and one
existing test that touches it. The tester's tests are a model's guesses; a wrong one is
dropped when the code passes the function's trusted checks, and stays the gate otherwise.
"""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from greenpatch.agents.disputes import without_tests
from greenpatch.agents.loop import run_task
from greenpatch.agents.providers import ScriptedReplies
from greenpatch.agents.types import RunEvent
from tests.agents import test_best_of as base
from tests.agents.test_best_of import APPROVE, RIGHT, RIGHT_TOO, STUB, implement, messages, settings

project, _bwrap = base.project, base._bwrap  # its fixtures: the clamp project, bwrap or skip

TESTER_HALF_WRONG = {
    "role": "tester",
    "reply": textwrap.dedent("""\
        ```python
        from mathx.ops import clamp


        def test_clamp_caps():
            assert clamp(10, 0, 4) == 4


        def test_clamp_wrongly():
            assert clamp(-3, 0, 4) == -3
        ```"""),
}
NEW_TEST = "tests/test_greenpatch_clamp.py"


def test_a_wrong_tester_test_is_dropped_when_the_trusted_checks_pass(project: Path) -> None:
    model = ScriptedReplies.register("dispute-half", [TESTER_HALF_WRONG, RIGHT, RIGHT_TOO, APPROVE])
    events: list[RunEvent] = []
    run = implement(project, settings(model, samples=3, agree=2), events)
    result = run_task(run)
    assert result.status == "green", result.message
    assert result.proposal is not None and result.iterations == 1
    evidence = result.proposal.evidence
    assert evidence.dropped_tests == (f"{NEW_TEST}::test_clamp_wrongly",)
    assert evidence.new_tests == (NEW_TEST,)
    assert "dropped the tester's tests/test_greenpatch_clamp.py::test_clamp_wrongly" in (
        result.message
    )
    # The right test stays in the proposal, the wrong one is gone; the code was not bent.
    diff = result.proposal.diff
    assert "+def test_clamp_caps():" in diff and "test_clamp_wrongly" not in diff
    assert "+    return min(max(x, lo), hi)" in diff
    assert any("dropped the tester's" in m for m in messages(events, "verify"))
    assert [c.agent for c in result.calls] == ["tester", "coder", "coder", "critic"]


def test_a_tester_file_with_no_right_test_left_leaves_the_change(project: Path) -> None:
    wrong = {"role": "tester", "reply": TESTER_HALF_WRONG["reply"].replace("== 4", "== 10")}
    model = ScriptedReplies.register("dispute-all", [wrong, RIGHT, RIGHT_TOO, APPROVE])
    result = run_task(implement(project, settings(model, samples=3, agree=2), []))
    assert result.status == "green", result.message
    assert result.proposal is not None
    assert result.proposal.evidence.new_tests == ()
    assert len(result.proposal.evidence.dropped_tests) == 2
    assert [c.path for c in result.proposal.changes] == ["mathx/ops.py"]


def test_with_no_trusted_check_the_tester_stays_the_gate(project: Path) -> None:
    # No docstring example, no project test that touches clamp: nothing vouches for the code.
    bare = STUB.split('    """Limit')[0] + "    raise NotImplementedError\n"
    (project / "mathx" / "ops.py").write_text(bare)
    (project / "tests" / "test_ops.py").write_text(
        "from mathx.ops import double\n\n\ndef test_double():\n    assert double(2) == 4\n"
    )
    model = ScriptedReplies.register("dispute-none", [TESTER_HALF_WRONG, RIGHT, RIGHT_TOO])
    config = dataclasses.replace(settings(model, samples=3, agree=2), max_iterations=1)
    result = run_task(implement(project, config, []))
    assert result.status == "failed", result.message
    assert "last: failed: 1 failed, 2 passed" in result.message  # the tester's wrong test
    assert result.proposal is None


def test_code_that_fails_the_docstring_as_it_was_keeps_the_tester_s_tests(project: Path) -> None:
    # The answer rewrote the docstring to agree with its bug: the examples come from before.
    bent = (
        '```python\ndef clamp(x, lo, hi):\n    """Limit x from below.\n\n'
        '    >>> clamp(5, 0, 3)\n    5\n    """\n    return max(lo, x)\n```'
    )
    model = ScriptedReplies.register("dispute-bent", [TESTER_HALF_WRONG, bent])
    config = dataclasses.replace(settings(model, samples=1, agree=1), max_iterations=1)
    result = run_task(implement(project, config, []))
    assert result.status == "failed", result.message
    assert "dropped" not in result.message
    assert "last: failed: 2 failed" in result.message  # both tester tests, still the gate


def test_a_failing_property_test_is_a_counterexample_not_a_guess(project: Path) -> None:
    pytest.importorskip("hypothesis")
    model = ScriptedReplies.register("dispute-property", [base.PROPERTY_TESTER, base.SNEAKY])
    config = dataclasses.replace(settings(model, samples=1, agree=1), max_iterations=1)
    result = run_task(implement(project, config, []))
    assert result.status == "failed", result.message
    assert "dropped" not in result.message and "last: failed: 1 failed" in result.message


def test_a_function_that_was_not_a_stub_vouches_for_nothing(project: Path) -> None:
    # Its examples and tests describe what it did before; the request may be to change that.
    ops = project / "mathx" / "ops.py"
    ops.write_text(STUB.replace("raise NotImplementedError", "return max(lo, min(x, hi))"))
    model = ScriptedReplies.register("dispute-not-stub", [TESTER_HALF_WRONG, RIGHT])
    config = dataclasses.replace(settings(model, samples=1, agree=1), max_iterations=1)
    result = run_task(implement(project, config, []))
    assert result.status == "failed", result.message
    assert "dropped" not in result.message


def test_a_test_drop_cannot_take_out_is_neither_dropped_nor_said_to_be(project: Path) -> None:
    hidden = textwrap.dedent("""\
        ```python
        from mathx.ops import clamp


        def test_clamp_caps():
            assert clamp(10, 0, 4) == 4


        if True:

            def test_wrongly():
                assert clamp(-3, 0, 4) == -3
        ```""")
    model = ScriptedReplies.register("dispute-hidden", [{"role": "tester", "reply": hidden}, RIGHT])
    config = dataclasses.replace(settings(model, samples=1, agree=1), max_iterations=1)
    events: list[RunEvent] = []
    result = run_task(implement(project, config, events))
    assert result.status == "failed", result.message
    assert not any("dropped" in m for m in messages(events, "verify"))


def test_without_tests_takes_out_whole_definitions() -> None:
    source = textwrap.dedent("""\
        from hypothesis import given, strategies as st


        @given(st.integers())
        def test_a(x):
            assert x == x


        def test_b():
            assert 1


        class TestC:
            def test_d(self):
                assert 1
        """)
    kept = without_tests(source, {("test_a",), ("TestC", "test_d")})  # TestC is left empty
    assert kept is not None
    assert "@given" not in kept and "test_a" not in kept and "TestC" not in kept
    assert "def test_b():\n    assert 1\n" in kept and "\n\n\n\n" not in kept
    assert without_tests(source, {("test_a",), ("test_b",), ("TestC",)}) is None
    # Not a definition here (or not Python): the source back as it was.
    assert without_tests(source, {("test_z",)}) == source
    assert without_tests("def test_(:", {("test_",)}) == "def test_(:"


def test_one_failing_method_leaves_the_rest_of_its_class() -> None:
    source = textwrap.dedent("""\
        class TestC:
            def test_d(self):
                assert 1

            def test_e(self):
                assert 0
        """)
    kept = without_tests(source, {("TestC", "test_e")})
    assert kept is not None and "def test_d" in kept and "test_e" not in kept
