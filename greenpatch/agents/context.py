"""Focused context for small models: the failing test, the failed assertion and the one or two
functions under repair, never whole files (measured: given the whole module and its tests, the
1.5B model echoed the tests back; given the function and the failed assertion it fixed it)."""

from __future__ import annotations

import ast
import logging
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass

log = logging.getLogger(__name__)

Reader = Callable[[str], str | None]


@dataclass(frozen=True)
class CodeUnit:
    """A function or class in a file (`kind` "def"), or a module-level assignment to one
    name ("assign"), with its exact source lines (1-based, inclusive, decorators included)."""

    path: str
    name: str
    qualname: str
    start: int
    end: int
    source: str
    indent: str
    kind: str = "def"


MAX_CONSTANT_LINES = 30  # a longer table is data, not something to show a small model


def _parsed(text: str) -> tuple[ast.Module, list[str]] | None:
    try:
        return ast.parse(text), text.splitlines(keepends=True)
    except SyntaxError:
        return None


def units_in(path: str, text: str) -> list[CodeUnit]:
    """Every function, method and class of a Python file."""
    if (parsed := _parsed(text)) is None:
        return []
    tree, lines = parsed
    out: list[CodeUnit] = []

    def visit(body: Iterable[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                end = node.end_lineno or node.lineno
                first = lines[start - 1]
                out.append(
                    CodeUnit(
                        path=path,
                        name=node.name,
                        qualname=prefix + node.name,
                        start=start,
                        end=end,
                        source="".join(lines[start - 1 : end]),
                        indent=first[: len(first) - len(first.lstrip())],
                    )
                )
                if isinstance(node, ast.ClassDef):
                    visit(node.body, prefix + node.name + ".")

    visit(tree.body, "")
    return out


def assignments_in(path: str, text: str) -> list[CodeUnit]:
    """The module-level assignments of a Python file that bind one name (`_UNITS = {...}`,
    `LIMIT: int = 5`)."""
    if (parsed := _parsed(text)) is None:
        return []
    tree, lines = parsed
    out: list[CodeUnit] = []
    for node in tree.body:
        target = single_name(node)
        if target is not None:
            end = node.end_lineno or node.lineno
            source = "".join(lines[node.lineno - 1 : end])
            out.append(CodeUnit(path, target, target, node.lineno, end, source, "", "assign"))
    return out


def single_name(node: ast.stmt) -> str | None:
    """The one name a module-level assignment binds, if it binds exactly one."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target: ast.expr = node.targets[0]
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        target = node.target
    else:
        return None
    return target.id if isinstance(target, ast.Name) else None


def constants_read_by(units: Iterable[CodeUnit], read: Reader) -> list[CodeUnit]:
    """The module-level assignments the given functions read, in file order: a bug can sit
    in a lookup table or a constant the function uses (measured: with only the function
    shown, the 0.5B model echoed it back unchanged, three times)."""
    found: list[CodeUnit] = []
    by_path: dict[str, set[str]] = {}
    for unit in units:
        if unit.kind == "def":
            by_path.setdefault(unit.path, set()).update(_loaded_names(unit.source))
    for path, names in by_path.items():
        text = read(path)
        for assign in assignments_in(path, text) if text else []:
            short = assign.end - assign.start < MAX_CONSTANT_LINES
            if assign.name in names and short and assign not in found:
                found.append(assign)
    return found


def callees_of(units: Iterable[CodeUnit], read: Reader, limit: int) -> list[CodeUnit]:
    """Top-level functions of the same file that the given functions call, then classes
    they construct, at most `limit`: a test fails in `paginate` while the bug sits in the
    `page_count` it calls (measured: shown `paginate` alone, the 0.5B model returned it
    unchanged, nine times; and with classes first, an exception class and a dataclass
    defined above `page_count` took both places and the 1.5B model echoed all three)."""
    units = list(units)
    found: list[CodeUnit] = []
    for unit in units:
        if unit.kind != "def":
            continue
        text = read(unit.path)
        if text is None:
            continue
        called = _called_names(unit.source)
        for other in units_in(unit.path, text):
            fresh = other not in units and other not in found
            if other.qualname in called and other.qualname == other.name and fresh:
                found.append(other)
    return sorted(found, key=_is_class)[:limit]


def _is_class(unit: CodeUnit) -> bool:
    try:
        tree = ast.parse(textwrap.dedent(unit.source))
    except SyntaxError:
        return False
    return bool(tree.body) and isinstance(tree.body[0], ast.ClassDef)


def _loaded_names(source: str) -> set[str]:
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def unit_at(path: str, text: str, line: int) -> CodeUnit | None:
    """The innermost function or class containing a 1-based line."""
    best: CodeUnit | None = None
    for unit in units_in(path, text):
        if unit.start <= line <= unit.end and (best is None or unit.start >= best.start):
            best = unit
    return best


def definition(source: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The function a unit's source defines (None for a class or what does not parse)."""
    try:
        node = ast.parse(textwrap.dedent(source)).body[0]
    except (SyntaxError, IndexError):
        return None
    return node if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else None


def empty_body(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a function is still to be written: its body is a docstring, `pass`, `...`
    or `raise NotImplementedError`, alone or together."""
    for statement in node.body:
        if isinstance(statement, ast.Pass):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # the docstring, or `...`
        if isinstance(statement, ast.Raise) and _names_not_implemented(statement.exc):
            continue
        return False
    return True


def _names_not_implemented(exc: ast.expr | None) -> bool:
    """`raise NotImplementedError` or `raise NotImplementedError(...)`."""
    if isinstance(exc, ast.Call):
        exc = exc.func
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def is_stub(unit: CodeUnit) -> bool:
    """Whether a shown function's body is still missing (see `empty_body`); an `@overload`
    or `@abstractmethod` is empty by design."""
    node = definition(unit.source) if unit.kind == "def" else None
    if node is None:
        return False
    decorators = {ast.unparse(d).rsplit(".", 1)[-1] for d in node.decorator_list}
    return not decorators & {"overload", "abstractmethod"} and empty_body(node)


def unit_named(path: str, text: str, name: str) -> CodeUnit | None:
    for unit in units_in(path, text):
        if name in (unit.qualname, unit.name):
            return unit
    return None


def _called_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                names.add(node.func.id)
            elif isinstance(node.func, ast.Attribute):
                names.add(node.func.attr)
    return names


def imported_modules(text: str) -> dict[str, str]:
    """Imported name -> module path candidate (`pkg/mod.py`) for `from x import y` and
    `import x` statements of a test file."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {}
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                found[alias.asname or alias.name] = node.module.replace(".", "/")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found[alias.asname or alias.name.split(".")[0]] = alias.name.replace(".", "/")
    return found


def module_files(module: str) -> tuple[str, ...]:
    """Where a module may live in a workspace (flat and src layouts)."""
    return (
        f"{module}.py",
        f"{module}/__init__.py",
        f"src/{module}.py",
        f"src/{module}/__init__.py",
    )


def functions_under_test(test_path: str, test_name: str, read: Reader) -> list[CodeUnit]:
    """The project functions a test calls, found through the test module's imports."""
    text = read(test_path)
    if text is None:
        return []
    test = unit_named(test_path, text, test_name)
    if test is None:
        return []
    called = _called_names(test.source)
    imports = imported_modules(text)
    units: list[CodeUnit] = []
    for name in sorted(called):
        module = imports.get(name)
        candidates: list[tuple[str, str]] = []
        if module:
            # `from pkg.mod import f` -> f in pkg/mod.py; `import pkg.mod` -> attribute of it
            candidates += [(f, name) for f in module_files(module)]
        candidates += [(f, name) for mod in set(imports.values()) for f in module_files(mod)]
        for file, symbol in candidates:
            source = read(file)
            unit = unit_named(file, source, symbol) if source else None
            if unit and unit not in units:
                units.append(unit)
                break
    return units


def failing_frame_units(frames: Iterable[tuple[str, int]], read: Reader) -> list[CodeUnit]:
    """Functions containing the given (path, 1-based line) frames, skipping test files."""
    units: list[CodeUnit] = []
    for path, line in frames:
        if is_test_file(path):
            continue
        text = read(path)
        unit = unit_at(path, text, line) if text else None
        if unit and unit not in units:
            units.append(unit)
    return units


def is_test_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.startswith("test_") or name.endswith("_test.py") or "/tests/" in f"/{path}"


def split_nodeid(nodeid: str) -> tuple[str, str]:
    """`tests/test_x.py::TestA::test_b[1]` -> (`tests/test_x.py`, `test_b`)."""
    path, _, rest = nodeid.partition("::")
    name = rest.rsplit("::", 1)[-1].split("[", 1)[0]
    return path, name
