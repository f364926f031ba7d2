"""What runs learn, through real runs (real loop, sandbox, stores, embedded MiniLM; the
scripted model): reflection adds a rule that later prompts carry and pruning retires it
when it does not help; a fix remembered by one run is in the next similar run's prompt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from greenpatch.agents import transcript
from greenpatch.agents.identity import Identities
from greenpatch.agents.loop import Run, run_task
from greenpatch.agents.providers import ScriptedReplies
from greenpatch.agents.types import RunResult, TaskRequest
from greenpatch.config import ModelSettings, Settings

RULE = "Read the failing assertion before changing any arithmetic in the code."
PROSE = "I am not sure what to change."
FIX = "Fix the failing tests"


def one_run(shop: Path, model: str, **settings: Any) -> tuple[RunResult, Run]:
    request = TaskRequest(task=FIX, workspace=shop, kind="fix")
    config = Settings(models=ModelSettings(default=model), **settings)
    run = Run(request, config, journal_in_background=False)
    return run_task(run), run


def test_reflection_adds_a_rule_that_later_runs_use_and_pruning_retires_it(shop: Path) -> None:
    # Each run: one iteration whose coder answers prose three times (its format retries),
    # so every run fails. Every fifth run the coder and the debugger reflect.
    failing_run = [PROSE] * 3
    script = (
        failing_run * 5
        + [f"- {RULE}", "none"]  # run 5: the coder's reflection, then the debugger's
        + failing_run * 5
        + ["none", "none"]  # run 10: nothing new
    )
    model = ScriptedReplies.register("reflect-prune", script)
    runs = [one_run(shop, model, max_iterations=1) for _ in range(5)]
    assert {r.status for r, _ in runs} == {"failed"}
    ids = Identities(shop)
    [rule] = ids.rules_for("coder")
    assert rule.text == RULE and rule.uses == 0

    later = [one_run(shop, model, max_iterations=1) for _ in range(5)]
    assert {r.status for r, _ in later} == {"failed"}
    # The rule was in the coder's system prompt in the runs after it was learned ...
    first_call = transcript.read(shop, later[0][1].run_id).calls[0]
    assert first_call.role == "coder" and RULE in first_call.messages[0]["content"]
    # ... used five times without a success, so it was retired.
    assert ids.rules_for("coder") == []
    assert any(v.change == f"pruned rules [{rule.id}]" for v in ids.history("coder"))
    after = transcript.read(shop, one_run(shop, model, max_iterations=1)[1].run_id)
    assert RULE not in after.calls[0].messages[0]["content"]


def test_a_fix_remembered_by_one_run_is_in_the_next_similar_runs_prompt(
    shop: Path, shop_replies: dict[str, Any]
) -> None:
    r = shop_replies
    model = ScriptedReplies.register(
        "memory", [r["wrong"], r["right"], r["approve"], r["wrong"], r["right"], r["approve"]]
    )
    first, first_run = one_run(shop, model)
    assert first.status == "green"
    second, second_run = one_run(shop, model)  # the proposal was not applied: same failure
    assert second.status == "green"
    fixed_line = "+    return round(price * (100 - percent) / 100, 2)"
    before = transcript.read(shop, first_run.run_id).calls[0]
    after = transcript.read(shop, second_run.run_id).calls[0]
    assert before.role == after.role == "coder"
    assert fixed_line not in before.messages[-1]["content"]
    prompt = after.messages[-1]["content"]
    assert "Earlier failure: tests/test_pricing.py::" in prompt and fixed_line in prompt
