"""`greenpatch run`: one run without an editor, sharing `run_task` with the server."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from greenpatch import patch
from greenpatch.agents import context
from greenpatch.agents.loop import Run, run_task
from greenpatch.agents.resume import resumable, resume, revise
from greenpatch.agents.store import RunStore
from greenpatch.agents.types import RunEvent, RunResult, TaskKind, TaskRequest, infer_kind
from greenpatch.config import Settings, load_settings
from greenpatch.errors import StaleDocument, WorkspaceError
from greenpatch.patch.cli import write_changes as write_all_or_nothing

log = logging.getLogger(__name__)

EXIT_PAUSED = 3  # the budget ran out; `greenpatch run --resume RUN_ID --budget-usd X` goes on
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT; `--resume RUN_ID` goes on


def run_command(
    task: str,
    workspace: Path,
    *,
    model: str | None,
    yes: bool,
    as_json: bool,
    kind: TaskKind | None = None,
    at: str | None = None,
    budget_usd: float | None = None,
    budget_tokens: int | None = None,
    allow_install: bool = False,
) -> int:
    """Exit 0 when a green proposal was produced (and applied, with --yes)."""
    budget: dict[str, Any] = {"usd": budget_usd, "tokens": budget_tokens}
    settings = _settings(workspace, model, {k: v for k, v in budget.items() if v is not None})
    request = TaskRequest(task=task, workspace=workspace, kind=kind or infer_kind(task))
    if at:
        request = dataclasses.replace(request, **where(at, workspace))
    run = Run(request, settings, on_event=_progress, journal_in_background=False)
    run.approve = _approver(allow_install)
    return _finish(run, workspace, yes=yes, as_json=as_json)


def where(at: str, workspace: Path) -> dict[str, Any]:
    """`--at PATH`, `PATH::NAME` or `PATH:LINE` (1-based) as a request's path, symbol and
    line (0-based); WorkspaceError naming what is not there."""
    path, _, symbol = at.partition("::")
    line: int | None = None
    head, colon, number = path.rpartition(":")
    if not symbol and colon and number.isascii() and number.isdecimal():
        path, line = head, int(number) - 1
    root = Path(workspace).resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise WorkspaceError(f"--at: no file {path} in {workspace}")
    rel = target.relative_to(root).as_posix()
    if symbol:
        try:
            text = target.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise WorkspaceError(f"--at: {rel} cannot be read: {exc.strerror or exc}") from exc
        if context.unit_named(rel, text, symbol) is None:
            raise WorkspaceError(f"--at: {rel} defines no function or class {symbol}")
    if line is not None and line < 0:
        raise WorkspaceError(f"--at: lines count from 1 ({at})")
    return {"path": rel, "symbol": symbol or None, "line": line}


def resume_command(
    run_id: str,
    workspace: Path,
    *,
    model: str | None,
    yes: bool,
    as_json: bool,
    extra_usd: float = 0.0,
    extra_tokens: int = 0,
    allow_install: bool = False,
) -> int:
    """`greenpatch run --resume RUN_ID`: a paused or interrupted run, continued."""
    settings = _settings(workspace, model, {})
    run = resume(run_id, workspace, settings, extra_usd=extra_usd, extra_tokens=extra_tokens)
    run.on_event, run.journal_in_background = _progress, False
    run.approve = _approver(allow_install)
    return _finish(run, workspace, yes=yes, as_json=as_json)


def revise_command(
    run_id: str,
    feedback: str,
    workspace: Path,
    *,
    model: str | None,
    yes: bool,
    as_json: bool,
    budget_usd: float | None = None,
    budget_tokens: int | None = None,
    allow_install: bool = False,
) -> int:
    """`greenpatch run --revise RUN_ID FEEDBACK`: a green run revises its proposal, with
    the budget the settings (or `--budget-usd` / `--budget-tokens`) give a run."""
    budget = {k: v for k, v in (("usd", budget_usd), ("tokens", budget_tokens)) if v is not None}
    settings = _settings(workspace, None, budget)
    run = revise(run_id, workspace, settings, feedback, model=model or "")
    run.on_event, run.journal_in_background = _progress, False
    run.approve = _approver(allow_install)
    return _finish(run, workspace, yes=yes, as_json=as_json)


def list_command(workspace: Path, *, as_json: bool) -> int:
    """`greenpatch run --list`: the runs here that can be resumed."""
    runs = resumable(workspace)
    if as_json:
        rows = [
            {"run_id": r.run_id, "task": r.task, "status": r.status, "state": r.state} for r in runs
        ]
        print(json.dumps(rows, indent=2))  # noqa: T201 - CLI output
        return 0
    for r in runs:
        status = r.status if r.finished else "killed"
        print(f"{r.run_id}  {status:11}  {r.state:8}  {r.task[:60]}")  # noqa: T201 - CLI output
    if not runs:
        _say("no paused or interrupted runs here")
    return 0


def _settings(workspace: Path, model: str | None, budget: dict[str, Any]) -> Settings:
    if not workspace.is_dir():
        raise WorkspaceError(f"workspace {workspace} is not a directory")
    editor: dict[str, Any] = {"models": {"default": model}} if model else {}
    if budget:
        editor["budget"] = budget
    loaded = load_settings(workspace, editor=editor)
    for problem in loaded.problems:
        _say(f"setting ignored: {problem}")
    return loaded.settings


def _finish(run: Run, workspace: Path, *, yes: bool, as_json: bool) -> int:
    try:
        result = run_task(run)
    except KeyboardInterrupt:  # Ctrl-C: the run stops where it is, and can be resumed
        run.cancel.set()
        _close_interrupted(workspace, run.run_id)
        _say(f"interrupted; to continue: greenpatch run --resume {run.run_id}")
        return EXIT_INTERRUPTED
    applied: list[str] = []
    if result.proposal and yes:
        applied = write_changes(workspace, result.proposal.changes)
        _record_applied(workspace, result.run_id, applied)
    if as_json:
        print(json.dumps(result_json(result, applied), indent=2))  # noqa: T201 - CLI output
    else:
        _say(
            f"{result.status}: {result.message} ({result.duration_s:.1f}s, ${result.cost_usd:.4f})"
        )
        if result.proposal:
            sys.stdout.write(result.proposal.diff)
            if not yes:
                _say(
                    "not applied; run again with --yes to apply it, or have it revised: "
                    f'greenpatch run --revise {result.run_id} "what to change"'
                )
    return 0 if result.status == "green" else EXIT_PAUSED if result.status == "paused" else 1


def _close_interrupted(workspace: Path, run_id: str) -> None:
    """The run store says `interrupted` (resumable from its last checkpoint), not running."""
    reason = f"stopped with Ctrl-C; `greenpatch run --resume {run_id}` continues it"
    _in_store(workspace, run_id, lambda store: store.close_orphaned(run_id, "interrupted", reason))


def _record_applied(workspace: Path, run_id: str, paths: Sequence[str]) -> None:
    """The run store keeps that the user applied the proposal (APPLY, then DONE)."""
    detail = f"applied with --yes: {', '.join(paths)}"
    _in_store(workspace, run_id, lambda store: store.decided(run_id, True, detail))


def _in_store(workspace: Path, run_id: str, write: Callable[[RunStore], object]) -> None:
    """One write to the run store: a record, never a reason to fail what was done."""
    try:
        store = RunStore(workspace.resolve())
        try:
            write(store)
        finally:
            store.close()
    except Exception as exc:
        log.warning("run %s: the run store was not updated: %s", run_id, exc)


def _approver(allow: bool) -> Callable[[str], bool]:
    """Headless there is nobody to ask: `--allow-install` says yes up front, else no."""

    def approve(what: str) -> bool:
        _say(f"allowed: {what}" if allow else f"refused: {what} (--allow-install allows it)")
        return allow

    return approve


def _say(line: str) -> None:
    print(f"greenpatch: {line}", file=sys.stderr, flush=True)  # noqa: T201 - CLI output


def _progress(event: RunEvent) -> None:
    if event.kind in ("phase", "tests", "iteration"):
        _say(f"[{event.phase}#{event.iteration}] {event.message}")


def result_json(result: RunResult, applied: Sequence[str]) -> dict[str, Any]:
    proposal = result.proposal
    return {
        "run_id": result.run_id,
        "status": result.status,
        "message": result.message,
        "iterations": result.iterations,
        "cost_usd": result.cost_usd,
        "duration_s": result.duration_s,
        "diff": proposal.diff if proposal else "",
        "files": [c.path for c in proposal.changes] if proposal else [],
        "evidence": dataclasses.asdict(proposal.evidence) if proposal else None,
        "applied": list(applied),
        "calls": [dataclasses.asdict(c) for c in result.calls],
    }


def write_changes(workspace: Path, changes: Sequence[patch.FileChange]) -> list[str]:
    """Write a proposal to disk, all or nothing: if any file changed since the run read it,
    nothing is written."""
    root = workspace.resolve()
    for change in changes:
        path = change.old_path or change.path
        target = root / path
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current != change.old_text:
            raise StaleDocument(f"{path} changed since the run read it; nothing was written")
    write_all_or_nothing(root, tuple(changes))
    return [change.path for change in changes]
