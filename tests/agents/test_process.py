"""A run in a child process, driven as the server drives it: the scripted model, the real
sandbox, the real run store."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from greenpatch.agents import transcript
from greenpatch.agents.process import RunProcess
from greenpatch.agents.store import RunStore
from greenpatch.agents.types import RunEvent, RunResult, TaskRequest
from greenpatch.config import ModelSettings, Settings
from greenpatch.errors import WorkspaceError
from greenpatch.indexer.types import SearchResult

PACKAGE = "greenpatch-test-absent"


def start(
    shop: Path, tmp_path: Path, replies: list[Any], kind: str = "fix"
) -> tuple[RunProcess, list[RunEvent]]:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"replies": replies}))
    settings = Settings(models=ModelSettings(default=f"scripted/{script}"))
    request = TaskRequest(task="Fix the failing tests", workspace=shop, kind=kind)
    run = RunProcess(request, settings)
    events: list[RunEvent] = []
    run.on_event = events.append
    return run, events


def in_background(run: RunProcess) -> tuple[threading.Thread, list[RunResult]]:
    results: list[RunResult] = []
    thread = threading.Thread(target=lambda: results.append(run.drive()))
    thread.start()
    return thread, results


def wait_for_phase(events: list[RunEvent], phase: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not any(e.phase == phase for e in events):
        assert time.monotonic() < deadline, f"never reached {phase}: {events}"
        time.sleep(0.05)


def test_events_search_and_approval_cross_the_pipe(
    shop: Path, tmp_path: Path, shop_replies: dict[str, Any]
) -> None:
    r = shop_replies
    tools = ["TOOL: search apply discount", f"TOOL: install {PACKAGE}"]
    run, events = start(shop, tmp_path, [r["wrong"], *tools, r["right"], r["approve"]])
    queries: list[tuple[str, int]] = []
    asked: list[str] = []
    hit = SearchResult("shop/pricing.py", 1.0, 7, 12, "apply_discount", "def apply_discount")

    def search(query: str, top_k: int) -> list[SearchResult]:
        queries.append((query, top_k))
        return [hit]

    def approve(what: str) -> bool:
        asked.append(what)
        return False  # the user says no

    run.search, run.approve = search, approve
    result = run.drive()

    assert result.status == "green", result.message
    assert result.proposal is not None and "shop/pricing.py" in result.proposal.diff
    assert events[0].kind == "started"
    assert [e.kind for e in events if e.phase == "done"] == ["proposal", "finished"]
    assert queries == [("apply discount", 8)] and asked == [f"install the Python package {PACKAGE}"]
    assert run.gateway is not None
    assert [c.agent for c in run.gateway.records] == [c.agent for c in result.calls]
    assert run.gateway.budget.spent_tokens > 0 and run.gateway.cost_usd == result.cost_usd
    assert run.finishing is not None
    run.finishing.join(120)  # the child writes the journal after the result, then exits
    assert not run.finishing.is_alive()
    record = RunStore(shop).get(run.run_id)
    assert (record.state, record.status, record.owner_pid) == ("DONE", "green", run.pid)
    # What the parent answered is what the debugger read.
    prompts = "\n".join(
        m["content"] for c in transcript.read(shop, run.run_id).calls for m in c.messages
    )
    assert "RESULT of search apply discount:\nshop/pricing.py:7 apply_discount" in prompts
    assert f"the user did not allow installing {PACKAGE}" in prompts


def test_cancel_reaches_the_child_at_once(
    shop: Path, tmp_path: Path, shop_replies: dict[str, Any]
) -> None:
    # The debugger's model is slow; by then the child has imported LiteLLM, which no cancel
    # can interrupt (that is what KILL_AFTER_S is for).
    replies = [shop_replies["wrong"], {"sleep": 60, "reply": "too late"}]
    run, events = start(shop, tmp_path, replies)
    thread, results = in_background(run)
    wait_for_phase(events, "debugger")
    asked = time.monotonic()
    run.cancel.set()
    thread.join(30)
    took = time.monotonic() - asked
    [result] = results
    assert result.status == "cancelled", result.message
    assert took < 2.0, took  # it reaches the child within POLL_S; the rest is the pipe
    assert [e.kind for e in events if e.phase == "done"] == ["cancelled", "finished"]
    assert run.finishing is not None
    run.finishing.join(60)
    assert RunStore(shop).get(run.run_id).state == "CANCELLED"


def cancel_when(run: RunProcess, ready: Callable[[], bool]) -> tuple[RunResult, float]:
    """Cancel once `ready()`; the run's result and how long it took to come."""
    thread, results = in_background(run)
    deadline = time.monotonic() + 120
    while not ready():
        assert time.monotonic() < deadline, "never ready to cancel"
        time.sleep(0.05)
    asked = time.monotonic()
    run.cancel.set()
    thread.join(60)
    [result] = results
    return result, time.monotonic() - asked


def assert_the_child_cancelled(run: RunProcess, shop: Path, result: RunResult) -> None:
    """The run's own process ended the run, cancelled (a child that did not stop in time is
    killed, KILL_AFTER_S after the cancel, and that result says its process was stopped)."""
    assert (result.status, result.message) == ("cancelled", "cancelled by the user")
    assert run.finishing is not None  # only a result from the child starts it
    run.finishing.join(60)
    assert RunStore(shop).get(run.run_id).state == "CANCELLED"


def test_cancel_during_a_test_run_ends_the_tests_at_once(shop: Path, tmp_path: Path) -> None:
    # The baseline would take ten minutes; the child kills it and ends the run at once.
    (shop / "tests" / "test_slow.py").write_text(
        "import time\n\n\ndef test_slow():\n    time.sleep(600)\n"
    )
    run, events = start(shop, tmp_path, [])
    result, took = cancel_when(run, lambda: any(e.phase == "baseline" for e in events))
    assert_the_child_cancelled(run, shop, result)
    assert took < 4.0, took


def test_cancel_during_planning_ends_the_run(shop: Path, tmp_path: Path) -> None:
    # The planner looks around first (by then the child has imported LiteLLM, which no cancel
    # interrupts), then thinks for a minute.
    replies = [
        {"role": "planner", "reply": "TOOL: list shop"},
        {"role": "planner", "sleep": 60, "reply": '{"steps": []}'},
    ]
    run, events = start(shop, tmp_path, replies, kind="task")
    result, took = cancel_when(run, lambda: bool(run.gateway and run.gateway.records))
    assert_the_child_cancelled(run, shop, result)
    assert took < 4.0, took
    assert any(e.phase == "plan" for e in events)
    assert [r.agent for r in result.calls] == ["planner"]  # the slow call never finished


def test_a_killed_child_ends_in_an_error_and_its_run_is_closed(shop: Path, tmp_path: Path) -> None:
    run, events = start(shop, tmp_path, [{"sleep": 60, "reply": "too late"}])
    thread, results = in_background(run)
    wait_for_phase(events, "coder")
    store = RunStore(shop)
    # A server starting next to a live run leaves it alone: its owner is the live child.
    assert store.close_unfinished("restart") == []
    assert store.get(run.run_id).owner_pid == run.pid and store.resumable() == []
    assert run.pid is not None
    os.kill(run.pid, signal.SIGKILL)
    thread.join(30)
    [result] = results
    assert result.status == "error"
    assert "died (killed by SIGKILL)" in result.message and run.run_id in result.message
    assert [e.kind for e in events if e.phase == "done"] == ["failed", "finished"]
    record = store.get(run.run_id)
    assert (record.state, record.status) == ("FAIL", "interrupted")
    assert [r.run_id for r in store.resumable()] == [run.run_id]  # from its baseline


def test_a_run_that_cannot_resume_is_refused_before_it_starts(shop: Path) -> None:
    with pytest.raises(WorkspaceError, match="no run nope in this workspace"):
        RunProcess.resuming("nope", shop, Settings())
