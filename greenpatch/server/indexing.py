"""The live workspace index of the server: built and watched in a child process (see
greenpatch/indexer/process.py), fed the editor's unsaved buffers (debounced, so typing never
waits on a parser), with progress."""

from __future__ import annotations

import asyncio
import logging
import uuid
from concurrent.futures import Future
from typing import Any

from lsprotocol import types

from greenpatch.errors import Cancelled, GreenpatchError
from greenpatch.server.app import GreenpatchServer, guarded

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.3
NO_INDEX = "there is no index (index.enabled is off, or no workspace folder is open)"


class LiveIndex:
    """The server's handle on one `IndexProcess` and its background work."""

    def __init__(self, ls: GreenpatchServer) -> None:
        self.ls = ls
        self.index: Any = None
        self.job: Future[Any] | None = None
        self.starting = False
        self.paused = False
        self._reporter: _Reporter | None = None
        self._pending: dict[str, asyncio.TimerHandle] = {}

    @property
    def busy(self) -> bool:
        return self.starting or (self.job is not None and not self.job.done())

    async def start(self) -> None:
        settings, root = self.ls.session.settings, self.ls.session.root
        if not settings.index.enabled or root is None or self.index is not None:
            return
        from greenpatch.indexer.process import IndexProcess

        self.starting = True
        try:
            self.index = await asyncio.to_thread(
                IndexProcess,
                root,
                chroma_url=settings.index.chroma_url,
                embedding=settings.models.embedding,
                max_vectors=settings.index.max_vectors,
            )
        except (GreenpatchError, OSError) as exc:
            self.ls.tell(f"Greenpatch: no index ({exc})", types.MessageType.Warning)
            self.starting = False
            return
        self.paused = False  # a new process indexes from the start
        reporter = self._reporter = await self._progress("Greenpatch: indexing")
        self.job = self.index.start_watching(reporter.report)
        self.starting = False
        self.job.add_done_callback(lambda f: self.ls.from_thread(lambda: reporter.end(f)))

    async def reindex(self) -> dict[str, Any]:
        if self.index is not None and not self.index.alive:
            log.warning("the index process had stopped; starting a new one")
            await asyncio.to_thread(self.index.stop)  # reaps it and closes its pipe
            self.index = None
        if self.index is None:
            await self.start()
            return {"started": self.index is not None}
        if self.paused:
            reason = "indexing is paused; resume it first ('Greenpatch: Resume Indexing')"
            return {"started": False, "reason": reason}
        if self.busy:
            return {"started": False, "reason": "indexing is already running"}
        reporter = self._reporter = await self._progress("Greenpatch: reindexing")
        self.job = self.index.update_in_background(reporter.report)
        self.job.add_done_callback(lambda f: self.ls.from_thread(lambda: reporter.end(f)))
        return {"started": True}

    async def pause(self) -> dict[str, Any]:
        """Hold indexing at the next file (on battery, during a build); search goes on with
        what is indexed, and file changes wait for `resume`."""
        if self.index is None:
            return {"paused": False, "reason": NO_INDEX}
        await asyncio.to_thread(self.index.pause)
        self.paused = True
        if self.busy and self._reporter is not None:
            self._reporter.note("paused")
        return {"paused": True}

    async def resume(self) -> dict[str, Any]:
        if self.index is None:
            return {"resumed": False, "reason": NO_INDEX}
        await asyncio.to_thread(self.index.resume)
        was, self.paused = self.paused, False
        if was and self.busy and self._reporter is not None:
            self._reporter.note("resumed")
        return {"resumed": was}

    def search(self, query: str, top_k: int) -> list[Any]:
        """For the agents' worker thread. A dead index answers nothing rather than failing
        the run: retrieval is context, not a requirement."""
        if self.index is None:
            return []
        try:
            return list(self.index.search(query, top_k=top_k))
        except GreenpatchError as exc:
            log.warning("search failed: %s", exc)
            return []

    def buffer_changed(self, uri: str, text: str | None) -> None:
        """Debounced per document; the index's parse and embedding run off the loop."""
        path = self.ls.relative(uri)
        if self.index is None or path is None or self.ls.loop is None:
            return
        if (handle := self._pending.pop(path, None)) is not None:
            handle.cancel()

        def flush() -> None:
            self._pending.pop(path, None)
            call = self.index.drop_buffer if text is None else self.index.set_buffer
            args = (path,) if text is None else (path, text)
            self.ls.background(asyncio.to_thread(call, *args))

        self._pending[path] = self.ls.loop.call_later(DEBOUNCE_S, flush)

    def stop(self) -> None:
        if self.index is not None:
            self.index.stop()
            self.index = None

    async def _progress(self, title: str) -> _Reporter:
        token = f"greenpatch-index-{uuid.uuid4().hex[:8]}"
        window = self.ls.client_capabilities.window
        if not (window and window.work_done_progress):
            return _Reporter(self.ls, None)
        try:
            await self.ls.work_done_progress.create_async(token)
        except Exception as exc:  # a client may refuse progress; indexing goes on
            log.info("no progress for indexing: %s", exc)
            return _Reporter(self.ls, None)
        self.ls.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title=title, percentage=0, cancellable=False)
        )
        return _Reporter(self.ls, token)


class _Reporter:
    def __init__(self, ls: GreenpatchServer, token: str | None) -> None:
        self.ls, self.token = ls, token

    def report(self, done: int, total: int) -> None:  # called from the index's thread
        if self.token is None or total <= 0:
            return
        token, pct = self.token, int(100 * done / total)
        self.ls.from_thread(
            lambda: self.ls.work_done_progress.report(
                token, types.WorkDoneProgressReport(message=f"{done}/{total} files", percentage=pct)
            )
        )

    def note(self, message: str) -> None:
        if self.token is not None:
            report = types.WorkDoneProgressReport(message=message)
            self.ls.work_done_progress.report(self.token, report)

    def end(self, future: Future[Any]) -> None:
        error = None if future.cancelled() else future.exception()
        if future.cancelled() or isinstance(error, Cancelled):  # the server stops the index
            message, error = "stopped", None
        else:
            message = f"failed: {error}" if error else "done"
        if error:
            self.ls.log_line(f"indexing {message}", types.MessageType.Warning)
        if self.token is not None:
            self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))


def register(server: GreenpatchServer) -> None:
    live = LiveIndex(server)
    server.live_index = live

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: GreenpatchServer, params: types.DidOpenTextDocumentParams) -> None:
        live.buffer_changed(params.text_document.uri, params.text_document.text)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: GreenpatchServer, params: types.DidChangeTextDocumentParams) -> None:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        live.buffer_changed(doc.uri, doc.source)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: GreenpatchServer, params: types.DidCloseTextDocumentParams) -> None:
        live.buffer_changed(params.text_document.uri, None)

    @server.command("greenpatch.reindex")
    @guarded
    async def reindex(ls: GreenpatchServer, *args: Any) -> Any:
        return await live.reindex()

    @server.command("greenpatch.pauseIndexing")
    @guarded
    async def pause_indexing(ls: GreenpatchServer, *args: Any) -> Any:
        return await live.pause()

    @server.command("greenpatch.resumeIndexing")
    @guarded
    async def resume_indexing(ls: GreenpatchServer, *args: Any) -> Any:
        return await live.resume()
