"""Following the workspace with watchdog: per-path debounce and coalescing, event storms
turned into one rescan, and a rescan when git moves HEAD or the kernel drops events."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from greenpatch.indexer.files import IgnoreRules

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.1  # a path is handed on once it has been quiet this long
QUIET_S = 0.3  # a storm or a checkout is rescanned once events pause this long
STORM_PATHS = 500  # more pending paths than this is a storm: one rescan beats 500 updates
TICK_S = 0.05
_GIT_MOVES = (".git/HEAD", ".git/index", ".git/ORIG_HEAD")


class _OverflowSignal(logging.Handler):
    """watchdog reports an inotify queue overflow only through its log; listen there."""

    def __init__(self, callback: Callable[[], None]) -> None:
        super().__init__(logging.WARNING)
        self._callback = callback

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self._callback()


class Watcher:
    """Calls on_paths(list of workspace-relative paths) after edits settle, or on_rescan()
    after a storm, a branch switch, a .gitignore change or lost events. Both callbacks
    must return quickly (they hand work to the index's worker thread)."""

    def __init__(
        self,
        root: Path,
        rules: IgnoreRules,
        *,
        on_paths: Callable[[list[str]], Any],
        on_rescan: Callable[[], Any],
    ) -> None:
        self.root = root
        self._rules = rules
        self._on_paths = on_paths
        self._on_rescan = on_rescan
        self._lock = threading.Lock()
        self._pending: dict[str, float] = {}
        self._rescan = False
        self._last_event = 0.0
        self._handing = False  # a callback is running: flush() must wait for it too
        self._stop = threading.Event()
        self._observer: Any = None
        self._thread: threading.Thread | None = None
        self._overflow = _OverflowSignal(self.request_rescan)

    def start(self) -> None:
        """Start the observer and the debounce thread."""
        self._start_observer()
        logging.getLogger("watchdog.observers").addHandler(self._overflow)
        self._thread = threading.Thread(target=self._loop, name="gp-index-watch", daemon=True)
        self._thread.start()

    def _start_observer(self) -> None:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return
                for raw in (event.src_path, getattr(event, "dest_path", "")):
                    if raw:
                        watcher._note(os.fsdecode(raw), event.is_directory)

        self._observer = Observer()
        self._observer.schedule(Handler(), str(self.root), recursive=True)
        self._observer.daemon = True
        self._observer.start()

    def stop(self) -> None:
        """Stop watching; pending events are dropped."""
        self._stop.set()
        logging.getLogger("watchdog.observers").removeHandler(self._overflow)
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def request_rescan(self) -> None:
        """Rescan everything once events pause."""
        with self._lock:
            self._rescan = True
            self._last_event = time.monotonic()

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every event seen so far has been handed on."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending and not self._rescan and not self._handing:
                    return
            time.sleep(TICK_S)

    def _note(self, abs_path: str, is_dir: bool) -> None:
        try:
            rel = Path(abs_path).relative_to(self.root).as_posix()
        except ValueError:
            return
        if rel in ("", "."):
            return
        if rel.startswith(".git/") or rel == ".git":
            if rel in _GIT_MOVES or rel.startswith(".git/refs/heads/"):
                self.request_rescan()
            return
        if rel == ".gitignore" or rel.endswith("/.gitignore"):
            self._rules.reset()
            self.request_rescan()
            return
        if self._rules.ignored(rel, is_dir):
            return
        now = time.monotonic()
        with self._lock:
            self._pending[rel] = now
            self._last_event = now

    def _loop(self) -> None:
        while not self._stop.wait(TICK_S):
            if self._observer is not None and not self._observer.is_alive():
                log.warning("file watcher died; restarting it and rescanning")
                self._start_observer()
                self.request_rescan()
            try:
                self._tick(time.monotonic())
            except Exception:  # the loop must survive a failing callback
                log.exception("file watcher callback failed")

    def _tick(self, now: float) -> None:
        with self._lock:
            quiet = now - self._last_event >= QUIET_S
            if self._rescan or len(self._pending) > STORM_PATHS:
                if not quiet:
                    return
                self._rescan = False
                self._pending.clear()
                ready: list[str] | None = None
            else:
                ready = [p for p, t in self._pending.items() if now - t >= DEBOUNCE_S]
                for p in ready:
                    del self._pending[p]
            self._handing = True
        try:
            if ready is None:
                log.info("rescanning the workspace after a burst of changes")
                self._on_rescan()
            elif ready:
                self._on_paths(ready)
        finally:
            with self._lock:
                self._handing = False
