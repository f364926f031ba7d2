"""Memory of failures: failure -> fix pairs and task summaries, embedded with the packaged
MiniLM and kept in a ChromaDB collection under `.greenpatch/memory/`.

Memory is a help, never a requirement: a store that cannot be opened, read or written is
logged once and then behaves as empty. An empty (or absent) store answers without importing
ChromaDB or loading the model, so a fresh workspace pays nothing for it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from greenpatch.agents.store import state_dir
from greenpatch.indexer.embeddings import Embedder, LocalEmbedder

log = logging.getLogger(__name__)

LessonKind = Literal["fix", "summary"]
MAX_FAILURE_CHARS = 3000
MAX_FIX_CHARS = 6000
MAX_QUERY_CHARS = 3000


@dataclass(frozen=True)
class Lesson:
    """A past run that looks like this one: what failed and what fixed it (kind `fix`), or
    what the run did (kind `summary`, the text in `fix`). `score` is the cosine similarity."""

    task: str
    failure: str
    fix: str
    outcome: str
    score: float
    kind: LessonKind = "fix"


def _collection_name(model_id: str) -> str:
    digest = hashlib.sha1(model_id.encode(), usedforsecurity=False).hexdigest()[:10]
    return f"lessons-{digest}"  # a new embedding model starts a fresh collection


def _key(*parts: str) -> str:
    joined = "\0".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha1(joined, usedforsecurity=False).hexdigest()


class FailureMemory:
    """Lessons of one workspace. Thread-safe; every method swallows store errors."""

    def __init__(self, workspace: Path, embedder: Embedder | None = None) -> None:
        self.workspace = workspace
        self.path = workspace / ".greenpatch" / "memory"
        self._embedder: Embedder = embedder or LocalEmbedder()
        self._lock = threading.Lock()
        self._client: Any = None
        self._collection: Any = None
        self._broken = False

    def _open(self, create: bool) -> Any:
        """The collection, opened on first use; None when absent (and not creating) or
        unusable."""
        if self._collection is not None or self._broken:
            return self._collection
        if not create and not self.path.is_dir():
            return None
        try:
            import chromadb
            from chromadb.config import Settings

            state_dir(self.workspace)
            self.path.mkdir(exist_ok=True)
            self._client = chromadb.PersistentClient(
                path=str(self.path),
                settings=Settings(anonymized_telemetry=False, allow_reset=False),
            )
            # embedding_function=None: we always pass vectors, so Chroma never fetches its
            # default model.
            self._collection = self._client.get_or_create_collection(
                _collection_name(self._embedder.model_id),
                metadata={"hnsw:space": "cosine"},
                embedding_function=None,
            )
        except Exception as exc:  # chromadb raises many types for a missing or damaged store
            self._broken = True
            log.warning(
                "failure memory at %s is unusable, running without it (delete the directory"
                " to start a fresh one): %s",
                self.path,
                exc,
            )
        return self._collection

    def _add(self, key: str, document: str, meta: dict[str, str | float]) -> bool:
        with self._lock:
            collection = self._open(create=True)
            if collection is None:
                return False
            try:
                vector = self._embedder.embed([document])
                collection.upsert(
                    ids=[key], embeddings=vector, documents=[document], metadatas=[meta]
                )
            except Exception as exc:
                log.warning("could not remember a lesson in %s: %s", self.path, exc)
                return False
        return True

    def remember(self, task: str, failure_text: str, fix_diff: str, outcome: str) -> bool:
        """Store what failed and the change that fixed it (or did not: `outcome` says).
        The failure is what later runs are matched on. False when memory is unavailable."""
        task = task.strip()[:500]
        failure = failure_text.strip()[:MAX_FAILURE_CHARS]
        fix = fix_diff[:MAX_FIX_CHARS]
        meta: dict[str, str | float] = {
            "kind": "fix",
            "task": task,
            "fix": fix,
            "outcome": outcome,
            "at": time.time(),
        }
        return self._add(_key("fix", task, failure, fix), f"{task}\n{failure}", meta)

    def remember_task(self, task: str, summary: str, outcome: str) -> bool:
        """Store what a finished run did, so later similar tasks see it."""
        task = task.strip()[:500]
        meta: dict[str, str | float] = {
            "kind": "summary",
            "task": task,
            "fix": summary[:MAX_FIX_CHARS],
            "outcome": outcome,
            "at": time.time(),
        }
        return self._add(_key("summary", task, summary), f"{task}\n{summary}", meta)

    def recall(
        self, query_text: str, k: int = 3, *, kind: LessonKind | None = None, min_score: float = 0.0
    ) -> list[Lesson]:
        """The k lessons most similar to `query_text` (a failure, or a task), best first.
        Empty when nothing is stored or memory is unavailable."""
        if k <= 0 or not query_text.strip():
            return []
        with self._lock:
            collection = self._open(create=False)
            if collection is None:
                return []
            try:
                total = int(collection.count())
                if total == 0:
                    return []
                vector = self._embedder.embed([query_text[:MAX_QUERY_CHARS]])
                got = collection.query(
                    query_embeddings=vector,
                    n_results=min(k, total),
                    where={"kind": kind} if kind else None,
                    include=["documents", "metadatas", "distances"],
                )
            except Exception as exc:
                log.warning("could not read failure memory in %s: %s", self.path, exc)
                return []
        lessons = [
            _lesson(doc or "", meta or {}, float(dist))
            for doc, meta, dist in zip(
                got["documents"][0], got["metadatas"][0], got["distances"][0], strict=True
            )
        ]
        return [lesson for lesson in lessons if lesson.score >= min_score]

    def count(self) -> int:
        """Lessons stored (0 when memory is unavailable)."""
        with self._lock:
            collection = self._open(create=False)
            try:
                return int(collection.count()) if collection is not None else 0
            except Exception as exc:
                log.warning("could not count failure memory in %s: %s", self.path, exc)
                return 0


def _lesson(document: str, meta: Any, distance: float) -> Lesson:
    task = str(meta.get("task", ""))
    # The document is "task\nfailure"; the failure is what follows the task line(s).
    failure = document[len(task) + 1 :] if document.startswith(task + "\n") else document
    kind: LessonKind = "summary" if meta.get("kind") == "summary" else "fix"
    return Lesson(
        task=task,
        failure="" if kind == "summary" else failure,
        fix=str(meta.get("fix", "")),
        outcome=str(meta.get("outcome", "")),
        score=round(1.0 - distance, 4),
        kind=kind,
    )


def format_lessons(lessons: list[Lesson], max_chars: int = 2000) -> str:
    """Lessons as a prompt section (empty when there are none)."""
    parts = []
    for lesson in lessons:
        if lesson.kind == "summary":
            parts.append(f"- An earlier task ({lesson.task}) ended {lesson.outcome}: {lesson.fix}")
        else:
            parts.append(
                f"- Earlier failure: {lesson.failure[:600]}\n  What was tried "
                f"({lesson.outcome}):\n{lesson.fix[:800]}"
            )
    text = "\n".join(parts)
    return text if len(text) <= max_chars else text[: max_chars - 3] + "..."
