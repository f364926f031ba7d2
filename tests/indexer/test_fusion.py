from greenpatch.indexer import retrieval
from greenpatch.indexer.fusion import files_by_best_chunk, rrf


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
