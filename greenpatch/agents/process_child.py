"""The child side of `agents.process.RunProcess`: `python -m greenpatch.agents.process_child`.

It gets a `Job` on stdin, builds the `Run` (or resumes one), says it is ready, and on "go"
runs `run_task`, streaming to the parent its events, its model calls with the budget, and
its `search` and `approve` questions (answered by the parent). It sends the `RunResult`,
then writes the run's journal and exits. A parent that goes away before the result (stdin
closes) ends the child at once: the run stays open in the run store, owned by a dead
process, so the next server closes it as interrupted and it can be resumed, as when a
killed server took an in-process run with it.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import signal
import sys
import threading
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import Any

from greenpatch import childproc
from greenpatch.agents.gateway import CallRecord, Gateway, litellm_module
from greenpatch.agents.loop import Run, run_task
from greenpatch.agents.process import Job
from greenpatch.agents.providers import ScriptedReplies
from greenpatch.agents.types import RunResult
from greenpatch.errors import GreenpatchError
from greenpatch.sandbox.execute import kill_all

log = logging.getLogger(__name__)

SEARCH_TIMEOUT_S = 120.0
APPROVE_TIMEOUT_S = 600.0  # the parent gives the user 120 s; this only guards a lost answer
ORPHANED = 3  # exit code: the parent went away before the result


class Child:
    def __init__(self, job: Job, source: Connection, out: Connection) -> None:
        self.job, self._source, self._out = job, source, out
        self._send_lock = threading.Lock()
        self._pending: dict[int, Future[Any]] = {}
        self._ids = itertools.count(1)
        self._go = threading.Event()
        self._has_search = False
        self._result_sent = False
        self.run: Run | None = None

    def send(self, message: tuple[Any, ...]) -> None:
        with self._send_lock:
            self._out.send(message)

    def build(self) -> Run:
        job = self.job
        ScriptedReplies.restore(job.scripted_used)
        if job.request is None and job.feedback:
            from greenpatch.agents.resume import revise

            assert job.workspace is not None
            run = revise(job.run_id, job.workspace, job.settings, job.feedback)
        elif job.request is None:
            from greenpatch.agents.resume import resume

            assert job.workspace is not None
            run = resume(
                job.run_id,
                job.workspace,
                job.settings,
                extra_usd=job.extra_usd,
                extra_tokens=job.extra_tokens,
            )
        else:
            run = Run(job.request, job.settings, run_id=job.run_id)
            run.gateway = Gateway.for_run(job.settings, cancel=run.cancel)
        assert run.gateway is not None
        gateway = run.gateway
        gateway.on_record = lambda record: self._record(gateway, record)
        run.on_event = lambda event: self.send(("event", event))
        run.approve = self.approve
        return run

    def _record(self, gateway: Gateway, record: CallRecord) -> None:
        self.send(("record", record, dataclasses.replace(gateway.budget)))

    def search(self, query: str, top_k: int) -> list[Any]:
        """The server's index; nothing when it fails (retrieval is context, not a must)."""
        try:
            found: list[Any] = self.ask("search", query, top_k).result(SEARCH_TIMEOUT_S)
        except (GreenpatchError, TimeoutError) as exc:
            log.warning("search failed: %s", exc)
            return []
        return found

    def approve(self, what: str) -> bool:
        """The user, asked by the server; anything but a yes is a no."""
        try:
            return bool(self.ask("approve", what).result(APPROVE_TIMEOUT_S))
        except (GreenpatchError, TimeoutError) as exc:
            log.warning("no answer about %r: %s", what, exc)
            return False

    def ask(self, kind: str, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        rid = next(self._ids)
        self._pending[rid] = future
        self.send((kind, rid, *args))
        return future

    def listen(self) -> None:
        """The parent's messages: go, cancel, answers. Its going away ends this process
        unless the result is already sent (then the journal is still to be written)."""
        try:
            while True:
                message = self._source.recv()
                kind = message[0]
                if kind == "go":
                    self._has_search = bool(message[1])
                    self._go.set()
                elif kind == "cancel" and self.run is not None:
                    self.run.cancel.set()
                    kill_all(and_later=True)  # a test run ends now, not at its timeout
                elif kind in ("answer", "fail"):
                    future = self._pending.pop(message[1], None)
                    if future is None:
                        continue
                    if kind == "answer":
                        future.set_result(message[2])
                    else:
                        future.set_exception(GreenpatchError(": ".join(message[2])))
        except (EOFError, OSError):
            if not self._result_sent:
                log.warning("the server went away before run %s ended", self.job.run_id)
                kill_all()
                logging.shutdown()
                os._exit(ORPHANED)

    def main(self) -> int:
        try:
            run = self.run = self.build()
        except GreenpatchError as exc:
            self.send(("refused", (type(exc).__name__, str(exc))))
            return 1
        assert run.gateway is not None
        self.send(("ready", run.request, dataclasses.replace(run.gateway.budget)))
        threading.Thread(target=self.listen, name="gp-run-pipe", daemon=True).start()
        # LiteLLM takes seconds to import (7 s here) and a cancel cannot stop an import: do
        # it while the baseline runs in the sandbox, not when the coder first asks.
        threading.Thread(target=litellm_module, name="gp-import-litellm", daemon=True).start()
        self._go.wait()
        if self._has_search:
            run.search = self.search
        result = run_task(run)
        run.gateway.on_record = None  # nobody reads the pipe after the result
        self._send_result(result)
        if run.finishing is not None:
            run.finishing.join()
        return 0

    def _send_result(self, result: RunResult) -> None:
        self._result_sent = True
        try:
            self.send(("result", result, ScriptedReplies.used()))
        except (TypeError, AttributeError, ValueError) as exc:  # something would not pickle
            log.exception("run %s: its result could not be sent", result.run_id)
            plain = RunResult(result.run_id, "error", f"internal error: {exc}")
            self.send(("result", plain, ScriptedReplies.used()))


def main(argv: list[str]) -> int:
    import json

    config = json.loads(argv[0]) if argv else {}
    signal.signal(signal.SIGTERM, _terminated)
    source, out = childproc.child_pipes()
    childproc.configure_logging(config, f"run {config.get('run_id', '')}".strip())
    try:
        kind, job = source.recv()
    except (EOFError, OSError):
        return ORPHANED
    if kind != "job" or not isinstance(job, Job):
        out.send(("refused", ("WorkspaceError", f"expected a job, not {kind!r}")))
        return 2
    try:
        return Child(job, source, out).main()
    except (EOFError, OSError):
        return ORPHANED


def _terminated(signum: int, frame: object) -> None:
    """The server ends a run that does not stop: its sandboxed commands go with it."""
    kill_all()
    os._exit(128 + signum)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
