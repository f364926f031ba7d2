"""Plain data the agents room hands to the server and the CLI."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from greenpatch.agents.gateway import CallRecord
from greenpatch.patch import FileChange

TaskKind = Literal["fix", "implement", "task"]
EventKind = Literal[
    "started",
    "phase",
    "iteration",
    "tests",
    "step",
    "proposal",
    "failed",
    "cancelled",
    "paused",
    "finished",
]
# paused: the budget ran out; `loop.resume` continues the run with more.
RunStatus = Literal["green", "failed", "cancelled", "error", "paused"]


_FIX_WORDS = re.compile(r"\b(fix|failing|fails|failed|failure|broken|bug|crash|pass)\w*\b", re.I)


def infer_kind(task: str) -> TaskKind:
    """A request that talks about failing tests or bugs is judged by making the red baseline
    green; any other is judged by adding no new failures."""
    return "fix" if _FIX_WORDS.search(task) else "task"


@dataclass(frozen=True, kw_only=True)
class TaskRequest:
    """What the user asked for, and where."""

    task: str
    workspace: Path
    kind: TaskKind = "task"
    # Where the gesture happened (workspace-relative POSIX path, 0-based line), if anywhere.
    path: str | None = None
    line: int | None = None
    symbol: str | None = None
    # Test node ids to run first and to judge the run by (empty: the whole suite).
    tests: tuple[str, ...] = ()
    # The editor's unsaved buffers: workspace-relative path -> text.
    buffers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunEvent:
    run_id: str
    kind: EventKind
    message: str
    phase: str = ""
    iteration: int = 0
    cost_usd: float = 0.0
    agent: str = ""  # the role at work in this phase, if a role is
    tokens: int = 0  # the run's tokens so far
    tests: Mapping[str, int] | None = None  # a test run's counts per outcome


@dataclass(frozen=True)
class Evidence:
    """What the tests said before the change and after it."""

    before: str
    after: str
    failing_before: tuple[str, ...] = ()
    review: str = ""  # the critic's words, when it had any
    new_tests: tuple[str, ...] = ()  # test files the tester wrote, part of the change
    dropped_tests: tuple[str, ...] = ()  # the tester's tests that failed on vouched-for code


@dataclass(frozen=True)
class Proposal:
    """A green change, ready for review. `changes` carry the text each was made against."""

    run_id: str
    task: str
    changes: tuple[FileChange, ...]
    diff: str
    evidence: Evidence
    iterations: int
    cost_usd: float
    calls: tuple[CallRecord, ...] = ()


@dataclass(frozen=True)
class RunResult:
    run_id: str
    status: RunStatus
    message: str
    proposal: Proposal | None = None
    iterations: int = 0
    cost_usd: float = 0.0
    duration_s: float = 0.0
    calls: tuple[CallRecord, ...] = ()
    # The node ids the baseline (the whole suite, before any change) saw failing; None when
    # the run stopped before its baseline. A proposal carries them in its evidence too.
    failing_before: tuple[str, ...] | None = None
