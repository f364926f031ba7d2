"""LSP latency: codeAction and codeLens round trips through a real LSP client, on a large
generated workspace, idle, during cold indexing and during an agent run; and the server's
resident memory once the workspace is indexed. A measurement, not a test.

    python benchmarks/lsp_latency.py [--files 5000] [--samples 300] [--workdir DIR] [--json]

The workspace is generated, not fetched: seeded, so every run sees the same files. It is
examples/shop (whose discount bug the agent run fixes) plus packages of Python modules
(docstrings, imports, constants, a dataclass with methods, functions with loops and
branches, some stubs) and their pytest tests, which pass. It is written once into
`WORKDIR/workspace` and reused while the file count and seed match.

The server is `greenpatch lsp` over stdio, started by pygls' LanguageClient with the same
capabilities the end-to-end tests announce, and the default settings except the scripted
model and a sandbox timeout long enough for the whole suite on a loaded machine. Each
sample is one request at a random line of a random open document, alternating codeAction
and codeLens; latency is the client-side round trip.

1. cold indexing: a fresh `.greenpatch` (an index built before waits outside meanwhile),
   sampled while the server builds its index, 100 ms apart from the server's start on;
2. idle: after the index is complete (the server completes it first; from nothing that takes
   long, as dense vectors are on by default: see README), with the server's RSS;
3. agent run: `greenpatch.runTask` on the shop's failing test with a scripted model whose
   replies sleep, so the run stays busy around real bubblewrap test runs.

Memory is the resident size of the server and of its children (the index process; a run's
process while it lives), and the target applies to their sum: moving the index out of the
server process must not count as saving memory. It is read three times: just after an edit
was indexed (vectors and embedding model loaded), after the run once its process ended, and
after a minute and a half with nothing to do (the index has released what lexical search
does not need). The target is checked against the largest.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenpatch.indexer.process import IDLE_RELEASE_S

REPO = Path(__file__).resolve().parents[1]
SHOP = REPO / "examples" / "shop"
SHOP_SCRIPT = REPO / "examples" / "scripted" / "fix-shop.json"
SEED = 7
TARGET_P99_MS = 50.0
TARGET_RSS_MB = 400.0

# -- the workspace -------------------------------------------------------------------------

NOUNS = (
    "order", "invoice", "customer", "ticket", "account", "payment", "shipment", "product",
    "review", "coupon", "session", "report", "record", "sensor", "reading", "booking",
    "route", "schedule", "member", "message", "document", "license", "asset", "budget",
)  # fmt: skip
PACKAGE_WORDS = (
    "billing", "catalog", "accounts", "shipping", "analytics", "support", "inventory",
    "events", "notify", "search", "storage", "pricing", "audit", "reports", "gateway",
)  # fmt: skip
MODULES_PER_PACKAGE = 24


@dataclass(frozen=True)
class Template:
    """A function family: its source (with `{name}`), and its behaviour in Python, so the
    generated tests assert what the generated code really returns."""

    source: str
    args: tuple[str, ...]
    fn: object = field(repr=False)


TEMPLATES = (
    Template(
        '''def {name}(values: list[float], factor: float) -> list[float]:
    """Scale every value by `factor`, dropping the negative ones first."""
    result = []
    for value in values:
        if value < 0:
            continue
        result.append(round(value * factor, 2))
    return result
''',
        ("[1.5, -2.0, 4.0]", "3"),
        lambda v, f: [round(x * f, 2) for x in v if x >= 0],
    ),
    Template(
        '''def {name}(items: list[str]) -> dict[str, int]:
    """Count how often each item occurs, ignoring case and surrounding blanks."""
    counts: dict[str, int] = {{}}
    for item in items:
        key = item.strip().lower()
        if not key:
            continue
        counts[key] = counts.get(key, 0) + 1
    return counts
''',
        ("['a', 'B', ' b ', '', 'c']",),
        lambda items: {
            k: sum(1 for i in items if i.strip().lower() == k)
            for k in dict.fromkeys(i.strip().lower() for i in items if i.strip())
        },
    ),
    Template(
        '''def {name}(amounts: list[int], limit: int) -> int:
    """The largest total of leading amounts that stays within `limit`."""
    total = 0
    for amount in amounts:
        if total + amount > limit:
            break
        total += amount
    return total
''',
        ("[5, 10, 20, 40]", "30"),
        lambda a, lim: _leading_total(a, lim),
    ),
    Template(
        '''def {name}(text: str, width: int = 10) -> list[str]:
    """Split `text` into words and pack them into lines of at most `width` characters."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{{current}} {{word}}".strip()
        if len(candidate) > width and current:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines
''',
        ("'the quick brown fox jumps over'", "10"),
        lambda t, w: _pack(t, w),
    ),
    Template(
        '''def {name}(scores: dict[str, float], threshold: float) -> list[str]:
    """Names whose score reaches `threshold`, best first, ties by name."""
    chosen = [(score, name) for name, score in scores.items() if score >= threshold]
    chosen.sort(key=lambda pair: (-pair[0], pair[1]))
    return [name for _, name in chosen]
''',
        ("{'ann': 3.0, 'bob': 1.5, 'cy': 3.0, 'dee': 2.0}", "2.0"),
        lambda s, t: [
            n
            for _, n in sorted(
                ((v, k) for k, v in s.items() if v >= t), key=lambda p: (-p[0], p[1])
            )
        ],
    ),
    Template(
        '''def {name}(n: int) -> int:
    """The n-th value of a running sum of odd numbers (n squared, computed the long way)."""
    if n < 0:
        raise ValueError(f"n must not be negative, not {{n}}")
    total = 0
    for i in range(n):
        total += 2 * i + 1
    return total
''',
        ("12",),
        lambda n: n * n,
    ),
)


def _leading_total(amounts: list[int], limit: int) -> int:
    total = 0
    for amount in amounts:
        if total + amount > limit:
            break
        total += amount
    return total


def _pack(text: str, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if len(candidate) > width and current:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def _call(template: Template) -> object:
    args = [ast.literal_eval(a) for a in template.args]
    return template.fn(*args)  # type: ignore[operator]


CLASS_TEMPLATE = '''

@dataclass
class {cls}:
    """One {noun} as the {package} service keeps it."""

    ident: int
    label: str
    amounts: list[float] = field(default_factory=list)
    active: bool = True

    def total(self) -> float:
        """The sum of the amounts, rounded to cents."""
        return round(sum(self.amounts), 2)

    def describe(self) -> str:
        state = "active" if self.active else "closed"
        return f"{{self.label}} #{{self.ident}} ({{state}}, {{len(self.amounts)}} amounts)"

    def close(self) -> None:
        """Mark the {noun} closed; closing twice is an error."""
        if not self.active:
            raise ValueError(f"{noun} {{self.ident}} is already closed")
        self.active = False
'''

STUB_TEMPLATE = '''

def {name}(records: list[{cls}]) -> dict[str, float]:
    """Totals per label for the {noun}s; closed ones excluded."""
    # TODO: decide how to treat duplicate labels
    raise NotImplementedError
'''


def _module(rng: random.Random, package: str, stem: str) -> tuple[str, list[tuple[str, Template]]]:
    noun = rng.choice(NOUNS)
    cls = noun.capitalize() + rng.choice(("Record", "Entry", "Item", "State"))
    picked = rng.sample(TEMPLATES, rng.randint(2, 4))
    funcs = [(f"{rng.choice(('compute', 'collect', 'select', 'build'))}_{noun}_{i}", t)
             for i, t in enumerate(picked)]  # fmt: skip
    parts = [
        f'"""{package}.{stem}: {noun} helpers for the {package} service."""\n\n'
        "from __future__ import annotations\n\n"
        "from dataclasses import dataclass, field\n\n"
        f"MAX_{noun.upper()}S = {rng.randint(10, 5000)}\n"
        f'DEFAULT_LABEL = "{noun}-{rng.randint(1, 99)}"\n',
        CLASS_TEMPLATE.format(cls=cls, noun=noun, package=package),
    ]
    parts += ["\n\n" + t.source.format(name=name) for name, t in funcs]
    if rng.random() < 0.3:
        parts.append(STUB_TEMPLATE.format(name=f"summarise_{noun}s", cls=cls, noun=noun))
    return "".join(parts), funcs


def _test_module(package: str, stem: str, funcs: list[tuple[str, Template]]) -> str:
    names = ", ".join(name for name, _ in funcs)
    out = [f"from {package}.{stem} import {names}\n"]
    for name, template in funcs:
        out.append(
            f"\n\ndef test_{name}():\n"
            f"    assert {name}({', '.join(template.args)}) == {_call(template)!r}\n"
        )
    return "".join(out)


def generate_workspace(root: Path, files: int, seed: int = SEED) -> list[str]:
    """Write a workspace of exactly `files` files under `root` (which must not exist);
    returns the workspace-relative paths of the generated Python modules and tests."""
    if root.exists():
        raise FileExistsError(f"{root} exists")
    shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    written = sum(1 for p in root.rglob("*") if p.is_file())
    if files < written:
        raise ValueError(f"--files must be at least {written} (the shop example)")
    rng = random.Random(seed)
    paths: list[str] = []
    package_index = 0
    while written < files:
        package = f"{PACKAGE_WORDS[package_index % len(PACKAGE_WORDS)]}{package_index:03d}"
        package_index += 1
        (root / package).mkdir()
        (root / package / "__init__.py").write_text(f'"""The {package} service."""\n')
        written += 1
        tests = root / "tests" / package
        for number in range(MODULES_PER_PACKAGE):
            if written >= files:
                break
            stem = f"{rng.choice(NOUNS)}s_{number:02d}"
            source, funcs = _module(rng, package, stem)
            (root / package / f"{stem}.py").write_text(source)
            paths.append(f"{package}/{stem}.py")
            written += 1
            if written < files and number % 3 == 0:  # every third module has tests
                tests.mkdir(exist_ok=True)
                test_path = tests / f"test_{package}_{stem}.py"
                test_path.write_text(_test_module(package, stem, funcs))
                paths.append(test_path.relative_to(root).as_posix())
                written += 1
    return paths


def prepare_workspace(workdir: Path, files: int, seed: int = SEED) -> tuple[Path, list[str]]:
    """The generated workspace under `workdir`, reused when its file count and seed match."""
    root, marker = workdir / "workspace", workdir / "workspace.json"
    wanted = {"files": files, "seed": seed}
    if root.is_dir() and marker.is_file() and json.loads(marker.read_text()).get("files") == files:
        data = json.loads(marker.read_text())
        if data.get("seed") == seed:
            return root, list(data["paths"])
    shutil.rmtree(root, ignore_errors=True)
    workdir.mkdir(parents=True, exist_ok=True)
    paths = generate_workspace(root, files, seed)
    marker.write_text(json.dumps({**wanted, "paths": paths}))
    return root, paths


# -- statistics ----------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summarise(samples_ms: list[float]) -> dict[str, float]:
    """p50/p95/p99/max (ms, two decimals) and the sample count."""
    return {
        "n": len(samples_ms),
        "p50": round(percentile(samples_ms, 50), 2),
        "p95": round(percentile(samples_ms, 95), 2),
        "p99": round(percentile(samples_ms, 99), 2),
        "max": round(max(samples_ms), 2),
        "mean": round(statistics.fmean(samples_ms), 2),
    }


def markdown_table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """One row per condition and request: results[condition][method] = summarise(...)."""
    rows = [
        "| condition | request | samples | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for condition, methods in results.items():
        for method, s in methods.items():
            rows.append(
                f"| {condition} | {method} | {s['n']:.0f} | {s['p50']:.1f} | {s['p95']:.1f} "
                f"| {s['p99']:.1f} | {s['max']:.1f} |"
            )
    return "\n".join(rows)


# -- the client ----------------------------------------------------------------------------

GAP_S = 0.01  # between requests, as from an editor whose cursor keeps moving
# Cold samples are spread over about a minute: the server's start, the index process's
# start, opening the store, walking the files and the first embedded batches all fall in it.
COLD_GAP_S = 0.1
INDEX_TOKEN = "greenpatch-index-"


@dataclass
class Document:
    uri: str
    lines: int


def _plain(value: object) -> dict[str, Any]:
    """pygls hands untyped payloads over as dicts, namedtuples or attribute objects."""
    if isinstance(value, dict):
        return value
    if hasattr(value, "_asdict"):
        return dict(value._asdict())
    return dict(vars(value)) if hasattr(value, "__dict__") else {}


class Editor:
    """A pygls LanguageClient driving `greenpatch lsp` the way VS Code would."""

    def __init__(self, root: Path, model: str) -> None:
        from lsprotocol import types
        from pygls.lsp.client import LanguageClient

        self.root, self.model = root, model
        self.client = LanguageClient("greenpatch-latency", "1")
        self.index_done = asyncio.Event()
        self.index_message = ""
        self.run_finished = asyncio.Event()
        self.run_message = ""
        c = self.client

        @c.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def create_progress(params: types.WorkDoneProgressCreateParams) -> None:
            return None

        @c.feature(types.PROGRESS)
        def progress(params: types.ProgressParams) -> None:
            value = _plain(params.value)
            if str(params.token).startswith(INDEX_TOKEN):
                self.index_message = str(value.get("message") or self.index_message)
                if value.get("kind") == "end":
                    self.index_done.set()
            elif value.get("kind") == "end":  # the run's progress
                self.run_message = str(value.get("message") or "")
                self.run_finished.set()

        @c.feature(types.WORKSPACE_CONFIGURATION)
        def configuration(params: types.ConfigurationParams) -> list[None]:
            return [None for _ in params.items]

        @c.feature("greenpatch/runEvent")
        def run_event(params: object) -> None:
            return None  # the run's progress says when it ends

        @c.feature(types.WORKSPACE_CODE_LENS_REFRESH)
        def refresh(params: None) -> None:
            return None

        @c.feature(types.WINDOW_SHOW_MESSAGE)
        def show_message(params: types.ShowMessageParams) -> None:
            print(f"# server: {params.message}", file=sys.stderr)

        @c.feature(types.WINDOW_LOG_MESSAGE)
        def log_message(params: types.LogMessageParams) -> None:
            return None

        # as in tests/e2e/lsp_client.py: a string "command" means a Command, as the spec says
        converter = c.protocol._converter
        converter.register_structure_hook(
            types.Command | types.CodeAction,
            lambda obj, _: converter.structure(
                obj, types.Command if isinstance(obj.get("command"), str) else types.CodeAction
            ),
        )

    @property
    def pid(self) -> int:
        assert self.client._server is not None
        return self.client._server.pid

    async def start(self) -> None:
        from lsprotocol import types
        from pytest_lsp import client_capabilities

        await self.client.start_io(sys.executable, "-m", "greenpatch.cli", "lsp")
        uri = self.root.as_uri()
        await self.client.initialize_async(
            types.InitializeParams(
                capabilities=client_capabilities("visual-studio-code"),
                root_uri=uri,
                workspace_folders=[types.WorkspaceFolder(uri=uri, name=self.root.name)],
                # the default settings, but the scripted model and room for the suite of a
                # 5,000-file workspace in the sandbox on a loaded machine
                initialization_options={
                    "models": {"default": self.model},
                    "sandbox": {"timeoutS": 900},
                },
            )
        )
        self.client.initialized(types.InitializedParams())

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()

    def open(self, path: str) -> Document:
        from lsprotocol import types

        file = self.root / path
        text = file.read_text(encoding="utf-8")
        item = types.TextDocumentItem(file.as_uri(), "python", 1, text)
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(item))
        return Document(file.as_uri(), text.count("\n") + 1)

    async def code_actions(self, doc: Document, line: int) -> list[object]:
        from lsprotocol import types

        here = types.Position(line=line, character=4)
        result = await self.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(doc.uri),
                range=types.Range(here, here),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        return list(result or [])

    async def code_lenses(self, doc: Document) -> list[object]:
        from lsprotocol import types

        result = await self.client.text_document_code_lens_async(
            types.CodeLensParams(text_document=types.TextDocumentIdentifier(doc.uri))
        )
        return list(result or [])

    async def execute(self, command: str, arguments: list[object]) -> object:
        from lsprotocol import types

        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=command, arguments=arguments)
        )

    async def sample(
        self,
        docs: list[Document],
        n: int,
        rng: random.Random,
        busy: Callable[[], bool],
        gap_s: float = GAP_S,
    ) -> dict[str, list[float]]:
        """Up to `n` codeAction and `n` codeLens round trips (ms), alternating, while
        `busy()` holds."""
        out: dict[str, list[float]] = {"codeAction": [], "codeLens": []}
        for i in range(2 * n):
            if not busy():
                break
            doc = rng.choice(docs)
            started = time.perf_counter()
            if i % 2 == 0:
                await self.code_actions(doc, rng.randrange(doc.lines))
            else:
                await self.code_lenses(doc)
            out["codeAction" if i % 2 == 0 else "codeLens"].append(
                (time.perf_counter() - started) * 1000
            )
            await asyncio.sleep(gap_s)
        return out


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux /proc), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for pid {pid}")


def children(pid: int) -> list[int]:
    """Every descendant of a process (children of any of its threads)."""
    found = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:  # it ended meanwhile
        return found
    for task in tasks:
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for child in kids:
            found += [int(child), *children(int(child))]
    return found


def memory(pid: int) -> dict[str, float]:
    """The server's RSS, its index process's, any other child's (a run's process, its
    sandboxed tests), and their sum: what Greenpatch costs the machine is the total."""
    server, index, other = rss_mb(pid), 0.0, 0.0
    for child in children(pid):
        try:
            rss = rss_mb(child)
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except (OSError, RuntimeError):  # ended meanwhile
            continue
        if b"greenpatch.indexer.process" in command:
            index += rss
        else:
            other += rss
    return {
        "server": server,
        "index": round(index, 1),
        "other": round(other, 1),
        "total": round(server + index + other, 1),
    }


async def _runs_ended(pid: int, timeout_s: float = 300.0) -> None:
    """Wait until the server has no child but its index: a run's process outlives the
    run's result while it journals (memory of failures, reflection)."""
    deadline = time.monotonic() + timeout_s
    while memory(pid)["other"]:
        if time.monotonic() > deadline:
            print(f"# a run's process still lives after {timeout_s:.0f} s", file=sys.stderr)
            return
        await asyncio.sleep(1.0)


# -- the three conditions ------------------------------------------------------------------

OPEN_DOCS = 40
SHOP_TEST = "tests/test_pricing.py"
INDEX_WAIT_S = 6 * 3600
RUN_WAIT_S = 900
IDLE_S = IDLE_RELEASE_S + 30  # the index checks every quarter of IDLE_RELEASE_S


def write_script(path: Path, sleep_s: float) -> str:
    """examples/scripted/fix-shop.json with every edit reply delayed by `sleep_s`: a slow
    model keeps the run busy while the sandbox runs the real tests between replies."""
    doc = json.loads(SHOP_SCRIPT.read_text(encoding="utf-8"))
    replies = [{"sleep": sleep_s, "reply": r} if isinstance(r, str) else r for r in doc["replies"]]
    path.write_text(json.dumps({"replies": replies}, indent=1))
    return f"scripted/{path}"


def by_method(samples: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {method: summarise(values) for method, values in samples.items() if values}


async def _cold(editor: Editor, open_paths: list[str], n: int, rng: random.Random) -> dict:
    await editor.start()
    docs = [editor.open(p) for p in open_paths]
    samples = await editor.sample(
        docs, n, rng, lambda: not editor.index_done.is_set(), gap_s=COLD_GAP_S
    )
    note = f"indexing still running when sampling ended ({editor.index_message or 'starting'})"
    if editor.index_done.is_set():
        note = "indexing finished before all samples were taken"
    await editor.stop()
    return {"samples": by_method(samples), "note": note}


async def _wait_for_index(editor: Editor) -> float:
    started = time.monotonic()
    while not editor.index_done.is_set():
        try:
            await asyncio.wait_for(editor.index_done.wait(), 60)
        except TimeoutError:
            waited = time.monotonic() - started
            print(f"# indexing: {editor.index_message} after {waited:.0f} s", file=sys.stderr)
            if waited > INDEX_WAIT_S:
                raise RuntimeError("the index did not finish in time") from None
    return time.monotonic() - started


async def _memory_after_an_edit(editor: Editor, path: Path) -> dict[str, float]:
    """Memory once the user has changed a file: an index that is only loaded has not loaded
    its embedding model yet, one that has seen an edit has. Appends a function to `path`,
    reindexes, measures, and puts the file back."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "\n\ndef latency_probe_marker():\n    return 1\n", encoding="utf-8")
    try:
        editor.index_done.clear()
        await editor.execute("greenpatch.reindex", [])
        await _wait_for_index(editor)
        return memory(editor.pid)
    finally:
        path.write_text(text, encoding="utf-8")


async def _fix_action(editor: Editor, doc: Document, root: Path) -> tuple[str, list[object]]:
    from lsprotocol import types

    lines = (root / SHOP_TEST).read_text().splitlines()
    line = next(i for i, text in enumerate(lines) if "def test_apply_discount():" in text)
    for action in await editor.code_actions(doc, line):
        if isinstance(action, types.CodeAction) and action.command and "fix" in action.title:
            return action.command.command, list(action.command.arguments or [])
    raise RuntimeError("no fix action on the shop's failing test")


async def _idle_and_run(
    editor: Editor, root: Path, open_paths: list[str], n: int, rng: random.Random
) -> dict:
    await editor.start()
    docs = [editor.open(p) for p in open_paths]
    index_s = await _wait_for_index(editor)
    await asyncio.sleep(1.0)  # let the opened buffers' debounced updates land
    idle = await editor.sample(docs, n, rng, lambda: True)
    rss_edit = await _memory_after_an_edit(editor, root / open_paths[0])
    command, arguments = await _fix_action(editor, docs[-1], root)
    started = await editor.execute(command, arguments)
    if not isinstance(started, dict) or "runId" not in started:
        raise RuntimeError(f"the run did not start: {started}")
    run_started = time.monotonic()
    during = await editor.sample(docs, n, rng, lambda: not editor.run_finished.is_set())
    sampled_s = time.monotonic() - run_started
    await asyncio.wait_for(editor.run_finished.wait(), RUN_WAIT_S)
    run_s = time.monotonic() - run_started
    await _runs_ended(editor.pid)
    rss_after = memory(editor.pid)
    await asyncio.sleep(IDLE_S)  # nothing searches or edits: the index releases what it can
    rss_idle_later = memory(editor.pid)
    await editor.stop()
    return {
        "idle": {"samples": by_method(idle), "note": f"index ready {index_s:.0f} s after start"},
        "run": {
            "samples": by_method(during),
            "note": f"run lasted {run_s:.0f} s ({editor.run_message}); sampled for the first "
            f"{sampled_s:.0f} s",
        },
        "rss_mb": {
            "indexed, after an edit": rss_edit,
            "after the run (its process ended)": rss_after,
            f"then {IDLE_S:.0f} s idle": rss_idle_later,
        },
    }


async def measure(files: int, samples: int, workdir: Path) -> dict:
    root, paths = prepare_workspace(workdir, files)
    rng = random.Random(SEED)
    open_paths = [*rng.sample(paths, min(OPEN_DOCS, len(paths))), SHOP_TEST]
    # the coder's and debugger's replies each outlast half the sampling, so the run is busy
    sleep_s = max(5.0, samples * 2 * (GAP_S + 0.01) / 2)
    model = write_script(workdir / "fix-shop-slow.json", sleep_s)

    # cold indexing: a fresh .greenpatch; an index built earlier waits outside meanwhile
    state, kept = root / ".greenpatch", workdir / "kept-greenpatch"
    if state.exists() and not kept.exists():
        state.rename(kept)
    shutil.rmtree(state, ignore_errors=True)
    cold = await _cold(Editor(root, model), open_paths, samples, rng)
    if kept.exists():
        shutil.rmtree(state, ignore_errors=True)
        kept.rename(state)
    rest = await _idle_and_run(Editor(root, model), root, open_paths, samples, rng)
    conditions = {"idle (indexed)": rest["idle"], "cold indexing": cold, "agent run": rest["run"]}
    return {
        "files": files,
        "samples_per_request": samples,
        "workspace": str(root),
        "conditions": conditions,
        "rss_mb": rest["rss_mb"],
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def report(result: dict) -> str:
    table = markdown_table({c: v["samples"] for c, v in result["conditions"].items()})
    lines = [table, ""]
    lines += [f"- {c}: {v['note']}" for c, v in result["conditions"].items()]
    lines += [
        f"- RSS, {k}: server {v['server']} MB + index process {v['index']} MB"
        + (f" + other children {v['other']} MB" if v["other"] else "")
        + f" = {v['total']} MB"
        for k, v in result["rss_mb"].items()
    ]
    worst = max(s["p99"] for c in result["conditions"].values() for s in c["samples"].values())
    rss = max(v["total"] for v in result["rss_mb"].values())
    lines.append(
        f"- targets: p99 < {TARGET_P99_MS:.0f} ms: {'met' if worst < TARGET_P99_MS else 'MISSED'}"
        f" (worst {worst} ms); RSS < {TARGET_RSS_MB:.0f} MB: "
        f"{'met' if rss < TARGET_RSS_MB else 'MISSED'} ({rss} MB)"
    )
    lines.append(f"- load average: {' '.join(map(str, result['load_average']))}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=5000, help="workspace size (default 5000)")
    parser.add_argument(
        "--samples", type=int, default=300, help="requests of each kind per condition"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "greenpatch-lsp-latency",
        help="where the workspace and its index live between runs",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.files < 1 or args.samples < 1:
        parser.error("--files and --samples must be positive")
    try:
        result = asyncio.run(measure(args.files, args.samples, args.workdir.resolve()))
    except (RuntimeError, ValueError, OSError) as exc:
        print(f"lsp_latency: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
