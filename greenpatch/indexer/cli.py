"""`greenpatch index` and `greenpatch search`."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from greenpatch.config import load_settings
from greenpatch.errors import GreenpatchError
from greenpatch.indexer.index import WorkspaceIndex

EXIT_OK = 0
EXIT_ERROR = 1


def _open(workspace: Path) -> WorkspaceIndex:
    settings = load_settings(workspace).settings
    return WorkspaceIndex(
        workspace,
        chroma_url=settings.index.chroma_url,
        embedding=settings.models.embedding,
        max_vectors=settings.index.max_vectors,
    )


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        print(f"\rindexing {done}/{total} files", end="", file=sys.stderr, flush=True)


def index(workspace: Path, *, as_json: bool) -> int:
    """Build or incrementally update the workspace index; print files, chunks, seconds."""
    try:
        ix = _open(workspace)
        try:
            stats = ix.update(_progress)
        finally:
            ix.stop()
    except GreenpatchError as exc:
        print(f"greenpatch index: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if as_json:
        print(json.dumps(dataclasses.asdict(stats)))
        return EXIT_OK
    print(
        f"indexed {stats.files} files, {stats.chunks} chunks in {stats.seconds:.2f} s "
        f"({stats.changed_files} changed, {stats.removed_files} removed, "
        f"{stats.embedded_chunks} chunks embedded, {stats.skipped_files} skipped)"
    )
    if stats.note:
        print(f"note: {stats.note}")
    if stats.lexical_only_files:
        print(
            f"note: {stats.lexical_only_files} files are searched by their words only: the"
            " vector budget (setting index.max_vectors) is spent"
        )
    return EXIT_OK


def search(workspace: Path, query: str, *, files: bool, top_k: int, as_json: bool) -> int:
    """Update the index, then print the best chunks (or files) for the query."""
    try:
        ix = _open(workspace)
        try:
            ix.update()
            results = ix.search(query, top_k=top_k, files=files)
        finally:
            ix.stop()
    except GreenpatchError as exc:
        print(f"greenpatch search: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if as_json:
        rows = [
            {
                "path": r.path,
                "score": round(r.score, 6),
                "start_line": r.start_line,
                "end_line": r.end_line,
                "symbol": r.symbol,
            }
            for r in results
        ]
        print(json.dumps({"results": rows}))
        return EXIT_OK
    for r in results:
        where = f"{r.path}:{r.start_line}-{r.end_line}"
        print(f"{r.score:8.4f}  {where}  {r.symbol}".rstrip())
    return EXIT_OK
