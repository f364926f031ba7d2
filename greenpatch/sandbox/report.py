"""The typed result of a pytest run."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

Status = Literal["passed", "failed", "error", "no_tests", "timeout", "interrupted"]
Outcome = Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]


@dataclass(frozen=True, kw_only=True)
class TestCase:
    """One test (or one collection error, whose nodeid is the module's path)."""

    __test__ = False  # not a pytest test class

    nodeid: str
    outcome: Outcome
    duration_s: float = 0.0
    message: str = ""
    # The failing frame in the project's own files (workspace-relative), else the test's.
    file: str | None = None
    line: int | None = None
    # Traceback and captured output, capped.
    output: str = ""


@dataclass(frozen=True, kw_only=True)
class TestReport:
    """What a pytest run showed. `status` is the run's verdict; `cases` the tests it saw."""

    __test__ = False

    status: Status
    cases: tuple[TestCase, ...] = ()
    exit_code: int = 0
    duration_s: float = 0.0
    # pytest's own output (capped), for what the XML does not say (e.g. a crash).
    output: str = ""
    reason: str | None = None
    backend: str = ""
    command: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def failures(self) -> tuple[TestCase, ...]:
        """The failed and errored cases."""
        return tuple(c for c in self.cases if c.outcome in ("failed", "error"))

    @property
    def ok(self) -> bool:
        """True when every selected test passed (and at least one ran)."""
        return self.status == "passed"

    def counts(self) -> dict[str, int]:
        """How many cases had each outcome."""
        return dict(Counter(c.outcome for c in self.cases))

    def summary(self) -> str:
        """One line, e.g. `failed: 3 passed, 1 failed in 0.42 s`."""
        parts = [f"{n} {outcome}" for outcome, n in sorted(self.counts().items())]
        text = f"{self.status}: {', '.join(parts) or 'no tests ran'} in {self.duration_s:.2f} s"
        if self.reason:
            text += f" ({self.reason})"
        return text

    def signature(self) -> str:
        """What the failures are, without what varies from one run to the next (timings):
        two runs that fail alike have the same signature."""
        lines = [f"{self.status} {self.reason or ''}"]
        lines += sorted(f"{c.nodeid} {c.outcome}: {c.message}" for c in self.failures)
        if not self.failures:
            lines.append(re.sub(r"\d+(\.\d+)?", "#", _tail(self.output, 300)))
        return "\n".join(lines)

    def failure_text(self, max_chars: int = 6000) -> str:
        """What a model needs to fix the failures: per failing test its id, location,
        message and traceback, most important first, within `max_chars`."""
        if self.ok:
            return self.summary()
        blocks = [self.summary()]
        if not self.failures:
            # A hang's stack dump lists the most recent call first: keep its head, which names
            # the test that hung, rather than the tail of the output.
            dump = self.output.find("most recent call first")
            if dump >= 0:
                start = self.output.rfind("\n", 0, dump) + 1
                blocks.append(self.output[start : start + max_chars // 2])
            else:
                blocks.append(_tail(self.output, max_chars // 2))
        per_case = max(max_chars // max(len(self.failures), 1), 400)
        for case in self.failures:
            where = f"{case.file}:{case.line}" if case.file else "unknown location"
            head = f"{case.outcome.upper()} {case.nodeid} at {where}: {case.message}".strip()
            blocks.append(head + "\n" + _tail(case.output, per_case - len(head)))
        text = "\n\n".join(b.rstrip() for b in blocks if b)
        if len(text) > max_chars:
            text = text[: max_chars - 30].rstrip() + "\n[... truncated ...]"
        return text


def _tail(text: str, limit: int) -> str:
    limit = max(limit, 0)
    if len(text) <= limit:
        return text
    return "[...]\n" + text[len(text) - limit :]
