"""Every command through a real LSP client: palette tasks, review document and CodeLens,
undo, cancel, status, the run log, and bad arguments."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from greenpatch.agents.store import RunStore
from tests.conftest import SCRIPT
from tests.e2e.lsp_client import (
    RUN_TIMEOUT,
    children,
    client,
    execute,
    open_doc,
    run_fix,
    start_and_wait,
    suite_passes,
    wait_indexed,
)

__all__ = ["client"]


@pytest.mark.asyncio
async def test_fix_failing_tests_accept_then_undo(client: LanguageClient) -> None:
    shop: Path = client.shop  # type: ignore[attr-defined]
    source = shop / "shop" / "pricing.py"
    original = source.read_text()
    await wait_indexed(client)  # "idle" below means no run and no indexing
    run_id = await start_and_wait(client, "greenpatch.fixFailingTests")
    status = await execute(client, "greenpatch.status")
    assert (status["state"], status["runId"]) == ("review", run_id)
    [run] = status["runs"]
    assert (run["runId"], run["state"], run["status"]) == (run_id, "review", "green")
    await execute(client, "greenpatch.acceptProposal")
    assert suite_passes(shop)
    status = await execute(client, "greenpatch.status")
    assert status["state"] == "idle" and status["runs"][0]["state"] == "done"
    undone = await execute(client, "greenpatch.undoLastApply")
    assert undone == {"undone": ["shop/pricing.py"], "runId": run_id}
    assert source.read_text() == original
    again = await execute(client, "greenpatch.undoLastApply")
    assert "nothing to undo" in again["error"]


@pytest.mark.asyncio
async def test_review_document_codelens_and_diagnostics(client: LanguageClient) -> None:
    shop: Path = client.shop  # type: ignore[attr-defined]
    run_id, _ = await run_fix(client)
    [shown] = client.shown_documents
    assert shown.uri.endswith(f".greenpatch/proposals/{run_id}.diff")
    doc = shop / ".greenpatch" / "proposals" / f"{run_id}.diff"
    text = doc.read_text()
    assert "# Tests before: failed" in text and "# Tests after:  passed" in text
    uri = open_doc(client, doc)

    async def titles() -> list[str]:
        lenses = await client.text_document_code_lens_async(
            types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        return [lens.command.title for lens in lenses or [] if lens.command]

    assert await titles() == ["Accept all", "Reject all"] + ["Accept hunk", "Reject hunk"] * 2
    pricing = (shop / "shop" / "pricing.py").as_uri()
    assert len(client.diagnostics[pricing]) == 2
    await execute(
        client, "greenpatch.rejectHunk", {"runId": run_id, "file": "shop/pricing.py", "hunk": 0}
    )
    assert await titles() == ["Accept all", "Reject all", "Accept hunk", "Reject hunk"]
    assert len(client.diagnostics[pricing]) == 1
    await execute(client, "greenpatch.rejectProposal", {"runId": run_id})
    assert not client.diagnostics[pricing]
    assert await titles() == []


async def start_slow_run(client: LanguageClient, tmp_path: Path) -> str:
    """A run whose coder waits a minute for its model; returns once it waits."""
    script = tmp_path / "slow.json"
    script.write_text(json.dumps({"replies": [{"sleep": 60, "reply": "too late"}]}))
    started = await execute(
        client,
        "greenpatch.runTask",
        {"task": "Fix the failing tests", "kind": "fix", "model": f"scripted/{script}"},
    )
    for _ in range(600):
        if any(e["phase"] == "coder" for e in client.events):  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.1)
    return str(started["runId"])


@pytest.mark.asyncio
async def test_cancel_stops_a_slow_run_quickly(client: LanguageClient, tmp_path: Path) -> None:
    await wait_indexed(client)
    run_id = await start_slow_run(client, tmp_path)
    loop = asyncio.get_running_loop()
    asked = loop.time()
    assert (await execute(client, "greenpatch.cancelRun")) == {"cancelled": [run_id]}
    await asyncio.wait_for(client.finished.wait(), 30)  # type: ignore[attr-defined]
    assert loop.time() - asked < 30  # long before the model's 60 s reply
    kinds = [e["kind"] for e in client.events]  # type: ignore[attr-defined]
    assert "cancelled" in kinds
    assert (await execute(client, "greenpatch.status"))["state"] == "idle"
    log = await execute(client, "greenpatch.showRunLog")
    assert "cancelled" in log["text"]


@pytest.mark.asyncio
async def test_bad_arguments_get_clear_errors_and_the_server_lives(client: LanguageClient) -> None:
    assert "no proposal to review" in (await execute(client, "greenpatch.showProposal"))["error"]
    assert "no proposal" in (await execute(client, "greenpatch.acceptHunk", {"hunk": 0}))["error"]
    assert "task text is empty" in (await execute(client, "greenpatch.runTask", {}))["error"]
    assert "no run yet" in (await execute(client, "greenpatch.showRunLog"))["error"]
    assert (await execute(client, "greenpatch.cancelRun")) == {"cancelled": []}
    errors = [m for m in client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 4
    run_id, _ = await run_fix(client)  # and it still works
    wrong = await execute(
        client, "greenpatch.acceptHunk", {"runId": run_id, "file": "shop/pricing.py", "hunk": 7}
    )
    assert "has 2 hunk(s)" in wrong["error"]
    missing = await execute(
        client, "greenpatch.acceptHunk", {"runId": run_id, "file": "nope.py", "hunk": 0}
    )
    assert "does not change nope.py" in missing["error"]
    assert suite_passes(client.shop) is False  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_reindex_and_status(client: LanguageClient) -> None:
    await wait_indexed(client)  # the initial indexing runs in the background
    assert (await execute(client, "greenpatch.status")) == {"state": "idle", "runs": []}
    assert (await execute(client, "greenpatch.reindex")) == {"started": True}
    index_dir = client.shop / ".greenpatch" / "index"  # type: ignore[attr-defined]
    assert index_dir.is_dir()
    await wait_indexed(client)


@pytest.mark.asyncio
async def test_indexing_pauses_and_resumes(client: LanguageClient) -> None:
    await wait_indexed(client)
    assert (await execute(client, "greenpatch.resumeIndexing")) == {"resumed": False}
    assert (await execute(client, "greenpatch.pauseIndexing")) == {"paused": True}
    status = await execute(client, "greenpatch.status")
    assert status == {"state": "idle", "runs": [], "indexPaused": True}
    refused = await execute(client, "greenpatch.reindex")
    assert refused["started"] is False and "indexing is paused" in refused["reason"]
    assert (await execute(client, "greenpatch.resumeIndexing")) == {"resumed": True}
    assert (await execute(client, "greenpatch.reindex")) == {"started": True}
    await wait_indexed(client)
    assert (await execute(client, "greenpatch.status")) == {"state": "idle", "runs": []}


@pytest.mark.asyncio
async def test_shutdown_cancels_runs_and_stops_the_index(
    client: LanguageClient, tmp_path: Path
) -> None:
    shop: Path = client.shop  # type: ignore[attr-defined]
    run_id = await start_slow_run(client, tmp_path)
    server = client._server
    assert server is not None
    index = [
        pid
        for pid in children(server.pid)
        if b"greenpatch.indexer.process" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    assert len(index) == 1
    loop = asyncio.get_running_loop()
    asked = loop.time()
    await asyncio.wait_for(client.shutdown_session(), 30)
    client.capabilities = None  # the session is over: nothing left for the fixture to end
    assert loop.time() - asked < 30  # long before the model's 60 s reply
    assert server.returncode == 0
    assert not Path(f"/proc/{index[0]}").exists()  # no indexer left behind
    record = RunStore(shop).get(run_id)
    assert (record.state, record.status) == ("CANCELLED", "cancelled")


KEEP_DOCSTRING = (
    "```diff\n--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -1,1 +1,1 @@\n"
    '-"""Prices and discounts for a small shop."""\n+"""Prices for a small shop."""\n```\n'
)


@pytest.mark.asyncio
async def test_reject_with_feedback_revises_the_same_run(
    client: LanguageClient, tmp_path: Path
) -> None:
    shop: Path = client.shop  # type: ignore[attr-defined]
    wrong, right, approve = json.loads(SCRIPT.read_text())["replies"]
    script = tmp_path / "revise.json"
    script.write_text(json.dumps({"replies": [wrong, right, approve, KEEP_DOCSTRING, approve]}))
    await wait_indexed(client)
    task = {"task": "Fix the failing tests", "kind": "fix", "model": f"scripted/{script}"}
    run_id = await start_and_wait(client, "greenpatch.runTask", [task])
    first = await execute(client, "greenpatch.showProposal", {"runId": run_id})
    assert "Prices and discounts" in first["diff"]
    # Each step says which role is at work, the tokens so far, and a test run's counts.
    events = [e for e in client.events if e["runId"] == run_id]  # type: ignore[attr-defined]
    baseline = next(e for e in events if e["kind"] == "tests")
    counts = baseline["tests"]._asdict()  # pygls hands nested objects over as namedtuples
    assert (baseline["phase"], counts) == ("baseline", {"failed": 2, "passed": 2})
    assert {"coder", "debugger", "critic"} <= {e["agent"] for e in events}
    assert events[-1]["kind"] == "finished" and events[-1]["tokens"] > 0

    finished: asyncio.Event = client.finished  # type: ignore[attr-defined]
    finished.clear()
    feedback = "Leave the module docstring as it was."
    answer = await execute(
        client, "greenpatch.rejectProposal", {"runId": run_id, "feedback": feedback}
    )
    assert answer["rejected"] == answer["runId"] == run_id, answer
    await asyncio.wait_for(finished.wait(), RUN_TIMEOUT)
    second = await execute(client, "greenpatch.showProposal", {"runId": run_id})
    assert "Prices and discounts" not in second["diff"] and "(100 - percent)" in second["diff"]
    assert "Prices for a small shop" in (shop / "shop" / "pricing.py").read_text()

    await execute(client, "greenpatch.acceptProposal", {"runId": run_id})
    assert suite_passes(shop)
    record = RunStore(shop).get(run_id)
    states = [t.state for t in record.transitions]
    assert record.status == "applied" and "REVISE" in states, states
    assert states[-2:] == ["APPLY", "DONE"] and states.count("PROPOSE") == 2
