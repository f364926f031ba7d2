"""The run loop: tests first, then coder -> sandbox -> debugger until green or out of limits.

One function, `run_task`, shared by `greenpatch run` and the language server. Nothing here
writes to the workspace: every attempt is judged in the sandbox on a view made of the files
on disk, the editor's unsaved buffers and the changes so far.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from greenpatch import patch
from greenpatch.agents import coder, context, roles
from greenpatch.agents.gateway import Gateway
from greenpatch.agents.journal import Journal
from greenpatch.agents.types import Evidence, Proposal, RunEvent, RunResult, TaskRequest
from greenpatch.agents.workcopy import WorkingCopy
from greenpatch.config import Settings
from greenpatch.errors import (
    BudgetExceeded,
    Cancelled,
    FormatError,
    GreenpatchError,
    LimitsExceeded,
    ModelError,
    WorkspaceError,
)
from greenpatch.sandbox import Sandbox, TestReport, detect_python, from_settings, run_pytest

log = logging.getLogger(__name__)

EventSink = Callable[[RunEvent], None]
MAX_UNITS = 3
MAX_FILES = 4
FAILURE_CHARS = 2500


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
    journal: Journal | None = None
    journal_in_background: bool = True
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
    except (BudgetExceeded, LimitsExceeded, ModelError, FormatError, WorkspaceError) as exc:
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
        tuple(run.gateway.records),
    )
    kind = {"green": "proposal", "cancelled": "cancelled"}.get(result.status, "failed")
    run.emit(kind, result.message, phase="done")
    run.emit("finished", result.status, phase="done")
    if run.journal is not None:
        # Remembering and reflecting take seconds (embeddings, maybe a model call): after the
        # user has the result, in a thread the process still waits for before it exits.
        proposal = result.proposal
        finish = functools.partial(
            run.journal.finish,
            result.status,
            result.message,
            gateway=run.gateway,
            failure="\n".join(proposal.evidence.failing_before) if proposal else "",
            diff=proposal.diff if proposal else "",
        )
        if run.journal_in_background:
            threading.Thread(target=finish, name=f"journal-{run.run_id}").start()
        else:  # a CLI run: finish before the interpreter starts shutting down
            finish()
    return result


def _drive(run: Run) -> RunResult:
    request = run.request
    root = request.workspace.resolve()
    if not root.is_dir():
        raise WorkspaceError(f"workspace {request.workspace} is not a directory")
    run.journal = Journal(root, run.run_id, request.task)
    if run.gateway is not None:
        run.gateway.on_call = run.journal.call
        run.gateway.rules = run.journal.rules
    machine = Machine(run, WorkingCopy(root, dict(request.buffers)), detect_python(root))
    return machine.go()


def failing_ids(report: TestReport) -> set[str]:
    return {c.nodeid for c in report.failures}


def is_green(report: TestReport, targets: set[str], baseline: set[str]) -> bool:
    """The gate: no new failures against the baseline, and none among the targets (a target
    is a node id or a test file)."""
    if report.status in ("error", "timeout", "interrupted"):
        return False
    failing = failing_ids(report)
    if failing - baseline:
        return False
    if any(f == t or f.startswith(t + "::") for f in failing for t in targets):
        return False
    return report.status != "no_tests" or not targets


STATES = {
    "baseline": "TEST",
    "plan": "PLAN",
    "tester": "CODE",
    "coder": "CODE",
    "debugger": "DEBUG",
    "verify": "TEST",
    "review": "REVIEW",
}


class Machine:
    """PLAN -> CODE -> TEST -> (DEBUG -> TEST)* -> REVIEW -> PROPOSE | FAIL."""

    def __init__(self, run: Run, copy: WorkingCopy, python: str) -> None:
        self.run, self.copy, self.python = run, copy, python
        self.settings = run.settings
        self.started = time.monotonic()
        self.sandbox = run.sandbox or from_settings(self.settings.sandbox)
        self.gateway = run.gateway or Gateway.for_run(self.settings, cancel=run.cancel)
        self.plan: roles.Plan | None = None
        self.tests_written: list[str] = []

    def state(self, name: str, message: str, iteration: int = 0) -> None:
        _check(self.run)
        if time.monotonic() - self.started > self.settings.time_limit_s:
            raise LimitsExceeded(f"the run took longer than {self.settings.time_limit_s:.0f} s")
        self.run.emit("phase", message, phase=name, iteration=iteration)
        if self.run.journal is not None:
            self.run.journal.state(STATES.get(name, "TEST"), message)

    def test(self, phase: str, iteration: int, *, full: bool = False) -> TestReport:
        self.state(phase, "running the tests", iteration)
        report = run_pytest(
            self.sandbox,
            self.copy.root,
            overlay=self.copy.overlay(),
            tests=() if full else self.run.request.tests,
            timeout=self.settings.sandbox.timeout_s,
            python=self.python,
            then_full=not full,
        )
        self.run.emit("tests", report.summary(), phase=phase, iteration=iteration)
        _check(self.run)
        return report

    def go(self) -> RunResult:
        request = self.run.request
        before = self.test("baseline", 0, full=True)
        baseline = failing_ids(before)
        if request.kind == "fix" and before.ok:
            return RunResult(self.run.run_id, "failed", f"nothing to fix: {before.summary()}")
        targets = set(request.tests) or (baseline if request.kind == "fix" else set())
        self._plan_and_write_tests(targets)
        report = self.test("tester", 0) if self.tests_written else before
        return self._iterate(before, report, baseline, targets)

    def _plan_and_write_tests(self, targets: set[str]) -> None:
        request = self.run.request
        if request.kind == "task" and not request.path:
            self.state("plan", "planning")
            candidates = [h.path for h in _search(self.run.search, request.task, 10)]
            self.plan = roles.plan(self.gateway, request.task, list(dict.fromkeys(candidates)))
        wants_tests = request.kind == "implement" or (self.plan and self.plan.write_tests)
        unit = _target_unit(request, self.copy)
        if wants_tests and unit is not None:
            self.state("tester", f"writing tests for {unit.qualname}")
            change = roles.write_tests(self.gateway, request.task, unit, list(self.copy.edits))
            if change is not None:
                self.copy.apply((change,))
                self.tests_written.append(change.path)
                targets.add(change.path)

    def _iterate(
        self, before: TestReport, report: TestReport, baseline: set[str], targets: set[str]
    ) -> RunResult:
        limit = self.settings.max_iterations
        feedback, signature, repeats = "", "", 0
        green: tuple[dict[str, str | None], TestReport, int] | None = None
        attempts: set[int] = set()
        for iteration in range(1, limit + 1):
            role = "coder" if iteration == 1 else "debugger"
            self.state(role, f"{role} at work", iteration)
            brief = _brief(
                self.run.request, report, self.copy, self.run.search, self.plan, feedback
            )
            if self.run.journal is not None:
                query = f"{self.run.request.task}\n{brief.failure[:500]}"
                brief = dataclasses.replace(brief, lessons=self.run.journal.context(query))
            try:
                changes, _ = coder.ask(self.gateway, role, brief, self.copy.read)
            except FormatError as exc:
                self.run.emit("iteration", str(exc), phase=role, iteration=iteration)
                continue
            self.copy.apply(changes)
            fingerprint = hash(frozenset(self.copy.overlay().items()))
            if fingerprint in attempts:  # the very change that already failed: do not rerun
                repeats += 1
                self.run.emit(
                    "iteration", "the same change as before", phase=role, iteration=iteration
                )
                if repeats >= 2:
                    break
                continue
            attempts.add(fingerprint)
            report = self.test("verify", iteration)
            if is_green(report, targets, baseline):
                green = (dict(self.copy.edits), report, iteration)
                verdict = self._review(before, report)
                if verdict is None or verdict.approved or iteration == limit:
                    return self._propose(before, report, iteration, verdict)
                feedback = f"The reviewer asked for a revision: {verdict.feedback}"
                self.run.emit("iteration", feedback, phase="review", iteration=iteration)
                continue
            now = report.failure_text(300)
            repeats = repeats + 1 if now == signature else 0
            signature = now
            if repeats >= 2:
                self.run.emit(
                    "iteration",
                    "the same failure three times: stopping",
                    phase="debugger",
                    iteration=iteration,
                )
                break
        if green is not None:  # a revision broke it: offer the last green change
            self.copy.edits = green[0]
            return self._propose(before, green[1], green[2], None)
        why = "the same failure repeated" if repeats >= 2 else f"{limit} iterations"
        return RunResult(
            self.run.run_id,
            "failed",
            f"no green change after {why}; last: {report.summary()}",
            iterations=limit,
        )

    def _review(self, before: TestReport, after: TestReport) -> roles.Review | None:
        self.state("review", "the critic reviews the change")
        changes = self.copy.changes()
        evidence = f"before: {before.summary()}; after: {after.summary()}"
        return roles.review(
            self.gateway, self.run.request.task, patch.unified_diff(changes), evidence, changes
        )

    def _propose(
        self,
        before: TestReport,
        after: TestReport,
        iteration: int,
        verdict: roles.Review | None,
    ) -> RunResult:
        self.run.gateway = self.gateway
        result = _green(self.run, self.copy, before, after, iteration)
        if result.proposal and (verdict is not None or self.tests_written):
            evidence = dataclasses.replace(
                result.proposal.evidence,
                review=verdict.feedback if verdict else "",
                new_tests=tuple(self.tests_written),
            )
            result = dataclasses.replace(
                result, proposal=dataclasses.replace(result.proposal, evidence=evidence)
            )
        return result


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


def _search(search: Callable[[str, int], list[Any]] | None, query: str, k: int) -> list[Any]:
    if search is None:
        return []
    try:
        return search(query, k)
    except Exception as exc:  # the index is a help, never a reason to fail a run
        log.warning("index search failed: %s", exc)
        return []


def _target_unit(request: TaskRequest, copy: WorkingCopy) -> context.CodeUnit | None:
    if not request.path or context.is_test_file(request.path):
        return None
    text = copy.read(request.path)
    if text is None:
        return None
    if request.symbol:
        return context.unit_named(request.path, text, request.symbol)
    return context.unit_at(request.path, text, (request.line or 0) + 1)


def _brief(
    request: TaskRequest,
    report: TestReport,
    copy: WorkingCopy,
    search: Callable[[str, int], list[Any]] | None = None,
    plan: roles.Plan | None = None,
    feedback: str = "",
) -> coder.Brief:
    """Focus: the functions under repair and the failing test, not whole files; the plan or
    the index fill in when neither the gesture nor a failure points anywhere."""
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
    retrieved: list[str] = list(plan.files) if plan else []
    if not units and not request.path:
        found, ranked = _retrieve(request.task, copy, search)
        units, retrieved = found, retrieved + [f for f in ranked if f not in retrieved]
    units = units[:MAX_UNITS]
    paths = list(
        dict.fromkeys(
            [u.path for u in units] + ([request.path] if request.path else []) + retrieved
        )
    )[:MAX_FILES]
    files = tuple((p, t) for p in paths if (t := copy.read(p)) is not None)
    failure = report.failure_text(FAILURE_CHARS) if not report.ok else ""
    task = request.task
    if plan and plan.from_model and len(plan.steps) > 1:
        task += "\n\nPlan:\n" + "\n".join(f"{i}. {g}" for i, g in enumerate(plan.steps, 1))
    if feedback:
        task += "\n\n" + feedback
    return coder.Brief(task, tuple(units), files, "\n".join(tests), failure)


def _retrieve(
    task: str, copy: WorkingCopy, search: Callable[[str, int], list[Any]] | None
) -> tuple[list[context.CodeUnit], list[str]]:
    """Units and files the index ranks highest for the task text."""
    units: list[context.CodeUnit] = []
    files: list[str] = []
    for hit in _search(search, task, 10):
        if hit.path not in files:
            files.append(hit.path)
        text = copy.read(hit.path) if hit.symbol else None
        unit = context.unit_named(hit.path, text, hit.symbol) if text else None
        if unit and unit not in units and not context.is_test_file(unit.path):
            units.append(unit)
    return units[:MAX_UNITS], files[:MAX_FILES]
