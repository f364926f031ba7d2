"""The ChromaDB side: one collection per (workspace, embedding model, chunker version).

Embedded `PersistentClient` under the index directory by default; `HttpClient` when a
Chroma server URL is configured, so a team can share one index.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from greenpatch.errors import ConfigError, WorkspaceError
from greenpatch.indexer.minilm import Matrix
from greenpatch.indexer.types import Chunk

log = logging.getLogger(__name__)

_PAGE = 2000
_POINTER = "store-dir"


def store_dir(index_dir: Path) -> Path:
    """The directory of the embedded store (normally index_dir/chroma)."""
    try:
        name = (index_dir / _POINTER).read_text(encoding="utf-8").strip()
    except OSError:
        name = ""
    return index_dir / (name if name.startswith("chroma-") and "/" not in name else "chroma")


@dataclass(frozen=True, slots=True)
class StoredChunk:
    """A chunk as read back from the store (text included)."""

    key: str
    chunk: Chunk


def workspace_prefix(workspace: Path) -> str:
    """The start of every collection name of this workspace."""
    ws = hashlib.sha1(str(workspace.resolve()).encode(), usedforsecurity=False).hexdigest()[:8]
    return f"gp-{ws}-"


def collection_name(workspace: Path, model_id: str, chunker_version: int) -> str:
    """A valid Chroma name (3-63 chars of [a-zA-Z0-9._-]) that changes with the model and
    the chunker, so either change starts a fresh collection."""
    model = hashlib.sha1(model_id.encode(), usedforsecurity=False).hexdigest()[:8]
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", model_id.split("/")[-1]).strip("-")[:20] or "m"
    return f"{workspace_prefix(workspace)}{slug}-{model}-c{chunker_version}"


def _metadata(chunk: Chunk) -> dict[str, str | int]:
    return {
        "path": chunk.path,
        "start_line": chunk.start_line,
        "end_line": chunk.end_line,
        "symbol": chunk.symbol,
        "kind": chunk.kind,
        "language": chunk.language,
    }


def _chunk(meta: Any, text: str | None) -> Chunk:
    return Chunk(
        str(meta["path"]),
        int(meta["start_line"]),
        int(meta["end_line"]),
        str(meta.get("symbol", "")),
        str(meta.get("kind", "")),
        str(meta.get("language", "")),
        text or "",
    )


class ChunkStore:
    """Vectors, texts and chunk metadata in one Chroma collection.

    An embedded store can be released while idle (`release`): Chroma keeps a collection's
    HNSW graph and vectors in memory once it is read (110 MB for 35,000 chunks, measured),
    and gives them back only when its client closes. The next call reconnects, and the next
    vector query loads the graph again (0.85 s for those 35,000 chunks)."""

    def __init__(self, connect: Callable[[], Any], name: str, *, releasable: bool = False) -> None:
        self.name = name
        self._connect = connect
        self._releasable = releasable
        self._lock = threading.Lock()  # the client, the collection and the count of users
        self._users = 0
        self._last_use = time.monotonic()
        self._client: Any = None
        self._col: Any = None
        self._closed = False
        self._reconnect()

    def _reconnect(self) -> None:
        client = self._connect()
        col = client.get_or_create_collection(
            self.name, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        self._client, self._col = client, col

    @classmethod
    def open(cls, index_dir: Path, chroma_url: str, name: str) -> tuple[ChunkStore, str]:
        """Open (creating if needed) the collection. Returns the store and a note that is
        non-empty when a corrupt local store had to be set aside and recreated."""
        if chroma_url:
            return cls(lambda: _http_client(chroma_url), name), ""
        path = store_dir(index_dir)
        try:
            path.mkdir(parents=True, exist_ok=True)
            return cls(lambda: _persistent_client(path), name, releasable=True), ""
        except Exception as exc:  # chromadb raises many types for a damaged store
            aside = path.with_name(f"chroma.corrupt-{int(time.time())}")
            log.warning("index store at %s is unusable (%s); moved to %s", path, exc, aside)
            shutil.move(str(path), str(aside))
            # Chroma keeps per-path state in the process after a failed open, so the fresh
            # store gets a new directory, recorded for the next start.
            fresh = index_dir / f"chroma-{time.time_ns()}"
            (index_dir / _POINTER).write_text(fresh.name, encoding="utf-8")
            fresh.mkdir(parents=True)
            note = f"the index store was unusable ({exc}); rebuilt it (old copy: {aside.name})"
            return cls(lambda: _persistent_client(fresh), name, releasable=True), note

    @contextlib.contextmanager
    def _use(self) -> Iterator[Any]:
        """The collection, reconnected if it was released, kept while the caller needs it."""
        with self._lock:
            if self._closed:
                raise WorkspaceError("the index store was closed")
            if self._client is None:
                self._reconnect()
            self._users += 1
            col = self._col
        try:
            yield col
        finally:
            with self._lock:
                self._users -= 1
                self._last_use = time.monotonic()

    def release(self, idle_s: float) -> bool:
        """Close an embedded store nobody has used for `idle_s` seconds; True if it did."""
        with self._lock:
            idle = time.monotonic() - self._last_use >= idle_s
            if not (self._releasable and self._client is not None and self._users == 0 and idle):
                return False
            self._close_client()
            return True

    def close(self) -> None:
        """Release the client (Chroma shares one system per path within a process; a
        store reopened after its directory vanished must not get the stale one)."""
        with self._lock:
            self._closed = True
            self._close_client()

    def _close_client(self) -> None:
        client, self._client, self._col = self._client, None, None
        close = getattr(client, "close", None)
        if close is not None:
            try:
                close()
            except Exception as exc:  # closing a store whose files are gone may fail
                log.debug("closing the index store: %s", exc)

    def drop_others(self, prefix: str) -> list[str]:
        """Delete this workspace's collections of other models or chunker versions."""
        dropped = []
        with self._use():
            for col in self._client.list_collections():
                col_name = col if isinstance(col, str) else col.name
                if col_name.startswith(prefix) and col_name != self.name:
                    self._client.delete_collection(col_name)
                    dropped.append(col_name)
        return dropped

    def count(self) -> int:
        """Chunks stored."""
        with self._use() as col:
            return int(col.count())

    def existing(self, keys: Sequence[str]) -> set[str]:
        """Which of keys are already stored."""
        found: set[str] = set()
        with self._use() as col:
            for start in range(0, len(keys), _PAGE):
                found.update(col.get(ids=list(keys[start : start + _PAGE]), include=[])["ids"])
        return found

    def upsert(self, keys: Sequence[str], chunks: Sequence[Chunk], vectors: Matrix) -> None:
        """Add or replace chunks with their vectors."""
        if keys:
            with self._use() as col:
                col.upsert(
                    ids=list(keys),
                    embeddings=vectors,
                    documents=[c.text for c in chunks],
                    metadatas=[_metadata(c) for c in chunks],
                )

    def relocate(self, keys: Sequence[str], chunks: Sequence[Chunk]) -> None:
        """Update line numbers of chunks whose text did not change."""
        if keys:
            with self._use() as col:
                col.update(ids=list(keys), metadatas=[_metadata(c) for c in chunks])

    def delete(self, keys: Sequence[str]) -> None:
        """Remove chunks."""
        with self._use() as col:
            for start in range(0, len(keys), _PAGE):
                col.delete(ids=list(keys[start : start + _PAGE]))

    def vectors(self, keys: Sequence[str]) -> dict[str, Matrix]:
        """Stored vectors of keys (missing keys are absent)."""
        if not keys:
            return {}
        with self._use() as col:
            got = col.get(ids=list(keys), include=["embeddings"])
        return dict(zip(got["ids"], got["embeddings"], strict=True))

    def texts(self, keys: Sequence[str]) -> dict[str, str]:
        """Stored texts of keys."""
        if not keys:
            return {}
        with self._use() as col:
            got = col.get(ids=list(keys), include=["documents"])
        return {k: d or "" for k, d in zip(got["ids"], got["documents"], strict=True)}

    def scan(self) -> Iterator[StoredChunk]:
        """Every stored chunk, in pages (bounded memory)."""
        offset = 0
        with self._use() as col:
            while True:
                got = col.get(include=["metadatas", "documents"], limit=_PAGE, offset=offset)
                ids = got["ids"]
                if not ids:
                    return
                for key, meta, doc in zip(ids, got["metadatas"], got["documents"], strict=True):
                    yield StoredChunk(key, _chunk(meta, doc))
                offset += len(ids)

    def query(self, vector: Matrix, n: int) -> list[tuple[str, float]]:
        """Nearest chunks to a unit vector, as (key, cosine similarity), best first."""
        with self._use() as col:
            total = int(col.count())
            if total == 0:
                return []
            got = col.query(
                query_embeddings=vector.reshape(1, -1),
                n_results=min(n, total),
                include=["distances"],
            )
        return [
            (k, 1.0 - float(d)) for k, d in zip(got["ids"][0], got["distances"][0], strict=True)
        ]


def _settings() -> Any:
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=False)


def _persistent_client(path: Path) -> Any:
    import chromadb

    if not path.is_dir():  # deleted while released: say so rather than start empty
        raise WorkspaceError(f"the index store {path} is gone")
    client = chromadb.PersistentClient(path=str(path), settings=_settings())
    client.list_collections()  # touch the store so corruption shows here, not later
    return client


def _http_client(url: str) -> Any:
    import chromadb

    parsed = urlparse(url if "://" in url else f"http://{url}")
    if not parsed.hostname:
        raise ConfigError(f"index.chroma_url {url!r} is not a URL like http://host:8000")
    port = parsed.port or (443 if parsed.scheme == "https" else 8000)
    return chromadb.HttpClient(
        host=parsed.hostname, port=port, ssl=parsed.scheme == "https", settings=_settings()
    )
