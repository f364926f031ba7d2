"""When the tester is the one that is wrong.

The tester's new tests are a model's guesses: their expected values are often wrong with the
embedded models (the 0.5B wrote `make_a_pile(7) == [7, 9, 11, 13, 15, 17]`, six levels for
seven). They are targets of an "implement" run, so one wrong assert kept every answer red,
and the debugger was asked to bend right code to it. So when a change leaves nothing red but
some of the tester's tests, and it passes every trusted check of the function it implements
(the docstring's examples, and the project's tests that touch it) with at least one such
check there, the failing tester tests are dropped from the change rather than the code
changed. The proposal says which (`Evidence.dropped_tests`). With no trusted check to go by,
the tester's tests stay the gate.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from greenpatch.agents import best_of, sampling
from greenpatch.agents.workcopy import WorkingCopy
from greenpatch.sandbox import TestReport

if TYPE_CHECKING:  # the loop imports this module; only the type is needed here
    from greenpatch.agents.loop import Machine


def disputed(machine: Machine, report: TestReport) -> list[str]:
    """The tester's failing tests (node ids) to drop, or [] when the change has to answer
    for them: something else is red, or no trusted check vouches for the code."""
    pos = machine.pos
    tester = set(pos.tests_written)
    if not tester or report.status in ("error", "timeout", "interrupted"):
        return []
    before = {c.nodeid for c in pos.before.failures} if pos.before else set()
    failing = {c.nodeid for c in report.failures}
    mine = {f for f in failing if f.split("::")[0] in tester}
    others = {t for t in pos.targets if t not in tester}
    if not mine or failing - mine - before:
        return []
    if any(f == t or f.startswith(t + "::") for f in failing for t in others):
        return []
    return sorted(mine) if _vouched(machine, report) else []


def _vouched(machine: Machine, report: TestReport) -> bool:
    """Whether the function the run implements passes its trusted checks, and has some.
    The docstring's examples are read from the function as it was before the run: a change
    that rewrote them does not vouch for itself."""
    copy = machine.copy
    unit = best_of.target_function(machine, WorkingCopy(copy.root, copy.buffers))
    if unit is None:
        return False
    checks = best_of.visible_checks(machine, unit)
    project = [c for c in report.cases if c.nodeid.split("::")[0] in checks.project_files]
    if any(c.outcome != "passed" for c in project):
        return False
    if checks.examples and checks.module is not None:
        verdict = sampling.probe(
            machine.sandbox,
            machine.copy.root,
            machine.copy.overlay(),
            f"module:{checks.module}",
            checks.examples,
            python=machine.python,
            timeout=machine.settings.sandbox.timeout_s,
        )
        return not (verdict.error or verdict.failures)
    return bool(project)


def drop(machine: Machine, nodeids: list[str]) -> list[str]:
    """Take the tests out of the tester's files (a file left with no test goes); returns
    the names dropped, as `file::test`."""
    pos, copy = machine.pos, machine.copy
    names: dict[str, set[str]] = {}
    for nodeid in nodeids:
        path, _, rest = nodeid.partition("::")
        names.setdefault(path, set()).add(rest.split("[")[0].split("::")[0])
    dropped = []
    for path, tests in names.items():
        kept = without_tests(copy.read(path) or "", tests)
        if kept is None:  # the file goes back to what it was: none, for a new one
            copy.edits[path] = copy.originals.get(path)
            pos.tests_written.remove(path)
            pos.targets = [t for t in pos.targets if t.split("::")[0] != path]
        else:
            copy.edits[path] = kept
        dropped += [f"{path}::{name}" for name in sorted(tests)]
    pos.dropped += dropped
    return dropped


def without_tests(source: str, names: set[str]) -> str | None:
    """The module less the named top-level tests (functions or classes, decorators and all);
    None when no test would be left."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    cut: set[int] = set()
    left = 0
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if node.name in names:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            cut.update(range(first, (node.end_lineno or node.lineno) + 1))
        elif node.name.startswith(("test", "Test")):
            left += 1
    if not left:
        return None
    lines = source.splitlines(keepends=True)
    text = "".join(line for n, line in enumerate(lines, 1) if n not in cut)
    return re.sub(r"\n{4,}", "\n\n\n", text)  # no wider gap than two blank lines
