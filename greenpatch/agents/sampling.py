"""Sampling and selection: several answers, judged by running them.

Small models rarely fix their own mistakes from feedback, but among a few sampled answers one
is often right. This module finds the visible tests a function already carries (its
docstring's examples), runs every candidate on the same inputs in the sandbox, and keeps the
one that passes the most examples and agrees with the most other candidates on the inputs the
tester wrote (dual execution agreement, as in CodeT). `draw` is the one sampling loop the
loop's sampling step (`best_of`) and benchmarks/humaneval_loop.py share; the answers come
from a callback, so nothing here calls a model itself.
"""

from __future__ import annotations

import ast
import io
import json
import logging
import re
import tokenize
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from greenpatch.errors import ModelError
from greenpatch.sandbox import Sandbox

log = logging.getLogger(__name__)

HARNESS = "greenpatch_probe.py"
SOLUTION = "greenpatch_solution.py"
CALL_TIMEOUT_S = 2.0

# What separates a call from its value in prose examples: "f(1) == 2", "f(1) ==> 2",
# "f(1) => 2", "f(1) ➞ 2", "f(1) -> 2", "f(1) should return 2", "f(1) # returns 2". A lone
# "=" counts only before a value that ends the line: docstrings use it for math too
# ("f(2) = 1 + f(1)").
_ARROW = re.compile(
    r"^\s*(?:#\s*)?(?:==>?|=>|➞|->|→|should\s+(?:be|return)|returns?|gives?|outputs?)\s*",
    re.IGNORECASE,
)
_EQUALS = re.compile(r"^\s*=(?![=>])\s*(.+?)\s*$")
_DERIVED = re.compile(r"^[\d\s.+\-*/%()]+=\s*(\S.*)$")
_BOOL = re.compile(r"\b(true|false)\b")
# After the value: nothing, or prose and punctuation; never more arithmetic or another "=".
_AFTER = re.compile(r"^(?:\s*$|[.,;]?\s+[A-Za-z(#]|[.,;]\s*$)")


@dataclass(frozen=True)
class Example:
    """A call with literal arguments and, when known, its expected value (as source)."""

    call: str
    expected: str | None = None

    def assertion(self) -> str:
        return f"assert {self.call} == {self.expected}"


def _literal(source: str) -> bool:
    try:
        ast.literal_eval(source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


def _call_at(text: str, start: int, name: str) -> str | None:
    """The balanced call `name(...)` starting at `start`, if its arguments are literals."""
    depth, i = 0, start + len(name)
    quote = ""
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                call = text[start : i + 1]
                try:
                    node = ast.parse(call, mode="eval").body
                except SyntaxError:
                    return None
                if not isinstance(node, ast.Call) or node.keywords:
                    return None
                if all(_literal(ast.unparse(a)) for a in node.args):
                    return call
                return None
        i += 1
    return None


def _value(text: str) -> str | None:
    """The longest literal at the start of `text` (trailing prose and punctuation dropped)."""
    equals = _EQUALS.match(text)
    if equals:
        value = _BOOL.sub(lambda m: m.group(1).title(), equals.group(1))
        return value if _literal(value) else None
    arrow = _ARROW.match(text)
    derived = _DERIVED.match(text[arrow.end() :]) if arrow else None
    if derived:  # "f(9) -> 10 - 1 = 9": the value the arithmetic comes to
        text = derived.group(1)
    text = _BOOL.sub(lambda m: m.group(1).title(), _ARROW.sub("", text, count=1)).strip()
    for end in range(len(text), 0, -1):
        piece = text[:end]
        if not piece[-1].isspace() and _literal(piece) and not _commented(piece):
            return piece if _AFTER.match(text[end:]) else None
    return None


def _commented(source: str) -> bool:
    """Whether `source` ends in a comment ("[4, 4]  # both fours")."""
    if "#" not in source:
        return False
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    try:
        return any(token.type == tokenize.COMMENT for token in tokens)
    except (tokenize.TokenError, SyntaxError):
        return False


def docstring_examples(source: str, name: str) -> list[Example]:
    """The examples a function's docstring gives for `name`: doctest lines (`>>> f(1)` then
    the value), prose calls (`f(1) == 2`, `f(1) => 2`, `f(1) should return 2`) and examples
    that name the arguments (`For x = 1, the output should be 2`; `Input: x = 1` then
    `Output: 2`). Only literal arguments and literal values count: they become exact,
    trustworthy tests."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    examples: list[Example] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            doc = ast.get_docstring(node) or ""
            examples += _call_examples(doc, name)
            examples += _argument_examples(doc, name, node.args)
    return list(dict.fromkeys(examples))


def _call_examples(doc: str, name: str) -> list[Example]:
    """Examples written as calls: `>>> f(1)` over its value, or `f(1) => 2` in prose."""
    examples: list[Example] = []
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        for match in re.finditer(rf"\b{re.escape(name)}\s*\(", line):
            call = _call_at(line, match.start(), name)
            if call is None:
                continue
            rest = line[match.start() + len(call) :]
            value = _value(rest)
            if value is None and not rest.strip() and i + 1 < len(lines):
                following = lines[i + 1].strip()
                if not following.startswith(">>>"):
                    value = _value(following)
            if value is not None:
                examples.append(Example(call, value))
    return examples


# "For x = 1, y = 2 the output should be 3": the assignments, maybe prose, then the value.
_FOR = re.compile(r"^\s*for\s+(?=\w+\s*=)", re.IGNORECASE)
_SHOULD = re.compile(
    r"\bthe\s+(?:output|result|answer)\s+(?:should\s+be|will\s+be|is)\s*:?\s*", re.IGNORECASE
)
# "Input: ..." (the arguments, on this line or the next ones) up to "Output: value".
_INPUT = re.compile(r"^\s*inputs?\s*:\s*(.*)$", re.IGNORECASE)
_OUTPUT = re.compile(r"^\s*output\s*:\s*(.*)$", re.IGNORECASE)
_NAMED_LINE = re.compile(r"^\s*(\w+)\s*:\s*(.+?)\s*$")  # "grid : [[0, 1]]"


def _argument_examples(doc: str, name: str, signature: ast.arguments) -> list[Example]:
    """Examples that give the arguments by name or alone, and the value apart from them."""
    params = [a.arg for a in [*signature.posonlyargs, *signature.args]]
    required = len(params) - len(signature.defaults)
    examples: list[Example] = []
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        start, should = _FOR.match(line), _SHOULD.search(line)
        if start and should:
            args = _arguments(line[start.end() : should.start()], prose_after=True)
            value = _value(line[should.end() :])
            call = _call(name, params, required, args)
            if call is not None and value is not None:
                examples.append(Example(call, value))
        opened = _INPUT.match(line)
        if opened:
            inputs = [opened.group(1)] if opened.group(1).strip() else []
            for following in lines[i + 1 :]:
                output = _OUTPUT.match(following)
                if output:
                    value = _value(output.group(1))
                    call = _call(name, params, required, _arguments(", ".join(inputs)))
                    if call is not None and value is not None:
                        examples.append(Example(call, value))
                    break
                if following.strip():
                    named = _NAMED_LINE.match(following)
                    inputs.append(f"{named[1]} = {named[2]}" if named else following.strip())
    return examples


def _arguments(text: str, *, prose_after: bool = False) -> list[tuple[str | None, str]] | None:
    """`x = 1, y = [2]` as [("x", "1"), ("y", "[2]")], or a lone literal as [(None, it)];
    None for anything else. With `prose_after`, the longest such start of `text` that only
    prose follows (no "=")."""
    cuts = [len(text)]
    if prose_after:
        cuts += [i for i in range(len(text) - 1, 0, -1) if text[i] == ","]
    for cut in cuts:
        head, tail = text[:cut].strip().rstrip(","), text[cut:]
        if "=" in tail or not head:
            continue
        try:
            node = ast.parse(f"_({head})", mode="eval").body
        except SyntaxError:
            continue
        if not isinstance(node, ast.Call):
            continue
        if node.keywords and not node.args:
            pairs = [(k.arg, ast.unparse(k.value)) for k in node.keywords]
        elif len(node.args) == 1 and not node.keywords and not prose_after:
            pairs = [(None, head)]
        else:
            continue
        if all(_literal(value) for _, value in pairs):
            return pairs
    return None


def _call(
    name: str, params: list[str], required: int, args: list[tuple[str | None, str]] | None
) -> str | None:
    """The call, arguments in the signature's order: by name when every name is a
    parameter's, else in the order given when every required parameter gets one."""
    if not args or len(args) > len(params):
        return None
    names = [n for n, _ in args]
    if all(n in params for n in names) and len(set(names)) == len(names):
        order = sorted(args, key=lambda pair: params.index(str(pair[0])))
        if [n for n, _ in order] != params[: len(order)] or len(order) < required:
            return None
        values = [v for _, v in order]
    elif len(args) >= required:
        values = [v for _, v in args]
    else:
        return None
    return f"{name}({', '.join(values)})"


def assertion_examples(test_source: str, name: str) -> list[Example]:
    """The checks of a test the tester wrote, as examples (their values untrusted):
    `assert name(...) == value` either way round, `assert name(...) is True|False|None`,
    `assert name(...)` and `assert not name(...)`; `module.name(...)` counts too."""
    examples: list[Example] = []
    try:
        tree = ast.parse(test_source)
    except SyntaxError:
        return examples
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            found = _checked_call(node.test)
            if found is not None:
                call, value = found
                if _calls(call, name) and _literal(ast.unparse(value)):
                    args = [ast.unparse(a) for a in call.args]
                    if all(_literal(a) for a in args):
                        examples.append(Example(f"{name}({', '.join(args)})", ast.unparse(value)))
    return list(dict.fromkeys(examples))


def _checked_call(test: ast.expr) -> tuple[ast.Call, ast.expr] | None:
    """The call an assertion checks and the value it expects, if it has that shape."""
    if isinstance(test, ast.Call):
        return test, ast.Constant(True)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = test.operand
        return (inner, ast.Constant(False)) if isinstance(inner, ast.Call) else None
    if not isinstance(test, ast.Compare) or len(test.ops) != 1:
        return None
    if not isinstance(test.ops[0], ast.Eq | ast.Is):
        return None
    left, right = test.left, test.comparators[0]
    if isinstance(right, ast.Call) and not isinstance(left, ast.Call):
        left, right = right, left
    return (left, right) if isinstance(left, ast.Call) else None


def _calls(call: ast.Call, name: str) -> bool:
    """`name(...)` or `module.name(...)`, positional arguments only."""
    func = call.func
    called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
    return called == name and not call.keywords


@dataclass
class Verdict:
    """One candidate run on every input: its outputs and what it passed."""

    index: int
    outputs: tuple[str, ...] = ()
    examples_passed: int = 0
    tests_passed: int = 0
    error: str = ""
    failures: list[str] = field(default_factory=list)  # failed docstring examples, as text

    @property
    def runs(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class Selection:
    index: int  # the chosen candidate, -1 when none runs
    verdicts: tuple[Verdict, ...]
    agreement: int  # how many candidates behave exactly like the chosen one

    @property
    def chosen(self) -> Verdict | None:
        return self.verdicts[self.index] if self.index >= 0 else None


_PROBE = r"""
import json, math, signal, sys, traceback

def _alarm(signum, frame):
    raise TimeoutError("the call took too long")

def _same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
        except TypeError:
            return False
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return a == b

def _key(value):
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_key(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return repr(value)

cases = json.load(open(sys.argv[1]))
target = sys.argv[2]
try:
    if target.startswith("module:"):  # a project's module, imported as its tests would
        import importlib, os
        sys.path[:0] = [p for p in (os.getcwd(), "src") if os.path.isdir(p)]
        ns = vars(importlib.import_module(target[len("module:"):]))
    else:
        ns = {"__name__": "greenpatch_solution"}
        exec(compile(open(target).read(), target, "exec"), ns)
except BaseException as exc:
    print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
    sys.exit(0)
signal.signal(signal.SIGALRM, _alarm)
out = []
for call, expected in cases:
    signal.setitimer(signal.ITIMER_REAL, float(sys.argv[3]))
    try:
        value = eval(call, ns)
        signal.setitimer(signal.ITIMER_REAL, 0)
        key = _key(value)
        ok = None if expected is None else _same(value, eval(expected, {}))
        out.append([key, ok])
    except BaseException as exc:
        signal.setitimer(signal.ITIMER_REAL, 0)
        out.append(["!" + type(exc).__name__, False if expected is not None else None])
print(json.dumps({"results": out}))
"""


def run_candidates(
    sandbox: Sandbox,
    workdir: Path,
    programs: Sequence[str],
    examples: Sequence[Example],
    tests: Sequence[Example] = (),
    *,
    python: str = "python3",
    timeout: float = 30.0,
) -> list[Verdict]:
    """Run every program on the examples' and tests' calls, each in its own sandbox process."""
    return [
        probe(sandbox, workdir, {SOLUTION: program}, SOLUTION, examples, tests, index=index,
              python=python, timeout=timeout)
        for index, program in enumerate(programs)
    ]  # fmt: skip


def probe(
    sandbox: Sandbox,
    workdir: Path,
    overlay: Mapping[str, str | None],
    target: str,
    examples: Sequence[Example],
    tests: Sequence[Example] = (),
    *,
    index: int = 0,
    python: str = "python3",
    timeout: float = 30.0,
) -> Verdict:
    """One candidate on the examples' and tests' calls, in the sandbox on `workdir` with
    `overlay`: `target` is a file of the overlay to run, or `module:NAME`, a module of the
    workspace to import (a project's function, with its package around it)."""
    cases = [[e.call, e.expected] for e in [*examples, *tests]]
    files = {**overlay, HARNESS: _PROBE, "greenpatch_cases.json": json.dumps(cases)}
    argv = [python, HARNESS, "greenpatch_cases.json", target, str(CALL_TIMEOUT_S)]
    result = sandbox.run(workdir, argv, overlay=files, timeout=timeout)
    return _verdict(index, result.stdout, result.killed_reason, examples, tests)


def _verdict(
    index: int,
    stdout: str,
    killed: str | None,
    examples: Sequence[Example],
    tests: Sequence[Example],
) -> Verdict:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if killed or not lines:
        return Verdict(index, error=killed or "the program printed no result")
    data = json.loads(lines[-1])
    if "error" in data:
        return Verdict(index, error=data["error"])
    results = data["results"]
    n = len(examples)
    failures = [
        f"{e.assertion()}  # got {key}"
        for e, (key, ok) in zip(examples, results[:n], strict=True)
        if not ok
    ]
    return Verdict(
        index,
        outputs=tuple(key for key, _ in results),
        examples_passed=sum(1 for _, ok in results[:n] if ok),
        tests_passed=sum(1 for _, ok in results[n:] if ok),
        failures=failures,
    )


def select(verdicts: Sequence[Verdict]) -> Selection:
    """The candidate to keep: most docstring examples passed; then the largest group of
    candidates that behave identically, weighted by the tester's tests that group passes;
    then the earliest (the greedy answer comes first)."""
    running = [v for v in verdicts if v.runs]
    if not running:
        return Selection(-1, tuple(verdicts), 0)
    groups = Counter(v.outputs for v in running)

    def score(v: Verdict) -> tuple[int, int, int]:
        return (v.examples_passed, groups[v.outputs] * (1 + v.tests_passed), -v.index)

    best = max(running, key=score)
    return Selection(best.index, tuple(verdicts), groups[best.outputs])


T = TypeVar("T")


@dataclass
class Pool(Generic[T]):
    """The answers drawn so far, in order (None: a reply with no usable code), each with
    its verdict."""

    answers: list[T | None] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)

    def add(self, answer: T | None, judge: Callable[[int, T], Verdict]) -> None:
        index = len(self.answers)
        verdict = Verdict(index, error="no usable code") if answer is None else judge(index, answer)
        self.answers.append(answer)
        self.verdicts.append(verdict)

    def selection(self) -> Selection:
        return select(self.verdicts)

    def chosen(self) -> T | None:
        """The answer `select` keeps; None when no answer runs."""
        index = self.selection().index
        return self.answers[index] if index >= 0 else None


def draw(
    pool: Pool[T],
    write: Callable[[], T | None],
    judge: Callable[[int, T], Verdict],
    *,
    samples: int,
    agree: int,
    progress: Callable[[int, int], None] = lambda number, total: None,
) -> Pool[T]:
    """Ask `write` for more answers, judging each, until `agree` answers behave alike and
    the best of them passes every trusted check, or the pool holds `samples` answers. The
    pool comes with the first (greedy) answer judged. `write` returns None for an unusable
    reply; a model that fails (ModelError) ends the drawing with what is in, while budget and
    cancellation errors propagate. `progress` hears (number, samples) before each answer."""
    while len(pool.answers) < samples:
        chosen = pool.selection()
        best = chosen.chosen
        if best is not None and not best.failures and chosen.agreement >= agree:
            break
        progress(len(pool.answers) + 1, samples)
        try:
            answer = write()
        except ModelError as exc:  # no more answers to be had; the ones in still count
            log.warning("sampling stopped after %d answers: %s", len(pool.answers), exc)
            break
        pool.add(answer, judge)
    return pool
