"""The run loop: tests first, then coder -> sandbox -> debugger until green or out of limits.

One function, `run_task`, shared by `greenpatch run` and the language server. Nothing here
writes to the workspace: every attempt is judged in the sandbox on a view made of the files
on disk, the editor's unsaved buffers and the changes so far.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenpatch import patch
from greenpatch.agents import coder, context
from greenpatch.agents.gateway import Gateway
from greenpatch.agents.types import Evidence, Proposal, RunEvent, RunResult, TaskRequest
from greenpatch.config import Settings
from greenpatch.errors import (
    BudgetExceeded,
    Cancelled,
    FormatError,
    GreenpatchError,
    ModelError,
    WorkspaceError,
)
from greenpatch.sandbox import Sandbox, TestReport, detect_python, get_sandbox, run_pytest

log = logging.getLogger(__name__)

EventSink = Callable[[RunEvent], None]
MAX_UNITS = 3
MAX_FILES = 4
FAILURE_CHARS = 2500


@dataclass
class WorkingCopy:
    """The run's view of the workspace: disk, under the editor's buffers, under the changes
    made so far. Reads never leave the workspace root."""

    root: Path
    buffers: dict[str, str]
    edits: dict[str, str | None] = field(default_factory=dict)
    originals: dict[str, str | None] = field(default_factory=dict)

    def base(self, path: str) -> str | None:
        if path in self.buffers:
            return self.buffers[path]
        target = (self.root / path).resolve()
        if not target.is_relative_to(self.root) or not target.is_file():
            return None
        try:
            return target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def read(self, path: str) -> str | None:
        return self.edits[path] if path in self.edits else self.base(path)

    def apply(self, changes: tuple[patch.FileChange, ...]) -> None:
        for change in changes:
            for path in filter(None, (change.old_path, change.path)):
                if path not in self.originals:
                    self.originals[path] = self.base(path)
            if change.old_path and change.old_path != change.path:
                self.edits[change.old_path] = None
            self.edits[change.path] = change.new_text

    def overlay(self) -> dict[str, str | None]:
        return {**self.buffers, **self.edits}

    def changes(self) -> tuple[patch.FileChange, ...]:
        """Everything changed since the start, as one change per file."""
        out = []
        for path, new in self.edits.items():
            old = self.originals.get(path)
            if old != new:
                out.append(patch.FileChange(path=path, old_text=old, new_text=new))
        return tuple(out)


@dataclass
class Run:
    """One run's live state, shared with whoever started it (for cancellation)."""

    request: TaskRequest
    settings: Settings
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    cancel: threading.Event = field(default_factory=threading.Event)
    on_event: EventSink = lambda event: None
    sandbox: Sandbox | None = None
    gateway: Gateway | None = None
    # Retrieval over the workspace index: (query, top_k) -> results with path, symbol, lines.
    search: Callable[[str, int], list[Any]] | None = None

    def emit(self, kind: str, message: str, *, phase: str = "", iteration: int = 0) -> None:
        cost = self.gateway.cost_usd if self.gateway else 0.0
        event = RunEvent(self.run_id, kind, message, phase, iteration, cost)  # type: ignore[arg-type]
        log.info("[%s] %s: %s", self.run_id, kind, message)
        try:
            self.on_event(event)
        except Exception:  # a broken listener must not break the run
            log.exception("event listener failed")


def run_task(run: Run) -> RunResult:
    """Drive one request to a green proposal, or explain why not. Never raises for the
    expected failures (model, budget, format, sandbox, cancel): they become the result."""
    started = time.monotonic()
    run.gateway = run.gateway or Gateway.for_run(run.settings, cancel=run.cancel)
    run.emit("started", run.request.task, phase="starting")
    try:
        result = _drive(run)
    except Cancelled:
        result = RunResult(run.run_id, "cancelled", "cancelled by the user")
    except (BudgetExceeded, ModelError, FormatError, WorkspaceError) as exc:
        result = RunResult(run.run_id, "failed", str(exc))
    except GreenpatchError as exc:
        result = RunResult(run.run_id, "error", str(exc))
    except Exception as exc:  # a bug: keep the traceback in the log, one line for the user
        log.exception("run %s crashed", run.run_id)
        result = RunResult(run.run_id, "error", f"internal error: {type(exc).__name__}: {exc}")
    result = RunResult(
        result.run_id,
        result.status,
        result.message,
        result.proposal,
        result.iterations or (result.proposal.iterations if result.proposal else 0),
        run.gateway.cost_usd,
        round(time.monotonic() - started, 2),
    )
    kind = {"green": "proposal", "cancelled": "cancelled"}.get(result.status, "failed")
    run.emit(kind, result.message, phase="done")
    run.emit("finished", result.status, phase="done")
    return result


def _drive(run: Run) -> RunResult:
    request, settings = run.request, run.settings
    root = request.workspace.resolve()
    if not root.is_dir():
        raise WorkspaceError(f"workspace {request.workspace} is not a directory")
    copy = WorkingCopy(root, dict(request.buffers))
    run.sandbox = run.sandbox or get_sandbox(settings.sandbox.backend)
    python = detect_python(root)

    def test(phase: str, iteration: int) -> TestReport:
        _check(run)
        run.emit("phase", "running the tests", phase=phase, iteration=iteration)
        assert run.sandbox is not None
        report = run_pytest(
            run.sandbox,
            root,
            overlay=copy.overlay(),
            tests=request.tests,
            timeout=settings.sandbox.timeout_s,
            python=python,
        )
        run.emit("tests", report.summary(), phase=phase, iteration=iteration)
        _check(run)
        return report

    before = test("baseline", 0)
    if request.kind == "fix" and before.ok:
        return RunResult(run.run_id, "failed", f"nothing to fix: {before.summary()}")
    report = before
    for iteration in range(1, settings.max_iterations + 1):
        role = "coder" if iteration == 1 else "debugger"
        run.emit("iteration", f"{role} at work", phase=role, iteration=iteration)
        brief = _brief(request, report, copy, run.search)
        try:
            changes, fmt = coder.ask(run.gateway, role, brief, copy.read)  # type: ignore[arg-type]
        except FormatError as exc:
            run.emit("iteration", str(exc), phase=role, iteration=iteration)
            continue
        log.info(
            "iteration %d: %s changed %s (%s)",
            iteration,
            role,
            ", ".join(c.path for c in changes),
            fmt,
        )
        copy.apply(changes)
        report = test("verify", iteration)
        if report.ok:
            return _green(run, copy, before, report, iteration)
    return RunResult(
        run.run_id,
        "failed",
        f"no green change after {settings.max_iterations} iterations; last: {report.summary()}",
        iterations=settings.max_iterations,
    )


def _check(run: Run) -> None:
    if run.cancel.is_set():
        raise Cancelled("run cancelled")


def _green(
    run: Run, copy: WorkingCopy, before: TestReport, after: TestReport, iteration: int
) -> RunResult:
    changes = copy.changes()
    assert run.gateway is not None
    proposal = Proposal(
        run_id=run.run_id,
        task=run.request.task,
        changes=changes,
        diff=patch.unified_diff(changes),
        evidence=Evidence(
            before=before.summary(),
            after=after.summary(),
            failing_before=tuple(c.nodeid for c in before.failures),
        ),
        iterations=iteration,
        cost_usd=run.gateway.cost_usd,
        calls=tuple(run.gateway.records),
    )
    files = ", ".join(c.path for c in changes)
    message = f"green after {iteration} iteration(s): {after.summary()}; changes {files}"
    return RunResult(run.run_id, "green", message, proposal, iteration)


def _brief(
    request: TaskRequest,
    report: TestReport,
    copy: WorkingCopy,
    search: Callable[[str, int], list[Any]] | None = None,
) -> coder.Brief:
    """Focus: the functions under repair and the failing test, not whole files; the index
    fills in when neither the gesture nor a failure points anywhere."""
    units: list[context.CodeUnit] = []
    tests: list[str] = []
    if request.path and not context.is_test_file(request.path):
        text = copy.read(request.path)
        if text is not None:
            unit = (
                context.unit_named(request.path, text, request.symbol)
                if request.symbol
                else context.unit_at(request.path, text, (request.line or 0) + 1)
            )
            units += [unit] if unit else []
    frames = [(c.file, c.line) for c in report.failures if c.file and c.line]
    units += [u for u in context.failing_frame_units(frames, copy.read) if u not in units]
    for case in report.failures[:2]:
        test_path, test_name = context.split_nodeid(case.nodeid)
        text = copy.read(test_path)
        test_unit = context.unit_named(test_path, text, test_name) if text else None
        if test_unit:
            tests.append(test_unit.source)
        for unit in context.functions_under_test(test_path, test_name, copy.read):
            if unit not in units:
                units.append(unit)
    retrieved: list[str] = []
    if not units and not request.path and search is not None:
        units, retrieved = _retrieve(request.task, copy, search)
    units = units[:MAX_UNITS]
    paths = list(
        dict.fromkeys(
            [u.path for u in units] + ([request.path] if request.path else []) + retrieved
        )
    )[:MAX_FILES]
    files = tuple((p, t) for p in paths if (t := copy.read(p)) is not None)
    failure = report.failure_text(FAILURE_CHARS) if not report.ok else ""
    return coder.Brief(request.task, tuple(units), files, "\n".join(tests), failure)


def _retrieve(
    task: str, copy: WorkingCopy, search: Callable[[str, int], list[Any]]
) -> tuple[list[context.CodeUnit], list[str]]:
    """Units and files the index ranks highest for the task text."""
    try:
        hits = search(task, 10)
    except Exception as exc:  # the index is a help, never a reason to fail a run
        log.warning("index search failed: %s", exc)
        return [], []
    units: list[context.CodeUnit] = []
    files: list[str] = []
    for hit in hits:
        if hit.path not in files:
            files.append(hit.path)
        text = copy.read(hit.path) if hit.symbol else None
        unit = context.unit_named(hit.path, text, hit.symbol) if text else None
        if unit and unit not in units and not context.is_test_file(unit.path):
            units.append(unit)
    return units[:MAX_UNITS], files[:MAX_FILES]
