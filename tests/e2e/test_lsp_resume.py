"""Resuming from the editor: a run the budget paused is listed, refused clearly when it
cannot go on, and continued with more budget to a green proposal the user reviews."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.lsp_client import RUN_TIMEOUT, client, execute, start_and_wait, suite_passes

__all__ = ["client"]


@pytest.fixture
def shop(shop: Path) -> Path:
    """The shop with a one-token budget: the coder's call goes out (nothing is spent yet),
    the debugger's does not, so the first run pauses after one iteration."""
    (shop / ".greenpatch.toml").write_text("[budget]\ntokens = 1\n", encoding="utf-8")
    return shop


@pytest.mark.asyncio
async def test_a_paused_run_resumes_from_the_editor_to_green(client: LanguageClient) -> None:
    shop: Path = client.shop  # type: ignore[attr-defined]
    events: list[dict] = client.events  # type: ignore[attr-defined]
    assert await execute(client, "greenpatch.listResumable") == {"runs": []}
    nothing = await execute(client, "greenpatch.resumeRun")
    assert "no paused or interrupted run here" in nothing["error"]

    run_id = await start_and_wait(client, "greenpatch.fixFailingTests")
    assert [e["kind"] for e in events if e["phase"] == "done"] == ["paused", "finished"]
    [paused] = [m for m in client.messages if f"run {run_id} paused" in m.message]
    assert paused.type == types.MessageType.Warning
    assert "of its 1 tokens" in paused.message and "'Greenpatch: Resume Run'" in paused.message
    assert f'greenpatch.resumeRun [{{"runId": "{run_id}", "budgetTokens": N}}]' in paused.message

    [row] = (await execute(client, "greenpatch.listResumable"))["runs"]
    assert (row["runId"], row["status"], row["state"]) == (run_id, "paused", "PAUSED")
    assert row["task"].startswith("Make the failing tests pass") and row["tokens"] > 1
    assert row["costUsd"] == 0 and row["startedAt"] <= row["updatedAt"]

    unknown = await execute(client, "greenpatch.resumeRun", {"runId": "nope"})
    assert "no run nope in this workspace" in unknown["error"]
    bad = await execute(client, "greenpatch.resumeRun", {"runId": run_id, "budgetUsd": "lots"})
    assert "budgetUsd must be a number" in bad["error"]

    finished: asyncio.Event = client.finished  # type: ignore[attr-defined]
    finished.clear()
    before = len(events)
    more = {"runId": run_id, "budgetTokens": 1_000_000}
    assert await execute(client, "greenpatch.resumeRun", more) == {"runId": run_id}
    twice = await execute(client, "greenpatch.resumeRun", {"runId": run_id})
    assert f"run {run_id} is running" in twice["error"]
    await asyncio.wait_for(finished.wait(), RUN_TIMEOUT)

    resumed = events[before:]
    assert {e["runId"] for e in resumed} == {run_id}
    phases = [e["phase"] for e in resumed]
    assert "resume" in phases and "baseline" not in phases  # continued, not started over
    assert [e["kind"] for e in resumed if e["phase"] == "done"] == ["proposal", "finished"]
    # Each drive of the run had its own work-done progress, begun and ended.
    reports = [r for t, r in client.progress_reports.items() if run_id in str(t)]
    assert len(reports) == 2
    assert all(isinstance(r[-1], types.WorkDoneProgressEnd) for r in reports)

    status = await execute(client, "greenpatch.status")
    assert (status["state"], status["runId"]) == ("review", run_id)
    proposal = await execute(client, "greenpatch.showProposal", {"runId": run_id, "open": False})
    assert "price * (100 - percent) / 100" in proposal["diff"]
    await execute(client, "greenpatch.acceptProposal", {"runId": run_id})
    assert suite_passes(shop)

    assert await execute(client, "greenpatch.listResumable") == {"runs": []}
    done = await execute(client, "greenpatch.resumeRun", {"runId": run_id})
    assert "ended applied; only paused or interrupted runs resume" in done["error"]
    assert (await execute(client, "greenpatch.status"))["state"] == "idle"  # still serving
