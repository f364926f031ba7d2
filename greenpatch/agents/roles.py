"""The planner, the tester and the critic (the coder and the debugger are in `coder`). Each
asks its own model through the gateway with its own prompt, and each degrades to a sensible
default when its model fails or answers garbage: the tests stay the gate either way."""

from __future__ import annotations

import ast
import json
import logging
import re
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from greenpatch import patch
from greenpatch.agents.coder import cut_off_code, extract_code
from greenpatch.agents.context import CodeUnit
from greenpatch.agents.role import Role, render
from greenpatch.agents.tools import Toolbox
from greenpatch.errors import FormatError

log = logging.getLogger(__name__)

TESTER_MARK = "# Written by Greenpatch's tester for:"
# A few small tests fit in a few hundred tokens. Without a cap the 0.5B model repeated one
# assert until it ran out at 2,048 tokens on 5 of 5 HumanEval problems probed (about 200 s
# each), and the cut-off reply, its code block never closed, gave no test at all.
TESTER_MAX_TOKENS = 768


# -- planner ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanStep:
    goal: str
    files: tuple[str, ...]  # existing files the step changes
    group: int = 0  # steps of different groups are independent of each other


@dataclass(frozen=True)
class Plan:
    steps: tuple[PlanStep, ...]
    files: tuple[str, ...]
    write_tests: bool = False
    from_model: bool = False

    @property
    def goals(self) -> tuple[str, ...]:
        return tuple(s.goal for s in self.steps)

    def independent(self) -> list[PlanStep] | None:
        """One step per independent group, when there are at least two groups and no two
        steps of different groups share a file; None when the plan must run as one change.
        Steps of one group are merged into one (their goals in order)."""
        groups: dict[int, list[PlanStep]] = {}
        for step in self.steps:
            groups.setdefault(step.group, []).append(step)
        if len(groups) < 2:
            return None
        merged = [
            PlanStep(
                "; ".join(s.goal for s in steps),
                tuple(dict.fromkeys(f for s in steps for f in s.files)),
                group,
            )
            for group, steps in groups.items()
        ]
        files = [f for step in merged for f in step.files]
        if any(not step.files for step in merged) or len(files) != len(set(files)):
            return None
        return merged


class Planner(Role):
    """Turns a request into a plan: steps, the files each changes, which can run apart."""

    name = "planner"

    def plan(
        self,
        task: str,
        candidates: Sequence[str],
        lessons: str = "",
        exists: Callable[[str], bool] = lambda path: False,
        toolbox: Toolbox | None = None,
    ) -> Plan:
        """A JSON plan from the planner, or the fallback: one step over the candidate files.
        A step's files are kept when they are candidates or `exists` says they exist. With a
        toolbox the planner may look around first (see `tools`)."""
        fallback = Plan((PlanStep(task, tuple(candidates[:3])),), tuple(candidates[:3]))
        prompt = render(
            "planner",
            task=task,
            candidates="\n".join(f"- {c}" for c in candidates) or "(none found)",
            lessons=f"\nWhat worked before on similar tasks:\n{lessons}\n" if lessons else "",
        )
        reply = self.reply(prompt, toolbox)
        if reply is None:
            return fallback
        match = re.search(r"\{.*\}", reply, re.DOTALL)
        try:
            data = json.loads(match.group(0)) if match else None
            raw = (
                [s for s in data["steps"] if isinstance(s, dict) and s.get("goal")] if data else []
            )
        except (json.JSONDecodeError, KeyError, TypeError):
            raw = []
        if not raw:
            log.info("planner gave no usable JSON plan; using the fallback")
            return fallback
        # Only files that exist are trusted; a plan naming none falls back to the candidates.
        known = set(candidates)
        steps = tuple(
            PlanStep(
                str(s["goal"]).strip(),
                tuple(
                    f
                    for f in s.get("files", [])
                    if isinstance(f, str) and (f in known or exists(f))
                ),
                s["group"] if isinstance(s.get("group"), int) else 0,
            )
            for s in raw
        )
        files = list(dict.fromkeys(f for s in steps for f in s.files)) or list(fallback.files)
        write = data.get("tests") is True if isinstance(data, dict) else False
        return Plan(steps, tuple(files), write, from_model=True)


# -- tester ----------------------------------------------------------------------------------
def module_name(path: str) -> str:
    parts = path.removesuffix(".py").split("/")
    if parts[0] == "src":
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def writes_task_tests(model: str) -> bool:
    """Whether the tester writes tests for a planned task (a module, not one function), the
    planner having asked for them. Not on the embedded models: their tests' expected values
    are often wrong (measured on HumanEval, see README), and a task's tests are a gate the
    run cannot take out, as it can a stub's (agents/disputes.py)."""
    return not model.startswith("local/")


def writes_properties(model: str) -> bool:
    """Whether the tester, on this model, is asked for property-based tests (where the
    project can run hypothesis). Not the embedded models: asked for them on 3 HumanEval
    functions, the 1.5B wrote 4 properties and all 4 failed on HumanEval's own solutions
    (only neighbours compared for "any two elements", `longest` of any list is None), and
    a failing property is never dropped as the tester's mistake (agents/disputes.py)."""
    return not model.startswith("local/")


class Tester(Role):
    """Writes tests for the task; they join the proposal, marked as the tester's."""

    name = "tester"

    def write_tests(
        self,
        task: str,
        unit: CodeUnit,
        existing: Sequence[str],
        *,
        properties: bool = False,
    ) -> patch.FileChange | None:
        """New tests for the task, as a new file clearly marked as the tester's; None when the
        model gave nothing that parses or defines a test. With `properties` (hypothesis is there
        for the project's tests) the tester is asked for a property-based test where one fits."""
        module = module_name(unit.path)
        reply = self.reply(
            render(
                "tester",
                task=task,
                path=unit.path,
                module=module,
                code=textwrap.dedent(unit.source).rstrip(),
                properties="\n" + render("tester_properties").rstrip() if properties else "",
            ),
            max_tokens=TESTER_MAX_TOKENS,
        )
        if reply is None:
            return None
        reply = reply.replace("\r\n", "\n").replace("\r", "\n")
        try:
            try:
                code: str | None = extract_code(reply)
            except FormatError as exc:
                log.info("tester reply unusable: %s", exc)
                code = cut_off_code(reply)
            if code is None:
                return None
            code = without_repeated_asserts(code)
            tree = ast.parse(code)
        except (RecursionError, MemoryError, ValueError) as exc:  # nested too deep for ast
            log.info("tester reply unusable: %r", exc)
            return None
        if not any(isinstance(n, ast.FunctionDef) and n.name.startswith("test") for n in tree.body):
            return None
        stem = re.sub(r"\W", "_", unit.name).lower()
        name = f"tests/test_greenpatch_{stem}.py"
        n = 2
        while name in existing:
            name, n = f"tests/test_greenpatch_{stem}_{n}.py", n + 1
        header = f"{TESTER_MARK} {task.splitlines()[0][:80]}\n"
        return patch.FileChange(path=name, old_text=None, new_text=header + code.rstrip() + "\n")


def without_repeated_asserts(code: str) -> str:
    """The code less every assert that repeats an earlier one of the same function word for
    word, with the comments above it ("# Test case 14"): it checks nothing new, and a small
    model writes them by the dozen."""
    tree = ast.parse(code)
    drop: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        seen: set[str] = set()
        body = node.body
        for index, statement in enumerate(body):
            if not isinstance(statement, ast.Assert) or not _pure_check(statement):
                continue
            text = ast.unparse(statement)
            end = statement.end_lineno or statement.lineno
            top = (body[index - 1].end_lineno or 0) if index else 0
            alone = index > 0 and top < statement.lineno  # no other statement on its lines
            alone = alone and (index + 1 == len(body) or body[index + 1].lineno > end)
            if text in seen and alone:
                drop.update(range(top + 1, end + 1))
            seen.add(text)
    lines = code.split("\n")
    return "\n".join(line for n, line in enumerate(lines, 1) if n not in drop)


def _pure_check(statement: ast.Assert) -> bool:
    """An assert that checks the same thing each time it runs: its calls are plain functions
    of literals (`f(4) == [4, 6]`), not `s.pop()` or `next(it)`, which change state."""
    for node in ast.walk(statement):
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.keywords:
                return False
            for arg in node.args:
                try:
                    ast.literal_eval(arg)
                except (ValueError, TypeError, SyntaxError, RecursionError):
                    return False
    return True


# -- critic ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    severity: str
    text: str


@dataclass(frozen=True)
class Review:
    approved: bool
    feedback: str = ""
    findings: tuple[Finding, ...] = field(default=())
    from_model: bool = False


def added_lines(change: patch.FileChange) -> set[int]:
    """1-based line numbers of the new text that the change added or altered."""
    import difflib

    old = (change.old_text or "").splitlines()
    new = (change.new_text or "").splitlines()
    lines: set[int] = set()
    for tag, _, _, j1, j2 in difflib.SequenceMatcher(None, old, new).get_opcodes():
        if tag in ("replace", "insert"):
            lines.update(range(j1 + 1, j2 + 1))
    return lines


def bandit_findings(changes: Sequence[patch.FileChange]) -> list[Finding]:
    """bandit on the new text of changed Python files, kept to the changed lines."""
    findings: list[Finding] = []
    for change in changes:
        if not change.path.endswith(".py") or change.new_text is None:
            continue
        lines = added_lines(change)
        with tempfile.TemporaryDirectory(prefix="greenpatch-bandit-") as tmp:
            target = Path(tmp) / "code.py"
            target.write_text(change.new_text, encoding="utf-8")
            done = subprocess.run(
                [sys.executable, "-m", "bandit", "-q", "-f", "json", str(target)],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        try:
            results = json.loads(done.stdout).get("results", [])
        except json.JSONDecodeError:  # not installed, or it could not read the file
            log.warning("bandit gave no report for %s: %s", change.path, done.stderr[-300:])
            continue
        findings += [
            Finding(change.path, r["line_number"], r["issue_severity"], r["issue_text"])
            for r in results
            if r.get("line_number") in lines and r.get("issue_severity") in ("MEDIUM", "HIGH")
        ]
    return findings


class Critic(Role):
    """Reviews a green change with its test evidence: APPROVE, or REVISE with what to change."""

    name = "critic"

    def review(
        self, task: str, diff: str, evidence: str, changes: Sequence[patch.FileChange]
    ) -> Review:
        """APPROVE or REVISE for a green change. Security findings on changed lines always ask
        for a revision; the model's verdict decides the rest; no verdict means approve."""
        findings = tuple(bandit_findings(changes))
        listed = "\n".join(f"- {f.path}:{f.line} [{f.severity}] {f.text}" for f in findings)
        prompt = render(
            "critic",
            task=task,
            diff=diff.rstrip(),
            evidence=evidence,
            findings=f"\nbandit found on the changed lines:\n{listed}\n" if findings else "",
        )
        reply = (self.reply(prompt) or "").strip()
        if findings:
            return Review(False, "Fix these security findings:\n" + listed, findings, bool(reply))
        # The verdict is the first APPROVE or REVISE of the first line, whatever is around it
        # ("**REVISE**: ...", "Verdict: REVISE"); what follows it is the feedback.
        first, _, rest = reply.partition("\n")
        verdict = _VERDICT.search(first)
        if verdict and verdict.group(1).upper() == "REVISE":
            said = first[verdict.end() :].lstrip(" *:#-.\t").rstrip(" *")
            feedback = "\n".join(part for part in (said, rest.strip()) if part)
            return Review(False, feedback or "the critic asked for a revision", (), True)
        return Review(True, reply[:500], (), bool(reply))


_VERDICT = re.compile(r"\b(APPROVE|REVISE)\b", re.IGNORECASE)
