"""pytest in the sandbox, its JUnit XML read back into a `TestReport`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from greenpatch.sandbox.base import Sandbox
from greenpatch.sandbox.junit import JUnitError, parse_junit
from greenpatch.sandbox.report import Status, TestCase, TestReport
from greenpatch.sandbox.result import CommandResult
from greenpatch.sandbox.selection import related_tests
from greenpatch.sandbox.view import resolve_workspace

log = logging.getLogger(__name__)

# pytest's exit codes (pytest.ExitCode), without importing pytest here.
_EXIT_STATUS: dict[int, Status] = {
    0: "passed", 1: "failed", 2: "interrupted", 3: "error", 4: "error", 5: "no_tests",
}  # fmt: skip
# A test module that cannot be imported is reported as its own error and the other tests
# still run (`--continue-on-collection-errors`): one broken file does not hide the suite.
PYTEST_ARGS = (
    "-q", "--tb=short", "--color=no", "-o", "junit_family=xunit1",
    "-o", "junit_logging=all", "-o", "junit_log_passing_tests=false",
    "--continue-on-collection-errors",
)  # fmt: skip


def run_pytest(
    sandbox: Sandbox,
    workspace: Path,
    *,
    overlay: Mapping[str, str | None] = {},
    tests: Sequence[str] = (),
    timeout: float | None = None,
    python: str | None = None,
    then_full: bool = False,
    related: bool = False,
    extra_args: Sequence[str] = (),
) -> TestReport:
    """Run pytest (all tests, or the node ids/paths in `tests`) on the workspace with
    `overlay` applied, with the project's interpreter unless `python` is given.

    `related`: add the test files touching the overlay's changed files to `tests`.
    `then_full`: when the selected tests pass, also run the whole suite and report that
    (the selected run's report is returned when it did not pass, so failures come fast).
    """
    root = resolve_workspace(workspace)
    if related:
        extra = related_tests(root, overlay)
        tests = tuple(dict.fromkeys([*tests, *extra]))
    report = _run_once(sandbox, root, overlay, tests, timeout, python, extra_args)
    if then_full and tests and report.ok:
        log.info("selected tests passed (%s); running the full suite", report.summary())
        return _run_once(sandbox, root, overlay, (), timeout, python, extra_args)
    return report


def _run_once(
    sandbox: Sandbox,
    root: Path,
    overlay: Mapping[str, str | None],
    tests: Sequence[str],
    timeout: float | None,
    python: str | None,
    extra_args: Sequence[str],
) -> TestReport:
    junit = f".greenpatch-junit-{uuid.uuid4().hex[:12]}.xml"
    interpreter = python or sandbox.default_python(root)
    inside = Path(sandbox.workspace_path(root))
    # A test still running at half the budget gets its traceback dumped (on stderr), so a
    # timed-out report says where the run hung.
    hang = ["-o", f"faulthandler_timeout={max(int(timeout / 2), 1)}"] if timeout else []
    command = [
        interpreter, "-m", "pytest", *PYTEST_ARGS, *hang, f"--junitxml={inside / junit}",
        *extra_args, *tests,
    ]  # fmt: skip
    result = sandbox.run(root, command, overlay=overlay, timeout=timeout, collect=[junit])
    return build_report(result, result.collected.get(junit), inside, tuple(command))


def build_report(
    result: CommandResult, xml_text: str | None, root: Path, command: tuple[str, ...]
) -> TestReport:
    """The verdict from pytest's exit code, the sandbox's result and the XML (if any);
    `root` is the workspace as the run saw it (frames are reported relative to it)."""
    output = _combined(result)
    cases: tuple[TestCase, ...] = ()
    reason = result.killed_reason
    if xml_text:
        try:
            cases = parse_junit(xml_text, root)
        except JUnitError as exc:
            reason = reason or str(exc)
    status = _status(result, cases)
    if status == "error" and not reason:
        reason = _error_reason(result, cases, xml_text)
    return TestReport(
        status=status,
        cases=cases,
        exit_code=result.exit_code,
        duration_s=result.duration_s,
        output=output,
        reason=reason,
        backend=result.backend,
        command=command,
        warnings=result.warnings,
    )


def _status(result: CommandResult, cases: tuple[TestCase, ...]) -> Status:
    if result.timed_out:
        return "timeout"
    if result.exit_code not in _EXIT_STATUS:
        # Not one of pytest's own exit codes: a signal or a limit ended it.
        return "interrupted" if result.killed_reason or result.exit_code > 128 else "error"
    status = _EXIT_STATUS[result.exit_code]
    if status == "interrupted" and any(c.outcome == "error" for c in cases):
        return "error"  # errors pytest could not continue past (exit code 2)
    if status == "passed" and not cases:
        return "no_tests"
    return status


def _error_reason(result: CommandResult, cases: tuple[TestCase, ...], xml_text: str | None) -> str:
    if any(c.outcome == "error" for c in cases):
        return "collection or setup errors"
    if xml_text is None:
        return f"pytest did not run (exit code {result.exit_code}); is pytest installed?"
    return f"pytest exit code {result.exit_code}"


def _combined(result: CommandResult) -> str:
    return "\n".join(part for part in (result.stdout.strip(), result.stderr.strip()) if part)
