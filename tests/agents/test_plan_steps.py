"""The plan's independent steps: coded at the same time on their own branches, merged, one
test of the whole. Real loop, real sandbox, scripted model."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from greenpatch.agents import coder, plan_steps
from greenpatch.agents.gateway import Gateway
from greenpatch.agents.loop import Run, run_task
from greenpatch.agents.providers import ScriptedReplies
from greenpatch.agents.roles import Plan, PlanStep
from greenpatch.agents.types import RunEvent, TaskRequest
from greenpatch.agents.workcopy import WorkingCopy
from greenpatch.config import ModelSettings, Settings
from greenpatch.patch import FileChange

TASK = "Give the greetings a final exclamation mark"


@pytest.fixture
def greetings(tmp_path: Path) -> Path:
    root = tmp_path / "greetings"
    (root / "greet").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "greet" / "__init__.py").write_text("")
    (root / "greet" / "hello.py").write_text('def hello() -> str:\n    return "hello"\n')
    (root / "greet" / "bye.py").write_text('def bye() -> str:\n    return "bye"\n')
    (root / "tests" / "test_greet.py").write_text(
        "from greet.bye import bye\nfrom greet.hello import hello\n\n\n"
        "def test_words() -> None:\n    assert hello().startswith('hello')\n"
        "    assert bye().startswith('bye')\n"
    )
    return root


def diff(path: str, old: str, new: str) -> str:
    return (
        f"```diff\n--- a/{path}\n+++ b/{path}\n@@ -1,2 +1,2 @@\n def {old}() -> str:\n"
        f'-    return "{old}"\n+    return "{new}"\n```\n'
    )


def script(name: str, sleep: float) -> str:
    plan = {
        "steps": [
            {"goal": "Make hello() end with !", "files": ["greet/hello.py"], "group": 1},
            {"goal": "Make bye() end with !", "files": ["greet/bye.py"], "group": 2},
        ]
    }
    return ScriptedReplies.register(
        name,
        [
            {"role": "planner", "reply": json.dumps(plan)},
            {
                "match": "Make hello()",
                "sleep": sleep,
                "reply": diff("greet/hello.py", "hello", "hello!"),
            },
            {"match": "Make bye()", "sleep": sleep, "reply": diff("greet/bye.py", "bye", "bye!")},
            {"role": "critic", "reply": "APPROVE"},
        ],
    )


def run_plan(root: Path, model: str, parallel: int) -> tuple[Run, list[tuple[float, RunEvent]]]:
    seen: list[tuple[float, RunEvent]] = []
    settings = Settings(models=ModelSettings(default=model), max_parallel_steps=parallel)
    request = TaskRequest(task=TASK, workspace=root, kind="task")
    run = Run(
        request,
        settings,
        on_event=lambda e: seen.append((time.monotonic(), e)),
        journal_in_background=False,
    )
    result = run_task(run)
    assert result.status == "green", result.message
    assert result.proposal is not None
    assert sorted(c.path for c in result.proposal.changes) == ["greet/bye.py", "greet/hello.py"]
    assert [c.agent for c in result.calls].count("coder") == 2 and result.iterations == 1
    assert result.proposal.evidence.after.startswith("passed: 1 passed")
    return run, seen


def spans(seen: list[tuple[float, RunEvent]]) -> dict[str, tuple[float, float]]:
    """Each step's (started, done) times, from the loop's own step events."""
    times: dict[str, dict[str, float]] = {}
    for at, event in seen:
        if event.kind == "step":
            words = event.message.split()  # "step N started: ..." / "step N done: ..."
            times.setdefault(words[1], {})[words[2].rstrip(":")] = at
    return {n: (t["started"], t["done"]) for n, t in times.items()}


def test_two_independent_steps_run_at_the_same_time_and_are_merged(greetings: Path) -> None:
    _, seen = run_plan(greetings, script("parallel", sleep=1.0), parallel=2)
    (a_start, a_done), (b_start, b_done) = spans(seen).values()
    assert a_start < b_done and b_start < a_done  # the two coder turns overlapped


def test_with_a_limit_of_one_the_steps_take_turns(greetings: Path) -> None:
    _, seen = run_plan(greetings, script("serial", sleep=0.2), parallel=1)
    (_, a_done), (b_start, _) = sorted(spans(seen).values())
    assert a_done <= b_start


def test_ctrl_c_while_steps_run_stops_the_steps_still_at_work(greetings: Path) -> None:
    # The bye step's model thinks for a minute; Ctrl-C comes while the loop waits for it.
    gateway = Gateway.for_run(Settings(models=ModelSettings(default=script("ctrl-c", 60))))
    copy = WorkingCopy(greetings, {})

    def brief_for(step: PlanStep) -> coder.Brief:
        if "hello" in step.goal:
            raise KeyboardInterrupt  # what f.result() raises in the waiting thread on Ctrl-C
        return coder.Brief(step.goal, (), (("greet/bye.py", "def bye(): ..."),))

    steps = [PlanStep("Make hello() end with !", ("greet/hello.py",), 1)]
    steps.append(PlanStep("Make bye() end with !", ("greet/bye.py",), 2))
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        plan_steps.code_steps(gateway, steps, brief_for, copy, limit=2, emit=lambda m: None)
    assert time.monotonic() - started < 10  # not the minute the bye step would take
    assert gateway.cancel.is_set() and copy.edits == {}


def test_steps_touching_the_same_file_are_not_merged(tmp_path: Path) -> None:
    copy = WorkingCopy(tmp_path, {})
    one = PlanStep("first", ("a.py",), 1)
    two = PlanStep("second", ("b.py",), 2)
    outcomes = plan_steps.merge(
        [
            plan_steps.StepOutcome(one, (FileChange("a.py", None, "x = 1\n"),)),
            plan_steps.StepOutcome(two, (FileChange("a.py", None, "x = 2\n"),)),
        ],
        copy,
    )
    assert copy.edits == {"a.py": "x = 1\n"}
    assert outcomes[1].problem == "changed a.py, which 'first' changed too"
    assert "the step 'second' changed a.py" in plan_steps.problems(outcomes)


def test_only_disjoint_groups_make_independent_steps() -> None:
    a, b = PlanStep("a", ("x.py",), 1), PlanStep("b", ("y.py",), 2)
    assert Plan((a, b), ("x.py", "y.py")).independent() == [a, b]
    same_file = PlanStep("c", ("x.py",), 2)
    assert Plan((a, same_file), ("x.py",)).independent() is None
    assert Plan((a, PlanStep("d", ("y.py",), 1)), ("x.py", "y.py")).independent() is None
    assert Plan((a, PlanStep("e", (), 2)), ("x.py",)).independent() is None
