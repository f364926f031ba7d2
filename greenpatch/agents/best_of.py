"""The loop's sampling step: several answers for one function, the one the tests pick kept.

Measured on HumanEval with the embedded 0.5B model (every 10th problem): one greedy answer
passed 35.3%, sampling and selecting by the visible tests 58.8%; feedback from the debugger
barely helps models that small. So when a request targets one function
(`focus.target_unit`), the coder's first answer rewrote it, and either the request is
"implement" or that answer fails the visible tests, the coder is asked for more answers at
`sampling.temperature` (at most `sampling.samples` in all), each is run in the sandbox on the
visible tests, and `sampling.select` keeps one. The loop then goes on with it as with any
coder answer: TEST, DEBUG while red, REVIEW.

A fix (a run with target tests: the failing test it was asked for, or tests the request
names) is sampled the same way when an answer, the coder's or the debugger's, leaves a
target red: more answers from that role, each run on the target tests alone, the first to
pass them all kept (`choose_fix`; `sampling.fixes`, by default for local models only).

The visible tests: the function's docstring examples (trusted, as the user wrote them), the
project's existing test files that touch it (trusted), and the tester's new tests (their
values untrusted: they count towards the answers' agreement, as in CodeT). Every extra
answer is a coder call through the run's gateway, so the budget, the transcript and
cancellation see it; each sample is announced as a phase ("sampling 2/5"), which also checks
cancellation and the time limit.
"""

from __future__ import annotations

import ast
import dataclasses
import logging
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from greenpatch import patch
from greenpatch.agents import coder, focus, roles, sampling
from greenpatch.agents.context import CodeUnit, is_test_file, unit_named
from greenpatch.agents.workcopy import WorkingCopy, fingerprint
from greenpatch.errors import FormatError
from greenpatch.sandbox import TestReport, related_tests, run_pytest

if TYPE_CHECKING:  # the loop imports this module; only the type is needed here
    from greenpatch.agents.loop import Machine

log = logging.getLogger(__name__)

Changes = tuple[patch.FileChange, ...]


@dataclass(frozen=True)
class Checks:
    """The visible tests of one function, ready to run on every answer."""

    unit: CodeUnit
    module: str | None  # the module the probe imports; None for a method (no probe)
    examples: tuple[sampling.Example, ...] = ()  # the docstring's: trusted
    inputs: tuple[sampling.Example, ...] = ()  # the tester's assertions: values untrusted
    tester_files: tuple[str, ...] = ()
    project_files: tuple[str, ...] = ()  # existing test files that touch the function

    @property
    def probed(self) -> bool:
        return self.module is not None and bool(self.examples or self.inputs)

    @property
    def any(self) -> bool:
        return self.probed or bool(self.tester_files or self.project_files)

    def describe(self) -> str:
        parts = [
            f"{len(self.examples)} docstring example(s)" if self.examples else "",
            f"tests in {', '.join(self.project_files)}" if self.project_files else "",
            f"the tester's {', '.join(self.tester_files)}" if self.tester_files else "",
        ]
        return "; ".join(p for p in parts if p) or "nothing"


def target_function(machine: Machine, copy: WorkingCopy | None = None) -> CodeUnit | None:
    """The one function the request points at, if it points at a function: as it is in
    `copy`, by default the run's working copy."""
    unit = focus.target_unit(machine.run.request, copy or machine.copy)
    if unit is None:
        return None
    try:
        node = ast.parse(textwrap.dedent(unit.source)).body[0]
    except (SyntaxError, IndexError):
        return None
    return unit if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else None


def rewrites(unit: CodeUnit, copy: WorkingCopy, changes: Changes) -> bool:
    """Whether `changes` give the function a new body (an answer that left it alone, e.g.
    a new test file, is no candidate for it)."""
    new = next((c.new_text for c in changes if c.path == unit.path), None)
    if new is None:
        return False
    rewritten = unit_named(unit.path, new, unit.qualname)
    return rewritten is not None and rewritten.source != unit.source


def visible_checks(machine: Machine, unit: CodeUnit) -> Checks:
    copy = machine.copy
    top_level = unit.qualname == unit.name
    examples = sampling.docstring_examples(textwrap.dedent(unit.source), unit.name)
    tester = tuple(p for p in machine.pos.tests_written if copy.read(p) is not None)
    inputs = [e for p in tester for e in sampling.assertion_examples(copy.read(p) or "", unit.name)]
    mentions = re.compile(rf"\b{re.escape(unit.name)}\b")
    project = tuple(
        path
        for path in related_tests(copy.root, [unit.path])
        if path not in tester and is_test_file(path) and mentions.search(copy.read(path) or "")
    )
    return Checks(
        unit,
        roles.module_name(unit.path) if top_level else None,
        tuple(examples) if top_level else (),
        tuple(dict.fromkeys(inputs)) if top_level else (),
        tester,
        project,
    )


def judge(machine: Machine, checks: Checks) -> Callable[[int, Changes], sampling.Verdict]:
    """Run one answer (on top of the run's changes so far) on the visible tests."""
    copy, timeout = machine.copy, machine.settings.sandbox.timeout_s

    def verdict(index: int, changes: Changes) -> sampling.Verdict:
        branch = copy.branch(changes)
        overlay = branch.overlay()
        result = sampling.Verdict(index)
        if checks.probed:
            result = sampling.probe(
                machine.sandbox,
                copy.root,
                overlay,
                f"module:{checks.module}",
                checks.examples,
                checks.inputs,
                index=index,
                python=machine.python,
                timeout=timeout,
            )
            if result.error:
                return result
        files = checks.tester_files + checks.project_files
        if not files:
            return result
        report = run_pytest(
            machine.sandbox,
            copy.root,
            overlay=overlay,
            tests=files,
            timeout=timeout,
            python=machine.python,
        )
        return with_report(result, report, checks)

    return verdict


def with_report(verdict: sampling.Verdict, report: TestReport, checks: Checks) -> sampling.Verdict:
    """The verdict with a pytest run's outcomes: each test's outcome is part of how the answer
    behaves; the project's tests passed count as trusted checks, the tester's as tests."""
    cases = sorted(report.cases, key=lambda c: c.nodeid)

    def passed(files: Sequence[str]) -> int:
        return sum(c.outcome == "passed" for c in cases if c.nodeid.split("::")[0] in files)

    failures = [
        f"{c.nodeid}: {c.message or c.outcome}"[:300]
        for c in cases
        if c.outcome in ("failed", "error") and c.nodeid.split("::")[0] in checks.project_files
    ]
    if not cases and report.status != "passed":  # a run that says nothing counts against
        failures.append(report.summary())
    return dataclasses.replace(
        verdict,
        outputs=verdict.outputs + tuple(f"{c.nodeid} {c.outcome}" for c in cases),
        examples_passed=verdict.examples_passed + passed(checks.project_files),
        tests_passed=verdict.tests_passed + passed(checks.tester_files),
        failures=[*verdict.failures, *failures],
    )


def choose(
    machine: Machine, role: str, brief: coder.Brief, first: Changes, iteration: int
) -> Changes:
    """The role's first answer, or a better one among several when sampling applies: for
    the coder's rewrite of the one function a request points at, or for a fix whose answer
    leaves a target test failing."""
    settings = machine.settings.sampling
    if settings.samples <= 1:
        return first
    unit = target_function(machine) if role == "coder" else None
    if unit is None or not rewrites(unit, machine.copy, first):
        return choose_fix(machine, role, brief, first, iteration)
    checks = visible_checks(machine, unit)
    if not checks.any:
        log.info("no visible tests for %s: keeping the coder's answer", unit.qualname)
        return first
    judged = judge(machine, checks)
    pool: sampling.Pool[Changes] = sampling.Pool()
    pool.add(first, judged)
    passes = pool.verdicts[0].runs and not pool.verdicts[0].failures
    if passes and machine.run.request.kind != "implement":
        return first  # it passes what the tests show: nothing to choose between

    def progress(number: int, total: int) -> None:
        machine.state("sampling", f"sampling {number}/{total} for {unit.qualname}", iteration)

    write = _writer(machine, "coder", brief)
    sampling.draw(
        pool, write, judged, samples=settings.samples, agree=settings.agree, progress=progress
    )
    return _kept(machine, pool, checks.describe(), iteration) or first


def choose_fix(
    machine: Machine, role: str, brief: coder.Brief, first: Changes, iteration: int
) -> Changes:
    """When the answer leaves a target test failing (the test a fix was asked for, or
    tests the request names), more answers from the same role, judged in the sandbox by
    those tests alone and kept by how many of them pass. The tests are trusted, so the
    first answer that passes them all ends the drawing. The tester's new tests are not
    among the judges: their expected values come from a model."""
    settings, pos = machine.settings.sampling, machine.pos
    targets = tuple(t for t in pos.targets if t not in pos.tests_written)
    if not targets or not first or not fix_sampling(machine, role):
        return first
    judged = target_judge(machine, targets)
    pool: sampling.Pool[Changes] = sampling.Pool()
    pool.add(first, judged)
    verdict = pool.verdicts[0]
    if verdict.runs and not verdict.failures:
        return first

    def progress(number: int, total: int) -> None:
        machine.state("sampling", f"sampling {number}/{total} for the failing tests", iteration)

    write = _writer(machine, role, brief)
    sampling.draw(pool, write, judged, samples=settings.samples, agree=1, progress=progress)
    return _kept(machine, pool, f"the target tests ({len(targets)})", iteration) or first


def fix_sampling(machine: Machine, role: str) -> bool:
    """`sampling.fixes`: on, off, or (auto) on for a local model."""
    mode = machine.settings.sampling.fixes
    return mode == "on" or (mode == "auto" and machine.gateway.model_for(role).startswith("local/"))


def target_judge(
    machine: Machine, targets: Sequence[str]
) -> Callable[[int, Changes], sampling.Verdict]:
    """Run one answer (on top of the run's changes so far) on the target tests. A target
    (a node id or a file) counts as passed when it ran and every test of it passed; one
    that failed, was skipped or did not run at all is a failure. A change the run already
    tried is not run again: it does not run (`error`), so it is never kept."""
    copy, timeout = machine.copy, machine.settings.sandbox.timeout_s
    tried = set(machine.pos.attempts)

    def verdict(index: int, changes: Changes) -> sampling.Verdict:
        branch = copy.branch(changes)
        overlay = branch.overlay()
        if fingerprint(overlay) in tried:
            return sampling.Verdict(index, error="the same change as an earlier attempt")
        report = run_pytest(
            machine.sandbox,
            copy.root,
            overlay=overlay,
            tests=list(targets),
            timeout=timeout,
            python=machine.python,
        )
        cases = sorted(report.cases, key=lambda c: c.nodeid)
        if report.status in ("error", "timeout", "interrupted") or not any(
            _ran(c.nodeid, t) for c in cases for t in targets
        ):  # the answer broke what the tests import (or hangs): never kept over one that runs
            why = f"the target tests did not run: {report.summary()}"
            return sampling.Verdict(index, error=why)
        passed, failures = 0, []
        for target in targets:
            mine = [c for c in cases if c.nodeid == target or c.nodeid.startswith(target + "::")]
            mine += [c for c in cases if c.nodeid.startswith(target + "[")]  # parametrized
            bad = [c for c in mine if c.outcome != "passed"]
            if not mine:
                failures.append(f"{target}: did not run ({report.summary()})"[:300])
            elif bad:
                failures.extend(f"{c.nodeid}: {c.message or c.outcome}"[:300] for c in bad)
            else:
                passed += 1
        return sampling.Verdict(
            index,
            outputs=tuple(f"{c.nodeid} {c.outcome}" for c in cases),
            examples_passed=passed,
            failures=failures,
        )

    return verdict


def _ran(nodeid: str, target: str) -> bool:
    """Whether a case is a test of the target that ran (a module that could not be imported
    is a case too, named by its path: not a test that ran)."""
    if nodeid.startswith((target + "::", target + "[")):
        return True
    return nodeid == target and "::" in target


def _writer(machine: Machine, role: str, brief: coder.Brief) -> Callable[[], Changes | None]:
    """One more answer from the role at the sampling temperature (None: unusable), with
    the tools the role's first answer had (the debugger's)."""
    toolbox = machine.tools if role == "debugger" else None
    member = coder.member(role)(machine.gateway)

    def write() -> Changes | None:
        try:
            changes, _ = member.change(
                brief, machine.copy.read, toolbox, temperature=machine.settings.sampling.temperature
            )
        except FormatError as exc:
            log.info("a sample gave no usable edit: %s", exc)
            return None
        return changes

    return write


def _kept(
    machine: Machine, pool: sampling.Pool[Changes], judged_by: str, iteration: int
) -> Changes | None:
    selection = pool.selection()
    chosen = selection.chosen
    if chosen is None:
        message = f"none of {len(pool.answers)} answers ran; going on with the first"
    else:
        message = (
            f"kept answer {chosen.index + 1} of {len(pool.answers)} "
            f"({chosen.examples_passed} trusted check(s) passed, {selection.agreement} alike; "
            f"judged by {judged_by})"
        )
    machine.run.emit("iteration", message, phase="sampling", iteration=iteration)
    return pool.chosen()
