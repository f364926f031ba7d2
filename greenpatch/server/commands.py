"""workspace/executeCommand handlers: start, watch and cancel runs; review and apply proposals.

A run executes in a child process (`agents.process`: LiteLLM and the loop never load into the
server), driven from a worker thread; its events travel back to the event loop, where they
become work-done progress, log messages and `greenpatch/runEvent` notifications."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from typing import Any

from lsprotocol import types

from greenpatch.agents.gateway import Budget
from greenpatch.agents.process import RunProcess
from greenpatch.agents.types import RunEvent, RunResult, TaskKind, TaskRequest, infer_kind
from greenpatch.config import Settings, load_settings, merge
from greenpatch.errors import GreenpatchError, WorkspaceError
from greenpatch.server import approval, failures, reviewing
from greenpatch.server.app import RUN_EVENT, GreenpatchServer, RunState, first_argument, guarded
from greenpatch.server.review import Review

log = logging.getLogger(__name__)

COMMANDS = (
    "greenpatch.runTask",
    "greenpatch.showProposal",
    "greenpatch.acceptProposal",
    "greenpatch.rejectProposal",
    "greenpatch.acceptHunk",
    "greenpatch.rejectHunk",
    "greenpatch.cancelRun",
    "greenpatch.showRunLog",
    "greenpatch.status",
)


def _request(ls: GreenpatchServer, args: dict[str, Any]) -> TaskRequest:
    root = ls.session.root
    if root is None or not root.is_dir():
        raise WorkspaceError("open a folder first: Greenpatch works on a workspace folder")
    task = str(args.get("task") or "").strip()
    if not task:
        raise GreenpatchError("say what to do: the task text is empty")
    path = args.get("path")
    if path is None and args.get("uri"):
        path = ls.relative(str(args["uri"]))
    kind: TaskKind = (
        args["kind"] if args.get("kind") in ("fix", "implement", "task") else infer_kind(task)
    )
    return TaskRequest(
        task=task,
        workspace=root,
        kind=kind,
        path=path,
        line=args.get("line") if isinstance(args.get("line"), int) else None,
        symbol=args.get("symbol"),
        tests=tuple(str(t) for t in args.get("tests") or ()),
        buffers=ls.buffers(),
    )


def check_capacity(ls: GreenpatchServer) -> None:
    """Refuse a run beyond `max_concurrent_runs` rather than queue it: a queued run would
    start later from text the user has changed by then, with nothing on screen saying it is
    waiting."""
    running = ls.session.running()
    limit = max(ls.session.settings.max_concurrent_runs, 1)
    if len(running) >= limit:
        ids = ", ".join(state.run.run_id for state in running)
        raise GreenpatchError(
            f"{len(running)} run(s) are going ({ids}) and max_concurrent_runs is {limit}; "
            "wait for one to finish or cancel one with 'Greenpatch: Cancel Run'"
        )


def settings_for(ls: GreenpatchServer, args: dict[str, Any]) -> Settings:
    """The session's settings, with `{"model": M}` as the default model when given."""
    if not args.get("model"):
        return ls.session.settings
    editor = merge(ls.session.editor_settings, {"models": {"default": args["model"]}})
    return load_settings(ls.session.root, editor=editor).settings


async def start_run(ls: GreenpatchServer, args: dict[str, Any]) -> dict[str, Any]:
    """Start a run in the background; returns its id at once."""
    check_capacity(ls)
    request = _request(ls, args)
    run = RunProcess(request, settings_for(ls, args))
    return await launch(ls, run)


async def launch(ls: GreenpatchServer, run: RunProcess) -> dict[str, Any]:
    """Drive a new or resumed run in its child process, as every run is driven: its own
    work-done progress, `greenpatch/runEvent` notifications, its install questions put to
    the user, and its review (or the reason there is none) at the end. Call
    `check_capacity` first."""
    run.search = ls.live_index.search if ls.live_index else None
    run.approve = approval.asker(ls, run)
    state = RunState(run)
    ls.loop = asyncio.get_running_loop()
    run.on_event = lambda event: ls.from_thread(lambda: _on_event(ls, state, event))
    # A resumed run moves to the end: `greenpatch.status` lists the newest drive first.
    ls.session.runs.pop(run.run_id, None)
    ls.session.runs[run.run_id] = state
    ls.session.latest_run = run.run_id
    try:
        await _begin_progress(ls, state)
    except BaseException:  # the request was cancelled: no run may be left half-started
        ls.session.runs.pop(run.run_id, None)
        threading.Thread(target=run.close, name="gp-run-close", daemon=True).start()
        raise
    state.task = asyncio.create_task(_drive(ls, state))
    return {"runId": run.run_id}


async def _drive(ls: GreenpatchServer, state: RunState) -> RunResult:
    try:
        result = await asyncio.to_thread(state.run.drive)
    except asyncio.CancelledError:  # the server is going away (the editor died): stop the run
        state.run.cancel.set()
        raise
    state.result = result
    try:
        _end_progress(ls, state, result)
        failures.learn_from_run(ls, state.run.request, result)
        await _present(ls, state, result)
    finally:
        for event in state.closing:
            _notify(ls, event)
    return result


async def _present(ls: GreenpatchServer, state: RunState, result: RunResult) -> None:
    """The run's outcome to the user: its review (or applied change), or why there is none."""
    if result.proposal:
        ls.session.reviews[result.run_id] = Review(result.proposal)
        if ls.session.settings.approval == "auto":
            await reviewing.accept_all(ls, result.run_id)
        else:
            reviewing.publish(ls, result.run_id)
            if not ls.native_review:  # a native client announces proposals itself
                ls.tell(
                    f"Greenpatch: {result.message}. Review it with 'Greenpatch: Show "
                    "Proposal', or accept it with 'Greenpatch: Accept Proposal'."
                )
    elif result.status == "cancelled":
        ls.tell(f"Greenpatch: run {result.run_id} cancelled; nothing was changed.")
    elif result.status == "paused":
        budget = state.run.gateway.budget if state.run.gateway else None
        ls.tell(paused_message(result.run_id, budget), types.MessageType.Warning)
    else:
        ls.tell(f"Greenpatch: no change proposed: {result.message}", types.MessageType.Warning)


def paused_message(run_id: str, budget: Budget | None) -> str:
    """Why a run paused and how to continue it from the editor (the loop's own message
    names the command line, which an editor user may not have at hand)."""
    tokens = budget is not None and bool(budget.tokens) and budget.spent_tokens >= budget.tokens
    if budget is None:
        spent = "its budget is spent"
    elif tokens:
        spent = f"it used {budget.spent_tokens} of its {budget.tokens} tokens"
    else:
        spent = f"it spent ${budget.spent_usd:.4f} of its ${budget.usd:.2f}"
    more = '"budgetTokens": N' if tokens else '"budgetUsd": X'
    hint = f'greenpatch.resumeRun [{{"runId": "{run_id}", {more}}}]'
    return (
        f"Greenpatch: run {run_id} paused: {spent}. Continue it with more budget from "
        f"'Greenpatch: Resume Run', or {hint}."
    )


def _on_event(ls: GreenpatchServer, state: RunState, event: RunEvent) -> None:
    if event.phase == "done":
        state.closing.append(event)  # sent by _drive once the review is in place
    else:
        _notify(ls, event)
    ls.log_line(f"[{event.run_id} {event.phase}#{event.iteration}] {event.message}")
    if state.progress_token and event.kind in ("phase", "iteration", "tests"):
        ls.work_done_progress.report(
            state.progress_token,
            types.WorkDoneProgressReport(
                message=f"{event.phase} #{event.iteration}: {event.message} "
                f"(${event.cost_usd:.4f})",
                cancellable=True,
            ),
        )


def _notify(ls: GreenpatchServer, event: RunEvent) -> None:
    ls.protocol.notify(
        RUN_EVENT,
        {
            "runId": event.run_id,
            "kind": event.kind,
            "message": event.message,
            "phase": event.phase,
            "iteration": event.iteration,
            "costUsd": round(event.cost_usd, 6),
            "agent": event.agent,
            "tokens": event.tokens,
            **({"tests": dict(event.tests)} if event.tests is not None else {}),
        },
    )


async def _begin_progress(ls: GreenpatchServer, state: RunState) -> None:
    window = ls.client_capabilities.window
    if not (window and window.work_done_progress):
        return
    token = f"greenpatch-{state.run.run_id}-{uuid.uuid4().hex[:6]}"
    try:
        await ls.work_done_progress.create_async(token)
    except Exception as exc:  # a client may refuse; the run goes on without a progress bar
        log.info("no work-done progress: %s", exc)
        return
    state.progress_token = token
    ls.work_done_progress.begin(
        token,
        types.WorkDoneProgressBegin(
            title="Greenpatch", message=state.run.request.task[:80], cancellable=True
        ),
    )
    future = ls.work_done_progress.tokens.get(token)
    if future is not None:
        future.add_done_callback(lambda f: state.run.cancel.set() if f.cancelled() else None)


def _end_progress(ls: GreenpatchServer, state: RunState, result: RunResult) -> None:
    if state.progress_token:
        ls.work_done_progress.end(
            state.progress_token,
            types.WorkDoneProgressEnd(message=f"{result.status}: {result.message[:120]}"),
        )


def register(server: GreenpatchServer) -> None:
    @server.command("greenpatch.runTask")
    @guarded
    async def run_task_command(ls: GreenpatchServer, *args: Any) -> Any:
        return await start_run(ls, first_argument(args))

    @server.command("greenpatch.fixFailingTests")
    @guarded
    async def fix_failing_tests(ls: GreenpatchServer, *args: Any) -> Any:
        task = "Make the failing tests pass by fixing the code they test."
        return await start_run(ls, {"task": task, "kind": "fix", **first_argument(args)})

    @server.command("greenpatch.cancelRun")
    @guarded
    async def cancel_run(ls: GreenpatchServer, *args: Any) -> Any:
        """`{runId}` cancels that run; no id cancels every running run (the palette's stop
        button: with two runs going, leaving one alive would surprise)."""
        run_id = first_argument(args).get("runId")
        if not run_id:
            return {"cancelled": ls.cancel_all()}
        state = ls.session.runs.get(str(run_id))
        if state is None:
            raise GreenpatchError(f"there is no run {run_id}")
        if not state.running:
            return {"cancelled": []}
        state.run.cancel.set()
        return {"cancelled": [state.run.run_id]}

    @server.command("greenpatch.status")
    @guarded
    async def status(ls: GreenpatchServer, *args: Any) -> Any:
        """Every run this session started, newest first, and an overall state: running when
        any run is, else review when a proposal waits, else indexing or idle."""
        runs = [
            state.to_json(reviewing=run_id in ls.session.reviews)
            for run_id, state in reversed(ls.session.runs.items())
        ]
        running = [r for r in runs if r["state"] == "running"]
        waiting = [r for r in runs if r["state"] == "review"]
        if running or waiting:
            newest = (running or waiting)[0]
            state = "running" if running else "review"
            return {"state": state, "runId": newest["runId"], "runs": runs}
        live = ls.live_index
        paused = {"indexPaused": True} if live is not None and live.paused else {}
        if live is not None and live.busy:
            return {"state": "indexing", "runs": runs, **paused}
        return {"state": "idle", "runs": runs, **paused}

    @server.command("greenpatch.showRunLog")
    @guarded
    async def show_run_log(ls: GreenpatchServer, *args: Any) -> Any:
        run_id = first_argument(args).get("runId") or ls.session.latest_run
        state = ls.session.runs.get(run_id or "")
        if state is None:
            raise GreenpatchError("no run yet")
        gw = state.run.gateway
        lines = [f"run {state.run.run_id}: {state.run.request.task}"]
        for r in gw.records if gw else []:
            lines.append(
                f"{r.agent:9} {r.model:32} {r.prompt_tokens:>6}+{r.completion_tokens:<6}"
                f" ${r.cost_usd:.5f} {r.latency_s:6.2f}s {r.error}"
            )
        if state.result:
            lines.append(f"{state.result.status}: {state.result.message}")
        return {"text": "\n".join(lines)}
