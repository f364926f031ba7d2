"""What a run leaves behind and what it learns from: its persisted states (SQLite), its
transcript (JSONL), the memory of past failures and fixes (ChromaDB), and the roles'
identities with their learned rules. Every part is a help, never a reason to fail a run: a
store that cannot be opened is logged once and skipped."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from greenpatch.agents.gateway import CallRecord, Gateway, Message
from greenpatch.errors import BudgetExceeded, Cancelled

log = logging.getLogger(__name__)

T = TypeVar("T")
ROLES_USED = ("coder", "debugger", "critic")


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
    ) -> None:
        """Persist the end, remember what worked, and let the roles reflect when due."""
        if self.store is not None:
            _safely("run store", lambda: self.store.finish(self.run_id, status, message), None)
        if self.transcript is not None:
            _safely(
                "transcript",
                lambda: self.transcript.summary(task=self.task, status=status, summary=message),
                None,
            )
            _safely("transcript", self.transcript.close, None)
        if status == "green" and failure and diff:
            self.memory.remember(self.task, failure, diff, status)
        if status in ("green", "failed"):
            self.memory.remember_task(self.task, message, status)
        if self.identities is not None and status in ("green", "failed"):
            self._learn(status == "green", gateway)

    def _learn(self, success: bool, gateway: Gateway | None) -> None:
        for role in ROLES_USED:
            learn = functools.partial(self._learn_role, role, success, gateway)
            _safely(f"learning ({role})", learn, None)
        _safely("identities", self.identities.prune, [])

    def _learn_role(self, role: str, success: bool, gateway: Gateway | None) -> None:
        """Count the outcome for the rules the role used; reflect every few runs."""
        from greenpatch.agents import transcript

        ids = self.identities
        ids.record_outcome(role, [r.id for r in ids.rules_for(role, 5)], success)
        if gateway is None or self.store is None or not ids.due(role):
            return
        digests = [
            transcript.digest(transcript.read(self.workspace, r.run_id))
            for r in self.store.recent(4)
        ]
        ids.reflect(role, gateway, digests)


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
