"""WorkspaceIndex: the public face of the indexer (see README.md for the contract)."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenpatch.errors import Cancelled, WorkspaceError
from greenpatch.indexer import retrieval
from greenpatch.indexer.catalog import Catalog
from greenpatch.indexer.chunking import CHUNKER_VERSION, chunk_file
from greenpatch.indexer.embeddings import (
    CachedEmbedder,
    Embedder,
    make_embedder,
    release_local_model,
)
from greenpatch.indexer.files import (
    MAX_FILE_BYTES,
    FileInfo,
    IgnoreRules,
    decode,
    read_bytes,
    stat_file,
    walk,
)
from greenpatch.indexer.manifest import FileRecord, Manifest
from greenpatch.indexer.retrieval import Mode, embed_text
from greenpatch.indexer.store import (
    ChunkStore,
    collection_name,
    store_dir,
    workspace_prefix,
)
from greenpatch.indexer.types import MAX_VECTORS, Chunk, IndexStats, SearchResult

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
BATCH_CHUNKS = 256  # chunks embedded and written per store call
# A cold index of a large workspace takes many minutes (embedding-bound): a server stopped
# meanwhile keeps what was stored up to the last manifest save.
MANIFEST_EVERY_S = 30.0
CATALOG_FILE = "catalog.sqlite"


@dataclass
class _Tally:
    changed: int = 0
    removed: int = 0
    skipped: int = 0


class WorkspaceIndex:
    """A live hybrid index of one workspace.

    `update()` and `search()` are thread-safe and may run concurrently; writes are
    serialised. Nothing here touches an event loop: callers on one use
    `update_in_background()` or run calls in a thread.
    """

    def __init__(
        self,
        workspace: Path,
        *,
        chroma_url: str = "",
        embedding: str = "local",
        index_dir: Path | None = None,
        embedder: Embedder | None = None,
        embed_cache: Path | None = None,
        max_file_bytes: int = MAX_FILE_BYTES,
        max_vectors: int = MAX_VECTORS,
    ) -> None:
        root = Path(workspace).resolve()
        if not root.is_dir():
            raise WorkspaceError(f"workspace {workspace} is not a directory")
        self.root = root
        self.index_dir = index_dir or root / ".greenpatch" / "index"
        self.rules = IgnoreRules(root)
        self.catalog = Catalog(self.index_dir / CATALOG_FILE)
        self._chroma_url = chroma_url
        self._embedding = embedding
        self._embedder_arg = embedder
        self._embed_cache = embed_cache
        self._max_bytes = max_file_bytes
        self._max_vectors = max_vectors
        self._vector_count = 0  # chunks with vectors in the store, per the manifest
        self._open_lock = threading.Lock()
        # Held to change the editor's buffers, and to move them to a new catalog.
        self._buffers_lock = threading.RLock()
        self._write_lock = threading.RLock()
        self._running = threading.Event()
        self._running.set()
        self._stopping = False
        self._store: ChunkStore | None = None
        self._manifest: Manifest | None = None
        self._embedder: CachedEmbedder | None = None
        self._note = ""
        self._verified = False  # the store checked against the manifest (_verify_store)
        self._executor: ThreadPoolExecutor | None = None
        self._watcher: Any = None

    # -- opening -------------------------------------------------------------------------
    def _open(self) -> tuple[ChunkStore, Manifest, CachedEmbedder]:
        with self._open_lock:
            if self._store is not None and not self._store_vanished():
                assert self._manifest is not None and self._embedder is not None
                return self._store, self._manifest, self._embedder
            if self._store is not None:
                log.warning("index directory %s vanished; rebuilding", self.index_dir)
                self._note = "the index directory was deleted; rebuilt it"
                # The old catalog is not closed: a search under way holds it, and it goes
                # with the last reference. The editor's unsaved buffers move over, with
                # the saved file's chunks they hide.
                with self._buffers_lock:
                    old, self.catalog = self.catalog, Catalog(self.index_dir / CATALOG_FILE)
                    for path in old.buffer_paths():
                        if (buf := old.buffer(path)) is not None:
                            self.catalog.set_buffer(path, buf.text, buf.chunks, buf.disk)
                            self.catalog.add_buffer_vectors(path, buf.vectors)
                self._store.close()
                if self._embedder is not None:
                    self._embedder.close()
            inner = self._embedder_arg or make_embedder(self._embedding)
            cache = self._embed_cache or self.index_dir / "embeddings.sqlite"
            self._embedder = CachedEmbedder(inner, cache)
            name = collection_name(self.root, inner.model_id, CHUNKER_VERSION)
            store, note = ChunkStore.open(self.index_dir, self._chroma_url, name)
            dropped = store.drop_others(workspace_prefix(self.root))
            if dropped:
                self._note = f"embedding model or chunker changed; rebuilt (dropped {dropped})"
            self._note = note or self._note
            self._manifest = Manifest.load(self.index_dir / "manifest.json", name)
            if note:  # a new store has none of the manifest's vectors
                self._manifest.files.clear()
            self._note = self._note or self.catalog.rebuilt
            self._reconcile(self._manifest)
            self._vector_count = self._manifest.vector_count()
            self._verified = False
            self._store = store
            return store, self._manifest, self._embedder

    def _store_vanished(self) -> bool:
        return not self._chroma_url and not store_dir(self.index_dir).exists()

    def _reconcile(self, manifest: Manifest) -> None:
        """Files the catalog and the manifest disagree on (by content hash) are read again:
        the catalog takes a file before its vectors are stored, the manifest after, so an
        interrupted update leaves the catalog ahead (and a rebuilt catalog, behind). Their
        records stay, with what the store holds for them, so no vector is computed again."""
        hashes = self.catalog.file_hashes()
        for path, rec in manifest.files.items():
            indexed = hashes.pop(path, None)
            if (rec.keys or indexed is not None) and indexed != rec.sha1:
                rec.size, rec.mtime_ns, rec.sha1 = -1, -1, ""  # unlike any file: read again
        for path in hashes:  # not in the manifest: from an interrupted update
            self.catalog.remove_file(path)

    def _verify_store(self, store: ChunkStore, manifest: Manifest) -> None:
        """Once per opened store, before the first update: files whose vectors the store
        lost are indexed again, chunks nobody references are removed. Counting loads the
        store's vectors, which is why search does not do this."""
        if self._verified:
            return
        self._verified = True
        if store.count() == manifest.vector_count():
            return
        wanted = {k: p for p, rec in manifest.files.items() for k in rec.keys}
        by_path: dict[str, dict[str, Chunk]] = {}
        orphans = []
        for stored in store.scan():
            path = wanted.get(stored.key)
            if path is None:
                orphans.append(stored.key)
            else:
                by_path.setdefault(path, {})[stored.key] = stored.chunk
        for path, rec in list(manifest.files.items()):
            chunks = by_path.get(path, {})
            if rec.vectors and len(chunks) != len(rec.keys):  # the store lost some: again
                del manifest.files[path]
                orphans.extend(chunks)
        self._vector_count = manifest.vector_count()
        if orphans:
            log.info("removing %d chunks left by an interrupted update", len(orphans))
            store.delete(orphans)

    # -- updating ------------------------------------------------------------------------
    def update(self, progress: Progress | None = None) -> IndexStats:
        """Bring the index up to date with the workspace on disk (incremental: unchanged
        files are recognised by size and mtime, then by content hash)."""
        started = time.monotonic()
        with self._write_lock:
            store, manifest, embedder = self._open()
            self._verify_store(store, manifest)
            computed = embedder.computed
            self.rules.reset()
            found: dict[str, FileInfo] = {}
            for info in walk(self.root, self.rules, self._max_bytes):
                found[info.path] = info
                if len(found) % 2000 == 0:
                    self._checkpoint()
            changed = [i for p, i in found.items() if not _same(manifest.files.get(p), i)]
            removed = [p for p in manifest.files if p not in found]
            tally = self._apply(store, manifest, changed, removed, progress)
            return self._stats(started, tally, embedder.computed - computed)

    def apply_paths(self, paths: Iterable[str]) -> IndexStats:
        """Re-index just these workspace-relative paths (files or directories; created,
        modified or deleted): the watcher's entry point."""
        started = time.monotonic()
        with self._write_lock:
            store, manifest, embedder = self._open()
            computed = embedder.computed
            changed: dict[str, FileInfo] = {}
            removed: set[str] = set()
            for rel in paths:
                self._classify(rel, manifest, changed, removed)
            todo = [i for i in changed.values() if not _same(manifest.files.get(i.path), i)]
            tally = self._apply(store, manifest, todo, sorted(removed - set(changed)), None)
            return self._stats(started, tally, embedder.computed - computed)

    def _classify(
        self, rel: str, manifest: Manifest, changed: dict[str, FileInfo], removed: set[str]
    ) -> None:
        if (self.root / rel).is_dir() and not (self.root / rel).is_symlink():
            if self.rules.ignored(rel, True):
                return
            prefix = rel + "/"
            removed.update(p for p in manifest.files if p.startswith(prefix))
            changed.update((i.path, i) for i in walk(self.root, self.rules, self._max_bytes, rel))
            return
        info = stat_file(self.root, rel, self.rules, self._max_bytes)
        if info is not None:
            changed[rel] = info
            return
        prefix = rel + "/"  # a deleted directory
        removed.update(p for p in manifest.files if p == rel or p.startswith(prefix))

    def _apply(
        self,
        store: ChunkStore,
        manifest: Manifest,
        changed: list[FileInfo],
        removed: list[str],
        progress: Progress | None,
    ) -> _Tally:
        tally = _Tally(removed=len(removed))
        total = len(changed) + len(removed)
        for path in removed:
            self._remove(store, manifest, path)
        batch: list[tuple[FileInfo, str, dict[str, Chunk]]] = []
        pending, saved = 0, time.monotonic()
        for done, info in enumerate(changed, start=len(removed) + 1):
            self._checkpoint()
            data = read_bytes(self.root, info.path, self._max_bytes)
            text = decode(data) if data is not None else None
            if data is None or text is None:
                tally.skipped += 1
                if info.path in manifest.files:
                    self._remove(store, manifest, info.path)
                continue
            sha = _sha1(data)
            record = manifest.files.get(info.path)
            if record is not None and record.sha1 == sha:  # touched, not changed
                record.size, record.mtime_ns = info.size, info.mtime_ns
                continue
            chunks = {c.key(): c for c in chunk_file(info.path, text)}
            batch.append((info, sha, chunks))
            pending += len(chunks)
            tally.changed += 1
            if pending >= BATCH_CHUNKS:
                self._flush(store, manifest, batch)
                batch, pending = [], 0
                if time.monotonic() - saved >= MANIFEST_EVERY_S:
                    manifest.save(self.index_dir / "manifest.json")
                    saved = time.monotonic()
                if progress is not None:
                    progress(done, total)
        self._flush(store, manifest, batch)
        if progress is not None:
            progress(total, total)
        manifest.save(self.index_dir / "manifest.json")
        return tally

    def _flush(
        self,
        store: ChunkStore,
        manifest: Manifest,
        batch: list[tuple[FileInfo, str, dict[str, Chunk]]],
    ) -> None:
        """Make the batch lexically searchable at once, then embed what is new and store it.
        Embedding is the slow part (a saved file waited for its vectors: p95 641 ms from save
        to searchable); dense search skips keys the catalog no longer has, and the manifest
        records a file only once its vectors are stored, so an interrupted update redoes it."""
        if not batch:
            return
        assert self._embedder is not None
        new: dict[str, Chunk] = {}
        moved: dict[str, Chunk] = {}
        stale: list[str] = []
        lexical_only: set[str] = set()
        counted = 0  # the change in vectors stored, once the store has taken the batch
        for info, sha, chunks in batch:
            # What the store holds is what the manifest recorded; the catalog may be ahead.
            record = manifest.files.get(info.path)
            stored = set(record.keys) if record is not None and record.vectors else set()
            old = self.catalog.disk_chunks(info.path)
            self.catalog.set_file(info.path, chunks, sha)
            if len(chunks) - len(stored) > self._max_vectors - self._vector_count - counted:
                lexical_only.add(info.path)  # over the budget: no vectors, old ones go
                stale.extend(stored)
                counted -= len(stored)
                continue
            counted += len(chunks) - len(stored)
            for key, chunk in chunks.items():
                if key not in stored:
                    new[key] = chunk
                elif key not in old or _lines(old[key]) != _lines(chunk):
                    moved[key] = chunk
            stale.extend(k for k in stored if k not in chunks)
        present = store.existing(list(new))  # written before an interruption
        moved.update((k, new.pop(k)) for k in present)
        keys = list(new)
        vectors = self._embedder.embed([embed_text(new[k]) for k in keys])
        store.upsert(keys, [new[k] for k in keys], vectors)
        store.relocate(list(moved), list(moved.values()))
        store.delete(stale)
        self._vector_count += counted
        for info, sha, chunks in batch:
            embedded = info.path not in lexical_only
            manifest.files[info.path] = FileRecord(
                info.size, info.mtime_ns, sha, list(chunks), embedded
            )

    def _remove(self, store: ChunkStore, manifest: Manifest, path: str) -> None:
        record = manifest.files.pop(path, None)
        if record is not None and record.vectors:
            store.delete(record.keys)
            self._vector_count -= len(record.keys)
        self.catalog.remove_file(path)

    def _checkpoint(self) -> None:
        """Where a long update waits while paused and ends when the index stops."""
        self._running.wait()
        if self._stopping:
            raise Cancelled("indexing stopped")

    def _stats(self, started: float, tally: _Tally, embedded: int) -> IndexStats:
        _, chunks = self.catalog.counts()
        records = self._manifest.files.values() if self._manifest is not None else []
        note, self._note = self._note, ""
        return IndexStats(
            files=len(records),
            chunks=chunks,
            seconds=round(time.monotonic() - started, 3),
            changed_files=tally.changed,
            removed_files=tally.removed,
            embedded_chunks=embedded,
            skipped_files=tally.skipped,
            rebuilt=bool(note),
            note=note,
            lexical_only_files=sum(not r.vectors for r in records),
        )

    # -- searching -----------------------------------------------------------------------
    def search(
        self, query: str, *, top_k: int = 10, files: bool = False, mode: Mode = "hybrid"
    ) -> list[SearchResult]:
        """Best chunks (or files) for a plain-language or code query. `mode` picks
        "hybrid" (default), "bm25" or "dense" alone."""
        store, _, embedder = self._open()
        return retrieval.search(
            self.catalog,
            store,
            embedder,
            query,
            top_k=top_k,
            files=files,
            mode=mode,
            texts=self._texts,
            # Nothing embedded (the budget is 0, or spent on none of these): do not load
            # the model and the store to embed a query that can match nothing.
            vectors=self._vector_count > 0
            or (self._max_vectors > 0 and bool(self.catalog.buffer_paths())),
        )

    def _texts(self, chunks: list[tuple[str, Chunk]]) -> dict[str, str]:
        """Texts of saved files' chunks, cut from the file itself while it is as indexed
        (same hash): reading them from the store would load its vectors into memory
        (Chroma loads a collection on any read), which a lexical search does not need."""
        manifest, store = self._manifest, self._store
        by_path: dict[str, list[tuple[str, Chunk]]] = {}
        for key, chunk in chunks:
            by_path.setdefault(chunk.path, []).append((key, chunk))
        found: dict[str, str] = {}
        rest: list[str] = []
        for path, items in by_path.items():
            record = manifest.files.get(path) if manifest is not None else None
            data = read_bytes(self.root, path, self._max_bytes) if record is not None else None
            as_indexed = record is not None and data is not None and _sha1(data) == record.sha1
            text = decode(data) if as_indexed and data is not None else None
            if text is None:
                rest.extend(key for key, _ in items)
                continue
            lines = text.split("\n")  # as the chunker splits it
            for key, chunk in items:
                found[key] = "\n".join(lines[chunk.start_line - 1 : chunk.end_line])
        if rest and store is not None:
            found.update(store.texts(rest))
        return found

    def release_idle(self, idle_s: float) -> bool:
        """Give back what lexical search does not need once nothing has used it for
        `idle_s` seconds: the store's loaded vectors and the embedding model's session.
        Both come back on their next use. True if anything was released."""
        store = self._store
        released = store is not None and store.release(idle_s)
        return release_local_model(idle_s) or released

    # -- the editor's buffers ------------------------------------------------------------
    def set_buffer(self, path: str, text: str) -> None:
        """Make unsaved editor text of a file searchable in place of its saved content.
        Lexical search sees it at once; its vectors follow from the worker thread."""
        rel = self._rel(path)
        if rel is None:
            return
        chunks = {c.key(): c for c in chunk_file(rel, text)}
        with self._buffers_lock:
            self.catalog.set_buffer(rel, text, chunks)
        self._submit(self._embed_buffer, rel)

    def drop_buffer(self, path: str) -> None:
        """Forget unsaved text (the editor closed or saved the file)."""
        rel = self._rel(path)
        if rel is None:
            return
        with self._buffers_lock:
            if self.catalog.buffer(rel) is None:
                return
            disk: dict[str, Chunk] | None = None
            sha = ""
            if self.catalog.has_disk(rel):
                data = read_bytes(self.root, rel, self._max_bytes)
                text = decode(data) if data is not None else None
                disk = {c.key(): c for c in chunk_file(rel, text)} if text is not None else None
                if disk and data is not None:
                    sha = _sha1(data)
            self.catalog.drop_buffer(rel, disk, sha)

    def _embed_buffer(self, rel: str) -> None:
        buf = self.catalog.buffer(rel)
        if buf is None or self._max_vectors <= 0:
            return
        store, _, embedder = self._open()
        missing = [k for k in buf.chunks if k not in buf.vectors]
        vectors = store.vectors(missing)  # chunks unchanged since the last save
        todo = [k for k in missing if k not in vectors]
        if todo:
            computed = embedder.embed([embed_text(buf.chunks[k]) for k in todo])
            vectors.update(zip(todo, computed, strict=True))
        self.catalog.add_buffer_vectors(rel, vectors)

    def _rel(self, path: str) -> str | None:
        p = Path(path)
        if not p.is_absolute():
            return p.as_posix()
        try:
            return p.resolve().relative_to(self.root).as_posix()
        except ValueError:
            log.debug("ignoring buffer outside the workspace: %s", path)
            return None

    # -- threads, watching, pausing ------------------------------------------------------
    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gp-index")
        future = self._executor.submit(fn, *args)
        future.add_done_callback(_log_failure)
        return future

    def update_in_background(self, progress: Progress | None = None) -> Future[IndexStats]:
        """update() on the index's worker thread; returns at once."""
        return self._submit(self.update, progress)

    def start_watching(self, progress: Progress | None = None) -> Future[IndexStats]:
        """Index in the background, then follow file changes until stop()."""
        from greenpatch.indexer.watcher import Watcher

        initial = self.update_in_background(progress)
        if self._watcher is None:
            self._watcher = Watcher(
                self.root,
                self.rules,
                on_paths=lambda paths: self._submit(self.apply_paths, paths),
                on_rescan=lambda: self._submit(self.update),
            )
            self._watcher.start()
        return initial

    def wait_idle(self, timeout: float | None = None) -> None:
        """Block until pending file events and queued work are processed (for tests and
        the benchmark; never call on an event loop)."""
        if self._watcher is not None:
            self._watcher.flush()
        self._submit(lambda: None).result(timeout)

    def pause(self) -> None:
        """Hold indexing at the next file boundary (searches keep working)."""
        self._running.clear()

    def resume(self) -> None:
        """Continue after pause()."""
        self._running.set()

    def stop(self) -> None:
        """Stop watching, cancel queued work, and close the store's resources."""
        self._stopping = True
        self._running.set()
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        if self._embedder is not None:
            self._embedder.close()
            self._embedder = None
        if self._store is not None:
            self._store.close()
            self._store = None
        self.catalog.close()


def _sha1(data: bytes) -> str:
    """A file's content hash, as the manifest and the catalog record it."""
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def _lines(chunk: Chunk) -> tuple[int, int]:
    return chunk.start_line, chunk.end_line


def _same(record: FileRecord | None, info: FileInfo) -> bool:
    return record is not None and (record.size, record.mtime_ns) == (info.size, info.mtime_ns)


def _log_failure(future: Future[Any]) -> None:
    if not future.cancelled() and (exc := future.exception()) is not None:
        if isinstance(exc, Cancelled):
            return
        log.error("background indexing failed: %s", exc, exc_info=exc)
