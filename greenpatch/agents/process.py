"""A run driven in its own child process, for the language server.

In the server's process the loop's first model call imports LiteLLM (7 s here), and while a
worker thread imports it the event loop stalls: main-thread gaps up to 277 ms (p99 14.5 ms)
beside `import litellm` in a thread, codeAction p99 162 ms during a run against a 50 ms
target. After one run the server kept 293 MB instead of 67 MB (LiteLLM, pydantic, the
openai types stay loaded). So the server drives each run in a child
(`python -m greenpatch.agents.process_child`) that ends with the run, and never imports them.

`RunProcess` is the server's handle. `drive()` blocks (call it from a worker thread) and
returns the `RunResult` as `run_task` would; meanwhile the run's events reach `on_event`,
its model calls and budget a `GatewayMirror`, and the child's `search` and `approve`
questions are answered by the callables set on the handle. Setting `cancel` reaches the
child within `POLL_S`; a child that does not end `KILL_AFTER_S` later is killed. A child
that dies gives an `error` result (never a hang) and its run is closed in the run store as
a restart would close it, resumable. The child finishes the run's journal after sending
the result; `finishing` is the thread that waits for that.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from greenpatch import childproc
from greenpatch.agents.gateway import Budget, CallRecord
from greenpatch.agents.types import EventKind, RunEvent, RunResult, TaskRequest
from greenpatch.config import Settings
from greenpatch.errors import GreenpatchError, WorkspaceError

log = logging.getLogger(__name__)

MODULE = "greenpatch.agents.process_child"
POLL_S = 0.1  # how often the driving thread looks at `cancel`
KILL_AFTER_S = 5.0  # a cancelled child still going this long after is killed
READY_TIMEOUT_S = 120.0  # a busy machine imports slowly; a resume reads the run store
FINISH_TIMEOUT_S = 900.0  # the journal (memory, maybe a reflection call) after the result

EventSink = Callable[[RunEvent], None]

# What the scripted test model has replayed, carried from child to child (see
# `ScriptedReplies.used`): plain data, so this process never imports the providers.
_scripted_lock = threading.Lock()
_scripted_used: dict[str, set[int]] = {}


@dataclass
class GatewayMirror:
    """What the server shows of a run's gateway (cost, the call log, the budget), kept up to
    date from the child."""

    budget: Budget
    records: list[CallRecord] = field(default_factory=list)

    @property
    def cost_usd(self) -> float:
        return self.budget.spent_usd


@dataclass(frozen=True)
class Job:
    """What the child is asked to do: a new run (`request`) or to resume `run_id`."""

    run_id: str
    settings: Settings
    request: TaskRequest | None = None
    workspace: Path | None = None  # with a resume
    extra_usd: float = 0.0
    extra_tokens: int = 0
    feedback: str = ""  # with a resume: revise the run's proposal (`agents.resume.revise`)
    scripted_used: dict[str, set[int]] = field(default_factory=dict)


class RunProcess:
    """The server's handle on one run in a child process; drive it once."""

    def __init__(self, request: TaskRequest, settings: Settings, *, run_id: str = "") -> None:
        self.request = request
        self.settings = settings
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.cancel = threading.Event()
        self.on_event: EventSink = lambda event: None
        self.search: Callable[[str, int], list[Any]] | None = None
        self.approve: Callable[[str], bool] = lambda what: False
        self.gateway: GatewayMirror | None = None
        # Waits for the child to end (it writes the run's journal after the result): until
        # then the run store may still say `running`.
        self.finishing: threading.Thread | None = None
        self._resume: tuple[Path, float, float, str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._out: Connection | None = None
        self._in: Connection | None = None
        self._send_lock = threading.Lock()
        self._ready = False

    @classmethod
    def resuming(
        cls,
        run_id: str,
        workspace: Path,
        settings: Settings,
        *,
        extra_usd: float = 0.0,
        extra_tokens: int = 0,
        feedback: str = "",
    ) -> RunProcess:
        """A paused or interrupted run, continued in a child (`agents.resume.resume` there),
        or with `feedback` a green run's proposal sent back for a revision (`revise`).
        Blocks until the child has it; raises WorkspaceError as they do (why not)."""
        placeholder = TaskRequest(task="", workspace=workspace)
        handle = cls(placeholder, settings, run_id=run_id)
        handle._resume = (workspace, extra_usd, extra_tokens, feedback)
        try:
            handle._start()
            handle._wait_ready()
        except BaseException:
            handle.close()
            raise
        return handle

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def drive(self) -> RunResult:
        """Run it to its result. Blocking; never raises for a run's failure or a dead child."""
        try:
            if self._proc is None:
                self._start()
            if not self._ready:
                self._wait_ready()
            self._send_quietly(("go", self.search is not None))  # a dead child: _serve says
            return self._serve()
        except GreenpatchError as exc:  # refused before it began (a resume that cannot)
            message = str(exc)
        except Exception as exc:  # a bug here must not leave the server waiting for ever
            log.exception("run %s: driving its process failed", self.run_id)
            message = f"internal error: {type(exc).__name__}: {exc}"
        self._end_child(kill=True)
        self._close_in_store("interrupted", message)  # when the child had begun it
        result = RunResult(self.run_id, "error", message)
        self._closing_events(result)
        return result

    def close(self) -> None:
        """End a child that was prepared but will not be driven."""
        self._end_child()

    # -- the pipe ------------------------------------------------------------------------
    def _start(self) -> None:
        with _scripted_lock:
            scripted = {script: set(used) for script, used in _scripted_used.items()}
        workspace, extra_usd, extra_tokens, feedback = self._resume or (None, 0.0, 0.0, "")
        job = Job(
            run_id=self.run_id,
            settings=self.settings,
            request=None if self._resume else self.request,
            workspace=workspace,
            extra_usd=extra_usd,
            extra_tokens=int(extra_tokens),
            feedback=feedback,
            scripted_used=scripted,
        )
        self._proc, self._out, self._in = childproc.spawn(MODULE, {"run_id": self.run_id})
        self._send(("job", job))

    def _send(self, message: tuple[Any, ...]) -> None:
        assert self._out is not None
        with self._send_lock:
            self._out.send(message)

    def _answer(self, rid: int, call: Callable[[], Any]) -> None:
        """Answer a question of the child's (in a thread of its own: approval may wait for
        the user up to two minutes, search for the index)."""
        try:
            reply: tuple[Any, ...] = ("answer", rid, call())
        except Exception as exc:
            log.warning("run %s: answering the child failed: %s", self.run_id, exc)
            reply = ("fail", rid, (type(exc).__name__, str(exc)))
        self._send_quietly(reply)  # a child gone meanwhile: the driving thread reports it

    def _wait_ready(self) -> None:
        assert self._in is not None
        if not self._in.poll(READY_TIMEOUT_S):
            raise GreenpatchError(f"the run's process did not start in {READY_TIMEOUT_S:.0f} s")
        try:
            message = self._in.recv()
        except (EOFError, OSError):
            raise GreenpatchError(f"the run's process failed to start ({self._exit()})") from None
        if message[0] == "refused":
            name, text = message[1]
            raise childproc.error_from(name, text, WorkspaceError)
        _, request, budget = message
        self.request = request
        self.gateway = GatewayMirror(budget)
        self._ready = True

    def _serve(self) -> RunResult:
        """Answer the child until its result comes, or it dies."""
        assert self._in is not None and self.gateway is not None
        cancel_sent: float | None = None
        while True:
            if self.cancel.is_set() and cancel_sent is None:
                cancel_sent = time.monotonic()
                self._send_quietly(("cancel",))
            if cancel_sent is not None and time.monotonic() - cancel_sent > KILL_AFTER_S:
                log.warning("run %s did not stop %.0f s after cancel", self.run_id, KILL_AFTER_S)
                self._end_child(kill=True)
                return self._lost()
            try:
                if not self._in.poll(POLL_S):
                    continue
                message = self._in.recv()
            except (EOFError, OSError):
                return self._lost()
            result = self._handle(message)
            if result is not None:
                self._follow_finishing()
                return result

    def _handle(self, message: tuple[Any, ...]) -> RunResult | None:
        kind = message[0]
        assert self.gateway is not None
        if kind == "event":
            self._emit(message[1])
        elif kind == "record":
            self.gateway.records.append(message[1])
            self.gateway.budget = message[2]
        elif kind == "search":
            rid, query, top_k = message[1:]
            search = self.search or (lambda q, k: [])
            self._thread(f"gp-search-{self.run_id}", rid, lambda: search(query, top_k))
        elif kind == "approve":
            rid, what = message[1:]
            self._thread(f"gp-approve-{self.run_id}", rid, lambda: self.approve(what))
        elif kind == "result":
            with _scripted_lock:
                for script, used in message[2].items():
                    _scripted_used.setdefault(script, set()).update(used)
            result: RunResult = message[1]
            return result
        return None

    def _thread(self, name: str, rid: int, call: Callable[[], Any]) -> None:
        threading.Thread(target=self._answer, args=(rid, call), name=name, daemon=True).start()

    def _emit(self, event: RunEvent) -> None:
        try:
            self.on_event(event)
        except Exception:  # a broken listener must not break the run
            log.exception("event listener failed")

    def _send_quietly(self, message: tuple[Any, ...]) -> None:
        with contextlib.suppress(OSError):
            self._send(message)

    def _exit(self) -> str:
        """How the child ended, in words (it has ended or is about to)."""
        assert self._proc is not None
        try:
            code = self._proc.wait(KILL_AFTER_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            code = self._proc.wait()
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def _lost(self) -> RunResult:
        """The child died before its result: say so, close its run as a restart would."""
        how = self._exit()  # reaped: a zombie would still look alive to the run store
        self._end_child()
        cancelled = self.cancel.is_set()
        spent = self.gateway.cost_usd if self.gateway else 0.0
        calls = tuple(self.gateway.records) if self.gateway else ()
        if cancelled:
            message = f"cancelled by the user; the run's process was stopped ({how})"
        else:
            message = (
                f"the run's process died ({how}); `greenpatch run --resume {self.run_id}` "
                "continues it from its last checkpoint"
            )
        log.warning("run %s: %s", self.run_id, message)
        self._close_in_store("cancelled" if cancelled else "interrupted", message)
        result = RunResult(
            self.run_id, "cancelled" if cancelled else "error", message, cost_usd=spent, calls=calls
        )
        self._closing_events(result)
        return result

    def _close_in_store(self, status: str, reason: str) -> None:
        from greenpatch.agents.store import RunStore

        try:
            store = RunStore(self.request.workspace.resolve())
            try:
                store.close_orphaned(self.run_id, status, reason)
            finally:
                store.close()
        except Exception as exc:  # the store is a help, never a reason to fail
            log.warning("run %s: could not close it in the run store: %s", self.run_id, exc)

    def _closing_events(self, result: RunResult) -> None:
        """The events a run ends with, for a run whose child could not send them."""
        cost = result.cost_usd
        kind: EventKind = "cancelled" if result.status == "cancelled" else "failed"
        self._emit(RunEvent(self.run_id, kind, result.message, "done", 0, cost))
        self._emit(RunEvent(self.run_id, "finished", result.status, "done", 0, cost))

    def _follow_finishing(self) -> None:
        """Reap the child once it has written the journal, without holding up the result.
        A daemon: the child finishes its journal on its own, so a server that exits need
        not wait for it."""

        def reap() -> None:
            assert self._proc is not None
            try:
                self._proc.wait(FINISH_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log.warning("run %s: its journal took too long; killing it", self.run_id)
            self._end_child()

        self.finishing = threading.Thread(
            target=reap, name=f"gp-run-end-{self.run_id}", daemon=True
        )
        self.finishing.start()

    def _end_child(self, *, kill: bool = False) -> None:
        """Close the pipe (a child that has not sent its result exits then) and reap it."""
        for conn in (self._out, self._in):
            if conn is not None:
                conn.close()
        proc = self._proc
        if proc is None:
            return
        if kill and proc.poll() is None:
            proc.terminate()  # the child kills its sandboxed commands, then exits
        try:
            proc.wait(KILL_AFTER_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
