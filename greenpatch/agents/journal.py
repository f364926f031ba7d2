"""What a run leaves behind and what it learns from: its persisted states (SQLite), its
transcript (JSONL), the memory of past failures and fixes (ChromaDB), and the roles'
identities with their learned rules. Every part is a help, never a reason to fail a run: a
store that cannot be opened is logged once and skipped."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from greenpatch.agents.gateway import CallRecord, Gateway, Message
from greenpatch.errors import BudgetExceeded, Cancelled

log = logging.getLogger(__name__)

T = TypeVar("T")
LEARNING_ROLES = ("planner", "coder", "tester", "debugger", "critic")


def _safely(what: str, fn: Callable[[], T], default: T) -> T:
    try:
        return fn()
    except (BudgetExceeded, Cancelled):
        raise
    except Exception as exc:
        log.warning("%s failed: %s", what, exc)
        return default


class Journal:
    def __init__(self, workspace: Path, run_id: str, task: str, *, resuming: bool = False) -> None:
        from greenpatch.agents import identity, memory, store, transcript

        self.workspace, self.run_id, self.task = workspace, run_id, task
        self.store: Any = _safely("run store", lambda: store.RunStore(workspace), None)
        if self.store is not None:
            begin = self.store.reopen if resuming else self.store.begin
            _safely("run store", lambda: begin(run_id, task), None)
        self.transcript: Any = _safely(
            "transcript", lambda: transcript.Transcript(workspace, run_id), None
        )
        self.memory = memory.FailureMemory(workspace)
        self.identities: Any = _safely("identities", lambda: identity.Identities(workspace), None)

    def state(self, name: str, detail: str = "") -> None:
        if self.store is not None:
            _safely("run store", lambda: self.store.transition(self.run_id, name, detail), None)

    def checkpoint(self, data: str) -> None:
        """Save the run's position (see `snapshot.Position`), replacing the last one."""
        if self.store is not None:
            _safely("run store", lambda: self.store.save_checkpoint(self.run_id, data), None)

    def call(self, record: CallRecord, messages: Sequence[Message], reply: str) -> None:
        if self.transcript is not None:
            _safely("transcript", lambda: self.transcript.call(record, list(messages), reply), None)

    def event(self, kind: str, message: str, phase: str = "", iteration: int = 0) -> None:
        """What the loop did (a phase, a test run, a decision): what reflection reads."""
        if self.transcript is not None:
            record = functools.partial(
                self.transcript.event, kind, message, phase=phase, iteration=iteration
            )
            _safely("transcript", record, None)

    def mistake(self, role: str, text: str) -> None:
        """A mistake of the role's, in general words: later prompts of the role list it."""
        if self.identities is not None:
            _safely("identities", lambda: self.identities.add_mistake(role, text), False)

    def context(self, query: str) -> str:
        """Earlier runs here and similar past failures, as a prompt section ('' if none)."""
        from greenpatch.agents import memory, store

        parts = []
        if self.store is not None:
            recent: list[Any] = _safely("run store", lambda: self.store.recent(3), [])
            parts.append(store.briefing([r for r in recent if r.run_id != self.run_id], 600))
        lessons = self.memory.recall(query, k=2, min_score=0.5)  # never raises
        parts.append(memory.format_lessons(lessons, 1200))
        return "\n".join(p for p in parts if p.strip())

    def rules(self, role: str) -> str:
        """The role's learned rules, for its system prompt."""
        from greenpatch.agents import identity

        if self.identities is None:
            return ""
        return _safely(
            "identities",
            lambda: identity.prompt_section(
                self.identities.get(role), self.identities.rules_for(role, 5)
            ),
            "",
        )

    def finish(
        self,
        status: str,
        message: str,
        *,
        failure: str = "",
        diff: str = "",
        gateway: Gateway | None = None,
        iterations: int = 0,
        duration_s: float = 0.0,
    ) -> None:
        """Persist the end, remember what worked, and let the roles reflect when due."""
        if self.store is not None:
            _safely("run store", lambda: self.store.finish(self.run_id, status, message), None)
        if self.transcript is not None:
            records = gateway.records if gateway else []
            summary = functools.partial(
                self.transcript.summary,
                task=self.task,
                status=status,
                summary=message,
                iterations=iterations,
                duration_s=duration_s,
                calls=len(records),
                prompt_tokens=sum(r.prompt_tokens for r in records),
                completion_tokens=sum(r.completion_tokens for r in records),
                cost_usd=gateway.cost_usd if gateway else 0.0,
                models={r.agent: r.model for r in records},
            )
            _safely("transcript", summary, None)
            _safely("transcript", self.transcript.close, None)
        if status in ("green", "failed") and failure and diff:  # what worked, or did not
            self.memory.remember(self.task, failure, diff, status)
        if status in ("green", "failed"):
            self.memory.remember_task(self.task, message, status)
        if self.identities is not None and status in ("green", "failed") and gateway:
            terms = identity_terms(self.task, diff)
            self._learn(status == "green", gateway, terms)

    def _learn(self, success: bool, gateway: Gateway, terms: Sequence[str]) -> None:
        """The roles that took part in the run (made a call) count a use of the rules they
        were given, then reflect when due. The run is over: a budget spent or a cancel now
        ends the reflections, not the run, nor the counting."""
        ids = self.identities
        took_part = [r for r in LEARNING_ROLES if r in {rec.agent for rec in gateway.records}]
        for role in took_part:
            count = functools.partial(self._count, role, success)
            _safely(f"learning ({role})", count, None)
        for role in took_part:
            reflect = functools.partial(self._reflect, role, gateway, terms)
            try:
                _safely(f"reflection ({role})", reflect, None)
            except (BudgetExceeded, Cancelled) as exc:
                log.info("reflection stopped after the run: %s", exc)
                break
        _safely("identities", ids.prune, [])

    def _count(self, role: str, success: bool) -> None:
        """One run of the role: a use of each rule it was given, helped or not."""
        ids = self.identities
        ids.record_outcome(role, [r.id for r in ids.rules_for(role, 5)], success)

    def _reflect(self, role: str, gateway: Gateway, terms: Sequence[str]) -> None:
        """Every few runs, the role proposes rules from its recent transcripts."""
        from greenpatch.agents import transcript

        if self.store is None or not self.identities.due(role):
            return
        digests = [
            transcript.digest(transcript.read(self.workspace, r.run_id))
            for r in self.store.recent(4)
        ]
        self.identities.reflect(role, gateway, digests, task_terms=terms)


_IDENTIFIER = re.compile(r"`([^`\n]{3,60})`|\b([A-Za-z_]\w*(?:\.\w+)+|\w*_\w*|[a-z]+[A-Z]\w*)\b")
_DEFINED = re.compile(r"^[+-]\s*(?:async\s+)?(?:def|class)\s+(\w+)", re.MULTILINE)


def identity_terms(task: str, diff: str) -> list[str]:
    """The names a rule learned from this run must not carry (it would be about this task,
    not general): code-like words of the task (`quoted`, snake_case, dotted, camelCase) and
    the functions and classes the change edited."""
    terms = [a or b for a, b in _IDENTIFIER.findall(task)]
    terms += _DEFINED.findall(diff)
    return [t for t in dict.fromkeys(terms) if len(t.strip("_")) >= 3]


def close_interrupted(workspace: Path) -> list[str]:
    """What a (re)started server calls: runs a killed process left open are closed cleanly,
    with status `interrupted`; those with a checkpoint can still be resumed (`loop.resume`)."""
    from greenpatch.agents import store

    def close() -> list[str]:
        runs = store.RunStore(workspace).close_unfinished(
            "the process stopped during the run; `greenpatch run --resume RUN_ID` continues it"
        )
        return [f"{r.run_id} ({r.task[:60]})" for r in runs]

    return _safely("run store", close, [])
