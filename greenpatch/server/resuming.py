"""workspace/executeCommand handlers that continue runs: those a spent budget paused and
those a killed server left behind. The runs come from `greenpatch.agents.resume` (what
`greenpatch run --list / --resume` use); a resumed run is driven like a new one
(`commands.launch`): the same concurrency limit, progress, events and review."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from greenpatch.agents.process import RunProcess
from greenpatch.agents.resume import Spent, resumable, spent
from greenpatch.agents.store import RunRecord
from greenpatch.errors import GreenpatchError, WorkspaceError
from greenpatch.server import commands
from greenpatch.server.app import GreenpatchServer, first_argument, guarded

log = logging.getLogger(__name__)

SETTLE_S = 30.0  # at most this long for a paused run's end to reach the run store


async def list_resumable(ls: GreenpatchServer) -> dict[str, Any]:
    """`{"runs": [{runId, task, status, state, costUsd, tokens, startedAt, updatedAt}]}`,
    newest first; cost and tokens are what the run had spent at its last checkpoint."""
    root = _root(ls)
    await _settled(ls)
    records = await asyncio.to_thread(resumable, root)
    spending = await asyncio.to_thread(spent, root, [r.run_id for r in records])
    return {"runs": [_row(r, spending.get(r.run_id)) for r in reversed(records)]}


async def resume_run(
    ls: GreenpatchServer, args: dict[str, Any], *, feedback: str = ""
) -> dict[str, Any]:
    """Continue `runId` (default: the newest resumable run) with `budgetUsd` /
    `budgetTokens` more; answers `{"runId"}` at once, as `greenpatch.runTask` does. With
    `feedback`, the green run `runId` revises its proposal instead (`agents.resume.revise`)."""
    root = _root(ls)
    run_id = str(args.get("runId") or "")
    _refuse_if_running(ls, run_id)
    extra_usd = _amount(args, "budgetUsd")
    extra_tokens = int(_amount(args, "budgetTokens"))
    await _settled(ls, run_id)
    if not run_id:
        records = await asyncio.to_thread(resumable, root)
        if not records:
            raise GreenpatchError("there is no paused or interrupted run here to resume")
        run_id = records[-1].run_id  # resumable() is oldest first
    settings = commands.settings_for(ls, args)
    # Its child resumes it (`agents.resume.resume`) and waits for `launch` to start it.
    preparing = asyncio.ensure_future(
        asyncio.to_thread(
            RunProcess.resuming,
            run_id,
            root,
            settings,
            extra_usd=extra_usd,
            extra_tokens=extra_tokens,
            feedback=feedback,
        )
    )
    try:
        run = await asyncio.shield(preparing)
    except asyncio.CancelledError:  # the editor gave up: a child prepared later must end
        preparing.add_done_callback(_close_unused)
        raise
    # Checked again after the awaits: a second resumeRun may have started it meanwhile,
    # and from here to `launch` registering the run nothing else runs on the loop.
    try:
        _refuse_if_running(ls, run_id)
        commands.check_capacity(ls)
    except GreenpatchError:
        await asyncio.to_thread(run.close)
        raise
    how = f"revising run %s: {feedback[:80]}" if feedback else "resuming run %s"
    log.info(how + " (+$%s, +%s tokens)", run_id, extra_usd, extra_tokens)
    return await commands.launch(ls, run)


def _close_unused(preparing: asyncio.Future[RunProcess]) -> None:
    if not preparing.cancelled() and preparing.exception() is None:
        run = preparing.result()
        threading.Thread(target=run.close, name="gp-run-close", daemon=True).start()


def _root(ls: GreenpatchServer) -> Path:
    root = ls.session.root
    if root is None or not root.is_dir():
        raise WorkspaceError("open a folder first: Greenpatch works on a workspace folder")
    return root


def _refuse_if_running(ls: GreenpatchServer, run_id: str) -> None:
    state = ls.session.runs.get(run_id)
    if state is not None and state.running:
        raise GreenpatchError(
            f"run {run_id} is running; wait for it, or stop it with 'Greenpatch: Cancel Run'"
        )


def _amount(args: dict[str, Any], key: str) -> float:
    value = args.get(key)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise GreenpatchError(f"{key} must be a number, 0 or more, not {value!r}")
    return float(value)


async def _settled(ls: GreenpatchServer, run_id: str = "") -> None:
    """A run that has just paused (or, for a revision, ended green) stays `running` in the
    run store until its process has written the end; wait for that, or it is neither
    listed nor resumable."""
    for state in list(ls.session.runs.values()):
        thread = state.run.finishing
        paused = state.result is not None and state.result.status == "paused"
        wanted = paused or (run_id and state.run.run_id == run_id)
        if wanted and thread is not None and thread.is_alive():
            await asyncio.to_thread(thread.join, SETTLE_S)


def _row(record: RunRecord, spending: Spent | None) -> dict[str, Any]:
    return {
        "runId": record.run_id,
        "task": record.task,
        # `killed`: its process died and no server has closed it as interrupted yet
        "status": record.status if record.finished else "killed",
        "state": record.state,
        "costUsd": round(spending.usd, 6) if spending else None,
        "tokens": spending.tokens if spending else None,
        "startedAt": _iso(record.started_at),
        "updatedAt": _iso(record.updated_at),
    }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def register(server: GreenpatchServer) -> None:
    @server.command("greenpatch.listResumable")
    @guarded
    async def list_resumable_command(ls: GreenpatchServer, *args: Any) -> Any:
        return await list_resumable(ls)

    @server.command("greenpatch.resumeRun")
    @guarded
    async def resume_run_command(ls: GreenpatchServer, *args: Any) -> Any:
        return await resume_run(ls, first_argument(args))
