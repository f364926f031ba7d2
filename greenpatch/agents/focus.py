"""What a coder turn is shown: the functions under repair, the failing tests, the files the
plan or the index point at, kept small enough for small models."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from greenpatch.agents import coder, context, roles
from greenpatch.agents.types import TaskRequest
from greenpatch.agents.workcopy import WorkingCopy
from greenpatch.sandbox import TestReport

log = logging.getLogger(__name__)

MAX_UNITS = 3
MAX_CALLEES = 2  # functions of the same file the shown ones call
MAX_FILES = 4
FAILURE_CHARS = 2500


def search_index(search: Callable[[str, int], list[Any]] | None, query: str, k: int) -> list[Any]:
    if search is None:
        return []
    try:
        return search(query, k)
    except Exception as exc:  # the index is a help, never a reason to fail a run
        log.warning("index search failed: %s", exc)
        return []


def target_unit(request: TaskRequest, copy: WorkingCopy) -> context.CodeUnit | None:
    if not request.path or context.is_test_file(request.path):
        return None
    text = copy.read(request.path)
    if text is None:
        return None
    if request.symbol:
        return context.unit_named(request.path, text, request.symbol)
    return context.unit_at(request.path, text, (request.line or 0) + 1)


PLANNED_MODULE_LINES = 200  # a longer module is more than a small prompt should carry


def planned_module(plan: roles.Plan, copy: WorkingCopy) -> context.CodeUnit | None:
    """The first Python module the plan changes, whole, as what the tester writes tests
    for (a task has no one function to point at); None when there is none or it is long."""
    for path in plan.files:
        text = copy.read(path)
        if not path.endswith(".py") or context.is_test_file(path) or text is None:
            continue
        lines = text.count("\n") + 1
        if lines > PLANNED_MODULE_LINES:
            return None
        stem = path.removesuffix(".py").rsplit("/", 1)[-1]
        return context.CodeUnit(path, stem, stem, 1, lines, text, "", kind="module")
    return None


def brief(
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
    # The first two failing tests, each once (a parametrized test fails once a parameter).
    failing = dict.fromkeys(context.split_nodeid(c.nodeid) for c in report.failures)
    for test_path, test_name in list(failing)[:2]:
        text = copy.read(test_path)
        test_unit = context.unit_named(test_path, text, test_name) if text else None
        if test_unit:
            tests.append(test_unit.source)
        for unit in context.functions_under_test(test_path, test_name, copy.read):
            if unit not in units:
                units.append(unit)
    retrieved: list[str] = list(plan.files) if plan else []
    if not units and not request.path:  # e.g. the run's change broke an import: mend it
        units = changed_units(copy)
    if not units and not request.path:
        found, ranked = retrieve(request.task, copy, search)
        units, retrieved = found, retrieved + [f for f in ranked if f not in retrieved]
    units = outermost(units[:MAX_UNITS])
    units += context.callees_of(units, copy.read, MAX_CALLEES)
    units = context.constants_read_by(units, copy.read) + units  # as the file reads
    paths = list(
        dict.fromkeys(
            [u.path for u in units] + ([request.path] if request.path else []) + retrieved
        )
    )[:MAX_FILES]
    files = tuple((p, t) for p in paths if (t := copy.read(p)) is not None)
    failure = report.failure_text(FAILURE_CHARS) if not report.ok else ""
    task = request.task
    if plan and plan.from_model and len(plan.steps) > 1:
        task += "\n\nPlan:\n" + "\n".join(f"{i}. {g}" for i, g in enumerate(plan.goals, 1))
    if feedback:
        task += "\n\n" + feedback
    return coder.Brief(task, tuple(units), files, "\n".join(tests), failure)


def changed_units(copy: WorkingCopy) -> list[context.CodeUnit]:
    """The functions and classes the run's edits changed, in the code as it now is."""
    units: list[context.CodeUnit] = []
    for change in copy.changes():
        if not change.path.endswith(".py") or context.is_test_file(change.path):
            continue
        lines = roles.added_lines(change)
        for unit in context.units_in(change.path, change.new_text or ""):
            if unit.kind == "def" and any(unit.start <= n <= unit.end for n in lines):
                units.append(unit)
    return outermost(units)


def outermost(units: list[context.CodeUnit]) -> list[context.CodeUnit]:
    """The units not inside another one shown: a method the test calls goes when its class
    is shown (measured: the LRU cache's class, then its `get` and `keys` again as top-level
    functions, for the 1.5B model to rewrite twice)."""
    return [
        u
        for u in units
        if not any(
            o != u and o.path == u.path and o.start <= u.start and u.end <= o.end for o in units
        )
    ]


def retrieve(
    task: str, copy: WorkingCopy, search: Callable[[str, int], list[Any]] | None
) -> tuple[list[context.CodeUnit], list[str]]:
    """Units and files the index ranks highest for the task text."""
    units: list[context.CodeUnit] = []
    files: list[str] = []
    for hit in search_index(search, task, 10):
        if hit.path not in files:
            files.append(hit.path)
        text = copy.read(hit.path) if hit.symbol else None
        unit = context.unit_named(hit.path, text, hit.symbol) if text else None
        if unit and unit not in units and not context.is_test_file(unit.path):
            units.append(unit)
    return units[:MAX_UNITS], files[:MAX_FILES]
