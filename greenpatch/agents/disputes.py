"""When the tester is the one that is wrong.

The tester's new tests are a model's guesses: their expected values are often wrong with the
embedded models (the 0.5B wrote `make_a_pile(7) == [7, 9, 11, 13, 15, 17]`, six levels for
seven). They are targets of an "implement" run, so one wrong assert kept every answer red,
and the debugger was asked to bend right code to it. So when a change leaves nothing red but
some of the tester's tests, and the function it implements passes every trusted check with
at least one such check there, the failing tester tests are dropped from the change rather
than the code changed; the proposal says which (`Evidence.dropped_tests`).

Trusted, here: the function was a stub before the run (so what it is checked against is the
user's, not old behaviour), its docstring's examples as they were then, and the project's
tests that touch it, unless the change edited them. Never disputed: a property test
(hypothesis's `@given`: its failure is a counterexample, not a guessed value), and any
tester test once the run has been green (it passed then, so failing now is a regression).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection
from typing import TYPE_CHECKING

from greenpatch.agents import best_of, sampling
from greenpatch.agents.context import is_stub
from greenpatch.agents.workcopy import WorkingCopy
from greenpatch.sandbox import TestReport

if TYPE_CHECKING:  # the loop imports this module; only the type is needed here
    from greenpatch.agents.loop import Machine


def disputed(machine: Machine, report: TestReport) -> list[str]:
    """The tester's failing tests (node ids) to drop, or [] when the change has to answer
    for them: something else is red, no trusted check vouches for the code, or a failing
    test is one that is never disputed."""
    pos = machine.pos
    tester = set(pos.tests_written)
    if not tester or pos.green is not None:
        return []
    if report.status in ("error", "timeout", "interrupted"):
        return []
    before = {c.nodeid for c in pos.before.failures} if pos.before else set()
    failing = {c.nodeid for c in report.failures}
    mine = {f for f in failing if f.split("::")[0] in tester}
    others = {t for t in pos.targets if t not in tester}
    if not mine or failing - mine - before:
        return []
    if any(f == t or f.startswith(t + "::") for f in failing for t in others):
        return []
    for nodeid in mine:
        path, parts = _split(nodeid)
        if _is_property(machine.copy.read(path) or "", parts):
            return []
    return sorted(mine) if _vouched(machine, report) else []


def _vouched(machine: Machine, report: TestReport) -> bool:
    """Whether the function the run implements passes its trusted checks, and has some."""
    copy = machine.copy
    unit = best_of.target_function(machine, WorkingCopy(copy.root, copy.buffers))
    if unit is None or not is_stub(unit):
        return False
    checks = best_of.visible_checks(machine, unit)
    untouched = {
        path
        for path in checks.project_files
        if path not in copy.edits or copy.edits[path] == copy.originals.get(path)
    }
    project = [c for c in report.cases if c.nodeid.split("::")[0] in untouched]
    if any(c.outcome in ("failed", "error") for c in project):
        return False
    if checks.examples and checks.module is not None:
        verdict = sampling.probe(
            machine.sandbox,
            copy.root,
            copy.overlay(),
            f"module:{checks.module}",
            checks.examples,
            python=machine.python,
            timeout=machine.settings.sandbox.timeout_s,
        )
        return not (verdict.error or verdict.failures)
    return any(c.outcome == "passed" for c in project)


def drop(machine: Machine, nodeids: list[str]) -> list[str]:
    """Take the tests out of the tester's files (a file left with no test goes back to what
    it was); returns the tests dropped, as `file::name`, each once."""
    pos, copy = machine.pos, machine.copy
    by_file: dict[str, set[tuple[str, ...]]] = {}
    for nodeid in nodeids:
        path, parts = _split(nodeid)
        by_file.setdefault(path, set()).add(parts)
    dropped: list[str] = []
    for path, tests in by_file.items():
        source = copy.read(path) or ""
        kept = without_tests(source, tests)
        if kept == source:
            continue  # not a definition this can take out: nothing changed, nothing said
        if kept is None:
            copy.edits[path] = copy.originals.get(path)
            pos.tests_written.remove(path)
            pos.targets = [t for t in pos.targets if t.split("::")[0] != path]
        else:
            copy.edits[path] = kept
        dropped += [f"{path}::{'::'.join(parts)}" for parts in sorted(tests)]
    pos.dropped += [name for name in dropped if name not in pos.dropped]
    return dropped


def _split(nodeid: str) -> tuple[str, tuple[str, ...]]:
    """`file::Class::test[param]` as the file and the names (`Class`, `test`)."""
    path, _, rest = nodeid.partition("::")
    return path, tuple(part.split("[")[0] for part in rest.split("::"))


def _definition(tree: ast.Module, parts: tuple[str, ...]) -> ast.AST | None:
    scope: list[ast.stmt] = tree.body
    found: ast.AST | None = None
    for name in parts:
        found = next((n for n in scope if isinstance(n, _DEFS) and n.name == name), None)
        if found is None:
            return None
        scope = found.body if isinstance(found, ast.ClassDef) else []
    return found


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _is_property(source: str, parts: tuple[str, ...]) -> bool:
    try:
        node = _definition(ast.parse(source), parts)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return False
    decorators = getattr(node, "decorator_list", [])
    return any("given" in ast.unparse(d) for d in decorators)


def without_tests(source: str, tests: Collection[tuple[str, ...]]) -> str | None:
    """The module less the named tests (`("test_x",)`, or `("TestC", "test_y")` for a method;
    decorators and all); a class left with no test goes too. None when no test would be
    left; the source unchanged when none of them is defined there."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return source
    cut: set[int] = set()

    def span(node: ast.AST) -> range:
        assert isinstance(node, _DEFS)
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        return range(first, (node.end_lineno or node.lineno) + 1)

    for parts in tests:
        node = _definition(tree, parts)
        if node is not None:
            cut.update(span(node))
    left = 0
    for node in tree.body:
        if not isinstance(node, _DEFS) or not node.name.startswith(("test", "Test")):
            continue
        if isinstance(node, ast.ClassDef):
            methods = [m for m in node.body if isinstance(m, _DEFS) and m.name.startswith("test")]
            if methods and all(set(span(m)) <= cut for m in methods):
                cut.update(span(node))
        if not set(span(node)) <= cut:
            left += 1
    if not cut:
        return source
    if not left:
        return None
    lines = source.splitlines(keepends=True)
    text = "".join(line for n, line in enumerate(lines, 1) if n not in cut)
    return re.sub(r"\n{4,}", "\n\n\n", text)  # no wider gap than two blank lines
