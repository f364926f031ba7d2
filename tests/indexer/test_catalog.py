"""The catalog: BM25 over chunks, files and paths in SQLite FTS5, buffers overlaid, kept
on disk between starts and rebuilt when unreadable."""

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

from greenpatch.indexer import catalog as catalog_module
from greenpatch.indexer.catalog import Catalog
from greenpatch.indexer.chunking import chunk_file
from greenpatch.indexer.types import Chunk


def chunks_of(path: str, text: str) -> dict[str, Chunk]:
    return {c.key(): c for c in chunk_file(path, text)}


def window(path: str, text: str) -> dict[str, Chunk]:
    chunk = Chunk(path, 1, 1, "", "window", "text", text)
    return {chunk.key(): chunk}


def paths(hits: list[tuple[str, float]], catalog: Catalog) -> list[str]:
    of = catalog.paths_of(k for k, _ in hits)
    return [of[k] for k, _ in hits]


def test_bm25_ranks_by_term_rarity_and_frequency() -> None:
    catalog = Catalog()
    catalog.set_file("a.txt", window("a.txt", "cookie jar session"))
    catalog.set_file("b.txt", window("b.txt", "session adapter session"))
    catalog.set_file("c.txt", window("c.txt", "unrelated words"))
    hits = catalog.search("chunks", ["cookie", "session"], 10)
    assert paths(hits, catalog)[0] == "a.txt"
    assert "c.txt" not in paths(hits, catalog)
    assert all(score > 0 for _, score in hits)
    assert catalog.search("files", ["session", "session"], 10)[0][0] == "b.txt"


def test_replace_and_remove_a_file() -> None:
    catalog = Catalog()
    catalog.set_file("a.py", chunks_of("a.py", "def alpha():\n    return 1\n"))
    catalog.set_file("a.py", chunks_of("a.py", "def beta():\n    return 2\n"))
    assert catalog.search("chunks", ["alpha"], 5) == []
    assert catalog.search("files", ["alpha"], 5) == []
    assert paths(catalog.search("chunks", ["beta"], 5), catalog) == ["a.py"]
    assert catalog.defining("beta", 20) and not catalog.defining("alpha", 20)
    assert catalog.counts() == (1, 1)
    catalog.remove_file("a.py")
    assert catalog.counts() == (0, 0)
    assert catalog.search("chunks", ["beta"], 5) == []
    assert catalog.lookup("a.py") == []


def test_top_k_is_honoured_with_many_documents() -> None:
    catalog = Catalog()
    for i in range(300):  # "rare" in a third of them (FTS5 gives a term in most none weight)
        rare = "rare " * (i % 7) * (i % 3 == 0)
        catalog.set_file(f"{i}.txt", window(f"{i}.txt", "common " + rare))
    hits = catalog.search("chunks", ["rare"], 10)
    assert len(hits) == 10
    assert all(int(p.split(".")[0]) % 7 == 6 for p in paths(hits, catalog))


def test_common_terms_are_dropped_past_the_postings_budget(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    catalog = Catalog()
    for i in range(50):
        catalog.set_file(f"{i}.txt", window(f"{i}.txt", "common words" + " needle" * (i == 7)))
    monkeypatch.setattr(catalog_module, "MAX_POSTINGS", 10)
    # "common" is in all 50 chunks, over the budget: the rare term alone decides.
    assert paths(catalog.search("chunks", ["common", "needle"], 5), catalog) == ["7.txt"]
    # A query of common terms only still finds something (its rarest term is read).
    assert len(catalog.search("chunks", ["common"], 5)) == 5


def test_names_and_suffixes() -> None:
    catalog = Catalog()
    for path in ("src/pkg/util.py", "src/pkg_util.py", "other/util.py", "src/pkg/utility.py"):
        catalog.set_file(path, chunks_of(path, "def helper():\n    return 1\n"))
    assert catalog.lookup("pkg/util.py") == ["src/pkg/util.py"]
    assert catalog.lookup("util.py") == ["other/util.py", "src/pkg/util.py"]
    assert catalog.lookup("src/pkg/util.py") == ["src/pkg/util.py"]
    assert catalog.lookup("kg/util.py") == []  # only at a component boundary
    assert len(catalog.defining("helper", 20)) == 4
    assert catalog.defining("helper", 3) == []  # too generic to point anywhere


def test_a_buffer_hides_the_saved_file_until_dropped() -> None:
    catalog = Catalog()
    saved = chunks_of("a.py", "def saved_name():\n    return 1\n")
    catalog.set_file("a.py", saved)
    typed = chunks_of("a.py", "def typed_name():\n    return 2\n")
    catalog.set_buffer("a.py", "...", typed)
    assert catalog.search("chunks", ["saved"], 5) == []
    assert paths(catalog.search("chunks", ["typed"], 5), catalog) == ["a.py"]
    assert catalog.disk_keys("a.py") == set(saved)  # the saved state is still known
    (key,) = typed
    chunk = catalog.chunk(key)
    assert chunk is not None and "typed_name" in chunk.text  # buffer chunks keep their text
    catalog.drop_buffer("a.py", saved)
    assert catalog.search("chunks", ["typed"], 5) == []
    assert paths(catalog.search("chunks", ["saved"], 5), catalog) == ["a.py"]


def test_the_catalog_persists_and_forgets_a_dead_editors_buffers(tmp_path: Path) -> None:
    db = tmp_path / "catalog.sqlite"
    catalog = Catalog(db)
    catalog.set_file("a.py", chunks_of("a.py", "def kept():\n    return 1\n"))
    catalog.set_file("b.py", chunks_of("b.py", "def saved():\n    return 1\n"))
    catalog.set_buffer("b.py", "...", chunks_of("b.py", "def unsaved():\n    return 2\n"))
    catalog.close()  # as a killed process leaves it: the buffer's rows are in the file
    again = Catalog(db)
    assert again.rebuilt == ""
    assert paths(again.search("chunks", ["kept"], 5), again) == ["a.py"]
    assert again.search("chunks", ["unsaved"], 5) == []
    assert set(again.file_hashes()) == {"a.py"}  # b.py must be indexed again from disk
    # A live process's buffer (the server's, while the command line opens the catalog) stays.
    again.set_buffer("b.py", "...", chunks_of("b.py", "def unsaved():\n    return 2\n"))
    again._db.execute("UPDATE overlaid SET pid = 1")  # as if pid 1 held it
    again.close()
    third = Catalog(db)
    assert paths(third.search("chunks", ["unsaved"], 5), third) == ["b.py"]


def test_an_unreadable_or_older_catalog_is_rebuilt(tmp_path: Path) -> None:
    db = tmp_path / "catalog.sqlite"
    db.write_bytes(b"not a database at all" * 100)
    catalog = Catalog(db)
    assert "unreadable" in catalog.rebuilt
    catalog.set_file("a.py", chunks_of("a.py", "def kept():\n    return 1\n"))
    catalog.close()
    assert Catalog(db).counts() == (1, 1)
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA user_version = 999")
    older = Catalog(db)
    assert "version 999" in older.rebuilt
    assert older.counts() == (0, 0)


def _create_and_write(path: str, name: str, barrier: Any) -> None:
    barrier.wait()  # both open the new file at the same instant
    catalog = Catalog(Path(path))
    catalog.set_file(f"{name}.py", chunks_of(f"{name}.py", f"def {name}():\n    return 1\n"))
    catalog.close()


def test_two_processes_creating_the_catalog_at_once_both_keep_their_rows(tmp_path: Path) -> None:
    # A server's index process and `greenpatch index` started together on a fresh
    # workspace: neither may take the other's half-created file for a stale one.
    ctx = multiprocessing.get_context("spawn")
    for attempt in range(5):
        db = tmp_path / f"catalog{attempt}.sqlite"
        barrier = ctx.Barrier(2)
        names = ("first", "second")
        procs = [ctx.Process(target=_create_and_write, args=(str(db), n, barrier)) for n in names]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(60)
            assert proc.exitcode == 0
        again = Catalog(db)
        assert again.rebuilt == "" and set(again.file_hashes()) == {"first.py", "second.py"}
        again.close()
