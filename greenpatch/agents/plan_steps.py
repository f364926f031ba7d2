"""The plan's independent steps, coded at the same time.

Steps of different groups that change different files (`Plan.independent`) each get their
own coder turn, in a thread (at most `max_parallel_steps` at once), on their own branch of
the working copy. Branches that touched disjoint files are merged; a step that gave no
usable edit, or touched a file another step already changed, is reported for the debugger
with its goal. The caller then runs one TEST of the whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from greenpatch import patch
from greenpatch.agents import coder
from greenpatch.agents.gateway import Gateway
from greenpatch.agents.roles import PlanStep
from greenpatch.agents.workcopy import WorkingCopy
from greenpatch.errors import FormatError
from greenpatch.sandbox import TestReport

log = logging.getLogger(__name__)

Emit = Callable[[str], None]


@dataclass(frozen=True)
class StepOutcome:
    step: PlanStep
    changes: tuple[patch.FileChange, ...] = ()
    problem: str = ""


def code_steps(
    gateway: Gateway,
    steps: list[PlanStep],
    brief_for: Callable[[PlanStep], coder.Brief],
    copy: WorkingCopy,
    *,
    limit: int,
    emit: Emit,
) -> list[StepOutcome]:
    """Each step's coder turn, `limit` at a time, each on its own branch of `copy`; the
    branches' changes merged into `copy`. Budget and cancellation errors propagate."""

    def one(number: int, step: PlanStep) -> StepOutcome:
        branch = copy.branch()
        emit(f"step {number} started: {step.goal}")
        try:
            changes, _ = coder.Coder(gateway).change(brief_for(step), branch.read)
        except FormatError as exc:
            emit(f"step {number} gave no usable edit: {exc}")
            return StepOutcome(step, problem=f"gave no usable edit ({exc})")
        emit(f"step {number} done: {', '.join(c.path for c in changes)}")
        return StepOutcome(step, changes)

    with ThreadPoolExecutor(max(1, limit), thread_name_prefix="greenpatch-step") as pool:
        futures = [pool.submit(one, n, s) for n, s in enumerate(steps, 1)]
        try:
            outcomes = [f.result() for f in futures]  # re-raises budget / cancel errors
        except KeyboardInterrupt:  # Ctrl-C: the steps still at work stop now, not when done
            gateway.cancel.set()
            raise
    return merge(outcomes, copy)


def merge(outcomes: list[StepOutcome], copy: WorkingCopy) -> list[StepOutcome]:
    """Apply each step's changes to `copy` unless a file was already changed by an earlier
    step; such a step is returned with the conflict as its problem."""
    taken: dict[str, str] = {}
    merged = []
    for outcome in outcomes:
        paths = {p for c in outcome.changes for p in (c.old_path, c.path) if p}
        clash = sorted(p for p in paths if p in taken)
        if clash:
            problem = f"changed {', '.join(clash)}, which '{taken[clash[0]]}' changed too"
            merged.append(StepOutcome(outcome.step, problem=problem))
            continue
        copy.apply(outcome.changes)
        taken.update(dict.fromkeys(paths, outcome.step.goal))
        merged.append(outcome)
    return merged


def problems(outcomes: list[StepOutcome]) -> str:
    """What went wrong in the steps, for the debugger ('' when nothing did)."""
    lines = [f"- the step '{o.step.goal}' {o.problem}" for o in outcomes if o.problem]
    return "Plan steps that need attention:\n" + "\n".join(lines) if lines else ""


def owner_note(steps: list[PlanStep], report: TestReport) -> str:
    """The plan step that owns the failing files, for the debugger ('' when none does)."""
    failing = {c.file for c in report.failures if c.file}
    failing |= {c.nodeid.split("::", 1)[0] for c in report.failures}
    owners = [s for s in steps if failing & set(s.files)]
    if not owners:
        return ""
    lines = [f"- '{s.goal}' (changed {', '.join(s.files)})" for s in owners]
    return "The failure is in the part of the plan done by:\n" + "\n".join(lines)
