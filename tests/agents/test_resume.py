"""Budget pause and resume through the real loop, the real sandbox and the scripted model."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from greenpatch.agents import transcript
from greenpatch.agents.loop import Run, run_task
from greenpatch.agents.providers import ScriptedReplies
from greenpatch.agents.resume import resume, revise
from greenpatch.agents.snapshot import Position
from greenpatch.agents.store import RunStore
from greenpatch.agents.types import RunEvent, TaskRequest
from greenpatch.config import BudgetSettings, ModelSettings, Settings
from greenpatch.errors import WorkspaceError

# The debugger's revision of the shop fix: the module docstring back as it was.
KEEP_DOCSTRING = (
    "```diff\n--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -1,1 +1,1 @@\n"
    '-"""Prices and discounts for a small shop."""\n+"""Prices for a small shop."""\n```\n'
)


def settings_for(model: str, tokens: int) -> Settings:
    return Settings(
        models=ModelSettings(default=model), budget=BudgetSettings(usd=0, tokens=tokens)
    )


def start(shop: Path, settings: Settings, events: list[RunEvent]) -> Run:
    request = TaskRequest(task="Fix the failing tests", workspace=shop, kind="fix")
    return Run(request, settings, on_event=events.append, journal_in_background=False)


def test_a_spent_budget_pauses_the_run_and_more_budget_finishes_it(
    shop: Path, shop_replies: dict[str, Any]
) -> None:
    r = shop_replies
    model = ScriptedReplies.register("pause", [r["wrong"], r["right"], r["approve"]])
    # One token: the coder's call is allowed (nothing spent yet), the debugger's is not.
    settings = settings_for(model, tokens=1)
    events: list[RunEvent] = []
    run = start(shop, settings, events)
    paused = run_task(run)
    assert paused.status == "paused", paused.message
    assert f"greenpatch run --resume {run.run_id} --budget-tokens" in paused.message
    assert [c.agent for c in paused.calls] == ["coder"]
    # A run without a proposal still says what the baseline saw failing (the server marks it).
    assert paused.failing_before and all("test_" in t for t in paused.failing_before)
    store = RunStore(shop)
    record = store.get(run.run_id)
    assert (record.state, record.status) == ("PAUSED", "paused")
    assert [r.run_id for r in store.resumable()] == [run.run_id]
    data = store.checkpoint(run.run_id)
    assert data is not None
    _, position = Position.from_json(data)
    assert position.iteration == 1 and "price - percent" in str(position.edits["shop/pricing.py"])

    # Resumed with no more budget: paused again at once, nothing asked of the model.
    retry = resume(run.run_id, shop, settings)
    retry.journal_in_background = False
    again = run_task(retry)
    assert again.status == "paused" and again.calls == ()

    resumed_events: list[RunEvent] = []
    more = resume(run.run_id, shop, settings, extra_tokens=1_000_000)
    more.on_event, more.journal_in_background = resumed_events.append, False
    done = run_task(more)
    assert done.status == "green", done.message
    # The debugger's diff applies only on top of the coder's edit: the edits came back.
    assert [c.agent for c in done.calls] == ["debugger", "critic"]
    assert done.proposal is not None and "price * (100 - percent) / 100" in done.proposal.diff
    assert done.proposal.evidence.failing_before  # the baseline came from the checkpoint
    assert "baseline" not in {e.phase for e in resumed_events}
    assert done.iterations == 2
    assert store.get(run.run_id).status == "green" and store.resumable() == []
    # Nothing reached the workspace: the proposal waits for the user.
    assert "price * percent / 100" in (shop / "shop" / "pricing.py").read_text()


def test_a_token_budget_set_for_the_run_is_kept_on_resume(
    shop: Path, shop_replies: dict[str, Any]
) -> None:
    r = shop_replies
    model = ScriptedReplies.register("keep", [r["wrong"], r["right"], r["approve"]])
    run = start(shop, settings_for(model, tokens=1), [])
    assert run_task(run).status == "paused"
    resumed = resume(run.run_id, shop, settings_for(model, tokens=1), extra_tokens=50)
    assert resumed.gateway is not None
    budget = resumed.gateway.budget
    assert budget.tokens == 51 and budget.spent_tokens > 1  # what it spent still counts


def test_what_cannot_be_resumed_says_why(shop: Path, shop_replies: dict[str, Any]) -> None:
    r = shop_replies
    model = ScriptedReplies.register("finished", [r["wrong"], r["right"], r["approve"]])
    settings = settings_for(model, tokens=0)
    run = start(shop, settings, [])
    assert run_task(run).status == "green"
    with pytest.raises(WorkspaceError, match="ended green; only paused or interrupted"):
        resume(run.run_id, shop, settings)
    with pytest.raises(WorkspaceError, match="no run nope in this workspace"):
        resume("nope", shop, settings)


def test_a_checkpoint_from_elsewhere_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="cannot be read"):
        Position.from_json(json.dumps({"version": 1, "request": {}}))
    with pytest.raises(ValueError, match="another version"):
        Position.from_json(json.dumps({"version": 99}))


def test_a_proposal_sent_back_with_feedback_is_revised_by_the_same_run(
    shop: Path, shop_replies: dict[str, Any]
) -> None:
    r = shop_replies
    break_it = (
        "```diff\n--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -12,1 +12,1 @@\n"
        "-    return round(price * (100 - percent) / 100, 2)\n+    return round(price, 2)\n```\n"
    )
    worse = (
        "```diff\n--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -12,1 +12,1 @@\n"
        "-    return round(price, 2)\n+    return round(price, 1)\n```\n"
    )
    model = ScriptedReplies.register(
        "revise",
        [r["wrong"], r["right"], r["approve"], KEEP_DOCSTRING, r["approve"], break_it, worse],
    )
    settings = Settings(models=ModelSettings(default=model), max_iterations=2)
    events: list[RunEvent] = []
    first = run_task(start(shop, settings, events))
    assert first.status == "green" and first.proposal is not None
    assert "Prices and discounts" in first.proposal.diff
    run_id = first.run_id

    revision = revise(run_id, shop, settings, "Leave the module docstring as it was.")
    revision.journal_in_background = False
    second = run_task(revision)
    assert second.status == "green", second.message
    assert second.run_id == run_id and second.proposal is not None
    assert "Prices and discounts" not in second.proposal.diff  # the docstring is back
    assert "(100 - percent)" in second.proposal.diff  # the fix stays
    assert [c.agent for c in second.calls] == ["debugger", "critic"]
    assert second.iterations == 3
    store = RunStore(shop)
    states = [t.state for t in store.get(run_id).transitions]
    assert states.count("PROPOSE") == 2 and "REVISE" in states and states[-1] == "DONE"
    data = transcript.read(shop, run_id)
    debugger = [c for c in data.calls if c.role == "debugger"][-1]
    assert "asks for a revision: Leave the module docstring as it was." in str(debugger.messages)

    # A revision that never passes: the run offers the change it proposed before, and says so.
    again = revise(run_id, shop, settings, "Round the way the bank does.")
    again.journal_in_background = False
    third = run_task(again)
    assert third.status == "green" and third.proposal is not None, third.message
    assert "no revision since passed the tests" in third.message
    assert third.proposal.diff == second.proposal.diff
    # Nothing reached the workspace; the user decides, and the store keeps the decision.
    assert "price * percent / 100" in (shop / "shop" / "pricing.py").read_text()
    record = store.decided(run_id, True, "applied by the user")
    assert (record.status, record.state) == ("applied", "DONE")
    assert [t.state for t in record.transitions][-2:] == ["APPLY", "DONE"]
    with pytest.raises(WorkspaceError, match="only a run with a proposal can be revised"):
        revise(run_id, shop, settings, "again")
    with pytest.raises(WorkspaceError, match="needs feedback"):
        revise(run_id, shop, settings, "  ")


def test_a_revision_that_paused_resumes_with_the_users_feedback(
    shop: Path, shop_replies: dict[str, Any]
) -> None:
    r = shop_replies
    model = ScriptedReplies.register(
        "revise-pause",
        [r["wrong"], r["right"], r["approve"], KEEP_DOCSTRING, KEEP_DOCSTRING, r["approve"]],
    )
    settings = Settings(models=ModelSettings(default=model), max_iterations=2)
    first = run_task(start(shop, settings, []))
    assert first.status == "green"
    # One token for the revision: the debugger's call goes, the critic's does not.
    tight = dataclasses.replace(settings, budget=BudgetSettings(usd=0, tokens=1))
    revision = revise(first.run_id, shop, tight, "Leave the module docstring as it was.")
    revision.journal_in_background = False
    paused = run_task(revision)
    assert paused.status == "paused", paused.message
    more = resume(first.run_id, shop, settings, extra_tokens=1_000_000)
    more.journal_in_background = False
    done = run_task(more)
    assert done.status == "green", done.message
    assert done.proposal is not None and "Prices and discounts" not in done.proposal.diff
    debugger = [c for c in transcript.read(shop, first.run_id).calls if c.role == "debugger"]
    assert "asks for a revision: Leave the module docstring" in str(debugger[-1].messages)
    assert done.iterations == 3  # the revision's iteration, done again after the pause


def test_the_runs_own_end_does_not_undo_the_users_decision(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.begin("r1", "task")
    store.decided("r1", True, "applied by the user")  # the user was quicker ...
    record = store.finish("r1", "green", "green after 1 iteration")  # ... than the journal
    assert (record.status, record.state) == ("applied", "DONE")
