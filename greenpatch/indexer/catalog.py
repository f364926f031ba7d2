"""The lexical side of the index: chunk metadata and three BM25 indexes (chunks, whole
files, paths alone), on disk in SQLite FTS5, reflecting the files on disk overlaid with the
editor's unsaved buffers.

Why on disk: held in memory (packed postings per term, a record per chunk) it cost about
1.4 KB a chunk, 983 MB for a generated 100,000-file workspace of 703,609 chunks, and it
had to be rebuilt from the store at every start, which loads the store's vectors. SQLite's
page cache is bounded, so memory no longer grows with the workspace; the index persists
between starts.

Chunk texts are not kept (the files and the store have them), only their tokens for BM25.
A query's terms are looked up rarest first until `MAX_POSTINGS` postings are read: the
most common terms carry almost no weight (BM25's idf) and would cost the most time."""

from __future__ import annotations

import dataclasses
import logging
import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from greenpatch.errors import WorkspaceError
from greenpatch.indexer.minilm import Matrix
from greenpatch.indexer.tokens import code_tokens, path_tokens
from greenpatch.indexer.types import Chunk

log = logging.getLogger(__name__)

# Bump when the schema or the tokens change: a catalog of another version is rebuilt.
SCHEMA_VERSION = 2
MAX_POSTINGS = 400_000  # per ranking and query; FTS5 scores about a million a second here
BUSY_WAIT_S = 30.0  # how long to wait for another process's write (SQLite's busy timeout)
MAX_REPEATS = 50  # FTS5 reads a term's postings once per repetition in the query
_TOKENIZER = "unicode61 tokenchars '_'"  # our tokens are [a-z0-9_]+, already split

# Idempotent, in one write transaction: two processes creating the catalog at once (a
# server's index and `greenpatch index`) take turns, and the second changes nothing.
_SCHEMA = f"""
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS chunks(
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    start_line INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    kind TEXT NOT NULL,
    language TEXT NOT NULL,
    name TEXT  -- the symbol's last part, lower-cased; NULL without a symbol
);
CREATE INDEX IF NOT EXISTS chunks_path ON chunks(path, start_line);
CREATE INDEX IF NOT EXISTS chunks_name ON chunks(name) WHERE name IS NOT NULL;
CREATE TABLE IF NOT EXISTS files(
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    rpath TEXT NOT NULL,  -- the path reversed, '/'-led: suffix lookups as prefix ranges
    sha1 TEXT NOT NULL  -- of the content indexed, checked against the manifest at open
);
CREATE INDEX IF NOT EXISTS files_rpath ON files(rpath);
-- files whose rows are an editor's buffer, and the process that holds that buffer
CREATE TABLE IF NOT EXISTS overlaid(path TEXT PRIMARY KEY, pid INTEGER NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_fts USING fts5(body, tokenize="{_TOKENIZER}");
CREATE VIRTUAL TABLE IF NOT EXISTS file_fts USING fts5(body, tokenize="{_TOKENIZER}");
CREATE VIRTUAL TABLE IF NOT EXISTS path_fts USING fts5(body, tokenize="{_TOKENIZER}");
PRAGMA user_version = {SCHEMA_VERSION};
COMMIT;
"""
_RANKINGS = ("chunk_fts", "file_fts", "path_fts")


@dataclass(slots=True)
class Buffer:
    """Unsaved editor text of one file, chunked; vectors arrive from the worker. `disk`
    keeps the saved file's chunks (without texts) while the buffer hides them."""

    text: str
    chunks: dict[str, Chunk]
    disk: dict[str, Chunk]
    vectors: dict[str, Matrix] = field(default_factory=dict)


class Catalog:
    """Thread-safe: every method takes the lock; all are short (indexed lookups, no
    model). `Catalog()` lives in memory (benchmarks, tests); `Catalog(path)` on disk."""

    def __init__(self, path: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.path = path
        self.rebuilt = ""  # why an existing catalog was discarded, if it was
        self._buffers: dict[str, Buffer] = {}
        self._db = self._connect()
        # Rows of buffers of a process that is gone (killed, or ended without dropping
        # them) go; the index reads those files again, their hashes being unknown. Another
        # live process's buffers (a server's, while the CLI runs) stay.
        for stale, pid in self._db.execute("SELECT path, pid FROM overlaid").fetchall():
            if not _alive(pid):
                self._replace(stale, {}, "")
                self._db.execute("DELETE FROM overlaid WHERE path = ?", (stale,))
        self._db.commit()
        for table in _RANKINGS:
            self._db.execute(
                f"CREATE VIRTUAL TABLE temp.{table}_vocab USING fts5vocab(main, {table}, 'row')"
            )

    def _connect(self) -> sqlite3.Connection:
        if self.path is None:
            return self._create(sqlite3.connect(":memory:", check_same_thread=False))
        deadline = time.monotonic() + BUSY_WAIT_S
        while True:
            try:
                db = self._open_existing(self.path)
                break
            except sqlite3.DatabaseError as exc:
                # Busy is another process writing (creating it, maybe): wait, never rebuild.
                if not _busy(exc):
                    self.rebuilt = f"the catalog was unreadable ({exc})"
                    db = None
                    break
                if time.monotonic() > deadline:
                    raise WorkspaceError(f"the index catalog {self.path} stays locked") from exc
                time.sleep(0.1)
            except OSError as exc:
                raise WorkspaceError(f"cannot open the index catalog {self.path}: {exc}") from exc
        if db is not None:
            return db
        log.warning("%s: rebuilding %s", self.rebuilt, self.path)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        return self._create(self._sqlite(self.path))

    def _open_existing(self, path: Path) -> sqlite3.Connection | None:
        """The catalog at `path`, created if new; None (with `rebuilt` saying why) when it
        is of another version."""
        path.parent.mkdir(parents=True, exist_ok=True)
        db = self._sqlite(path)
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:  # new, or being created by another process right now
                return self._create(db)
            if version == SCHEMA_VERSION:
                # Reads every page: 2 s for the 640 MB catalog of 100,000 files.
                (check,) = db.execute("PRAGMA quick_check(1)").fetchone()
                if check == "ok":
                    return self._tune(db)
                raise sqlite3.DatabaseError(check)
        except BaseException:
            db.close()
            raise
        db.close()
        self.rebuilt = f"catalog version {version}, wanted {SCHEMA_VERSION}"
        return None

    @staticmethod
    def _sqlite(path: Path) -> sqlite3.Connection:
        return sqlite3.connect(path, check_same_thread=False, timeout=BUSY_WAIT_S)

    def _create(self, db: sqlite3.Connection) -> sqlite3.Connection:
        db.executescript(_SCHEMA)
        return self._tune(db)

    @staticmethod
    def _tune(db: sqlite3.Connection) -> sqlite3.Connection:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # a lost tail is rebuilt from the files
        db.execute("PRAGMA cache_size=-16000")  # 16 MB: the bound on what it keeps in memory
        return db

    def close(self) -> None:
        with self.lock:
            self._db.commit()
            self._db.close()

    # -- disk state ----------------------------------------------------------------------
    def set_file(self, path: str, chunks: dict[str, Chunk], sha1: str = "") -> None:
        """Replace the disk chunks of a file whose content has this hash (texts are used
        for tokens, then dropped)."""
        with self.lock:
            buf = self._buffers.get(path)
            if buf is not None:
                buf.disk = _without_texts(chunks)  # drop_buffer is told the hash again
            else:
                self._replace(path, chunks, sha1)
            self._db.commit()

    def remove_file(self, path: str) -> None:
        """Forget a file's disk chunks (a buffer for it stays searchable)."""
        self.set_file(path, {})

    def disk_chunks(self, path: str) -> dict[str, Chunk]:
        """The disk chunks of a file (without texts)."""
        with self.lock:
            buf = self._buffers.get(path)
            return dict(buf.disk) if buf is not None else self._rows(path)

    def disk_keys(self, path: str) -> set[str]:
        return set(self.disk_chunks(path))

    def has_disk(self, path: str) -> bool:
        return bool(self.disk_chunks(path))

    def file_hashes(self) -> dict[str, str]:
        """The hash of the content indexed, per file with chunks (buffers' files excluded),
        to check against the manifest when the index opens."""
        with self.lock:
            rows = self._db.execute("SELECT path, sha1 FROM files")
            return {p: h for p, h in rows if p not in self._buffers}

    # -- buffers -------------------------------------------------------------------------
    def set_buffer(
        self,
        path: str,
        text: str,
        chunks: dict[str, Chunk],
        disk: dict[str, Chunk] | None = None,
    ) -> None:
        """Overlay a file with unsaved text; vectors already computed for equal chunks stay.
        `disk`: the saved file's chunks, when this catalog does not hold them (a buffer
        moved from another)."""
        with self.lock:
            old = self._buffers.get(path)
            if old is None:
                disk = self._rows(path) if disk is None else dict(disk)
                self._db.execute(
                    "INSERT OR REPLACE INTO overlaid VALUES (?, ?)", (path, os.getpid())
                )
                vectors = {}
            else:
                disk = old.disk
                vectors = {k: v for k, v in old.vectors.items() if k in chunks}
            self._buffers[path] = Buffer(text, dict(chunks), disk, vectors)
            self._replace(path, chunks, "")
            self._db.commit()

    def drop_buffer(self, path: str, disk_chunks: dict[str, Chunk] | None, sha1: str = "") -> None:
        """Remove an overlay; disk_chunks (with texts, for BM25), of content with this
        hash, restore the saved state."""
        with self.lock:
            if self._buffers.pop(path, None) is None:
                return
            self._replace(path, disk_chunks or {}, sha1)
            self._db.execute("DELETE FROM overlaid WHERE path = ?", (path,))
            self._db.commit()

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
    def search(self, ranking: str, tokens: list[str], top_k: int) -> list[tuple[str, float]]:
        """BM25 over one of "chunks" (chunk keys), "files" or "paths" (paths), best first."""
        table = {"chunks": "chunk_fts", "files": "file_fts", "paths": "path_fts"}[ranking]
        with self.lock:
            match = self._match(table, tokens)
            if not match or top_k <= 0:
                return []
            owner = "chunks" if table == "chunk_fts" else "files"
            name = "key" if table == "chunk_fts" else "path"
            rows = self._db.execute(
                f"SELECT o.{name}, -bm25({table}) FROM {table} JOIN {owner} o"
                f" ON o.id = {table}.rowid WHERE {table} MATCH ? ORDER BY rank LIMIT ?",
                (match, top_k),
            )
            return [(k, s) for k, s in rows]

    def _match(self, table: str, tokens: list[str]) -> str:
        """An FTS5 query of the tokens' rarest terms within MAX_POSTINGS postings, each
        repeated as often as the query repeats it (BM25 sums over the query's terms: an
        issue that says `py` 22 times is about a .py file; capping repeats at 5 lost two
        of the 57 SWE-bench instances and gained one)."""
        counts = Counter(t for t in tokens if t.isascii())
        if not counts:
            return ""
        marks = ",".join("?" * len(counts))
        df = dict(
            self._db.execute(
                f"SELECT term, doc FROM temp.{table}_vocab WHERE term IN ({marks})", list(counts)
            )
        )
        terms: list[str] = []
        total = 0
        for term in sorted(df, key=lambda t: (df[t], t)):
            total += df[term] * min(counts[term], MAX_REPEATS)  # each repetition is read
            if terms and total > MAX_POSTINGS:
                break
            terms += [f'"{term}"'] * min(counts[term], MAX_REPEATS)
        return " OR ".join(terms)

    def chunk(self, key: str) -> Chunk | None:
        """The searchable chunk with this key (buffer chunks carry their text)."""
        with self.lock:
            row = self._db.execute(
                "SELECT path, start_line, end_line, symbol, kind, language FROM chunks"
                " WHERE key = ?",
                (key,),
            ).fetchone()
            if row is None:
                return None
            buf = self._buffers.get(row[0])
            return buf.chunks.get(key) if buf is not None else _chunk(row)

    def defining(self, name: str, most: int) -> list[str]:
        """Keys of the chunks defining a function or method of this name; none if more
        than `most` do (a generic name)."""
        with self.lock:
            keys = [
                k
                for (k,) in self._db.execute(
                    "SELECT key FROM chunks WHERE name = ? LIMIT ?", (name.lower(), most + 1)
                )
            ]
            return keys if len(keys) <= most else []

    def paths_of(self, keys: Iterable[str]) -> dict[str, str]:
        """The file of each searchable chunk among `keys`."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, str] = {}
        with self.lock:
            for i in range(0, len(wanted), 500):
                part = wanted[i : i + 500]
                marks = ",".join("?" * len(part))
                found.update(
                    self._db.execute(f"SELECT key, path FROM chunks WHERE key IN ({marks})", part)
                )
        return found

    def first_key(self, path: str) -> str | None:
        """The key of the file's first searchable chunk."""
        with self.lock:
            row = self._db.execute(
                "SELECT key FROM chunks WHERE path = ? ORDER BY start_line LIMIT 1", (path,)
            ).fetchone()
            return row[0] if row else None

    def lookup(self, suffix: str) -> list[str]:
        """Searchable paths ending in `suffix` at a component boundary (see mentions)."""
        suffix = suffix.strip("/")
        if not suffix:
            return []
        whole = _reversed(suffix)
        with self.lock:
            rows = self._db.execute(  # '0' follows '/': the range is what starts with whole/
                "SELECT path FROM files WHERE rpath = ? OR (rpath >= ? AND rpath < ?)"
                " ORDER BY path",
                (whole, whole + "/", whole + "0"),
            )
            return [p for (p,) in rows]

    def counts(self) -> tuple[int, int]:
        """(files, chunks) searchable."""
        with self.lock:
            files = self._db.execute("SELECT count(*) FROM files").fetchone()[0]
            chunks = self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]
            return files, chunks

    # -- writing -------------------------------------------------------------------------
    def _rows(self, path: str) -> dict[str, Chunk]:
        rows = self._db.execute(
            "SELECT key, path, start_line, end_line, symbol, kind, language FROM chunks"
            " WHERE path = ?",
            (path,),
        )
        return {row[0]: _chunk(row[1:]) for row in rows}

    def _replace(self, path: str, chunks: dict[str, Chunk], sha1: str) -> None:
        """Make `chunks` the searchable state of `path` (no commit)."""
        db = self._db
        db.execute(
            "DELETE FROM chunk_fts WHERE rowid IN (SELECT id FROM chunks WHERE path = ?)",
            (path,),
        )
        db.execute("DELETE FROM chunks WHERE path = ?", (path,))
        row = db.execute("SELECT id FROM files WHERE path = ?", (path,)).fetchone()
        if row is not None:
            for table in ("file_fts", "path_fts", "files"):
                db.execute(f"DELETE FROM {table} WHERE rowid = ?", (row[0],))
        if not chunks:
            return
        # The file document is the path once, then every chunk's symbol and text.
        where = path_tokens(path)
        file_body = [" ".join(where)]
        for key, c in chunks.items():
            body = " ".join([*code_tokens(c.symbol), *code_tokens(c.text)])
            file_body.append(body)
            name = c.symbol.rsplit(".", 1)[-1].lower() if c.symbol else None
            cursor = db.execute(
                "INSERT INTO chunks(key, path, start_line, end_line, symbol, kind, language,"
                " name) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, path, c.start_line, c.end_line, c.symbol, c.kind, c.language, name),
            )
            db.execute(
                "INSERT INTO chunk_fts(rowid, body) VALUES (?, ?)",
                (cursor.lastrowid, f"{file_body[0]} {body}"),
            )
        file_id = db.execute(
            "INSERT INTO files(path, rpath, sha1) VALUES (?, ?, ?)",
            (path, _reversed(path), sha1),
        ).lastrowid
        db.execute(
            "INSERT INTO file_fts(rowid, body) VALUES (?, ?)", (file_id, " ".join(file_body))
        )
        db.execute("INSERT INTO path_fts(rowid, body) VALUES (?, ?)", (file_id, file_body[0]))


def _chunk(row: tuple[str, int, int, str, str, str]) -> Chunk:
    """A chunk from its row (path, start_line, end_line, symbol, kind, language)."""
    path, start, end, symbol, kind, language = row
    return Chunk(path, start, end, symbol, kind, language, text="")


def _busy(exc: sqlite3.DatabaseError) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED (any extended code): another connection holds a lock."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in str(exc)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return pid != os.getpid()  # our own pid: a process before us had it


def _reversed(path: str) -> str:
    """`a/b/c.py` -> `/c.py/b/a`: the paths ending in `b/c.py` are those whose reversed
    form starts with `/c.py/b/` or equals `/c.py/b`."""
    return "/" + "/".join(reversed(path.split("/")))


def _without_texts(chunks: dict[str, Chunk]) -> dict[str, Chunk]:
    return {k: dataclasses.replace(c, text="") for k, c in chunks.items()}
