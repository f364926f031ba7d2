"""The in-memory side of the index: chunk metadata and the two BM25 indexes (chunks and
whole files), reflecting the disk state overlaid with the editor's unsaved buffers.

Chunk texts of files on disk are not kept here (the store has them), so memory grows with
the number of chunks, not the size of the workspace."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field

from greenpatch.indexer.bm25 import BM25
from greenpatch.indexer.mentions import PathIndex
from greenpatch.indexer.minilm import Matrix
from greenpatch.indexer.tokens import code_tokens, flatten, path_tokens
from greenpatch.indexer.types import Chunk


@dataclass(slots=True)
class Buffer:
    """Unsaved editor text of one file, chunked; vectors arrive from the worker."""

    text: str
    chunks: dict[str, Chunk]
    vectors: dict[str, Matrix] = field(default_factory=dict)


class Catalog:
    """Thread-safe: every method takes the lock; all are short (no I/O, no model)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._disk: dict[str, dict[str, Chunk]] = {}  # path -> key -> chunk (text "")
        self._buffers: dict[str, Buffer] = {}
        self._path_of: dict[str, str] = {}  # key -> path, of what is searchable now
        self._keys_by_path: dict[str, set[str]] = {}
        self._by_name: dict[str, set[str]] = {}  # defined name (lower-cased) -> chunk keys
        self._name_of: dict[str, str] = {}
        self.chunk_bm25 = BM25()
        self.file_bm25 = BM25()
        self.path_bm25 = BM25()  # paths alone: `autodoc` in an issue points at ext/autodoc/
        self._path_index: PathIndex | None = None  # built on demand, dropped on change

    # -- disk state ----------------------------------------------------------------------
    def set_file(self, path: str, chunks: dict[str, Chunk]) -> None:
        """Replace the disk chunks of a file (texts are dropped after tokenising)."""
        with self.lock:
            self._disk[path] = {k: dataclasses.replace(c, text="") for k, c in chunks.items()}
            if path not in self._buffers:
                self._reindex(path, chunks)

    def remove_file(self, path: str) -> None:
        """Forget a file's disk chunks (a buffer for it stays searchable)."""
        with self.lock:
            self._disk.pop(path, None)
            if path not in self._buffers:
                self._reindex(path, {})

    def disk_paths(self) -> list[str]:
        with self.lock:
            return list(self._disk)

    def disk_chunks(self, path: str) -> dict[str, Chunk]:
        """The disk chunks of a file (without texts)."""
        with self.lock:
            return dict(self._disk.get(path, {}))

    def disk_keys(self, path: str) -> set[str]:
        with self.lock:
            return set(self._disk.get(path, {}))

    # -- buffers -------------------------------------------------------------------------
    def set_buffer(self, path: str, text: str, chunks: dict[str, Chunk]) -> None:
        """Overlay a file with unsaved text; vectors already computed for equal chunks stay."""
        with self.lock:
            old = self._buffers.get(path)
            vectors = {k: v for k, v in (old.vectors if old else {}).items() if k in chunks}
            self._buffers[path] = Buffer(text, dict(chunks), vectors)
            self._reindex(path, chunks)

    def drop_buffer(self, path: str, disk_chunks: dict[str, Chunk] | None) -> None:
        """Remove an overlay; disk_chunks (with texts, for BM25) restore the saved state."""
        with self.lock:
            if self._buffers.pop(path, None) is None:
                return
            self._reindex(path, disk_chunks or {})

    def buffer(self, path: str) -> Buffer | None:
        with self.lock:
            return self._buffers.get(path)

    def buffer_paths(self) -> set[str]:
        with self.lock:
            return set(self._buffers)

    def add_buffer_vectors(self, path: str, vectors: dict[str, Matrix]) -> None:
        with self.lock:
            buf = self._buffers.get(path)
            if buf is not None:
                buf.vectors.update({k: v for k, v in vectors.items() if k in buf.chunks})

    # -- lookups -------------------------------------------------------------------------
    def chunk(self, key: str) -> Chunk | None:
        """The searchable chunk with this key (buffer chunks carry their text)."""
        with self.lock:
            path = self._path_of.get(key)
            if path is None:
                return None
            buf = self._buffers.get(path)
            return buf.chunks.get(key) if buf is not None else self._disk[path].get(key)

    def defining(self, name: str) -> set[str]:
        """Keys of the chunks defining a function or method of this name."""
        with self.lock:
            return set(self._by_name.get(name.lower(), ()))

    def path_of(self) -> dict[str, str]:
        with self.lock:
            return dict(self._path_of)

    def first_key(self, path: str) -> str | None:
        """The key of the file's first searchable chunk."""
        with self.lock:
            buf = self._buffers.get(path)
            chunks = buf.chunks if buf is not None else self._disk.get(path, {})
            return min(chunks, key=lambda k: chunks[k].start_line, default=None)

    def path_index(self) -> PathIndex:
        """The searchable paths by suffix (rebuilt after files come or go)."""
        with self.lock:
            if self._path_index is None:
                self._path_index = PathIndex(self._keys_by_path)
            return self._path_index

    def counts(self) -> tuple[int, int]:
        """(files, chunks) searchable."""
        with self.lock:
            return len(self.file_bm25), len(self._path_of)

    def _reindex(self, path: str, chunks: dict[str, Chunk]) -> None:
        old = self._keys_by_path.pop(path, set())
        if bool(old) != bool(chunks):  # the set of searchable paths changes
            self._path_index = None
        for key in old:
            self._path_of.pop(key, None)
            self.chunk_bm25.remove(key)
            name = self._name_of.pop(key, None)
            if name is not None:
                keys = self._by_name[name]
                keys.discard(key)
                if not keys:
                    del self._by_name[name]
        self.file_bm25.remove(path)
        self.path_bm25.remove(path)
        if not chunks:
            return
        # The file document is the path once, then every chunk's symbol and text.
        groups = [path_tokens(path)]
        for key, c in chunks.items():
            body = [*code_tokens(c.symbol), *code_tokens(c.text)]
            groups.append(body)
            self.chunk_bm25.add(key, [*path_tokens(c.path), *body])
            self._path_of[key] = path
            if c.symbol:
                name = c.symbol.rsplit(".", 1)[-1].lower()
                self._by_name.setdefault(name, set()).add(key)
                self._name_of[key] = name
        self._keys_by_path[path] = set(chunks)
        self.file_bm25.add(path, flatten(groups))
        self.path_bm25.add(path, groups[0])
