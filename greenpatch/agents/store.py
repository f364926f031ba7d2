"""Durable run state: every run and every state transition, in SQLite under `.greenpatch/`.

A killed process leaves its runs unfinished in `state.db`; the next server start calls
`RunStore.close_unfinished` so they end in a clear FAIL state instead of hanging forever.
The loop also saves a checkpoint of each run's position (JSON, see `agents/snapshot.py`):
a paused run (budget spent) or an interrupted one can be resumed from it.
One connection per thread (SQLite connections must not be shared across threads), WAL and a
busy timeout so the server and a `greenpatch run` in the same workspace can both write.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

log = logging.getLogger(__name__)

RunState = Literal[
    "PLAN",
    "CODE",
    "TEST",
    "DEBUG",
    "REVIEW",
    "PROPOSE",
    "APPLY",
    "REVISE",
    "FAIL",
    "DONE",
    "CANCELLED",
    "PAUSED",
]
STATES: tuple[str, ...] = get_args(RunState)
# States a run rests in; PAUSED is left only by a resume.
TERMINAL = frozenset({"FAIL", "DONE", "CANCELLED", "PAUSED"})
RESUMABLE = frozenset({"paused", "interrupted"})
DECIDED = frozenset({"applied", "rejected"})  # the user's word on a green run's proposal
RUNNING = "running"
BUSY_TIMEOUT_MS = 10_000
# A run with no transition for this long is not running, whatever its owner's pid says.
STALE_AFTER_S = 6 * 3600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    task TEXT NOT NULL,
    request_json TEXT NOT NULL,
    state TEXT NOT NULL,
    status TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    owner_pid INTEGER NOT NULL,
    started_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS runs_started ON runs (started_at);
CREATE TABLE IF NOT EXISTS transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    state TEXT NOT NULL,
    detail TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_run ON transitions (run_id, id);
CREATE TABLE IF NOT EXISTS checkpoints (
    run_id TEXT PRIMARY KEY REFERENCES runs (run_id),
    data TEXT NOT NULL,
    at REAL NOT NULL
);
"""


def state_dir(workspace: Path) -> Path:
    """`<workspace>/.greenpatch`, created with a `.gitignore` of `*` so nothing in it is
    ever committed by the user's `git add -A`."""
    path = workspace / ".greenpatch"
    path.mkdir(parents=True, exist_ok=True)
    ignore = path / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")
    return path


class Database:
    """One SQLite file, one connection per thread, writes in immediate transactions."""

    def __init__(self, path: Path, schema: str) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._connection().executescript(schema)

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # Each thread uses only its own connection; close() may run on another thread.
            conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def read(self) -> sqlite3.Connection:
        """This thread's connection, for reads."""
        return self._connection()

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """Reads that see one consistent state, whatever other writers do meanwhile."""
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A transaction that takes the write lock up front, so two writers queue on the
        busy timeout instead of failing on a lock upgrade."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        """Close every thread's connection (call once no thread uses the database)."""
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


@dataclass(frozen=True)
class Transition:
    state: str
    detail: str
    at: float


@dataclass(frozen=True)
class RunRecord:
    """A run as persisted. `status` is `running` until `finish` (then the loop's status,
    e.g. green / failed / cancelled / error, or `interrupted` after a restart)."""

    run_id: str
    task: str
    request_json: str
    state: str
    status: str
    summary: str
    owner_pid: int
    started_at: float
    updated_at: float
    finished_at: float | None
    transitions: tuple[Transition, ...]

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


def _final_state(status: str) -> str:
    final = {"green": "DONE", "applied": "DONE", "cancelled": "CANCELLED", "paused": "PAUSED"}
    return final.get(status, "FAIL")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class RunStore:
    """Runs of one workspace in `<workspace>/.greenpatch/state.db`."""

    def __init__(self, workspace: Path) -> None:
        self.path = state_dir(workspace) / "state.db"
        self._db = Database(self.path, _SCHEMA)

    def close(self) -> None:
        """Release the database connections."""
        self._db.close()

    def begin(self, run_id: str, task: str, request_json: str = "{}") -> RunRecord:
        """Record a new run, in state PLAN."""
        now = time.time()
        with self._db.write() as db:
            db.execute(
                "INSERT INTO runs (run_id, task, request_json, state, status, owner_pid,"
                " started_at, updated_at) VALUES (?, ?, ?, 'PLAN', ?, ?, ?, ?)",
                (run_id, task, request_json, RUNNING, os.getpid(), now, now),
            )
            db.execute(
                "INSERT INTO transitions (run_id, state, detail, at) VALUES (?, 'PLAN', '', ?)",
                (run_id, now),
            )
        return self.get(run_id)

    def reopen(self, run_id: str, task: str = "") -> RunRecord:
        """A resumed run: running again, owned by this process, until the next finish."""
        with self._db.write() as db:
            updated = db.execute(
                "UPDATE runs SET status = ?, finished_at = NULL, owner_pid = ?, updated_at = ?"
                " WHERE run_id = ?",
                (RUNNING, os.getpid(), time.time(), run_id),
            )
            if updated.rowcount == 0:
                raise KeyError(f"no run {run_id!r} in {self.path}")
        return self.get(run_id)

    def transition(self, run_id: str, state: str, detail: str = "") -> None:
        """Persist that the run entered `state` (one of STATES). A finished run entering a
        working state (REVISE or APPLY after PROPOSE) is open again until the next finish,
        so a kill during the revision is caught by `close_unfinished` too."""
        if state not in STATES:
            raise ValueError(f"unknown run state {state!r}; expected one of {', '.join(STATES)}")
        now = time.time()
        with self._db.write() as db:
            self._add_transition(db, run_id, state, detail, now)
            if state not in TERMINAL:
                db.execute(
                    "UPDATE runs SET status = ?, finished_at = NULL, owner_pid = ?"
                    " WHERE run_id = ? AND finished_at IS NOT NULL",
                    (RUNNING, os.getpid(), run_id),
                )

    def _add_transition(
        self, db: sqlite3.Connection, run_id: str, state: str, detail: str, now: float
    ) -> None:
        updated = db.execute(
            "UPDATE runs SET state = ?, updated_at = ? WHERE run_id = ?", (state, now, run_id)
        )
        if updated.rowcount == 0:
            raise KeyError(f"no run {run_id!r} in {self.path}")
        db.execute(
            "INSERT INTO transitions (run_id, state, detail, at) VALUES (?, ?, ?, ?)",
            (run_id, state, detail, now),
        )

    def finish(self, run_id: str, status: str, summary: str = "") -> RunRecord:
        """Close the run with its status and a one-paragraph summary for later runs. Moves
        it to its terminal state (DONE for green, CANCELLED, else FAIL) unless it is there.
        A green end that arrives after the user decided on the proposal (the run's process
        journals after its result) leaves the decision alone."""
        now = time.time()
        with self._db.write() as db:
            row = db.execute(
                "SELECT state, status FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
            if row is None:
                raise KeyError(f"no run {run_id!r} in {self.path}")
            if not (status == "green" and row["status"] in DECIDED):
                final = _final_state(status)
                if row["state"] != final:
                    self._add_transition(db, run_id, final, summary[:500], now)
                db.execute(
                    "UPDATE runs SET status = ?, summary = ?, finished_at = ?, updated_at = ?"
                    " WHERE run_id = ?",
                    (status, summary, now, now, run_id),
                )
        return self.get(run_id)

    def decided(self, run_id: str, applied: bool, detail: str) -> RunRecord:
        """The user's decision on a proposal: APPLY then DONE (status `applied`), or FAIL
        (status `rejected`); `detail` becomes the summary later runs see."""
        if applied:
            self.transition(run_id, "APPLY", detail)
        return self.finish(run_id, "applied" if applied else "rejected", detail)

    def get(self, run_id: str) -> RunRecord:
        """The run with its transitions; KeyError when unknown."""
        with self._db.snapshot() as db:
            row = db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                raise KeyError(f"no run {run_id!r} in {self.path}")
            return self._record(row)

    def _record(self, row: sqlite3.Row) -> RunRecord:
        steps = self._db.read().execute(
            "SELECT state, detail, at FROM transitions WHERE run_id = ? ORDER BY id",
            (row["run_id"],),
        )
        return RunRecord(
            run_id=row["run_id"],
            task=row["task"],
            request_json=row["request_json"],
            state=row["state"],
            status=row["status"],
            summary=row["summary"],
            owner_pid=row["owner_pid"],
            started_at=row["started_at"],
            updated_at=row["updated_at"],
            finished_at=row["finished_at"],
            transitions=tuple(Transition(s["state"], s["detail"], s["at"]) for s in steps),
        )

    def unfinished(self) -> list[RunRecord]:
        """Runs never finished, oldest first."""
        with self._db.snapshot() as db:
            rows = db.execute("SELECT * FROM runs WHERE finished_at IS NULL ORDER BY started_at")
            return [self._record(r) for r in rows.fetchall()]

    def close_unfinished(
        self, reason: str, *, stale_after_s: float = STALE_AFTER_S
    ) -> list[RunRecord]:
        """Mark interrupted runs FAIL (status `interrupted`, summary `reason`) and return
        them. Runs owned by another process that is still alive (a `greenpatch run` next to
        the server) are left alone unless they made no transition for `stale_after_s` (the
        pid may have been reused); runs of this process or of a dead one are closed."""
        closed = []
        now = time.time()
        for run in self.unfinished():
            stale = now - run.updated_at > stale_after_s
            if not stale and run.owner_pid != os.getpid() and _pid_alive(run.owner_pid):
                log.info("run %s belongs to live process %d; left open", run.run_id, run.owner_pid)
                continue
            log.warning("run %s was interrupted in %s: %s", run.run_id, run.state, reason)
            closed.append(self.finish(run.run_id, "interrupted", reason))
        return closed

    def close_orphaned(self, run_id: str, status: str, reason: str) -> RunRecord | None:
        """Close one run its process left open when it died (what a restart does for all
        of them, `close_unfinished`, done at once by the process that saw it die); None
        when the run is unknown, finished, or its owner still lives."""
        try:
            run = self.get(run_id)
        except KeyError:
            return None
        if run.finished or (run.owner_pid != os.getpid() and _pid_alive(run.owner_pid)):
            return None
        log.warning("run %s lost its process in %s: %s", run_id, run.state, reason)
        return self.finish(run_id, status, reason)

    def save_checkpoint(self, run_id: str, data: str) -> None:
        """Replace the run's checkpoint (its position, as JSON)."""
        with self._db.write() as db:
            db.execute(
                "INSERT INTO checkpoints (run_id, data, at) VALUES (?, ?, ?) ON CONFLICT (run_id)"
                " DO UPDATE SET data = excluded.data, at = excluded.at",
                (run_id, data, time.time()),
            )

    def checkpoint(self, run_id: str) -> str | None:
        """The run's last checkpoint, or None when it never saved one."""
        row = (
            self._db.read()
            .execute("SELECT data FROM checkpoints WHERE run_id = ?", (run_id,))
            .fetchone()
        )
        return None if row is None else str(row["data"])

    def resumable(self) -> list[RunRecord]:
        """Runs with a checkpoint that paused, were interrupted, or whose process died
        without finishing them; oldest first."""
        with self._db.snapshot() as db:
            rows = db.execute(
                "SELECT runs.* FROM runs JOIN checkpoints USING (run_id) ORDER BY started_at"
            ).fetchall()
            runs = [self._record(r) for r in rows]
        return [
            r
            for r in runs
            if r.status in RESUMABLE
            or (not r.finished and r.owner_pid != os.getpid() and not _pid_alive(r.owner_pid))
        ]

    def recent(self, limit: int = 5) -> list[RunRecord]:
        """The latest finished runs, newest first, with their summaries."""
        with self._db.snapshot() as db:
            rows = db.execute(
                "SELECT * FROM runs WHERE finished_at IS NOT NULL"
                " ORDER BY finished_at DESC, rowid DESC LIMIT ?",
                (limit,),
            )
            return [self._record(r) for r in rows.fetchall()]


def briefing(runs: Sequence[RunRecord], max_chars: int = 1500) -> str:
    """Earlier runs as a prompt section for a follow-up task (empty when there are none)."""
    lines = []
    for run in runs:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started_at))
        summary = " ".join(run.summary.split())[:300] or "(no summary)"
        lines.append(f"- {when} {run.task[:120]!r} ended {run.status}: {summary}")
    text = "\n".join(lines)
    return text if len(text) <= max_chars else text[: max_chars - 3] + "..."
