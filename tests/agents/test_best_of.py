"""The loop's sampling step: the real loop, the real bwrap sandbox, the scripted model.

A small project with a stub (`clamp`, its docstring carrying three examples, one existing
test touching it) is implemented through `run_task`; the scripted model replies in order,
so a script lists the tester's tests, then the coder's answers (the greedy one first, then
the samples), then the critic's verdict.
"""

from __future__ import annotations

import dataclasses
import shutil
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from greenpatch.agents import best_of, transcript
from greenpatch.agents.gateway import Budget, CallRecord, Gateway
from greenpatch.agents.loop import Run, run_task
from greenpatch.agents.providers import ScriptedReplies
from greenpatch.agents.resume import resume
from greenpatch.agents.types import RunEvent, TaskRequest
from greenpatch.config import (
    BudgetSettings,
    ModelSettings,
    SamplingSettings,
    SandboxSettings,
    Settings,
)

STUB = '''"""Small numeric helpers."""


def double(x):
    return 2 * x


def clamp(x, lo, hi):
    """Limit x to the range from lo to hi.

    >>> clamp(5, 0, 3)
    3
    >>> clamp(-1, 0, 3)
    0
    >>> clamp(2, 0, 3)
    2
    """
    raise NotImplementedError
'''
EXISTING = """from mathx.ops import clamp, double


def test_double():
    assert double(2) == 4


def test_clamp_keeps_what_is_inside():
    assert clamp(1, 0, 5) == 1
"""
TESTER = {
    "role": "tester",
    "reply": "```python\nfrom mathx.ops import clamp\n\n\ndef test_clamp():\n"
    "    assert clamp(10, 0, 4) == 4\n    assert clamp(-3, 0, 4) == 0\n```",
}
APPROVE = {"role": "critic", "reply": "APPROVE\nclamp does what its docstring says."}


def answer(body: str) -> str:
    """A coder reply in the function-rewrite format small models use."""
    return f"```python\ndef clamp(x, lo, hi):\n    {body}\n```"


RIGHT = answer("return min(max(x, lo), hi)")
RIGHT_TOO = answer("return max(lo, min(x, hi))")  # written otherwise, behaves alike
WRONG_HIGH = answer("return max(lo, x)")  # fails clamp(5, 0, 3)
WRONG_LOW = answer("return min(x, hi)")  # fails clamp(-1, 0, 3)


@pytest.fixture(autouse=True)
def _bwrap() -> None:
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "mathx-project"
    files = {
        "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["."]\n',
        "mathx/__init__.py": "",
        "mathx/ops.py": STUB,
        "tests/test_ops.py": EXISTING,
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def settings(model: str, samples: int, agree: int, tokens: int = 0) -> Settings:
    return Settings(
        models=ModelSettings(default=model, edit_format="whole"),
        budget=BudgetSettings(usd=0, tokens=tokens),
        sampling=SamplingSettings(samples=samples, agree=agree),
        sandbox=SandboxSettings(backend="bwrap"),
    )


def implement(root: Path, config: Settings, events: list[RunEvent]) -> Run:
    request = TaskRequest(
        task="Implement clamp in mathx/ops.py as its signature and docstring say.",
        workspace=root,
        kind="implement",
        path="mathx/ops.py",
        symbol="clamp",
    )
    return Run(request, config, on_event=events.append, journal_in_background=False)


def messages(events: list[RunEvent], phase: str) -> list[str]:
    return [e.message for e in events if e.phase == phase]


def test_a_later_sample_replaces_a_wrong_greedy_answer(project: Path) -> None:
    model = ScriptedReplies.register(
        "best-of-later", [TESTER, WRONG_HIGH, RIGHT, WRONG_LOW, APPROVE]
    )
    events: list[RunEvent] = []
    run = implement(project, settings(model, samples=3, agree=2), events)
    result = run_task(run)
    assert result.status == "green", result.message
    assert result.proposal is not None and result.iterations == 1
    assert "+    return min(max(x, lo), hi)" in result.proposal.diff
    assert "max(lo, x)" not in result.proposal.diff and "min(x, hi)" not in result.proposal.diff
    assert result.proposal.evidence.new_tests == ("tests/test_greenpatch_clamp.py",)
    # Every sample went through the gateway: the result, the budget and the transcript.
    agents = [c.agent for c in result.calls]
    assert agents == ["tester", "coder", "coder", "coder", "critic"]
    assert run.gateway is not None
    spent = sum(c.prompt_tokens + c.completion_tokens for c in result.calls)
    assert run.gateway.budget.spent_tokens == spent
    assert [c.role for c in transcript.read(project, run.run_id).calls] == agents
    sampling = messages(events, "sampling")
    assert sampling[:2] == ["sampling 2/3 for clamp", "sampling 3/3 for clamp"]
    assert sampling[2].startswith("kept answer 2 of 3 (5 trusted check(s) passed")
    assert "3 docstring example(s); tests in tests/test_ops.py" in sampling[2]
    # Nothing reached the workspace: the proposal waits for the user.
    assert (project / "mathx" / "ops.py").read_text() == STUB


# Passes the docstring's examples and the existing test; only a property finds it out.
SNEAKY = answer("return x if x > 99 else min(max(x, lo), hi)")
PROPERTY_TESTER = {
    "role": "tester",
    "reply": "```python\nfrom hypothesis import given, strategies as st\n\n"
    "from mathx.ops import clamp\n\n\n@given(st.integers())\n"
    "def test_clamp_stays_in_range(x):\n    assert 0 <= clamp(x, 0, 4) <= 4\n```",
}


def test_a_property_test_picks_the_answer_examples_cannot(project: Path) -> None:
    # With hypothesis importable, the tester is asked for a property where one fits.
    pytest.importorskip("hypothesis")
    model = ScriptedReplies.register("best-of-property", [PROPERTY_TESTER, SNEAKY, RIGHT, APPROVE])
    events: list[RunEvent] = []
    run = implement(project, settings(model, samples=2, agree=2), events)
    result = run_task(run)
    assert result.status == "green", result.message
    calls = transcript.read(project, run.run_id).calls
    tester_prompt = calls[0].messages[-1]["content"]
    assert calls[0].role == "tester" and "`hypothesis.strategies`" in tester_prompt
    assert result.proposal is not None
    assert "+    return min(max(x, lo), hi)" in result.proposal.diff
    assert "x > 99" not in result.proposal.diff
    assert "+@given(st.integers())" in result.proposal.diff  # the new test is proposed too
    assert messages(events, "sampling")[-1].startswith("kept answer 2 of 2")


def test_sampling_stops_once_enough_answers_agree(project: Path) -> None:
    model = ScriptedReplies.register(
        "best-of-agree", [TESTER, RIGHT, RIGHT_TOO, WRONG_HIGH, WRONG_LOW, APPROVE]
    )
    events: list[RunEvent] = []
    result = run_task(implement(project, settings(model, samples=5, agree=2), events))
    assert result.status == "green", result.message
    # The greedy answer and one sample behave alike and pass the examples: no third answer.
    assert [c.agent for c in result.calls] == ["tester", "coder", "coder", "critic"]
    sampling = messages(events, "sampling")
    assert sampling[0] == "sampling 2/5 for clamp" and len(sampling) == 2
    assert sampling[1].startswith("kept answer 1 of 2") and "2 alike" in sampling[1]
    assert result.proposal is not None and "min(max(x, lo), hi)" in result.proposal.diff


def test_a_budget_spent_while_sampling_pauses_the_run_and_resume_finishes(
    project: Path,
) -> None:
    model = ScriptedReplies.register(
        "best-of-pause", [TESTER, WRONG_HIGH, RIGHT, RIGHT_TOO, APPROVE]
    )
    config = settings(model, samples=3, agree=2, tokens=1_000_000)
    gateway = Gateway.for_run(config)

    def spend_all_after_the_greedy_answer(record: CallRecord) -> None:
        if record.agent == "coder":  # the budget runs out right after the greedy answer
            gateway.budget = Budget(0, gateway.budget.spent_tokens, 0, gateway.budget.spent_tokens)

    gateway.on_record = spend_all_after_the_greedy_answer
    events: list[RunEvent] = []
    run = implement(project, config, events)
    run.gateway = gateway
    paused = run_task(run)
    assert paused.status == "paused", paused.message
    assert f"greenpatch run --resume {run.run_id} --budget-tokens" in paused.message
    # The sample was announced, then refused by the budget before reaching the model.
    assert messages(events, "sampling") == ["sampling 2/3 for clamp"]
    assert [c.agent for c in paused.calls] == ["tester", "coder"]

    resumed_events: list[RunEvent] = []
    more = resume(run.run_id, project, config, extra_tokens=1_000_000)
    more.on_event, more.journal_in_background = resumed_events.append, False
    done = run_task(more)
    assert done.status == "green", done.message
    # The step under way is done again: a greedy answer (now the right one), one sample that
    # agrees with it, the critic. The tester's file came back from the checkpoint.
    assert [c.agent for c in done.calls] == ["coder", "coder", "critic"]
    assert done.proposal is not None
    assert done.proposal.evidence.new_tests == ("tests/test_greenpatch_clamp.py",)
    assert "min(max(x, lo), hi)" in done.proposal.diff
    assert messages(resumed_events, "sampling")[0] == "sampling 2/3 for clamp"


def test_a_task_whose_first_answer_passes_is_not_sampled(project: Path) -> None:
    (project / "mathx" / "ops.py").write_text(
        STUB.replace("    raise NotImplementedError\n", textwrap.indent("return x\n", "    "))
    )
    model = ScriptedReplies.register("best-of-task", [RIGHT, RIGHT_TOO, APPROVE])
    events: list[RunEvent] = []
    request = TaskRequest(
        task="Make clamp honour its range.",
        workspace=project,
        kind="task",
        path="mathx/ops.py",
        symbol="clamp",
    )
    run = Run(request, settings(model, samples=5, agree=3), on_event=events.append)
    run.journal_in_background = False
    result = run_task(run)
    assert result.status == "green", result.message
    assert [c.agent for c in result.calls] == ["coder", "critic"]
    assert messages(events, "sampling") == []


def test_cancelling_while_sampling_ends_the_run_before_the_next_sample(project: Path) -> None:
    model = ScriptedReplies.register("best-of-cancel", [TESTER, WRONG_HIGH, RIGHT, APPROVE])
    events: list[RunEvent] = []
    run = implement(project, settings(model, samples=3, agree=2), events)

    def listen(event: RunEvent) -> None:
        events.append(event)
        if event.phase == "sampling":  # the user presses stop as the first sample is announced
            run.cancel.set()

    run.on_event = listen
    result = run_task(run)
    assert result.status == "cancelled", result.message
    assert [c.agent for c in result.calls] == ["tester", "coder"]
    assert (project / "mathx" / "ops.py").read_text() == STUB


BUGGY = STUB.replace("    raise NotImplementedError\n", "    return max(lo, x)\n")
FAILING = EXISTING + "\n\ndef test_clamp_caps_at_hi():\n    assert clamp(5, 0, 3) == 3\n"


def fix_settings(model: str, fixes: str) -> Settings:
    return Settings(
        models=ModelSettings(default=model, edit_format="whole"),
        budget=BudgetSettings(usd=0, tokens=0),
        sampling=SamplingSettings(samples=4, agree=3, fixes=fixes),  # type: ignore[arg-type]
        sandbox=SandboxSettings(backend="bwrap"),
    )


def fix(root: Path, config: Settings, events: list[RunEvent]) -> Run:
    (root / "mathx" / "ops.py").write_text(BUGGY)
    (root / "tests" / "test_ops.py").write_text(FAILING)
    request = TaskRequest(
        task="Make the failing test pass.",
        workspace=root,
        kind="fix",
        tests=("tests/test_ops.py::test_clamp_caps_at_hi",),
    )
    return Run(request, config, on_event=events.append, journal_in_background=False)


def test_a_fix_that_leaves_the_failing_test_red_is_sampled_until_one_passes(
    project: Path,
) -> None:
    # The greedy answer leaves the test red; the sample's first reply has no code, the
    # coder's own format retry brings a right one, and passing the test (trusted) ends the
    # drawing: RIGHT_TOO is never asked for.
    model = ScriptedReplies.register(
        "best-of-fix", [WRONG_HIGH, "I cannot see the bug.", RIGHT, RIGHT_TOO, APPROVE]
    )
    events: list[RunEvent] = []
    result = run_task(fix(project, fix_settings(model, "on"), events))
    assert result.status == "green", result.message
    assert result.iterations == 1
    assert [c.agent for c in result.calls] == ["coder", "coder", "coder", "critic"]
    assert result.proposal is not None and "min(max(x, lo), hi)" in result.proposal.diff
    sampling = messages(events, "sampling")
    assert sampling[0] == "sampling 2/4 for the failing tests" and len(sampling) == 2
    assert sampling[1].startswith("kept answer 2 of 2 (1 trusted check(s) passed")
    assert "judged by the target tests (1)" in sampling[1]
    assert (project / "mathx" / "ops.py").read_text() == BUGGY


def test_fixes_are_sampled_for_local_models_only_by_default(project: Path) -> None:
    # `auto` with a scripted (not local) model: the debugger repairs, as before.
    model = ScriptedReplies.register("best-of-fix-auto", [WRONG_HIGH, RIGHT, APPROVE])
    events: list[RunEvent] = []
    run = fix(project, fix_settings(model, "auto"), events)
    result = run_task(run)
    assert result.status == "green", result.message
    assert [c.agent for c in result.calls] == ["coder", "debugger", "critic"]
    assert messages(events, "sampling") == []
    assert run.gateway is not None
    local = dataclasses.replace(
        run.gateway, settings=fix_settings("local/qwen2.5-coder-0.5b", "auto")
    )
    machine = SimpleNamespace(settings=local.settings, gateway=local)
    assert best_of.fix_sampling(machine, "debugger")  # type: ignore[arg-type]


def test_the_debugger_is_sampled_too(project: Path) -> None:
    # Iteration 1: the coder's answer and its one sample both leave the test red; the
    # earlier is kept. Iteration 2: the debugger's answer is red too, its sample green.
    wrong_zero = answer("return lo")
    model = ScriptedReplies.register(
        "best-of-fix-debugger", [WRONG_HIGH, wrong_zero, wrong_zero, RIGHT, APPROVE]
    )
    events: list[RunEvent] = []
    config = dataclasses.replace(
        fix_settings(model, "on"), sampling=SamplingSettings(samples=2, fixes="on")
    )
    result = run_task(fix(project, config, events))
    assert result.status == "green", result.message
    assert result.iterations == 2
    agents = [c.agent for c in result.calls]
    assert agents == ["coder", "coder", "debugger", "debugger", "critic"]
    kept = [m for m in messages(events, "sampling") if m.startswith("kept")]
    assert kept[0].startswith("kept answer 1 of 2 (0 trusted check(s) passed")
    assert kept[1].startswith("kept answer 2 of 2 (1 trusted check(s) passed")
    assert result.proposal is not None and "min(max(x, lo), hi)" in result.proposal.diff


def test_a_change_the_run_already_tried_is_not_judged_again(project: Path) -> None:
    from greenpatch import patch
    from greenpatch.agents.workcopy import WorkingCopy, fingerprint

    copy = WorkingCopy(project, {})
    change = patch.FileChange(
        "mathx/ops.py", STUB, STUB.replace("raise NotImplementedError", "return x")
    )
    tried = WorkingCopy(project, {})
    tried.apply((change,))
    machine = SimpleNamespace(
        copy=copy,
        settings=fix_settings("scripted/none", "on"),
        pos=SimpleNamespace(attempts=[fingerprint(tried.overlay())]),
        sandbox=None,  # never reached
        python="python3",
    )
    judge = best_of.target_judge(machine, ["tests/test_ops.py"])  # type: ignore[arg-type]
    verdict = judge(0, (change,))
    assert not verdict.runs and verdict.error == "the same change as an earlier attempt"


def test_an_answer_that_breaks_what_the_tests_import_is_never_kept(project: Path) -> None:
    # The greedy answer is right but decorated with a name that is not there: the module,
    # so the target test, cannot even be imported. The sample runs, and fails too: it is
    # the one kept, and the debugger gets a failure, not a module that does not import.
    broken = "```python\n@memoized\ndef clamp(x, lo, hi):\n    return min(max(x, lo), hi)\n```"
    still_wrong = answer("return max(lo, x) + 0")  # fails clamp(5, 0, 3), but runs
    model = ScriptedReplies.register("best-of-broken", [broken, still_wrong])
    config = dataclasses.replace(
        fix_settings(model, "on"), sampling=SamplingSettings(samples=2, fixes="on")
    )
    events: list[RunEvent] = []
    run = fix(project, dataclasses.replace(config, max_iterations=1), events)
    result = run_task(run)
    assert result.status == "failed"
    assert messages(events, "sampling")[-1].startswith("kept answer 2 of 2")
    verify = [e for e in events if e.kind == "tests" and e.phase == "verify"]
    assert verify[-1].tests == {"failed": 1}  # the target ran (it was an error before)


def test_the_functions_the_run_changed_are_what_a_broken_import_puts_in_focus(
    project: Path,
) -> None:
    from greenpatch.agents import focus
    from greenpatch.agents.workcopy import WorkingCopy

    source = (project / "mathx" / "ops.py").read_text()
    changed = source.replace("    raise NotImplementedError\n", "    return helper(x)\n")
    copy = WorkingCopy(project, {}, {"mathx/ops.py": changed}, {"mathx/ops.py": source})
    assert [u.qualname for u in focus.changed_units(copy)] == ["clamp"]
