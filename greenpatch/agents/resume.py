"""Continuing a run: one paused when its budget ran out, or one a killed process left.

For the server (and `greenpatch run --resume`):

    run = resume(run_id, workspace, settings, extra_usd=0.5)   # WorkspaceError: why not
    run.on_event, run.cancel = ..., ...                        # as for a new Run
    result = run_task(run)                                     # green, failed, paused again...

`resumable(workspace)` lists the runs that can continue (what `greenpatch run --list` shows),
`spent(workspace, run_ids)` what they had spent.
The run continues from its last checkpoint (`snapshot.Position`, saved after the baseline
and after every iteration): the baseline is not run again, the working copy edits come
back, and the step under way when it stopped is done again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from greenpatch.agents.gateway import Budget, Gateway
from greenpatch.agents.loop import Run
from greenpatch.agents.snapshot import Position
from greenpatch.agents.store import RunRecord, RunStore
from greenpatch.agents.types import TaskRequest
from greenpatch.config import Settings
from greenpatch.errors import WorkspaceError


def resumable(workspace: Path) -> list[RunRecord]:
    """Runs here that paused, were interrupted, or whose process died; oldest first."""
    if not workspace.is_dir():
        raise WorkspaceError(f"workspace {workspace} is not a directory")
    store = RunStore(workspace.resolve())
    try:
        return store.resumable()
    finally:
        store.close()


@dataclass(frozen=True)
class Spent:
    """What a run had spent at its last checkpoint (what a resume starts counting from)."""

    usd: float
    tokens: int


def spent(workspace: Path, run_ids: Iterable[str]) -> dict[str, Spent]:
    """The spending of these runs at their last checkpoints; runs without a readable
    checkpoint are left out."""
    store = RunStore(workspace.resolve())
    try:
        out: dict[str, Spent] = {}
        for run_id in run_ids:
            data = store.checkpoint(run_id)
            if data is None:
                continue
            try:
                _, position = Position.from_json(data)
            except ValueError:
                continue  # a checkpoint of another version: `resume` says why when asked
            out[run_id] = Spent(position.spent_usd, position.spent_tokens)
        return out
    finally:
        store.close()


def resume(
    run_id: str,
    workspace: Path,
    settings: Settings,
    *,
    extra_usd: float = 0.0,
    extra_tokens: int = 0,
) -> Run:
    """A paused or interrupted run, ready for `run_task`: its request, working copy edits
    and loop position from its last checkpoint, a budget of what it had (or what the
    settings now allow, whichever is more) plus `extra_usd` / `extra_tokens`, with what it
    already spent counted. Set `on_event` and `cancel` on the returned Run as for a new one.
    Raises WorkspaceError when the run is unknown, still running, or finished."""
    store = RunStore(workspace.resolve())
    try:
        resumable = {r.run_id: r for r in store.resumable()}
        data = store.checkpoint(run_id) if run_id in resumable else None
        if data is None:
            raise WorkspaceError(_not_resumable(store, run_id))
    finally:
        store.close()
    try:
        request, position = Position.from_json(data)
    except ValueError as exc:
        raise WorkspaceError(f"run {run_id} cannot be resumed: {exc}") from None
    usd = max(position.budget_usd, settings.budget.usd) + extra_usd
    tokens = max(position.budget_tokens, settings.budget.tokens) + extra_tokens
    model = position.model if not settings.models.default else ""
    return _continued(run_id, workspace, settings, request, position, model, usd, tokens)


def _continued(
    run_id: str,
    workspace: Path,
    settings: Settings,
    request: TaskRequest,
    position: Position,
    model: str,
    usd: float,
    tokens: int,
) -> Run:
    """The Run that goes on from `position`: `model` (when given) for every role, a budget
    of `usd` and `tokens` with what the run spent counted."""
    if model:
        settings = dataclasses.replace(
            settings, models=dataclasses.replace(settings.models, default=model)
        )
    budget = Budget(usd, tokens, position.spent_usd, position.spent_tokens)
    request = dataclasses.replace(request, workspace=workspace)
    run = Run(request, settings, run_id=run_id, position=position)
    run.gateway = Gateway(settings, budget, cancel=run.cancel)
    return run


def revise(
    run_id: str, workspace: Path, settings: Settings, feedback: str, *, model: str = ""
) -> Run:
    """A green run whose proposal the user sent back with `feedback`, ready for `run_task`:
    the same run continues from its proposed change (the baseline is not run again), with
    the feedback for its next iteration, its own model, `settings.max_iterations` more
    iterations (`model`, when given, instead) and a fresh budget from the settings. If no
    revision turns green, the
    proposal is offered again. Raises WorkspaceError when the run is unknown, still
    running, or not green."""
    feedback = " ".join(feedback.split())
    if not feedback:
        raise WorkspaceError("a revision needs feedback: what should change in the proposal")
    store = RunStore(workspace.resolve())
    try:
        try:
            record = store.get(run_id)
        except KeyError:
            raise WorkspaceError(f"no run {run_id} in this workspace") from None
        data = store.checkpoint(run_id)
    finally:
        store.close()
    if not record.finished or record.status != "green" or data is None:
        how = "is still running" if not record.finished else f"ended {record.status}"
        raise WorkspaceError(f"run {run_id} {how}; only a run with a proposal can be revised")
    try:
        request, position = Position.from_json(data)
    except ValueError as exc:
        raise WorkspaceError(f"run {run_id} cannot be revised: {exc}") from None
    if position.green is None:
        raise WorkspaceError(f"run {run_id} has no proposal on record to revise")
    position.revision = feedback
    position.limit = position.iteration + settings.max_iterations
    limit = settings.budget  # a fresh allowance on top of what was spent; 0 stays no limit
    usd = position.spent_usd + limit.usd if limit.usd else 0.0
    tokens = position.spent_tokens + limit.tokens if limit.tokens else 0
    # The run's own model revises what it proposed, unless another is asked for.
    model = model or position.model
    return _continued(run_id, workspace, settings, request, position, model, usd, tokens)


def _not_resumable(store: RunStore, run_id: str) -> str:
    try:
        record = store.get(run_id)
    except KeyError:
        return f"no run {run_id} in this workspace (`greenpatch run --list` shows those to resume)"
    if not record.finished:
        return f"run {run_id} is still running (process {record.owner_pid})"
    if store.checkpoint(run_id) is None:
        return f"run {run_id} stopped before its first checkpoint; start it again"
    return f"run {run_id} ended {record.status}; only paused or interrupted runs resume"
