"""Known failing tests, learned only from test reports the server saw: each run's baseline
(the whole suite), the server's own re-verification runs, and re-checks of the known failures
after an apply or a save. They make "fix this failing test" the preferred code action and
put a warning on each failing test's `def`, cleared when a later report sees it pass."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import logging
import threading
from collections.abc import Collection, Mapping

from lsprotocol import types

from greenpatch.agents.types import Proposal, RunResult, TaskRequest
from greenpatch.sandbox import TestReport, detect_python, from_settings, run_pytest
from greenpatch.server.app import GreenpatchServer

log = logging.getLogger(__name__)

SOURCE = "failing-tests"


async def run_tests(
    ls: GreenpatchServer, overlay: Mapping[str, str | None], tests: Collection[str] = ()
) -> TestReport:
    """pytest in the sandbox on the workspace with `overlay` on top (the editor's buffers and
    whatever else the caller wants judged), off the event loop."""
    root = ls.session.root
    assert root is not None
    settings = ls.session.settings.sandbox
    loop = asyncio.get_running_loop()
    done: asyncio.Future[TestReport] = loop.create_future()

    def work() -> None:
        try:
            report = run_pytest(
                from_settings(settings),
                root,
                overlay=dict(overlay),
                tests=tuple(tests),
                timeout=settings.timeout_s,
                python=detect_python(root),
            )
        except Exception as exc:
            _settle(loop, done, None, exc)
        else:
            _settle(loop, done, report, None)

    # A daemon thread: a server told to exit must not wait for a check nobody will read
    # (the sandbox's own timeout bounds the pytest process).
    threading.Thread(target=work, name="greenpatch-tests", daemon=True).start()
    return await done


def _settle(
    loop: asyncio.AbstractEventLoop,
    done: asyncio.Future[TestReport],
    report: TestReport | None,
    error: Exception | None,
) -> None:
    def settle() -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            assert report is not None
            done.set_result(report)

    with contextlib.suppress(RuntimeError):  # a closed loop: the server is gone
        loop.call_soon_threadsafe(settle)


def learn(ls: GreenpatchServer, failing: Collection[str], ran: Collection[str] | None) -> None:
    """Record a report: `failing` node ids failed; `ran` were selected (None: the whole
    suite, so anything not failing now passes)."""
    known = ls.session.failing_tests
    if ran is None:
        known.clear()
    else:
        known.difference_update([t for t in known if any(_covers(r, t) for r in ran)])
    known.update(failing)
    publish(ls)


def learn_report(ls: GreenpatchServer, report: TestReport, ran: Collection[str] | None) -> None:
    """A sandbox report: learn from it only when pytest got to run the tests."""
    if report.status in ("passed", "failed", "no_tests"):
        learn(ls, [c.nodeid for c in report.failures], ran)


def learn_from_run(ls: GreenpatchServer, request: TaskRequest, result: RunResult) -> None:
    """A run's baseline ran the whole suite on the text as it was when the run began."""
    if result.proposal is not None:
        learn(ls, result.proposal.evidence.failing_before, None)
    elif result.failing_before is not None:
        learn(ls, result.failing_before, None)


def targets(proposal: Proposal, request: TaskRequest | None) -> tuple[str, ...]:
    """The tests a proposal was made to pass, as the loop judged it: the gesture's tests,
    else (a fix) every test failing before, plus the tests the tester wrote."""
    chosen = tuple(request.tests) if request else ()
    if not chosen and (request is None or request.kind == "fix"):
        chosen = proposal.evidence.failing_before
    return chosen + proposal.evidence.new_tests


def still_green(
    report: TestReport, failing_before: Collection[str], must_pass: Collection[str]
) -> str:
    """'' when the report keeps the proposal's promise (no test failing that passed before,
    none of `must_pass` failing); else what broke it."""
    if report.status not in ("passed", "failed"):
        return report.summary()
    failing = sorted(c.nodeid for c in report.failures)
    new = [f for f in failing if f not in failing_before]
    if new:
        return "now failing: " + ", ".join(new[:5])
    stuck = [f for f in failing if any(_covers(t, f) for t in must_pass)]
    if stuck:
        return "still failing: " + ", ".join(stuck[:5])
    return ""


def _covers(selected: str, nodeid: str) -> bool:
    """A selection (file, class or test id) includes the node id."""
    return nodeid == selected or nodeid.startswith(selected + "::")


def recheck(ls: GreenpatchServer) -> None:
    """Re-run the known failing tests on the current text (after an apply or a save) in the
    background, one check at a time; a request while one runs makes one more run after it."""
    session = ls.session
    if not session.failing_tests or session.root is None:
        return
    if session.rechecking:
        session.recheck_again = True
        return
    session.rechecking = True
    ls.background(_recheck(ls))


async def _recheck(ls: GreenpatchServer) -> None:
    session = ls.session
    try:
        while session.failing_tests:
            session.recheck_again = False
            tests = sorted(session.failing_tests)
            try:
                report = await run_tests(ls, ls.buffers(), tests)
            except Exception as exc:  # a help, not a feature: the next save tries again
                log.warning("re-checking the failing tests failed: %s", exc)
                return
            learn_report(ls, report, tests)
            if not session.recheck_again:
                return
    finally:
        session.rechecking = False


def def_line(source: str, nodeid: str) -> int:
    """0-based line of the test's `def` (0 when not found: a module-level error)."""
    names = [part.split("[", 1)[0] for part in nodeid.split("::")[1:]]
    try:
        nodes: list[ast.stmt] = ast.parse(source).body
    except SyntaxError:
        return 0
    line = 0
    for name in names:
        found = next(
            (
                n
                for n in nodes
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and n.name == name
            ),
            None,
        )
        if found is None:
            break
        line, nodes = found.lineno - 1, found.body
    return line


def publish(ls: GreenpatchServer) -> None:
    """A warning on each known failing test; files without one any more are cleared."""
    root = ls.session.root
    if root is None:
        return
    by_file: dict[str, list[str]] = {}
    for nodeid in sorted(ls.session.failing_tests):
        by_file.setdefault(nodeid.split("::", 1)[0], []).append(nodeid)
    uris = {ls.uri_of(path): ids for path, ids in by_file.items()}
    stale = [uri for uri, parts in ls.session.diagnostics.items() if parts.get(SOURCE)]
    for uri in stale:
        if uri not in uris:
            ls.publish_diagnostics(uri, SOURCE, [])
    for uri, ids in uris.items():
        source = ls.text_of(uri)
        if source is None:
            continue  # a test file that is gone: nothing to mark
        items = []
        for nodeid in ids:
            line = def_line(source, nodeid)
            items.append(
                types.Diagnostic(
                    range=types.Range(
                        start=types.Position(line=line, character=0),
                        end=types.Position(line=line + 1, character=0),
                    ),
                    severity=types.DiagnosticSeverity.Warning,
                    source="greenpatch",
                    code="failing-test",
                    message=f"{nodeid} failed in the last test run that ran it",
                )
            )
        ls.publish_diagnostics(uri, SOURCE, items)
