"""The run loop: tests first, then coder -> sandbox -> debugger until green or out of limits.

One function, `run_task`, shared by `greenpatch run` and the language server. Nothing here
writes to the workspace: every attempt is judged in the sandbox on a view made of the files
on disk, the editor's unsaved buffers and the changes so far. A run whose budget runs out
ends `paused`; it and runs a killed process left behind continue through `resume.resume`.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from greenpatch import patch
from greenpatch.agents import best_of, coder, disputes, focus, plan_steps, roles, tools
from greenpatch.agents.gateway import Gateway
from greenpatch.agents.journal import Journal
from greenpatch.agents.snapshot import Position
from greenpatch.agents.types import Evidence, Proposal, RunEvent, RunResult, TaskRequest
from greenpatch.agents.workcopy import WorkingCopy, fingerprint
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
from greenpatch.sandbox import (
    Sandbox,
    TestReport,
    can_import,
    detect_python,
    from_settings,
    run_pytest,
)

log = logging.getLogger(__name__)

EventSink = Callable[[RunEvent], None]


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
    # The node ids the baseline saw failing, once it has run (for the server's failure marks).
    failing_before: tuple[str, ...] | None = None
    # Asked before a role installs a package (what, in words) -> allowed? Default: no.
    approve: Callable[[str], bool] = lambda what: False
    # Set by `resume`: where a paused or interrupted run continues from.
    position: Position | None = None
    # What memory keeps of the run: the failure it worked on and the change made for it
    # (the proposal's, or the last one tried when no change turned green).
    lesson: tuple[str, str] = ("", "")
    # The thread persisting the run's end (`journal_in_background`): until it is done the
    # store still says `running`, so a resume must wait for it.
    finishing: threading.Thread | None = None

    def emit(
        self,
        kind: str,
        message: str,
        *,
        phase: str = "",
        iteration: int = 0,
        tests: Mapping[str, int] | None = None,
    ) -> None:
        gateway = self.gateway
        cost = gateway.cost_usd if gateway else 0.0
        tokens = (
            sum(r.prompt_tokens + r.completion_tokens for r in gateway.records) if gateway else 0
        )
        agent = AGENTS.get(phase, "")
        event = RunEvent(self.run_id, kind, message, phase, iteration, cost, agent, tokens, tests)  # type: ignore[arg-type]
        log.info("[%s] %s: %s", self.run_id, kind, message)
        if self.journal is not None:
            self.journal.event(kind, message, phase, iteration)
        try:
            self.on_event(event)
        except Exception:  # a broken listener must not break the run
            log.exception("event listener failed")


def run_task(run: Run) -> RunResult:
    """Drive one request to a green proposal, or explain why not. Never raises for the
    expected failures (model, budget, format, sandbox, cancel): they become the result.
    A run out of budget is paused, to be continued by `resume`."""
    started = time.monotonic()
    run.gateway = run.gateway or Gateway.for_run(run.settings, cancel=run.cancel)
    run.emit("started", run.request.task, phase="starting")
    try:
        result = _drive(run)
    except Cancelled:
        result = RunResult(run.run_id, "cancelled", "cancelled by the user")
    except BudgetExceeded as exc:
        more = "--budget-usd USD" if "$" in str(exc) else "--budget-tokens N"
        resume_hint = f"greenpatch run --resume {run.run_id} {more}"
        result = RunResult(run.run_id, "paused", f"paused: {exc}; to continue: {resume_hint}")
    except (LimitsExceeded, ModelError, FormatError, WorkspaceError) as exc:
        result = RunResult(run.run_id, "failed", str(exc))
    except GreenpatchError as exc:
        result = RunResult(run.run_id, "error", str(exc))
    except Exception as exc:  # a bug: keep the traceback in the log, one line for the user
        log.exception("run %s crashed", run.run_id)
        result = RunResult(run.run_id, "error", f"internal error: {type(exc).__name__}: {exc}")
    result = dataclasses.replace(
        result,
        iterations=result.iterations or (result.proposal.iterations if result.proposal else 0),
        cost_usd=run.gateway.cost_usd,
        duration_s=round(time.monotonic() - started, 2),
        calls=tuple(run.gateway.records),
        failing_before=run.failing_before,
    )
    kind = {"green": "proposal", "cancelled": "cancelled", "paused": "paused"}
    run.emit(kind.get(result.status, "failed"), result.message, phase="done")
    run.emit("finished", result.status, phase="done")
    if run.journal is not None:
        # Remembering and reflecting take seconds (embeddings, maybe a model call): after the
        # user has the result, in a thread the process still waits for before it exits.
        failure, diff = run.lesson
        finish = functools.partial(
            run.journal.finish,
            result.status,
            result.message,
            gateway=run.gateway,
            failure=failure,
            diff=diff,
            iterations=result.iterations,
            duration_s=result.duration_s,
        )
        if run.journal_in_background:
            run.finishing = threading.Thread(target=finish, name=f"journal-{run.run_id}")
            run.finishing.start()
        else:  # a CLI run: finish before the interpreter starts shutting down
            try:
                finish()
            except KeyboardInterrupt:  # Ctrl-C while learning: the result stands
                log.warning("run %s: stopped learning from it (Ctrl-C)", run.run_id)
    return result


def _drive(run: Run) -> RunResult:
    request = run.request
    root = request.workspace.resolve()
    if not root.is_dir():
        raise WorkspaceError(f"workspace {request.workspace} is not a directory")
    resuming = run.position is not None
    run.journal = Journal(root, run.run_id, request.task, resuming=resuming)
    if run.gateway is not None:
        run.gateway.on_call = run.journal.call
        run.gateway.rules = run.journal.rules
    position = run.position or Position(model=run.settings.models.default)
    copy = WorkingCopy(root, dict(request.buffers), dict(position.edits), dict(position.originals))
    machine = Machine(run, copy, detect_python(root), position)
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


LESSON_CHARS = 1500  # of a failure, for memory

# The role at work in each phase of the loop (the others are the sandbox's).
AGENTS = {
    "plan": "planner",
    "tester": "tester",
    "coder": "coder",
    "sampling": "coder",
    "debugger": "debugger",
    "review": "critic",
}
STATES = {
    "baseline": "TEST",
    "plan": "PLAN",
    "tester": "CODE",
    "coder": "CODE",
    "sampling": "CODE",
    "debugger": "DEBUG",
    "verify": "TEST",
    "review": "REVIEW",
}


class Machine:
    """PLAN -> CODE -> TEST -> (DEBUG -> TEST)* -> REVIEW -> PROPOSE | FAIL. Its state
    between steps is a `Position`, saved after the baseline and after every iteration."""

    def __init__(self, run: Run, copy: WorkingCopy, python: str, position: Position) -> None:
        self.run, self.copy, self.python, self.pos = run, copy, python, position
        self.settings = run.settings
        self.started = time.monotonic()
        self.sandbox = run.sandbox or from_settings(self.settings.sandbox)
        self.gateway = run.gateway or Gateway.for_run(self.settings, cancel=run.cancel)
        self.tools = tools.for_run(
            copy,
            self.sandbox,
            python,
            search=run.search,
            approve=run.approve,
            test_timeout=self.settings.sandbox.timeout_s,
        )

    def state(self, name: str, message: str, iteration: int = 0) -> None:
        _check(self.run)
        if time.monotonic() - self.started > self.settings.time_limit_s:
            raise LimitsExceeded(f"the run took longer than {self.settings.time_limit_s:.0f} s")
        self.run.emit("phase", message, phase=name, iteration=iteration)
        if self.run.journal is not None:
            self.run.journal.state(STATES.get(name, "TEST"), message)

    def save(self) -> None:
        """Persist the position: what a resume continues from."""
        pos, budget = self.pos, self.gateway.budget
        pos.edits, pos.originals = dict(self.copy.edits), dict(self.copy.originals)
        pos.budget_usd, pos.budget_tokens = budget.usd, budget.tokens
        pos.spent_usd, pos.spent_tokens = budget.spent_usd, budget.spent_tokens
        if self.run.journal is not None:
            self.run.journal.checkpoint(pos.to_json(self.run.request))

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
        self.run.emit(
            "tests", report.summary(), phase=phase, iteration=iteration, tests=report.counts()
        )
        _check(self.run)
        return report

    def go(self) -> RunResult:
        request, pos = self.run.request, self.pos
        if pos.before is None:
            pos.before = pos.report = self.test("baseline", 0, full=True)
            self.run.failing_before = tuple(sorted(failing_ids(pos.before)))
            if request.kind == "fix" and pos.before.ok:
                summary = pos.before.summary()
                return RunResult(self.run.run_id, "failed", f"nothing to fix: {summary}")
            baseline = failing_ids(pos.before)
            pos.targets = sorted(set(request.tests) or (baseline if request.kind == "fix" else ()))
            self.save()
        elif pos.revision:  # the user sent the proposal back: revise it, same run
            self.run.emit("iteration", f"revising: {pos.revision}", phase="revise")
            if self.run.journal is not None:
                self.run.journal.state("REVISE", pos.revision)
            pos.feedback = f"The user reviewed the change and asks for a revision: {pos.revision}"
            pos.revision, pos.repeats, pos.signature, pos.proposed = "", 0, "", False
            self.save()  # a revision paused or killed resumes with the feedback
        elif pos.proposed and pos.green is not None:  # killed after proposing: propose again
            self.copy.edits = dict(pos.green["edits"])
            return self._propose(pos.green["report"], pos.green["iteration"], self._verdict())
        else:
            self.run.emit("iteration", f"resumed after iteration {pos.iteration}", phase="resume")
        self.run.failing_before = tuple(sorted(failing_ids(pos.before)))
        if not pos.planned:
            self._plan_and_write_tests()
            if pos.tests_written:
                pos.report = self.test("tester", 0)
            pos.planned = True
            self.save()
        return self._iterate()

    def _plan_and_write_tests(self) -> None:
        request, pos = self.run.request, self.pos
        if request.kind == "task" and not request.path:
            self.state("plan", "planning")
            candidates = [h.path for h in focus.search_index(self.run.search, request.task, 10)]
            lessons = self.run.journal.context(request.task) if self.run.journal else ""
            pos.plan = roles.Planner(self.gateway).plan(
                request.task,
                list(dict.fromkeys(candidates)),
                lessons,
                exists=lambda path: self.copy.read(path) is not None,
                toolbox=self.tools,
            )
        unit = focus.target_unit(request, self.copy)
        wants_tests = request.kind == "implement"
        if (
            pos.plan
            and pos.plan.write_tests
            and roles.writes_task_tests(self.gateway.model_for("tester"))
        ):
            wants_tests = True
            unit = unit or focus.planned_module(pos.plan, self.copy)
        if wants_tests and unit is not None:
            self.state("tester", f"writing tests for {unit.qualname}")
            properties = roles.writes_properties(self.gateway.model_for("tester")) and (
                can_import(
                    self.sandbox, self.copy.root, self.python, "hypothesis", self.copy.overlay()
                )
            )
            # Names the tester's file must not take: this run's files, and earlier runs' on
            # disk or in the editor (an accepted proposal's tests are the user's now).
            root = self.copy.root
            on_disk = (p.relative_to(root).as_posix() for p in root.glob("tests/test_*.py"))
            existing = sorted({*self.copy.edits, *self.copy.buffers, *on_disk})
            tester = roles.Tester(self.gateway)
            change = tester.write_tests(request.task, unit, existing, properties=properties)
            if change is not None:
                self.copy.apply((change,))
                pos.tests_written.append(change.path)
                pos.targets.append(change.path)

    def _iterate(self) -> RunResult:
        pos, limit = self.pos, self.limit()
        for iteration in range(pos.iteration + 1, limit + 1):
            result = self._iteration(iteration)
            if result is not None:
                return result
            pos.iteration = iteration
            self.save()
            if pos.repeats >= 2:
                break
        if pos.green is not None:  # a revision broke it: offer the last green change
            self.copy.edits = dict(pos.green["edits"])
            note = "; no revision since passed the tests: this is the earlier green change"
            return self._propose(pos.green["report"], pos.green["iteration"], self._verdict(), note)
        why = "the same failure repeated" if pos.repeats >= 2 else f"{pos.iteration} iterations"
        last = pos.report.summary() if pos.report else "no tests ran"
        if pos.report is not None and self.copy.changes():
            tried = patch.unified_diff(self.copy.changes())
            self.run.lesson = (pos.report.failure_text(LESSON_CHARS), tried)
        return RunResult(
            self.run.run_id,
            "failed",
            f"no green change after {why}; last: {last}",
            iterations=pos.iteration,
        )

    def _iteration(self, iteration: int) -> RunResult | None:
        """One coder or debugger turn and its test; a result when the run is done."""
        pos = self.pos
        assert pos.before is not None and pos.report is not None
        role = "coder" if iteration == 1 else "debugger"
        self.state(role, f"{role} at work", iteration)
        steps = pos.plan.independent() if pos.plan and role == "coder" else None
        try:
            if steps:
                self._code_steps(steps, iteration)
            else:
                toolbox, brief = self.tools if role == "debugger" else None, self._brief()
                member = coder.member(role)(self.gateway)
                changes, _ = member.change(brief, self.copy.read, toolbox)
                changes = best_of.choose(self, role, brief, changes, iteration)  # or samples
                self.copy.apply(changes)
        except FormatError as exc:
            self.run.emit("iteration", str(exc), phase=role, iteration=iteration)
            self._mistake(role, f"Gave a reply the loop could not use: {_general(str(exc))}.")
            return None
        change = fingerprint(self.copy.overlay())
        if change in pos.attempts:  # the very change that already failed: do not rerun
            pos.repeats += 1
            self.run.emit("iteration", "the same change as before", phase=role, iteration=iteration)
            self._mistake(role, "Gave back a change identical to one that had failed the tests.")
            return None
        pos.attempts.append(change)
        pos.report = report = self.test("verify", iteration)
        if not is_green(report, set(pos.targets), failing_ids(pos.before)):
            report = self._dispute(report, iteration)
        if is_green(report, set(pos.targets), failing_ids(pos.before)):
            pos.green = {"edits": dict(self.copy.edits), "report": report, "iteration": iteration}
            verdict = self._review(pos.before, report)
            if verdict is not None:
                pos.green["review"] = {"approved": verdict.approved, "feedback": verdict.feedback}
            if verdict is None or verdict.approved or iteration == self.limit():
                return self._propose(report, iteration, verdict)
            pos.feedback = f"The reviewer asked for a revision: {verdict.feedback}"
            self.run.emit("iteration", pos.feedback, phase="review", iteration=iteration)
            return None
        now = report.signature()
        pos.repeats = pos.repeats + 1 if now == pos.signature else 0
        pos.signature = now
        if pos.repeats >= 2:
            message = "the same failure three times: stopping"
            self.run.emit("iteration", message, phase="debugger", iteration=iteration)
            self._mistake(role, "Made changes that failed the same way three times in a row.")
        elif pos.plan and (note := plan_steps.owner_note(list(pos.plan.steps), report)):
            pos.feedback = note
        return None

    def limit(self) -> int:
        """The last iteration this run may make."""
        return self.pos.limit or self.settings.max_iterations

    def _verdict(self) -> roles.Review | None:
        """The critic's verdict on the last green change, as it was recorded."""
        review = (self.pos.green or {}).get("review")
        return roles.Review(review["approved"], review["feedback"]) if review else None

    def _mistake(self, role: str, text: str) -> None:
        if self.run.journal is not None:
            self.run.journal.mistake(role, text)

    def _dispute(self, report: TestReport, iteration: int) -> TestReport:
        """Drop the tester's tests that alone keep vouched-for code red, and test again."""
        names = disputes.drop(self, disputes.disputed(self, report))
        if not names:  # none to dispute, or none a definition `drop` could take out
            return report
        message = (
            f"dropped the tester's {', '.join(names)}: failed on code that passes the "
            "function's trusted checks"
        )
        self.run.emit("iteration", message, phase="verify", iteration=iteration)
        self.pos.report = report = self.test("verify", iteration)
        return report

    def _code_steps(self, steps: list[roles.PlanStep], iteration: int) -> None:
        """The plan's independent steps at once; their problems go to the debugger."""

        def emit(message: str) -> None:
            self.run.emit("step", message, phase="coder", iteration=iteration)

        def brief_for(step: roles.PlanStep) -> coder.Brief:
            plan = roles.Plan((step,), step.files)
            brief = self._brief(plan)
            return dataclasses.replace(brief, task=f"{step.goal}\n\n(Part of: {brief.task})")

        outcomes = plan_steps.code_steps(
            self.gateway,
            steps,
            brief_for,
            self.copy,
            limit=self.settings.max_parallel_steps,
            emit=emit,
        )
        if not any(o.changes for o in outcomes if not o.problem):
            raise FormatError("no plan step gave a usable edit")
        self.pos.feedback = plan_steps.problems(outcomes)

    def _brief(self, plan: roles.Plan | None = None) -> coder.Brief:
        pos = self.pos
        assert pos.report is not None
        brief = focus.brief(
            self.run.request,
            pos.report,
            self.copy,
            self.run.search,
            plan or pos.plan,
            pos.feedback,
        )
        if self.run.journal is not None:
            query = f"{self.run.request.task}\n{brief.failure[:500]}"
            brief = dataclasses.replace(brief, lessons=self.run.journal.context(query))
        return brief

    def _review(self, before: TestReport, after: TestReport) -> roles.Review | None:
        self.state("review", "the critic reviews the change")
        changes = self.copy.changes()
        evidence = f"before: {before.summary()}; after: {after.summary()}"
        critic = roles.Critic(self.gateway)
        return critic.review(self.run.request.task, patch.unified_diff(changes), evidence, changes)

    def _propose(
        self, after: TestReport, iteration: int, verdict: roles.Review | None, note: str = ""
    ) -> RunResult:
        assert self.pos.before is not None
        self.run.gateway = self.gateway
        result = _green(self.run, self.copy, self.pos.before, after, iteration)
        result = dataclasses.replace(result, message=result.message + note)
        if not self.pos.before.ok and result.proposal is not None:
            self.run.lesson = (self.pos.before.failure_text(LESSON_CHARS), result.proposal.diff)
        pos = self.pos
        # What a revision (`resume.revise`) continues from: this change, as the last green one.
        pos.iteration, pos.report, pos.proposed = iteration, after, True
        pos.green = {"edits": dict(self.copy.edits), "report": after, "iteration": iteration}
        if verdict is not None:
            pos.green["review"] = {"approved": verdict.approved, "feedback": verdict.feedback}
        self.save()
        if self.run.journal is not None:
            self.run.journal.state("PROPOSE", result.message)
        if result.proposal and (verdict is not None or pos.tests_written or pos.dropped):
            review, message = (verdict.feedback if verdict else ""), result.message
            if verdict is not None and not verdict.approved:
                review = f"The critic asked for a revision that no iteration was left for: {review}"
                message += "; the critic still asks for a revision"
            evidence = dataclasses.replace(
                result.proposal.evidence,
                review=review,
                new_tests=tuple(pos.tests_written),
                dropped_tests=tuple(pos.dropped),
            )
            if pos.dropped:
                message += f"; dropped the tester's {', '.join(pos.dropped)}"
            proposal = dataclasses.replace(result.proposal, evidence=evidence)
            result = dataclasses.replace(result, message=message, proposal=proposal)
        return result


def _general(reason: str) -> str:
    """A reason as a mistake worth remembering elsewhere: no paths, lines or names."""
    reason = reason.splitlines()[0] if reason else "no reason given"
    reason = re.sub(r"\S+\.py\b", "a file", reason)
    reason = re.sub(r"\(.*?\)|line \d+:?", "", reason)
    return " ".join(reason.split()).rstrip(" :.")[:160]


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
