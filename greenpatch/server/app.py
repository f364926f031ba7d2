"""The language server: state on a `LanguageServer` subclass, thin handlers over the rooms."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from greenpatch import __version__
from greenpatch.agents.process import RunProcess
from greenpatch.agents.types import RunEvent, RunResult
from greenpatch.config import Settings, load_settings
from greenpatch.errors import GreenpatchError
from greenpatch.server.review import Review

if TYPE_CHECKING:
    from greenpatch.server.commits import PendingCommit
    from greenpatch.server.indexing import LiveIndex

log = logging.getLogger(__name__)

RUN_EVENT = "greenpatch/runEvent"
# How long `shutdown` lets cancelled runs record that they stopped: longer than a run's
# process gets to stop before it is killed (agents.process.KILL_AFTER_S).
SHUTDOWN_GRACE_S = 8.0


@dataclass
class RunState:
    run: RunProcess
    task: asyncio.Task[RunResult] | None = None
    result: RunResult | None = None
    progress_token: str | None = None
    # The run's closing events (proposal, failed, finished...), held back until the server
    # has the review in place: a client that asks for the proposal on them must find it.
    closing: list[RunEvent] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.result is None

    def to_json(self, reviewing: bool) -> dict[str, Any]:
        """One line of `greenpatch.status`."""
        gw = self.run.gateway
        state = "running" if self.running else "review" if reviewing else "done"
        out: dict[str, Any] = {
            "runId": self.run.run_id,
            "task": self.run.request.task,
            "state": state,
            "costUsd": round(gw.cost_usd, 6) if gw else 0.0,
        }
        if self.result is not None:
            out["status"] = self.result.status
        return out


@dataclass
class Session:
    """Everything the server remembers between requests."""

    root: Path | None = None
    settings: Settings = field(default_factory=Settings)
    editor_settings: dict[str, Any] = field(default_factory=dict)
    runs: dict[str, RunState] = field(default_factory=dict)
    latest_run: str | None = None
    # Test node ids the last report that ran them saw failing (see failures.py).
    failing_tests: set[str] = field(default_factory=set)
    reviews: dict[str, Review] = field(default_factory=dict)
    # uri -> publisher -> diagnostics: several features publish into one file's list.
    diagnostics: dict[str, dict[str, list[types.Diagnostic]]] = field(default_factory=dict)
    commits: dict[str, PendingCommit] = field(default_factory=dict)  # by run id
    rechecking: bool = False
    recheck_again: bool = False

    def review(self, run_id: str | None) -> Review:
        """The open review of a run (default: the latest), or an error saying there is none."""
        key = run_id or self.latest_run or ""
        review = self.reviews.get(key)
        if review is None:
            raise GreenpatchError(
                "there is no proposal to review" + (f" for run {key}" if run_id else "")
            )
        return review

    def running(self) -> list[RunState]:
        """The runs still going, oldest first."""
        return [state for state in self.runs.values() if state.running]


class GreenpatchServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("greenpatch", __version__)
        self.session = Session()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.live_index: LiveIndex | None = None
        self._tasks: set[asyncio.Future[Any]] = set()

    @property
    def native_review(self) -> bool:
        """The client renders proposals itself (client-vscode announces it in
        `capabilities.experimental.greenpatch.nativeReview`)."""
        experimental = self.client_capabilities.experimental
        if not isinstance(experimental, dict):
            return False
        mine = experimental.get("greenpatch")
        return isinstance(mine, dict) and bool(mine.get("nativeReview"))

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Log only: telling the client about a broken connection over that same connection
        fails again, and a dead editor must not keep the server busy."""
        log.error("server error (%s): %s", getattr(source, "__name__", source), error)

    def cancel_all(self) -> list[str]:
        """Ask every running run to stop; returns their ids."""
        running = self.session.running()
        for state in running:
            state.run.cancel.set()
        return [state.run.run_id for state in running]

    async def wind_down(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """Cancel every run, give them `grace_s` to record it (a run cut off instead is
        closed as interrupted by the next server), and stop the index process."""
        tasks = [state.task for state in self.session.running() if state.task is not None]
        self.cancel_all()
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace_s)
            if late:
                log.warning("%d run(s) still stopping at shutdown", len(late))
        if self.live_index is not None:
            await asyncio.to_thread(self.live_index.stop)

    # -- talking to the user -------------------------------------------------------------
    def tell(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def publish_diagnostics(self, uri: str, source: str, items: list[types.Diagnostic]) -> None:
        """Replace one publisher's diagnostics in a file, keeping the others'."""
        mine = self.session.diagnostics.setdefault(uri, {})
        if not items and source not in mine:
            return
        mine[source] = items
        union = [d for part in mine.values() for d in part]
        if not union:
            del self.session.diagnostics[uri]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=union)
        )

    def log_line(self, message: str, kind: types.MessageType = types.MessageType.Log) -> None:
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def from_thread(self, fn: Callable[[], None]) -> None:
        """Run `fn` on the server's event loop (protocol writes are not thread-safe)."""
        if self.loop is None:
            fn()
        elif not self.loop.is_closed():  # closed: the server is gone, nobody to tell
            self.loop.call_soon_threadsafe(fn)

    def background(self, work: Awaitable[Any]) -> None:
        """Run a coroutine on the loop without awaiting it; keep it referenced until done."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- workspace -----------------------------------------------------------------------
    def relative(self, uri: str) -> str | None:
        """Workspace-relative POSIX path of a file URI, or None outside the workspace."""
        root = self.session.root
        fs = to_fs_path(uri)
        if root is None or fs is None:
            return None
        path = Path(fs).resolve()
        return path.relative_to(root).as_posix() if path.is_relative_to(root) else None

    def uri_of(self, path: str) -> str:
        """The file URI of a workspace-relative path."""
        assert self.session.root is not None
        full = self.session.root / path
        return from_fs_path(str(full)) or full.as_uri()

    def text_of(self, uri: str) -> str | None:
        """The open document's text, else the file on disk, else None."""
        doc = self.workspace.text_documents.get(uri)
        if doc is not None:
            return doc.source
        fs = to_fs_path(uri)
        try:
            return Path(fs).read_text(encoding="utf-8") if fs else None
        except (OSError, UnicodeDecodeError):
            return None

    def buffers(self) -> dict[str, str]:
        """The open documents under the workspace: the unsaved text the sandbox must see."""
        out: dict[str, str] = {}
        for uri, doc in self.workspace.text_documents.items():
            path = self.relative(uri)
            if path is not None:
                out[path] = doc.source
        return out

    def reload_settings(self) -> None:
        loaded = load_settings(self.session.root, editor=self.session.editor_settings)
        self.session.settings = loaded.settings
        for problem in loaded.problems:
            self.tell(f"Greenpatch setting ignored: {problem}", types.MessageType.Warning)


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def guarded(fn: F) -> F:
    """Handler boundary: an expected error becomes a message to the user, a bug becomes a
    logged traceback plus one line; the server keeps serving either way."""

    @functools.wraps(fn)
    async def wrapper(ls: GreenpatchServer, *args: Any) -> Any:
        try:
            return await fn(ls, *args)
        except GreenpatchError as exc:
            ls.tell(f"Greenpatch: {exc}", types.MessageType.Error)
            return {"error": str(exc)}
        except Exception as exc:
            log.exception("handler %s failed", fn.__name__)
            ls.tell(
                f"Greenpatch internal error: {type(exc).__name__}: {exc}", types.MessageType.Error
            )
            return {"error": f"internal error: {exc}"}

    return wrapper  # type: ignore[return-value]


def first_argument(args: tuple[Any, ...]) -> dict[str, Any]:
    """Commands take one object argument; tolerate clients that send none or a bare string."""
    if not args:
        return {}
    value = args[0]
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        return {"task": value, "runId": value}
    return {}
