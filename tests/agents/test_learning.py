"""What runs learn, through real runs (real loop, sandbox, stores, embedded MiniLM; the
scripted model): reflection adds a rule that later prompts carry and pruning retires it
when it does not help; a fix remembered by one run is in the next similar run's prompt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from greenpatch.agents import transcript
from greenpatch.agents.gateway import Gateway
from greenpatch.agents.identity import Identities, check_rule
from greenpatch.agents.journal import Journal, identity_terms
from greenpatch.agents.loop import Run, run_task
from greenpatch.agents.providers import ScriptedReplies
from greenpatch.agents.types import RunResult, TaskRequest
from greenpatch.config import BudgetSettings, ModelSettings, Settings

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
    # so every run fails. Every fifth run the coder reflects (the only role that took part).
    failing_run = [PROSE] * 3
    script = (
        failing_run * 5
        + [f"- {RULE}"]  # run 5: the coder's reflection
        + failing_run * 5
        + ["none"]  # run 10: nothing new
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
    assert "Earlier failure: failed: 2 failed, 2 passed" in prompt and fixed_line in prompt
    assert "FAILED tests/test_pricing.py::test_apply_discount" in prompt  # with its message


def test_a_change_that_failed_is_remembered_as_tried_and_failed(
    shop: Path, shop_replies: dict[str, Any]
) -> None:
    r = shop_replies
    model = ScriptedReplies.register("tried", [r["wrong"], r["wrong"]])
    first, _ = one_run(shop, model, max_iterations=1)
    assert first.status == "failed"
    _, second_run = one_run(shop, model, max_iterations=1)
    prompt = transcript.read(shop, second_run.run_id).calls[0].messages[-1]["content"]
    assert "What was tried (failed):" in prompt
    assert "+    return round(price - percent, 2)" in prompt


def test_a_run_leaves_its_events_and_its_mistakes_to_the_next_runs(shop: Path) -> None:
    model = ScriptedReplies.register("mistakes", [PROSE] * 6)
    first, first_run = one_run(shop, model, max_iterations=1)
    assert first.status == "failed"
    # What reflection reads: the loop's events, not only the calls.
    data = transcript.read(shop, first_run.run_id)
    account = transcript.digest(data)
    summary = {k: data.summary[k] for k in ("status", "iterations", "calls", "models")}
    assert summary == {"status": "failed", "iterations": 1, "calls": 3, "models": {"coder": model}}
    assert data.summary["prompt_tokens"] > 0 and data.summary["duration_s"] > 0
    assert "[baseline] failed:" in account and "[coder] the coder gave no usable edit" in account
    [mistake] = Identities(shop).get("coder").mistakes
    assert mistake.startswith("Gave a reply the loop could not use: the coder gave no usable edit")
    _, second_run = one_run(shop, model, max_iterations=1)
    system = transcript.read(shop, second_run.run_id).calls[0].messages[0]["content"]
    assert "Mistakes made before, avoid them:" in system and mistake in system
    assert Identities(shop).get("debugger").mistakes == ()  # it never ran


def test_learning_after_a_run_ends_quietly_when_the_budget_is_spent(tmp_path: Path) -> None:
    model = ScriptedReplies.register("spent", ["ok", f"- {RULE}"])
    gateway = Gateway.for_run(
        Settings(models=ModelSettings(default=model), budget=BudgetSettings(usd=0, tokens=1)),
        environ={},
    )
    gateway.complete("coder", [{"role": "user", "content": "write it"}])  # spends the budget
    ids = Identities(tmp_path)
    for _ in range(4):  # the coder's fifth run reflects
        ids.record_outcome("coder", [], True)
    journal = Journal(tmp_path, "spentrun", FIX)
    journal.finish("green", "green after 1 iteration(s)", gateway=gateway)  # does not raise
    assert ids.rules_for("coder") == []  # no reflection: the budget is spent


def test_a_reflected_rule_that_names_the_task_is_refused() -> None:
    terms = identity_terms("Fix `apply_discount` in shop.pricing", "+def round_cents(x):\n")
    assert terms == ["apply_discount", "shop.pricing", "round_cents"]
    assert check_rule("Check how apply_discount rounds before changing it.", [], terms)
    assert not check_rule(RULE, [], terms)
