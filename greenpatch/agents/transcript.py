"""Run transcripts: every model call and event of a run as JSONL, plus a per-run summary.

`.greenpatch/runs/<run_id>.jsonl` gets one line per call or event, written and flushed whole,
so a killed process leaves every line before the kill readable (at most the one being written
is torn, and reading skips it). `.greenpatch/runs/<run_id>.summary.json` is replaced
atomically when the run ends.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from greenpatch.agents.gateway import CallRecord
from greenpatch.agents.store import state_dir

log = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


@dataclass(frozen=True)
class CallLine:
    """One model call: what was asked, what came back, what it cost."""

    role: str
    model: str
    messages: tuple[Mapping[str, str], ...]
    reply: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_s: float
    outcome: str  # e.g. ok, format_error, patch_refused, red, green, error
    error: str = ""
    at: float = 0.0


@dataclass(frozen=True)
class EventLine:
    """Something the loop did: a phase change, a test run, a decision."""

    kind: str
    message: str
    phase: str = ""
    iteration: int = 0
    at: float = 0.0


@dataclass(frozen=True)
class TranscriptData:
    """A transcript read back. `torn` counts lines that could not be parsed (a write cut
    short by a kill)."""

    run_id: str
    calls: tuple[CallLine, ...]
    events: tuple[EventLine, ...]
    summary: Mapping[str, Any] = field(default_factory=dict)
    torn: int = 0


def runs_dir(workspace: Path) -> Path:
    """`.greenpatch/runs`, created on demand."""
    path = state_dir(workspace) / "runs"
    path.mkdir(exist_ok=True)
    return path


def _check_id(run_id: str) -> str:
    # The id becomes a file name: refuse anything that could leave the runs directory.
    if not _SAFE_ID.match(run_id):
        raise ValueError(f"run id {run_id!r} is not usable as a file name")
    return run_id


class Transcript:
    """The append-only record of one run. Safe to share between threads of the run."""

    def __init__(self, workspace: Path, run_id: str) -> None:
        self.run_id = _check_id(run_id)
        directory = runs_dir(workspace)
        self.path = directory / f"{run_id}.jsonl"
        self.summary_path = directory / f"{run_id}.summary.json"
        self._lock = threading.Lock()
        self._file: TextIO | None = None

    def _append(self, line: dict[str, Any]) -> None:
        text = json.dumps(line, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            if self._file is None:
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(text)
            # Flushed per line: the OS keeps what was flushed when the process dies.
            self._file.flush()

    def call(
        self,
        record: CallRecord,
        messages: Sequence[Mapping[str, str]],
        reply: str,
        outcome: str = "ok",
    ) -> CallLine:
        """Append a model call, from the gateway's record of it."""
        line = CallLine(
            role=record.agent,
            model=record.model,
            messages=tuple(dict(m) for m in messages),
            reply=reply,
            prompt_tokens=record.prompt_tokens,
            completion_tokens=record.completion_tokens,
            cost_usd=record.cost_usd,
            latency_s=record.latency_s,
            outcome="error" if record.error and outcome == "ok" else outcome,
            error=record.error,
            at=time.time(),
        )
        self._append({"type": "call", **asdict(line)})
        return line

    def event(self, kind: str, message: str, *, phase: str = "", iteration: int = 0) -> EventLine:
        """Append an event of the loop."""
        line = EventLine(kind, message, phase, iteration, time.time())
        self._append({"type": "event", **asdict(line)})
        return line

    def summary(self, **fields: Any) -> Path:
        """Write the run's summary (JSON values), replacing any earlier one atomically."""
        data = {"run_id": self.run_id, "written_at": time.time(), **fields}
        tmp = self.summary_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), "utf-8")
        os.replace(tmp, self.summary_path)
        return self.summary_path

    def close(self) -> None:
        """Close the file; later appends reopen it."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __enter__(self) -> Transcript:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parse(raw: str) -> CallLine | EventLine | None:
    data = json.loads(raw)
    kind = data.pop("type", None)
    if kind == "call":
        data["messages"] = tuple(data.get("messages", ()))
        return CallLine(**data)
    if kind == "event":
        return EventLine(**data)
    return None


def read(workspace: Path, run_id: str) -> TranscriptData:
    """Load a run's transcript and summary; missing files read as empty."""
    directory = workspace / ".greenpatch" / "runs"
    calls: list[CallLine] = []
    events: list[EventLine] = []
    torn = 0
    path = directory / f"{_check_id(run_id)}.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            line = _parse(raw)
        except (ValueError, TypeError) as exc:
            torn += 1
            log.info("%s:%d: skipped an unreadable line (%s)", path, number, exc)
            continue
        if isinstance(line, CallLine):
            calls.append(line)
        elif isinstance(line, EventLine):
            events.append(line)
    summary: dict[str, Any] = {}
    summary_path = directory / f"{run_id}.summary.json"
    if summary_path.exists():
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            log.warning("%s is unreadable: %s", summary_path, exc)
    return TranscriptData(run_id, tuple(calls), tuple(events), summary, torn)


def digest(data: TranscriptData, max_chars: int = 1500) -> str:
    """A short plain-text account of a run for a reflecting model: the task and outcome,
    the events, and the calls that went wrong with the start of their replies."""
    parts = [f"run {data.run_id}"]
    for key in ("task", "status", "summary"):
        if data.summary.get(key):
            parts.append(f"{key}: {data.summary[key]}")
    parts += [f"[{e.phase or e.kind}] {e.message}" for e in data.events]
    for call in data.calls:
        if call.outcome != "ok":
            detail = call.error or call.reply[:200].replace("\n", " ")
            parts.append(f"{call.role} call -> {call.outcome}: {detail}")
    text = "\n".join(parts)
    return text if len(text) <= max_chars else text[: max_chars - 3] + "..."
