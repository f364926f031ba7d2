"""A WorkspaceIndex in a child process.

The language server keeps its event loop and its memory for the editor: parsing, BM25,
ChromaDB and the embedding model live in a child (`python -m greenpatch.indexer.process`)
at a lower CPU priority, and the server talks to it over a pipe. In one process the index's
Python work held the GIL while the editor waited (codeAction p99 212 ms during cold
indexing, measured), and ChromaDB and onnxruntime sat in the server's memory for good.

`IndexProcess` offers the `WorkspaceIndex` calls the server uses, with the same meaning:
`start_watching`, `update_in_background` (futures, with progress), `search`, `set_buffer`,
`drop_buffer`, `pause`, `resume`, `wait_idle`, `stop`. The child exits when its stdin closes,
so a killed server leaves no indexer behind.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from greenpatch import childproc, errors
from greenpatch.errors import GreenpatchError, WorkspaceError
from greenpatch.indexer.types import MAX_VECTORS, IndexStats, SearchResult

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
NICE = 10  # below the server and the editor: the index can wait, a keystroke cannot
START_TIMEOUT_S = 60.0
SEARCH_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 3.0
# An index nobody searched or updated for this long gives back its vectors and embedding
# model (lexical search stays instant): 35,000 chunks held 170 MB more than that.
IDLE_RELEASE_S = 60.0


class IndexProcess:
    """The server's handle on a `WorkspaceIndex` running in a child process."""

    def __init__(
        self,
        workspace: Path,
        *,
        chroma_url: str = "",
        embedding: str = "local",
        max_vectors: int = MAX_VECTORS,
    ) -> None:
        root = Path(workspace).resolve()
        if not root.is_dir():
            raise WorkspaceError(f"workspace {workspace} is not a directory")
        config = {
            "workspace": str(root),
            "chroma_url": chroma_url,
            "embedding": embedding,
            "max_vectors": max_vectors,
        }
        self._proc, self._out, self._in = childproc.spawn("greenpatch.indexer.process", config)
        self._lock = threading.Lock()  # the table of requests
        self._send_lock = threading.Lock()
        ready: Future[Any] = Future()  # request 0: the child's first message
        self._pending: dict[int, tuple[Future[Any], Progress | None]] = {0: (ready, None)}
        self._next = 1
        self._closed = False
        self._stopping = False
        self._reader = threading.Thread(target=self._read, name="gp-index-pipe", daemon=True)
        self._reader.start()
        try:
            ready.result(START_TIMEOUT_S)
        except Exception as exc:
            self.stop()
            if isinstance(exc, GreenpatchError):
                raise
            raise WorkspaceError(f"the index process did not start ({exc!r})") from exc

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return not self._closed and self._proc.poll() is None

    # -- the WorkspaceIndex calls --------------------------------------------------------
    def start_watching(self, progress: Progress | None = None) -> Future[IndexStats]:
        return self._call("start_watching", progress=progress)

    def update_in_background(self, progress: Progress | None = None) -> Future[IndexStats]:
        return self._call("update", progress=progress)

    def search(
        self, query: str, *, top_k: int = 10, files: bool = False, mode: str = "hybrid"
    ) -> list[SearchResult]:
        """Blocking: call from a worker thread, never from an event loop."""
        found: list[SearchResult] = self._call("search", query, top_k, files, mode).result(
            SEARCH_TIMEOUT_S
        )
        return found

    def set_buffer(self, path: str, text: str) -> None:
        self._call("set_buffer", path, text)

    def drop_buffer(self, path: str) -> None:
        self._call("drop_buffer", path)

    def pause(self) -> None:
        self._call("pause")

    def resume(self) -> None:
        self._call("resume")

    def wait_idle(self, timeout: float | None = None) -> None:
        self._call("wait_idle", timeout).result(None if timeout is None else timeout + 5)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Ask the child to stop, and kill it if it cannot within `timeout` (it may be in the
        middle of embedding a batch). Killing is safe: the index is written so that the next
        update finishes an interrupted one."""
        self._stopping = True
        if self.alive:
            try:
                self._call("stop").result(timeout)
                self._proc.wait(timeout)
            except Exception as exc:
                log.info("the index process did not stop in time (%s); killing it", exc)
        with self._lock:
            self._closed = True
        with self._send_lock:
            self._out.close()
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._reader.join(timeout)  # it settles what was still waiting

    # -- the pipe ------------------------------------------------------------------------
    def _call(self, method: str, *args: Any, progress: Progress | None = None) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                future.set_exception(WorkspaceError("the index process has stopped"))
                return future
            rid, self._next = self._next, self._next + 1
            self._pending[rid] = (future, progress)
        # Sending (a whole buffer's text, maybe) holds only the send lock: the reader must
        # never wait behind a writer, or a child blocked on a full pipe would never be read.
        try:
            with self._send_lock:
                self._out.send((rid, method, args))
        except (OSError, ValueError) as exc:  # ValueError: the connection is closed
            self._pending.pop(rid, None)
            if not future.done():
                future.set_exception(WorkspaceError(f"the index process is gone ({exc})"))
        return future

    def _read(self) -> None:
        try:
            while True:
                message = self._in.recv()
                try:
                    self._dispatch(message)
                except Exception:  # a failing callback must not stop the replies
                    log.exception("an index reply was not delivered")
        except (EOFError, OSError):
            pass
        finally:
            self._in.close()
            with self._lock:
                self._closed = True
            code = self._proc.wait()
            with self._lock:
                pending, self._pending = self._pending, {}
            stopped = self._stopping
            if pending and not stopped:
                log.warning("the index process exited (code %s)", code)
            for future, _ in pending.values():
                if not future.done():
                    future.set_exception(
                        errors.Cancelled("indexing stopped")
                        if stopped
                        else WorkspaceError(f"the index process exited (code {code})")
                    )

    def _dispatch(self, message: tuple[Any, ...]) -> None:
        kind, rid = message[0], message[1]
        if kind == "progress":
            entry = self._pending.get(rid)
            if entry is not None and entry[1] is not None:
                entry[1](message[2], message[3])
            return
        entry = self._pending.pop(rid, None)  # atomic; never wait on the writers' lock
        if entry is None:
            return
        future = entry[0]
        if kind == "result":
            future.set_result(message[2])
        else:
            name, text = message[2]
            future.set_exception(
                childproc.error_from(name, text, lambda t: GreenpatchError(f"index: {t}"))
            )


# -- the child -----------------------------------------------------------------------------


class _Child:
    """Runs requests against one WorkspaceIndex; answers on `out` from any thread."""

    def __init__(self, index: Any, out: Connection) -> None:
        self.index = index
        self._out = out
        self._send_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gp-index-req")

    def send(self, message: tuple[Any, ...]) -> None:
        with self._send_lock:
            self._out.send(message)

    def answer(self, rid: int, call: Callable[[], Any]) -> None:
        try:
            self.send(("result", rid, call()))
        except Exception as exc:
            self.fail(rid, exc)

    def fail(self, rid: int, exc: BaseException) -> None:
        if not isinstance(exc, GreenpatchError):
            log.error("index request failed", exc_info=exc)
        self.send(("error", rid, (type(exc).__name__, str(exc))))

    def follow(self, rid: int, future: Future[Any]) -> None:
        """Answer when a background job ends."""

        def done(f: Future[Any]) -> None:
            _return_freed_memory()
            if f.cancelled():
                self.fail(rid, errors.Cancelled("indexing stopped"))
            elif (exc := f.exception()) is not None:
                self.fail(rid, exc)
            else:
                self.send(("result", rid, f.result()))

        future.add_done_callback(done)

    def handle(self, rid: int, method: str, args: tuple[Any, ...]) -> bool:
        """One request; False when the child should exit."""
        ix = self.index

        def progress(done: int, total: int) -> None:
            self.send(("progress", rid, done, total))

        if method == "start_watching":
            self.follow(rid, ix.start_watching(progress))
        elif method == "update":
            self.follow(rid, ix.update_in_background(progress))
        elif method == "search":
            query, top_k, files, mode = args
            search = lambda: ix.search(query, top_k=top_k, files=files, mode=mode)  # noqa: E731
            self._pool.submit(self.answer, rid, search)
        elif method == "wait_idle":
            self._pool.submit(self.answer, rid, lambda: ix.wait_idle(args[0]))
        elif method in ("set_buffer", "drop_buffer", "pause", "resume"):
            self.answer(rid, lambda: getattr(ix, method)(*args))
        elif method == "stop":
            ix.stop()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self.send(("result", rid, None))
            return False
        else:
            self.fail(rid, GreenpatchError(f"unknown index request {method!r}"))
        return True


def _return_freed_memory() -> None:
    """Hand the heap an update freed back to the system (glibc keeps it otherwise: loading
    a 35,000-chunk index left 49 MB of freed memory resident)."""
    with contextlib.suppress(AttributeError, OSError):  # not glibc: nothing to do
        ctypes.CDLL(None).malloc_trim(0)


def _release_when_idle(index: Any) -> None:
    while True:
        time.sleep(IDLE_RELEASE_S / 4)
        if index.release_idle(IDLE_RELEASE_S):
            log.info("idle: released the index's vectors and embedding model")
            _return_freed_memory()


def _child_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m greenpatch.indexer.process")
    parser.add_argument(
        "config", help="JSON: workspace, chroma_url, embedding, max_vectors, log_level"
    )
    config = json.loads(parser.parse_args(argv).config)
    source, out = childproc.child_pipes()
    childproc.configure_logging(config, "index")
    with contextlib.suppress(OSError):  # an unprivileged child may only lower itself
        os.nice(NICE)
    from greenpatch.indexer.index import WorkspaceIndex

    try:
        index = WorkspaceIndex(
            Path(config["workspace"]),
            chroma_url=config.get("chroma_url", ""),
            embedding=config.get("embedding", "local"),
            max_vectors=config.get("max_vectors", MAX_VECTORS),
        )
    except Exception as exc:
        out.send(("error", 0, (type(exc).__name__, str(exc))))
        return 1
    child = _Child(index, out)
    child.send(("result", 0, {"pid": os.getpid()}))
    threading.Thread(target=_release_when_idle, args=(index,), daemon=True).start()
    try:
        while True:
            rid, method, args = source.recv()
            if not child.handle(rid, method, args):
                return 0
    except (EOFError, OSError):  # the server is gone
        index.stop()
        return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
