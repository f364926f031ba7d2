"""Several runs at once through a real client: the limit, cancelling one run or all, status
and progress per run, and two proposals for one file (the second re-bases onto the first)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pytest_lsp import LanguageClient

from tests.e2e.conftest import SCRIPT
from tests.e2e.lsp_client import RUN_TIMEOUT, client, execute, suite_passes, wait_indexed

__all__ = ["client"]

# A second, independent change to the same file as the shop fix: the docstring of `total`.
TOTAL_DOC = (
    "```diff\n--- a/shop/pricing.py\n+++ b/shop/pricing.py\n"
    "@@ -15,3 +15,3 @@ def apply_discount(price: float, percent: float) -> float:\n"
    ' def total(prices: list[float]) -> float:\n-    """The sum of the prices, rounded to '
    'cents."""\n+    """The sum of the prices, rounded to whole cents."""\n'
    "     return round(sum(prices), 2)\n```\n"
)


def script(tmp_path: Path, name: str, replies: list[Any]) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"replies": replies}))
    return f"scripted/{path}"


async def finished(client: LanguageClient, run_id: str, timeout: float = RUN_TIMEOUT) -> str:
    """Wait for a run's `finished` event; returns its status."""
    for _ in range(int(timeout * 10)):
        for event in client.events:  # type: ignore[attr-defined]
            if event["runId"] == run_id and event["kind"] == "finished":
                return str(event["message"])
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish in {timeout} s")


async def in_phase(client: LanguageClient, run_id: str, phase: str) -> None:
    for _ in range(RUN_TIMEOUT * 10):
        if any(e["runId"] == run_id and e["phase"] == phase for e in client.events):  # type: ignore[attr-defined]
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} never reached {phase}")


@pytest.mark.asyncio
async def test_limit_cancel_by_id_or_all_status_and_progress_per_run(
    client: LanguageClient, tmp_path: Path
) -> None:
    await wait_indexed(client)  # "idle" at the end means no run and no indexing
    slow = [{"sleep": 60, "reply": "too late"}]
    ids = []
    for name in ("one", "two"):
        started = await execute(
            client,
            "greenpatch.runTask",
            {"task": "Fix the failing tests", "model": script(tmp_path, name, slow)},
        )
        ids.append(started["runId"])
    third = await execute(client, "greenpatch.runTask", {"task": "Fix the failing tests"})
    assert "max_concurrent_runs is 2" in third["error"] and ids[0] in third["error"]

    status = await execute(client, "greenpatch.status")
    assert status["state"] == "running" and status["runId"] == ids[1]
    assert [(r["runId"], r["state"]) for r in status["runs"]] == [
        (ids[1], "running"),
        (ids[0], "running"),
    ]
    tokens = {run_id: [t for t in client.progress_reports if run_id in str(t)] for run_id in ids}
    assert all(len(found) == 1 for found in tokens.values()), tokens

    await in_phase(client, ids[0], "coder")
    assert await execute(client, "greenpatch.cancelRun", {"runId": ids[0]}) == {
        "cancelled": [ids[0]]
    }
    assert await finished(client, ids[0], 30) == "cancelled"
    status = await execute(client, "greenpatch.status")
    assert [(r["runId"], r["state"]) for r in status["runs"]] == [
        (ids[1], "running"),
        (ids[0], "done"),
    ]
    unknown = await execute(client, "greenpatch.cancelRun", {"runId": "nosuchrun"})
    assert "there is no run nosuchrun" in unknown["error"]

    assert await execute(client, "greenpatch.cancelRun") == {"cancelled": [ids[1]]}
    assert await finished(client, ids[1], 30) == "cancelled"
    assert (await execute(client, "greenpatch.status"))["state"] == "idle"
    [end] = [
        r for r in client.progress_reports[tokens[ids[1]][0]] if getattr(r, "kind", "") == "end"
    ]
    assert end.message.startswith("cancelled")


@pytest.mark.asyncio
async def test_two_proposals_for_one_file_apply_one_after_the_other(
    client: LanguageClient, tmp_path: Path
) -> None:
    shop: Path = client.shop  # type: ignore[attr-defined]
    source = shop / "shop" / "pricing.py"
    fix = await execute(
        client,
        "greenpatch.runTask",
        {"task": "Fix the failing tests", "kind": "fix", "model": f"scripted/{SCRIPT}"},
    )
    doc = await execute(
        client,
        "greenpatch.runTask",
        {
            "task": "Say whole cents in the docstring of total",
            "kind": "task",
            "path": "shop/pricing.py",
            "model": script(tmp_path, "doc", [TOTAL_DOC, {"role": "critic", "reply": "APPROVE"}]),
        },
    )
    assert await finished(client, fix["runId"]) == "green"
    assert await finished(client, doc["runId"]) == "green"
    status = await execute(client, "greenpatch.status")
    assert {r["state"] for r in status["runs"]} == {"review"}

    # Both were made against the same text; the second re-bases onto the first.
    assert await execute(client, "greenpatch.acceptProposal", {"runId": doc["runId"]}) == {
        "applied": ["shop/pricing.py"]
    }
    assert await execute(client, "greenpatch.acceptProposal", {"runId": fix["runId"]}) == {
        "applied": ["shop/pricing.py"]
    }
    text = source.read_text()
    assert "rounded to whole cents" in text and "price * (100 - percent) / 100" in text
    assert suite_passes(shop)
