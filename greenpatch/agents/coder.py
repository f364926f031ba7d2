"""The coder and the debugger: each asks its model for a change in the edit format that suits
it, and turns the reply into `FileChange`s or a reason the model can act on. The coder makes
the first change; the debugger, shown how the tests fail on the code as it now is, the next.

Formats: `udiff` (capable models), `search_replace`, and `whole` (small models): the model
rewrites only the functions it was shown, which we splice back into their files.
"""

from __future__ import annotations

import ast
import dataclasses
import logging
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from greenpatch import patch
from greenpatch.agents.context import (
    CodeUnit,
    Reader,
    assignments_in,
    definition,
    is_stub,
    single_name,
    units_in,
)
from greenpatch.agents.gateway import Message
from greenpatch.agents.role import Role, render
from greenpatch.agents.tools import MAX_CALLS, Toolbox, converse, request_in
from greenpatch.errors import FormatError, PatchRefused

log = logging.getLogger(__name__)

FORMAT_RETRIES = 2
RETRY_TEMPERATURE = 0.7  # a retry at the temperature of the answer before would repeat it


class Echo(FormatError):
    """The reply is the code shown, unchanged."""


class TestsGivenBack(FormatError):
    """The reply defines test functions and none of the code shown."""


_OPENING = r"```[ \t]*(?:python|py|python3)?[ \t]*\n"
_FENCE = re.compile(_OPENING + r"(.*?)```", re.DOTALL)


def edit_format_for(model: str, configured: str) -> str:
    """`auto` gives the embedded small models the function-rewrite format, others diffs."""
    if configured != "auto":
        return configured
    return "whole" if model.startswith("local/") else "udiff"


@dataclass(frozen=True)
class Brief:
    """Everything one coder turn needs, already focused."""

    task: str
    units: tuple[CodeUnit, ...]
    files: tuple[tuple[str, str], ...]  # (path, text) shown whole to capable models
    tests: str = ""
    failure: str = ""
    lessons: str = ""  # earlier runs and similar past fixes; left out for small models


_CAPTURED = re.compile(r"^-+ Captured \w+ -+$")


def compact_failure(text: str) -> str:
    """The failure without empty captured-output banners and blank runs: small models read
    every token."""
    lines = [line for line in text.splitlines() if not _CAPTURED.match(line.strip())]
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1].strip()):
            out.append(line)
    return "\n".join(out).strip()


def build_prompt(brief: Brief, fmt: str, failure_template: str = "failure") -> str:
    text = compact_failure(brief.failure)
    failure = render(failure_template, text=text) if text else ""
    if fmt == "whole" and brief.units:
        paths = ", ".join(dict.fromkeys(u.path for u in brief.units))
        units = "\n\n".join(textwrap.dedent(u.source).rstrip() for u in brief.units)
        tests = f"\nThe failing tests:\n```python\n{brief.tests.rstrip()}\n```\n"
        stubs = _stub_names(brief.units)
        # A body still to write is not a bug to find: shown an empty function and asked for
        # "the complete code", the 0.5B model gave the stub back (HumanEval/55, measured).
        name = "coder_implement" if stubs else "coder_whole" if failure else "coder_write"
        return render(
            name,
            task=brief.task,
            paths=paths,
            names=stubs,
            units=units,
            tests=tests if brief.tests.strip() else "",
            failure=failure,
        )
    files = "\n".join(f"{path}:\n```\n{text.rstrip()}\n```\n" for path, text in brief.files)
    if brief.lessons.strip():
        files += f"\n{brief.lessons.strip()}\n"
    name = "coder_search_replace" if fmt == "search_replace" else "coder_udiff"
    return render(name, task=brief.task, files=files, failure=failure)


MAX_ANSWER_TOKENS = 2048


def answer_cap(brief: Brief, fmt: str) -> int:
    """The most tokens a reply may take. A fix in the whole format is the shown code again,
    changed: a reply far longer is a model repeating itself (measured: the 1.5B model gave
    a 40-line function back, then the failing test over and over, 2,048 tokens in 485 s).
    A body still to write, or a diff, keeps the full allowance."""
    if fmt != "whole" or not brief.units or _stub_names(brief.units):
        return MAX_ANSWER_TOKENS
    shown = sum(len(u.source) for u in brief.units) // 3  # about 3 characters a token
    return min(MAX_ANSWER_TOKENS, max(512, 2 * shown + 256))


def _stub_names(units: Sequence[CodeUnit]) -> str:
    """The function under repair (the first shown) when its body is still missing, else "":
    an empty callee shown beside it is no reason to stop debugging."""
    first = next((u for u in units if u.kind == "def"), None)
    return first.name if first is not None and is_stub(first) else ""


class Coder(Role):
    """Writes the change a request asks for."""

    name = "coder"
    failure_template = "failure"  # how the tests' failure is put to it
    greedy = 0.0  # the temperature of its first answer

    def change(
        self,
        brief: Brief,
        read: Reader,
        toolbox: Toolbox | None = None,
        *,
        temperature: float | None = None,
    ) -> tuple[tuple[patch.FileChange, ...], str]:
        """One turn: prompt, then up to FORMAT_RETRIES corrections of unusable replies.
        With a toolbox the role may use tools before it answers (see `tools`). `temperature`
        sets the first attempt's (a sample rather than the greedy answer). Returns the changes
        and the format used; raises FormatError when the model never gave a usable edit."""
        fmt = edit_format_for(self.model, self.gateway.settings.models.edit_format)
        if fmt == "whole" and not brief.units:
            fmt = "udiff"  # nothing focused to rewrite: fall back to a diff over whole files

        def opening_for(brief: Brief) -> list[Message]:
            return self.opening(build_prompt(brief, fmt, self.failure_template), toolbox)

        opening = opening_for(brief)
        messages = list(opening)
        reason = ""
        echoed = False
        for attempt in range(FORMAT_RETRIES + 1):
            first = self.greedy if temperature is None else temperature
            heat = first if attempt == 0 else RETRY_TEMPERATURE
            reply = converse(
                self.gateway,
                self.name,
                messages,
                toolbox,
                temperature=heat,
                max_tokens=answer_cap(brief, fmt),
            ).text
            wants_more = toolbox is not None and request_in(reply) is not None
            if wants_more:
                # Its tools spent, it asked for more: the 1.5B model asked for the same ones
                # again on each of its retries (14 of 23 calls on one project). Answers only now.
                toolbox = None
                opening = opening_for(brief)  # a fresh ask no longer offers tools
            try:
                return parse_reply(reply, fmt, brief.units, read), fmt
            except Echo as exc:
                # Told in the same conversation that its answer was the code unchanged, the
                # 1.5B model gave it back again (measured: 9 echoes of 9 coder calls on one
                # project): once, ask afresh, for the wrong line first; a second echo ends it.
                reason = str(exc)
                log.info("%s gave the code back unchanged", self.name)
                if echoed:
                    break
                echoed = True
                stubs = _stub_names(brief.units)
                again = render("echo_stub", names=stubs) if stubs else render("echo")
                retry = f"{opening[1]['content']}\n\n{again.strip()}"
                messages = [opening[0], {"role": "user", "content": retry}]
            except (FormatError, PatchRefused) as exc:
                reason = str(exc)
                if isinstance(exc, TestsGivenBack) and brief.tests.strip():
                    # Shown the failing tests, the 1.5B model gave them back (9 of 12 replies
                    # on one project, wherever the tests stood in the prompt); without them it
                    # answers with code. Ask afresh, with the failure output only.
                    log.info("%s gave the tests back; asking without them", self.name)
                    brief = dataclasses.replace(brief, tests="")
                    opening = opening_for(brief)
                    messages = list(opening)
                    continue
                if wants_more:
                    reason = f"that was the last tool of this turn (at most {MAX_CALLS}). {reason}"
                log.info("%s reply unusable (%s): %s", self.name, fmt, reason[:300])
                messages += [
                    {"role": "assistant", "content": reply},
                    {"role": "user", "content": render("retry", reason=reason)},
                ]
        raise FormatError(f"the {self.name} gave no usable edit: {reason}")


class Debugger(Coder):
    """Takes the turns after the coder's: the next change, when the last one left the tests
    red (shown the failure: test id, file:line, message, output) or the critic or the user
    asked for a revision. A debugger turn is a retry, so its first answer is drawn at a
    retry's temperature, not greedily."""

    name = "debugger"
    failure_template = "debugger"
    greedy = RETRY_TEMPERATURE


def member(role: str) -> type[Coder]:
    """The class of a role that writes edits: "coder" or "debugger"."""
    return {"coder": Coder, "debugger": Debugger}[role]


def parse_reply(
    reply: str, fmt: str, units: Sequence[CodeUnit], read: Reader
) -> tuple[patch.FileChange, ...]:
    """Turn a model reply into changes, or raise with a message for the model."""
    if fmt == "whole":
        return splice_units(reply, units, read)
    if fmt == "search_replace":
        result = patch.parse_search_replace(reply, read)
    else:
        result = patch.apply_patch(reply, read)
    if not result.ok:
        raise PatchRefused(result.message_for_model())
    if not result.changes:
        raise Echo("the reply changes nothing")
    for change in result.changes:  # the self-check the whole format makes while splicing
        if change.path.endswith(".py") and change.new_text is not None:
            _compiles_if_it_did(change)
    return result.changes


def _compiles_if_it_did(change: patch.FileChange) -> None:
    """FormatError when the edit leaves a Python file that compiled (or a new one) not
    compiling; a file already broken is the task's to mend, not this check's."""
    try:
        compile(change.new_text or "", change.path, "exec")
    except SyntaxError as exc:
        if change.old_text is not None:
            try:
                compile(change.old_text, change.path, "exec")
            except SyntaxError:
                return
        raise FormatError(
            f"{change.path} would not compile after the edit: line {exc.lineno}: {exc.msg}"
        ) from exc


def extract_code(reply: str) -> str:
    """The Python code of a reply: its fenced blocks, or the reply itself when it parses."""
    blocks = [b for b in _FENCE.findall(reply) if b.strip()]
    candidates = ["\n\n".join(blocks), *blocks] if blocks else [reply]
    for code in candidates:
        if (parsed := _parses(textwrap.dedent(code))) is not None:
            return parsed
    if blocks:
        try:
            ast.parse(textwrap.dedent(blocks[0]))
        except SyntaxError as exc:
            raise FormatError(f"the code does not parse: line {exc.lineno}: {exc.msg}") from exc
    raise FormatError("no ```python block with the corrected code was found")


def cut_off_code(reply: str) -> str | None:
    """The complete statements of a code block the reply never closed (it ran out of tokens):
    the lines after the opening fence, less the last (cut off) and as many more as it takes
    to parse."""
    opened = re.search(_OPENING, reply)
    if opened is None or "```" in reply[opened.end() :]:
        return None
    lines = textwrap.dedent(reply[opened.end() :]).split("\n")
    if lines:
        lines.pop()  # cut mid-line (or empty): a prefix of a line can parse, meaning another
    while lines:
        try:
            ast.parse("\n".join(lines))
        except SyntaxError:
            lines.pop()
            continue
        while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
            lines.pop()  # blank lines, and the comment that announced what was cut off
        return "\n".join(lines) or None
    return None


def _parses(code: str) -> str | None:
    """The code if it parses, less any import lines that do not (`from roman/numerals.py
    import from_roman`: the 1.5B model's spelling of the file it was shown, which would
    otherwise waste the whole answer; the splice keeps the file's own imports anyway)."""
    while True:
        try:
            ast.parse(code)
            return code
        except SyntaxError as exc:
            lines = code.split("\n")  # as the parser counts lines (splitlines counts more)
            index = (exc.lineno or 0) - 1
            if not (0 <= index < len(lines)) or not lines[index].startswith(("from ", "import ")):
                return None
            code = "\n".join(lines[:index] + lines[index + 1 :])


def splice_units(
    reply: str, units: Sequence[CodeUnit], read: Reader
) -> tuple[patch.FileChange, ...]:
    """Replace each shown unit by the reply's definition of the same name (a function or
    class; a module-level assignment for a shown constant). A reply cut off at its token
    cap (see `answer_cap`) gives its complete statements."""
    try:
        code = extract_code(reply)
    except FormatError:
        salvaged = cut_off_code(reply)
        if salvaged is None:
            raise
        code = salvaged
    tree = ast.parse(code)
    lines = code.splitlines(keepends=True)
    new_defs: dict[str, str] = {}
    plain: dict[str, list[str]] = {}  # every definition of a name but setters and deleters
    accessors: dict[tuple[str, str], str] = {}  # (name, "setter"): a property's setter
    new_assigns: dict[str, str] = {}
    imports: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            source = "".join(lines[start - 1 : node.end_lineno])
            if accessor := _accessor(node):
                accessors[(node.name, accessor)] = source
            else:
                new_defs[node.name] = source
                plain.setdefault(node.name, []).append(source)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            imports.append("".join(lines[node.lineno - 1 : node.end_lineno]).strip())
        elif (name := single_name(node)) is not None:
            new_assigns[name] = "".join(lines[node.lineno - 1 : node.end_lineno])
    # Shown methods, the model may give back inside a class it rebuilt around them (with
    # made-up other members, measured with the 1.5B): the methods are the answer.
    methods = {u.name for u in units if u.kind == "def" and "." in u.qualname} - set(plain)
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        for member in node.body:
            if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef) and (
                member.name in methods
            ):
                start = min([member.lineno, *(d.lineno for d in member.decorator_list)])
                source = "".join(lines[start - 1 : member.end_lineno])
                if accessor := _accessor(member):
                    accessors.setdefault((member.name, accessor), source)
                else:
                    plain.setdefault(member.name, []).append(source)
    replacement = {
        (u.path, u.qualname, u.start): _new_source(u, plain, accessors, new_assigns) for u in units
    }
    replaced = [u for u in units if replacement[(u.path, u.qualname, u.start)] is not None]
    if not replaced:
        shown = ", ".join(u.name for u in units if u.kind == "def")
        if any(name.lower().startswith("test") for name in new_defs):
            raise TestsGivenBack(f"the reply gives tests back, not the code to fix ({shown})")
        raise FormatError(f"the reply defines none of the functions shown ({shown})")
    changes: list[patch.FileChange] = []
    for path in dict.fromkeys(u.path for u in replaced):
        old = read(path)
        if old is None:
            raise FormatError(f"{path} does not exist")
        ours = [u for u in replaced if u.path == path]
        texts = {
            (u.qualname, u.start): replacement[(u.path, u.qualname, u.start)] or "" for u in ours
        }
        new = _replace_in_file(old, ours, texts, imports)
        functions = [u for u in ours if u.kind == "def"]
        if functions:
            new = _add_helpers(new, functions, new_defs, new_assigns, {u.name for u in units})
        try:
            compile(new, path, "exec")
        except SyntaxError as exc:
            raise FormatError(f"{path} would not compile: line {exc.lineno}: {exc.msg}") from exc
        if new != old:
            changes.append(patch.from_whole_file(path, old, new))
    if not changes:
        raise Echo("the reply is identical to the code shown, which fails the tests")
    return tuple(changes)


def _new_source(
    unit: CodeUnit,
    plain: dict[str, list[str]],
    accessors: dict[tuple[str, str], str],
    assigns: dict[str, str],
) -> str | None:
    """The reply's definition for a shown unit. A property's getter, setter or deleter takes
    the reply's definition of the same kind; failing that (small models drop decorators),
    its last plain definition of that name with as many parameters, so a getter is never
    replaced by a setter, nor the other way round."""
    if unit.kind == "assign":
        return assigns.get(unit.name)
    candidates = plain.get(unit.name, [])
    if not candidates:
        return _class_with_methods(unit, plain)
    node = definition(unit.source)
    accessor = _accessor(node) if node else ""
    if accessor and (unit.name, accessor) in accessors:
        return accessors[(unit.name, accessor)]
    if node is None or not (accessor or _is_property(node)):
        return candidates[-1] if candidates else None
    arity = _arity(node)
    fitting = [c for c in candidates if (d := definition(c)) and _arity(d) == arity]
    return fitting[-1] if fitting else None


def _class_with_methods(unit: CodeUnit, plain: dict[str, list[str]]) -> str | None:
    """A shown class with the methods the reply gave back on their own, at the top level:
    shown a class, the 1.5B model answered with just the method it meant to change
    (bugfix/inventory). Each replaces the class's method of that name and as many
    parameters; its decorators are kept when the reply dropped them. None when the reply
    gives none of the class's methods."""
    source = textwrap.dedent(unit.source)
    try:
        node = ast.parse(source).body[0]
    except (SyntaxError, IndexError):
        return None
    if not isinstance(node, ast.ClassDef):
        return None
    lines = source.splitlines(keepends=True)
    replaced = False
    members = [m for m in node.body if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef)]
    for member in sorted(members, key=lambda m: m.lineno, reverse=True):
        fitting = [
            c
            for c in plain.get(member.name, [])
            if (d := definition(c)) is not None and _arity(d) == _arity(member)
        ]
        if not fitting or _accessor(member):
            continue
        start = min([member.lineno, *(d.lineno for d in member.decorator_list)])
        first = lines[member.lineno - 1]
        new = textwrap.dedent(fitting[-1]).rstrip() + "\n"
        if not _decorators(new):
            new = textwrap.dedent("".join(lines[start - 1 : member.lineno - 1])) + new
        lines[start - 1 : member.end_lineno] = [textwrap.indent(new, first[: -len(first.lstrip())])]
        replaced = True
    return "".join(lines) if replaced else None


def _is_property(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list)


def _arity(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    return len(node.args.posonlyargs) + len(node.args.args)


def _accessor(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
    """ "setter", "getter" or "deleter" for a def decorated `@name.setter` etc., else ""."""
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Attribute) and decorator.attr in _ACCESSORS:
            return decorator.attr
    return ""


_ACCESSORS = frozenset({"setter", "getter", "deleter"})


def _replace_in_file(
    old: str,
    units: Sequence[CodeUnit],
    texts: dict[tuple[str, int], str],
    imports: Sequence[str],
) -> str:
    """`texts`: each unit's new source, by qualified name and start line."""
    lines = old.splitlines(keepends=True)
    # Re-locate each unit in the current text; the brief may predate earlier splices.
    path = units[0].path
    current = [*units_in(path, old), *assignments_in(path, old)]
    located = [_locate(u, current) for u in units]
    for unit, target in sorted(
        zip(units, located, strict=True), key=lambda p: p[1].start, reverse=True
    ):
        new = textwrap.dedent(texts[(unit.qualname, unit.start)]).rstrip() + "\n"
        kept = _decorators(target.source)
        if unit.kind == "def" and kept and not _decorators(new):
            # Small models drop decorators when they rewrite (a @property, a @cache): keep
            # the original's, unless the reply writes its own or removing them is all it
            # changes (the decorator was the bug).
            undecorated = textwrap.dedent(target.source)[len(kept) :]
            if new.strip() != undecorated.strip():
                new = kept + new
        lines[target.start - 1 : target.end] = [textwrap.indent(new, target.indent)]
    text = "".join(lines)
    missing = [i for i in imports if i not in text]
    if missing:
        text = _add_imports(text, missing)
    return text


def _locate(unit: CodeUnit, current: Sequence[CodeUnit]) -> CodeUnit:
    """Where a shown unit is in the file's current text: among the units of its name (a
    property's getter and setter share one), the one with its source, else the nearest."""
    same = [c for c in current if (c.kind, c.qualname) == (unit.kind, unit.qualname)]
    exact = [c for c in same if c.source == unit.source]
    return min(exact or same, key=lambda c: abs(c.start - unit.start), default=unit)


def _decorators(source: str) -> str:
    """The decorator lines of a function or class's source, dedented ("" without)."""
    source = textwrap.dedent(source)
    try:
        node = ast.parse(source).body[0]
    except (SyntaxError, IndexError):
        return ""
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return ""
    return "".join(source.splitlines(keepends=True)[: node.lineno - 1])


def _add_helpers(
    text: str,
    units: Sequence[CodeUnit],
    new_defs: dict[str, str],
    new_assigns: dict[str, str],
    shown: set[str],
) -> str:
    """Top-level functions the reply added beside a rewritten top-level function (helpers it
    calls), and module-level constants that it or they read (`_SECONDS = {...}`), go in
    before that function, unless the file already defines them. Other assignments in a
    reply (a usage example, `print(f(3))`'s argument) are left out."""
    if not any(u.indent == "" for u in units):
        return text
    path = units[0].path
    defined = {u.name for u in units_in(path, text) if u.qualname == u.name}
    defined |= {a.name for a in assignments_in(path, text)} | shown
    helpers = [
        src
        for name, src in new_defs.items()
        if name not in defined and not name.lower().startswith("test") and not _is_method(src)
    ]
    # Constants the new functions read, and those that these read in turn.
    read = _free_names([new_defs.get(u.name, "") for u in units] + helpers)
    wanted: set[str] = set()
    while fresh := {n for n in read & new_assigns.keys() if n not in defined | wanted}:
        wanted |= fresh
        read = _free_names([new_assigns[n] for n in fresh])
    constants = [src for name, src in new_assigns.items() if name in wanted]
    if not helpers and not constants:
        return text
    first = min(
        (u for u in units_in(units[0].path, text) if u.qualname in {v.qualname for v in units}),
        key=lambda u: u.start,
    )
    # Helpers first: a constant may call one when the module loads; functions read the
    # constants only when called.
    lines = text.splitlines(keepends=True)
    block = "".join(textwrap.dedent(h).rstrip() + "\n\n\n" for h in helpers)
    block += "".join(c.rstrip() + "\n" for c in constants) + "\n\n" * bool(constants)
    lines[first.start - 1 : first.start - 1] = [block]
    return "".join(lines)


def _is_method(source: str) -> bool:
    """A def whose first parameter is `self` or `cls`: a method given without its class,
    never a module-level helper."""
    node = definition(source)
    params = [*node.args.posonlyargs, *node.args.args] if node else []
    return bool(params) and params[0].arg in ("self", "cls")


def _free_names(sources: Sequence[str]) -> set[str]:
    """Names the code reads that it does not bind itself (parameters, local assignments,
    loop variables): the module-level names it depends on."""
    names: set[str] = set()
    for src in sources:
        try:
            tree = ast.parse(textwrap.dedent(src))
        except SyntaxError:
            continue
        scopes: list[ast.AST] = [n for n in ast.walk(tree) if isinstance(n, _SCOPES)]
        for scope in scopes or [tree]:
            nodes = list(ast.walk(scope))
            bound = {n.id for n in nodes if isinstance(n, ast.Name) and not _reads(n)}
            bound |= {a.arg for n in nodes if isinstance(n, ast.arguments) for a in _args(n)}
            names |= {n.id for n in nodes if isinstance(n, ast.Name) and _reads(n)} - bound
    return names


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _reads(name: ast.Name) -> bool:
    return isinstance(name.ctx, ast.Load)


def _args(arguments: ast.arguments) -> list[ast.arg]:
    extra = [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
    return [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, *extra]


def _add_imports(text: str, imports: Sequence[str]) -> str:
    """Put new imports after the file's last top-level import (or at the top)."""
    try:
        body = ast.parse(text).body
    except SyntaxError:
        return text
    last = max(
        (n.end_lineno or 0 for n in body if isinstance(n, ast.Import | ast.ImportFrom)), default=0
    )
    lines = text.splitlines(keepends=True)
    lines[last:last] = [i + "\n" for i in imports]
    return "".join(lines)
