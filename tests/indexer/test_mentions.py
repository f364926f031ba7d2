"""Files an issue names (paths, tracebacks, modules) and the file-ranking priors."""

from greenpatch.indexer.catalog import Catalog
from greenpatch.indexer.chunking import chunk_file
from greenpatch.indexer.fusion import files_by_chunk_sum
from greenpatch.indexer.mentions import mentioned_files
from greenpatch.indexer.retrieval import Ranked, file_ranking, is_test_path, lexical_signals


def _catalog(files: dict[str, str]) -> Catalog:
    catalog = Catalog()
    for path, text in files.items():
        catalog.set_file(path, {c.key(): c for c in chunk_file(path, text)})
    return catalog


PATHS = _catalog(
    dict.fromkeys(
        [
            "src/requests/sessions.py",
            "src/requests/models.py",
            "sphinx/ext/autodoc/__init__.py",
            "sphinx/config.py",
            "tests/test_sessions.py",
            "a/util.py",
            "b/util.py",
            "c/util.py",
            "d/util.py",
        ],
        "x = 1\n",
    )
)


def test_traceback_paths_resolve_by_suffix() -> None:
    query = (
        'Traceback (most recent call last):\n  File "/usr/lib/python3/site-packages/'
        'requests/sessions.py", line 12, in send\n  File "/home/me/script.py", line 3'
    )
    assert mentioned_files(query, PATHS) == ["src/requests/sessions.py"]


def test_bare_file_names_and_dotted_modules() -> None:
    assert mentioned_files("the bug is in models.py", PATHS) == ["src/requests/models.py"]
    assert mentioned_files("sphinx.ext.autodoc.Documenter breaks", PATHS) == [
        "sphinx/ext/autodoc/__init__.py"
    ]


def test_noise_names_nothing() -> None:
    # An attribute chain must not match by its last part alone, and a file name that
    # many files share names none of them.
    assert mentioned_files("self.config.value and util.py", PATHS) == []


def test_test_paths() -> None:
    for path in ("tests/test_x.py", "testing/python/raises.py", "pkg/test_x.py", "x_test.go"):
        assert is_test_path(path), path
    for path in ("src/_pytest/python.py", "pkg/contest.py", "testament/x.py", "conftest"):
        assert not is_test_path(path), path


def test_decayed_sum_prefers_files_with_several_matches() -> None:
    pairs = [("a1", 10.0), ("b1", 9.0), ("b2", 8.0), ("a2", 1.0)]
    path_of = {"a1": "a.py", "a2": "a.py", "b1": "b.py", "b2": "b.py"}
    assert files_by_chunk_sum(pairs, path_of, 0.5) == ["b.py", "a.py"]
    assert files_by_chunk_sum(pairs, path_of, 0.0) == ["a.py", "b.py"]


def test_named_file_and_test_demotion_shape_the_file_ranking() -> None:
    code = "def parse_header(value):\n    return value.split(';')\n"
    catalog = _catalog(
        {
            "pkg/headers.py": code,
            "tests/test_headers.py": "def test_parse_header():\n    parse_header('a;b')\n",
            "pkg/other.py": "def unrelated():\n    return 1\n",
        }
    )
    ranked = [
        p
        for p, _ in file_ranking(lexical_signals(catalog, "parse header"), Ranked([], {}), "hybrid")
    ]
    assert ranked.index("pkg/headers.py") < ranked.index("tests/test_headers.py")
    named = lexical_signals(catalog, "unrelated things fail in pkg/other.py")
    assert file_ranking(named, Ranked([], {}), "hybrid")[0][0] == "pkg/other.py"
    # A test file the query names is not demoted.
    asked = lexical_signals(catalog, "tests/test_headers.py fails: parse header")
    assert "tests/test_headers.py" in [
        p for p, _ in file_ranking(asked, Ranked([], {}), "hybrid")[:2]
    ]
