"""Code actions from cheap local facts only: the document's AST, the last test report and the
diagnostics the editor sends. No model call, no disk scan: this runs inside an LSP request.
Pure functions; the server turns `Gesture`s into lsprotocol types."""

from __future__ import annotations

import ast
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from greenpatch.agents.context import empty_body

STUB_MARKERS = ("TODO", "FIXME")


@dataclass(frozen=True)
class Gesture:
    """One offer to the user: a title, and the command with its arguments."""

    title: str
    command: str
    arguments: dict[str, Any] = field(default_factory=dict)
    preferred: bool = False


def _enclosing(tree: ast.Module, line: int) -> list[ast.AST]:
    """Function and class nodes around a 1-based line, outermost first."""
    chain: list[ast.AST] = []

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if start <= line <= (node.end_lineno or node.lineno):
                chain.append(node)
                visit(node.body)
                return

    visit(tree.body)
    return chain


def _is_stub(node: ast.FunctionDef | ast.AsyncFunctionDef, source: str) -> bool:
    if empty_body(node):
        return True
    segment = ast.get_source_segment(source, node) or ""
    return any(marker in segment for marker in STUB_MARKERS)


def gestures_at(
    path: str,
    source: str,
    line: int,
    *,
    failing_tests: Collection[str] = (),
    selection: tuple[int, int] | None = None,
) -> list[Gesture]:
    """The offers for a 0-based line of a Python file at workspace-relative `path`.

    `failing_tests` are node ids known to fail (from the last test report); `selection` is a
    (start, end) 0-based line range when the user selected text.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    chain = _enclosing(tree, line + 1)
    offers: list[Gesture] = []
    where = {"path": path, "line": line}
    funcs = [n for n in chain if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    test = next((f for f in reversed(funcs) if f.name.startswith("test")), None)
    if test is not None:
        classes = [n.name for n in chain if isinstance(n, ast.ClassDef)]
        nodeid = "::".join([path, *classes, test.name])
        known_failing = nodeid in failing_tests
        offers.append(
            Gesture(
                f"Greenpatch: fix this failing test ({test.name})",
                "greenpatch.runTask",
                {
                    **where,
                    "kind": "fix",
                    "tests": [nodeid],
                    "symbol": test.name,
                    "task": f"Make the failing test {nodeid} pass by fixing the code it tests.",
                },
                preferred=known_failing,
            )
        )
    elif chain:
        node = chain[-1]
        name = getattr(node, "name", "")
        qual = ".".join(getattr(n, "name", "") for n in chain)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _is_stub(node, source):
            offers.append(
                Gesture(
                    f"Greenpatch: implement {name}",
                    "greenpatch.runTask",
                    {
                        **where,
                        "kind": "implement",
                        "symbol": qual,
                        "task": f"Implement {qual} in {path} as its signature and docstring say.",
                    },
                    preferred=True,
                )
            )
        offers.append(
            Gesture(
                f"Greenpatch: write tests for {name}",
                "greenpatch.runTask",
                {
                    **where,
                    "kind": "task",
                    "symbol": qual,
                    "task": f"Write pytest tests for {qual} in {path}.",
                },
            )
        )
        offers.append(
            Gesture(
                f"Greenpatch: refactor {name}...",
                "greenpatch.runTask",
                {
                    **where,
                    "kind": "task",
                    "symbol": qual,
                    "ask": True,
                    "task": f"Refactor {qual} in {path}: ",
                },
            )
        )
    if selection is not None and selection[0] != selection[1]:
        offers.append(
            Gesture(
                "Greenpatch: change the selection...",
                "greenpatch.runTask",
                {
                    **where,
                    "kind": "task",
                    "ask": True,
                    "range": list(selection),
                    "task": f"In {path}, lines {selection[0] + 1}-{selection[1] + 1}: ",
                },
            )
        )
    return offers
