"""Plain data the indexer hands out and passes between its modules."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# Chunks that get vectors, at most (setting `index.max_vectors`). Chroma holds about 3 KB a
# chunk in memory once a collection is read (110 MB for 35,239 chunks) and embedding runs at
# 6-13 chunks/s here: past the budget (about 300 MB, 2-4 hours) files are lexical only.
MAX_VECTORS = 100_000


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of one file: a definition (function, class header, method) or a line window.

    Lines are 1-based and inclusive. `symbol` is the qualified name (`Class.method`), empty
    for module-level code and plain-text windows.
    """

    path: str  # workspace-relative, '/'-separated
    start_line: int
    end_line: int
    symbol: str
    kind: str  # "function" | "class" | "module" | "window"
    language: str
    text: str

    def key(self) -> str:
        """Content identity: the same text under the same symbol in the same file keeps its
        id when lines shift, so an edit elsewhere in the file does not re-embed it."""
        h = hashlib.sha1(usedforsecurity=False)
        for part in (self.path, self.symbol, self.text):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\0")
        return h.hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One hit: a chunk, or a whole file when searching with files=True (then the lines
    and symbol are those of the file's best chunk)."""

    path: str
    score: float
    start_line: int
    end_line: int
    symbol: str
    text: str


@dataclass(frozen=True, slots=True)
class IndexStats:
    """What one update did."""

    files: int  # files in the index after the update
    chunks: int  # chunks in the index after the update
    seconds: float
    changed_files: int = 0  # added or modified files (re)chunked in this update
    removed_files: int = 0
    embedded_chunks: int = 0  # chunks whose vectors had to be computed
    skipped_files: int = 0  # binary, too large or unreadable
    rebuilt: bool = False  # the store was (re)created from scratch
    note: str = ""  # why it was rebuilt, when it was
    lexical_only_files: int = 0  # indexed without vectors: the vector budget is spent
