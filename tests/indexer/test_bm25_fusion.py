from greenpatch.indexer import retrieval
from greenpatch.indexer.bm25 import BM25
from greenpatch.indexer.fusion import files_by_best_chunk, rrf


def test_bm25_ranks_by_term_rarity_and_frequency() -> None:
    ix = BM25()
    ix.add("a", ["cookie", "jar", "session"])
    ix.add("b", ["session", "adapter", "session"])
    ix.add("c", ["unrelated", "words"])
    keys = [k for k, _ in ix.search(["cookie", "session"], 10)]
    assert keys[0] == "a"
    assert "c" not in keys


def test_bm25_add_replace_remove() -> None:
    ix = BM25()
    ix.add("a", ["alpha"])
    ix.add("a", ["beta"])  # replaces
    assert ix.search(["alpha"], 5) == []
    assert [k for k, _ in ix.search(["beta"], 5)] == ["a"]
    ix.remove("a")
    assert len(ix) == 0
    assert ix.search(["beta"], 5) == []
    ix.add("b", ["beta"])  # reuses the freed slot
    assert [k for k, _ in ix.search(["beta"], 5)] == ["b"]


def test_bm25_scores_match_formula() -> None:
    import math

    ix = BM25()
    ix.add("a", ["x", "y"])
    ix.add("b", ["y", "y", "z", "w"])
    (key, score), *_ = ix.search(["x"], 1)
    idf = math.log(1 + (2 - 1 + 0.5) / (1 + 0.5))
    norm = 1.2 * (1 - 0.75 + 0.75 * 2 / 3)
    assert key == "a"
    assert abs(score - idf * 1 * 2.2 / (1 + norm)) < 1e-5


def test_bm25_top_k_is_honoured_with_many_docs() -> None:
    ix = BM25()
    for i in range(300):
        ix.add(str(i), ["common"] + ["rare"] * (i % 7))
    hits = ix.search(["rare"], 10)
    assert len(hits) == 10
    assert all(int(k) % 7 == 6 for k, _ in hits)


def test_rrf_prefers_keys_high_in_both_lists() -> None:
    fused = [k for k, _ in rrf([["a", "b", "c"], ["b", "d", "a"]])]
    assert fused[:2] == ["b", "a"]
    assert set(fused) == {"a", "b", "c", "d"}


def test_files_by_best_chunk() -> None:
    path_of = {"1": "x.py", "2": "y.py", "3": "x.py"}
    assert files_by_best_chunk(["3", "2", "1", "missing"], path_of) == ["x.py", "y.py"]


def _lexical(query: str, bm25: list[str], symbols: list[str]) -> retrieval.Lexical:
    def ranked(keys: list[str]) -> retrieval.Ranked:
        return retrieval.Ranked(keys, {k: 1.0 / (i + 1) for i, k in enumerate(keys)})

    path_of = {"def": "a.py", "other": "b.py", "third": "c.py"}
    empty = ranked([])
    return retrieval.Lexical(query, ranked(bm25), empty, empty, ranked(symbols), [], path_of)


def test_a_query_that_is_only_a_name_puts_its_definition_first() -> None:
    # "other" is second in BM25 and first in dense: fair in both, it beats a definition
    # that only BM25 and the exact-name signal rank first, unless the query is just names.
    dense = retrieval.Ranked(["other", "third"], {"other": 0.9, "third": 0.8})
    named = _lexical("zzprobe_marker_0", ["def", "other"], ["def"])
    assert retrieval._chunk_order(named, dense, "hybrid")[0] == "def"
    files = retrieval.file_ranking(named, dense, "hybrid")
    assert files[0][0] == "a.py"
    prose = _lexical("the marker probe is drawn in the wrong place", ["def", "other"], ["def"])
    assert retrieval._chunk_order(prose, dense, "hybrid")[0] == "other"
