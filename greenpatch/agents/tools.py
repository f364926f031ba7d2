"""Tools the planner and the debugger may call while they think: read a file, list a
directory, search the index, run the tests, run an allowlisted command, install a package.

The protocol is one plain line a small model can follow: a reply that is a request, e.g.

    TOOL: read shop/pricing.py

gets the result back as the next message (`RESULT of read shop/pricing.py:` and the text),
and the role is asked again; at most `MAX_CALLS` tools per role turn. Reads and listings
see the run's working copy (the files on disk under the editor's buffers and the changes so
far: the view the sandbox runs on); tests and commands run in the sandbox on that view.
Installing a package is the one tool that changes the user's environment: it runs only
when the run's approval callback says yes (headless: `--allow-install`; default no).
"""

from __future__ import annotations

import keyword
import logging
import os
import re
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from greenpatch.agents.gateway import Completion, Gateway, Message
from greenpatch.agents.workcopy import WorkingCopy
from greenpatch.sandbox import Sandbox, run_pytest

log = logging.getLogger(__name__)

MAX_CALLS = 4
RESULT_CHARS = 4000
COMMAND_TIMEOUT_S = 60.0
INSTALL_TIMEOUT_S = 300.0
# Commands a role may run in the sandbox (the first word); anything else is refused.
ALLOWED_COMMANDS = frozenset({"python", "pytest", "ls", "cat", "grep", "head", "tail", "wc"})
# "tool: read x.py" too: the 1.5B model wrote its request in lower case (bugfix/logscan),
# and the loop took it for an answer with no code.
_REQUEST = re.compile(r"^\s*TOOL:\s*([a-z_]+)\s*(.*?)\s*$", re.MULTILINE | re.IGNORECASE)
_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?([<>=!~]=?[\w.*+!-]+)?$")

Approve = Callable[[str], bool]


@dataclass(frozen=True)
class Tool:
    name: str
    usage: str  # e.g. "read PATH"
    help: str
    run: Callable[[str], str]


class Toolbox:
    """A typed registry of tools; `call` never raises, a failure is the tool's answer."""

    def __init__(self, tools: Sequence[Tool]) -> None:
        self.tools: Mapping[str, Tool] = {t.name: t for t in tools}

    def describe(self) -> str:
        """The prompt section that teaches the protocol."""
        lines = [f"  TOOL: {t.usage}  - {t.help}" for t in self.tools.values()]
        return (
            "Before you answer you may use a tool: reply with only one line\n"
            + "\n".join(lines)
            + f"\nand you get its result. At most {MAX_CALLS} tools, then give your answer."
        )

    def call(self, name: str, argument: str) -> str:
        tool = self.tools.get(name)
        if tool is None:
            return f"no tool {name!r}; the tools are: {', '.join(self.tools)}"
        try:
            text = tool.run(argument)
        except Exception as exc:  # a tool's failure is news for the model, not a crash
            log.info("tool %s %r failed: %s", name, argument, exc)
            text = f"the tool failed: {exc}"
        if len(text) > RESULT_CHARS:
            text = text[:RESULT_CHARS] + f"\n[... {len(text) - RESULT_CHARS} more characters]"
        return text


def request_in(reply: str) -> tuple[str, str] | None:
    """The tool a reply asks for, if it asks for one instead of answering (no code block)."""
    if "```" in reply:
        return None
    match = _REQUEST.search(reply)
    return (match.group(1).lower(), match.group(2)) if match else None


def converse(
    gateway: Gateway,
    role: str,
    messages: list[Message],
    toolbox: Toolbox | None,
    *,
    temperature: float = 0.0,
    max_tokens: int = 2048,
) -> Completion:
    """Ask the role; while it asks for a tool (at most MAX_CALLS times), answer and ask
    again. `messages` grows by the tool exchanges. The last reply is returned as it is."""
    completion = gateway.complete(role, messages, temperature=temperature, max_tokens=max_tokens)
    asked: set[tuple[str, str]] = set()
    for _ in range(MAX_CALLS if toolbox is not None else 0):
        wanted = request_in(completion.text)
        if toolbox is None or wanted is None:
            break
        name, argument = wanted
        if wanted in asked:
            result = "the same as before (above). Give your answer now."
        else:
            log.info("%s uses the tool %s %r", role, name, argument)
            asked.add(wanted)
            result = toolbox.call(name, argument)
        messages += [
            {"role": "assistant", "content": completion.text},
            {"role": "user", "content": f"RESULT of {name} {argument}:\n{result}"},
        ]
        completion = gateway.complete(
            role, messages, temperature=temperature, max_tokens=max_tokens
        )
    return completion


def for_run(
    copy: WorkingCopy,
    sandbox: Sandbox,
    python: str,
    *,
    search: Callable[[str, int], list[Any]] | None = None,
    approve: Approve = lambda what: False,
    test_timeout: float = 120.0,
) -> Toolbox:
    """The tools of one run, over its working copy and sandbox."""

    def read(path: str) -> str:
        wanted = _relative(path)
        if (text := copy.read(wanted)) is not None:
            return text
        found = _existing(copy, wanted)
        text = copy.read(found) if found else None
        return (
            f"({found})\n{text}" if text is not None else f"{path}: no such file in the workspace"
        )

    def listing(path: str) -> str:
        folder = _relative(path or ".")
        target = (copy.root / folder).resolve()
        if not target.is_relative_to(copy.root.resolve()):
            return f"{path}: outside the workspace"
        names = {
            p.name + ("/" if p.is_dir() else "")
            for p in (target.iterdir() if target.is_dir() else ())
            if not p.name.startswith(".") and p.name != "__pycache__"
        }
        prefix = "" if folder == "." else folder.rstrip("/") + "/"
        for edited, text in copy.overlay().items():  # files the run created or deleted
            rest = edited.removeprefix(prefix)
            if not rest or (prefix and rest == edited):
                continue
            if "/" in rest:
                names.add(rest.split("/", 1)[0] + "/")
            elif text is None:
                names.discard(rest)
            else:
                names.add(rest)
        return "\n".join(sorted(names)) or f"{path or '.'}: empty or not a directory"

    def find(query: str) -> str:
        if search is None:
            return "the workspace index is not available in this run"
        hits = search(query, 8)
        lines = [
            f"{h.path}:{getattr(h, 'start_line', '')} {getattr(h, 'symbol', '') or ''}".rstrip()
            for h in hits
        ]
        return "\n".join(lines) or "nothing found"

    def tests(argument: str) -> str:
        selected, names = test_selection(argument, lambda word: _exists(copy, word))
        selected = [_node_in(copy, word) for word in selected]
        report = run_pytest(
            sandbox,
            copy.root,
            overlay=copy.overlay(),
            tests=selected,
            timeout=test_timeout,
            python=python,
            extra_args=["-k", " or ".join(names)] if names else (),
        )
        if report.ok:
            return report.summary()
        if names and report.status == "no_tests":
            wanted = " or ".join(names)
            return f"no test is named {wanted}; name a test file or a node id (FILE::TEST)"
        return report.failure_text(RESULT_CHARS)

    def command(argument: str) -> str:
        argv = shlex.split(argument)
        if not argv or argv[0] not in ALLOWED_COMMANDS:
            allowed = ", ".join(sorted(ALLOWED_COMMANDS))
            return f"not allowed: {argv[0] if argv else '(empty)'}; allowed commands: {allowed}"
        if argv[0] == "python":
            argv[0] = python
        done = sandbox.run(copy.root, argv, overlay=copy.overlay(), timeout=COMMAND_TIMEOUT_S)
        return f"exit {done.exit_code}\n{done.stdout}{done.stderr}".rstrip()

    def install(package: str) -> str:
        if not _PACKAGE.match(package):
            return f"{package!r} is not a package name (e.g. requests or requests>=2.31)"
        if not approve(f"install the Python package {package}"):
            return f"the user did not allow installing {package}"
        done = subprocess.run(
            [python, "-m", "pip", "install", "--", package],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
        )
        return f"exit {done.returncode}\n{(done.stdout + done.stderr)[-2000:]}".rstrip()

    return Toolbox(
        [
            Tool("read", "read PATH", "a file of the workspace, as the run sees it", read),
            Tool("list", "list DIR", "the entries of a directory", listing),
            Tool("search", "search WORDS", "where the index finds code about WORDS", find),
            Tool(
                "test",
                "test [FILE | FILE::TEST | TEST ...]",
                "run the tests (all, or these) in the sandbox",
                tests,
            ),
            Tool("run", "run COMMAND", "run an allowlisted command in the sandbox", command),
            Tool("install", "install PACKAGE", "install a package (asks the user)", install),
        ]
    )


# pytest options whose value is the next word (`--tb short`, `-k "a or b"`).
_VALUED = frozenset({"-k", "-m", "-p", "-o", "-c", "-W", "--tb", "--maxfail", "--deselect"})


def test_selection(
    argument: str, exists: Callable[[str], bool] = lambda path: False
) -> tuple[list[str], list[str]]:
    """What `test ARGS` selects: the paths, node ids and options to give pytest as they are,
    and the `-k` expressions: the bare test names (`test_slug`, `TestCart.test_total`,
    `test_slug()`), which pytest would take for missing files, and any `-k` given, joined
    into one (pytest keeps only the last `-k`). `exists`: whether a word is a file or
    directory of the workspace (`test tests` runs the directory)."""
    try:
        words = shlex.split(argument)
    except ValueError:  # an unbalanced quote
        words = argument.split()
    selected: list[str] = []
    names: list[str] = []
    for previous, word in zip(["", *words], words, strict=False):
        name = word.strip("'\",;").removesuffix("()").rsplit(".", 1)[-1]
        if previous == "-k":
            names.append(f"({word})")
        elif word == "-k":
            continue
        elif previous in _VALUED or word.startswith("-"):
            selected.append(word)  # an option or its value
        elif "/" in word or "::" in word or word.endswith(".py") or exists(word):
            selected.append(word)  # a path or a node id
        elif name.isidentifier() and not keyword.iskeyword(name):
            names.append(name)
    return selected, names


def _node_in(copy: WorkingCopy, word: str) -> str:
    """A test path or node id as the workspace has it: `test_pay.py::test_x` becomes
    `tests/test_pay.py::test_x` when that is the one file of the name."""
    if word.startswith("-"):
        return word
    path, sep, rest = word.partition("::")
    if not path.endswith(".py"):
        return word
    found = _existing(copy, _relative(path))
    return f"{found}{sep}{rest}" if found else word


SKIP_DIRS = frozenset({"__pycache__", "node_modules", "venv", "site-packages"})
MAX_WALK = 20_000


def _exists(copy: WorkingCopy, word: str) -> bool:
    """Whether a word is a file or directory of the run's view."""
    path = _relative(word)
    target = (copy.root / path).resolve()
    on_disk = target.is_relative_to(copy.root.resolve()) and target.exists()
    return on_disk or copy.read(path) is not None


def _existing(copy: WorkingCopy, path: str) -> str | None:
    """`path` if the run sees it, else the one file of that name in the workspace (small
    models name a file by its base name: `read test_pay.py`), else None."""
    if copy.read(path) is not None:
        return path
    if "/" in path:
        return None
    overlay = copy.overlay().items()
    matches = {p for p, text in overlay if text is not None and PurePosixPath(p).name == path}
    seen = 0
    for folder, dirs, files in os.walk(copy.root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS]
        seen += len(files)
        if path in files:
            found = os.path.relpath(os.path.join(folder, path), copy.root)
            if copy.read(found) is not None:  # not deleted by the run
                matches.add(found)
        if len(matches) > 1 or seen > MAX_WALK:
            return None  # ambiguous, or too many files to be sure
    return matches.pop() if len(matches) == 1 else None


def _relative(path: str) -> str:
    """A workspace-relative POSIX path; the working copy refuses what leaves the root."""
    return str(PurePosixPath(path.strip().strip("'\"").lstrip("/"))) or "."
