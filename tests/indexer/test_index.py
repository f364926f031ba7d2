"""WorkspaceIndex end to end: a real ChromaDB in a temp dir and the real local model."""

import logging
import os
import shutil
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from greenpatch.errors import Cancelled
from greenpatch.indexer import WorkspaceIndex
from greenpatch.indexer import index as index_module
from greenpatch.indexer.minilm import Matrix


def _paths(ix: WorkspaceIndex, query: str, **kw: object) -> list[str]:
    return [r.path for r in ix.search(query, files=True, **kw)]  # type: ignore[arg-type]


def test_update_and_search_chunks_and_files(shop: Path) -> None:
    ix = WorkspaceIndex(shop)
    try:
        stats = ix.update()
        assert stats.files == 4 and stats.chunks >= 5
        assert stats.embedded_chunks == stats.chunks
        hits = ix.search("charge the credit card", top_k=3)
        assert hits[0].path == "shop/payment.py"
        assert hits[0].symbol == "charge_credit_card"
        assert (hits[0].start_line, hits[0].end_line) == (1, 3)
        assert "gateway" in hits[0].text
        assert _paths(ix, "total price of the cart")[0] == "shop/cart.py"
        # Paths are searchable, and each mode works alone.
        assert _paths(ix, "strings util", mode="bm25")[0] == "util/strings.py"
        assert _paths(ix, "make a URL slug from a title", mode="dense")[0] == "util/strings.py"
    finally:
        ix.stop()


def test_incremental_edit_rename_delete(shop: Path) -> None:
    ix = WorkspaceIndex(shop)
    try:
        ix.update()
        # Edit: a new function appears; the unchanged one is not re-embedded.
        cart = shop / "shop/cart.py"
        cart.write_text(
            cart.read_text() + "\n    def apply_discount_coupon(self, code):\n"
            "        self.coupon = code\n"
        )
        stats = ix.update()
        assert stats.changed_files == 1 and stats.embedded_chunks == 1
        hit = ix.search("apply discount coupon", top_k=1)[0]
        assert hit.symbol == "Cart.apply_discount_coupon"
        # Rename: found under the new path only.
        os.rename(shop / "util/strings.py", shop / "util/text.py")
        ix.update()
        assert "util/strings.py" not in _paths(ix, "slugify title")
        assert _paths(ix, "slugify title")[0] == "util/text.py"
        # Delete.
        (shop / "shop/payment.py").unlink()
        stats = ix.update()
        assert stats.removed_files == 1
        assert "shop/payment.py" not in _paths(ix, "charge credit card payment gateway")
        # Nothing changed: nothing read or embedded.
        stats = ix.update()
        assert (stats.changed_files, stats.embedded_chunks, stats.removed_files) == (0, 0, 0)
    finally:
        ix.stop()


def test_lines_shift_without_reembedding(shop: Path) -> None:
    ix = WorkspaceIndex(shop)
    try:
        ix.update()
        path = shop / "shop/payment.py"
        path.write_text("import gateway\n\n\n" + path.read_text())
        stats = ix.update()
        assert stats.embedded_chunks == 1  # only the new import chunk
        hit = ix.search("charge credit card", top_k=1)[0]
        assert (hit.symbol, hit.start_line, hit.end_line) == ("charge_credit_card", 4, 6)
    finally:
        ix.stop()


def test_unsaved_buffer_is_searchable_then_dropped(shop: Path) -> None:
    ix = WorkspaceIndex(shop)
    try:
        ix.update()
        ix.set_buffer(
            str(shop / "util/strings.py"),
            "def levenshtein_distance(a, b):\n    return edit_distance_table(a, b)\n",
        )
        assert _paths(ix, "levenshtein distance", mode="bm25")[0] == "util/strings.py"
        ix.wait_idle(timeout=60)
        hit = ix.search("levenshtein edit distance between strings", top_k=1, mode="dense")[0]
        assert hit.symbol == "levenshtein_distance" and "edit_distance_table" in hit.text
        assert "slugify" not in [r.symbol for r in ix.search("slugify", top_k=10)]
        ix.drop_buffer("util/strings.py")
        assert ix.search("slugify title", top_k=1)[0].symbol == "slugify"
        assert ix.search("levenshtein", top_k=5, mode="bm25") == []
    finally:
        ix.stop()


def test_an_idle_index_releases_its_vectors_and_model_then_reloads_them(shop: Path) -> None:
    from greenpatch.indexer import embeddings

    ix = WorkspaceIndex(shop)
    try:
        ix.update()
        before = ix.search("charge the credit card", top_k=3)
        assert not ix.release_idle(3600.0)  # just used: kept
        assert ix.release_idle(0.0)
        assert embeddings._local_model is None
        assert not ix.release_idle(0.0)  # nothing left to release
        # lexical search needs neither (texts come from the files while they are as
        # indexed, else from the store); hybrid search and updates load them again
        hit = ix.search("charge credit card", top_k=1, mode="bm25")[0]
        assert hit.text == next(r.text for r in before if r.symbol == hit.symbol)
        assert ix._store is not None and ix._store._client is None
        assert embeddings._local_model is None
        payment = shop / "shop/payment.py"
        payment.write_text(payment.read_text().replace("gateway", "processor"))
        assert "gateway" in ix.search("charge credit card", top_k=1, mode="bm25")[0].text
        assert ix.release_idle(0.0)  # that read the store
        payment.write_text(payment.read_text().replace("processor", "gateway"))
        assert ix.search("charge the credit card", top_k=3) == before
        (shop / "util/strings.py").write_text("def shout(s):\n    return s.upper()\n")
        assert ix.release_idle(0.0)
        assert ix.update().embedded_chunks == 1
        assert ix.search("shout upper", top_k=1, mode="dense")[0].symbol == "shout"
    finally:
        ix.stop()


def test_restart_is_incremental_via_manifest(shop: Path) -> None:
    first = WorkspaceIndex(shop)
    first.update()
    first.stop()
    (shop / "util/strings.py").write_text("def shout(s):\n    return s.upper()\n")
    second = WorkspaceIndex(shop)
    try:
        stats = second.update()
        assert (stats.changed_files, stats.embedded_chunks, stats.rebuilt) == (1, 1, False)
        assert second.search("charge credit card", top_k=1)[0].path == "shop/payment.py"
        assert second.search("shout upper", top_k=1)[0].symbol == "shout"
    finally:
        second.stop()


def test_an_interrupted_cold_index_keeps_what_it_stored(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "BATCH_CHUNKS", 1)  # a batch per file
    monkeypatch.setattr(index_module, "MANIFEST_EVERY_S", 0.0)  # saved after every batch

    def stop_after_two(done: int, total: int) -> None:
        if done == 2:
            raise Cancelled("the server stopped")

    first = WorkspaceIndex(shop, embedder=_HashEmbedder())
    with pytest.raises(Cancelled):
        first.update(stop_after_two)
    first.stop()
    second = WorkspaceIndex(shop, embedder=_HashEmbedder())
    try:
        stats = second.update()
        assert (stats.files, stats.changed_files) == (4, 2)  # the two stored are not redone
    finally:
        second.stop()


class _HashEmbedder:
    """A second, different embedding model (deterministic bag of hashed words)."""

    model_id = "test/hash-64"

    def embed(self, texts: list[str]) -> Matrix:
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, zlib.crc32(word.encode()) % 64] += 1.0  # hash() is salted per process
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def test_changing_the_embedding_model_rebuilds(shop: Path) -> None:
    ix = WorkspaceIndex(shop)
    ix.update()
    ix.stop()
    other = WorkspaceIndex(shop, embedder=_HashEmbedder())
    try:
        stats = other.update()
        assert stats.rebuilt and "changed" in stats.note
        assert stats.changed_files == 4
        # the toy embedder ranks by shared words; the fused top two must hold the payment file
        top = [r.path for r in other.search("charge credit card", top_k=2)]
        assert "shop/payment.py" in top
    finally:
        other.stop()


def test_deleted_and_corrupt_index_directory(shop: Path) -> None:
    ix = WorkspaceIndex(shop)
    try:
        ix.update()
        ix.set_buffer("util/strings.py", "def slugify(title):\n    return unsaved_marker(title)\n")
        shutil.rmtree(shop / ".greenpatch")
        stats = ix.update()
        assert stats.rebuilt and stats.files == 4
        assert ix.search("charge credit card", top_k=1)[0].path == "shop/payment.py"
        # the editor's unsaved text is still what search sees for that file
        assert _paths(ix, "unsaved_marker", mode="bm25") == ["util/strings.py"]
        # only the vector store goes: the same catalog file is opened again
        shutil.rmtree(shop / ".greenpatch/index/chroma")
        assert ix.update().rebuilt
        assert _paths(ix, "unsaved_marker", mode="bm25") == ["util/strings.py"]
        ix.drop_buffer("util/strings.py")  # the editor closes it unsaved: the saved text is back
        assert _paths(ix, "slugify", mode="bm25") == ["util/strings.py"]
        assert _paths(ix, "unsaved_marker", mode="bm25") == []
    finally:
        ix.stop()
    sqlite = shop / ".greenpatch/index/chroma/chroma.sqlite3"
    sqlite.write_bytes(b"this is not a database" * 100)
    again = WorkspaceIndex(shop)
    try:
        stats = again.update()
        assert stats.rebuilt and "unusable" in stats.note
        assert again.search("charge credit card", top_k=1)[0].path == "shop/payment.py"
    finally:
        again.stop()


def test_binary_huge_and_undecodable_files_are_skipped(shop: Path) -> None:
    (shop / "blob.dat").write_bytes(b"\x00\x01binary")
    ix = WorkspaceIndex(shop, max_file_bytes=10_000)
    try:
        (shop / "huge.py").write_text("x = 1\n" * 5000)
        stats = ix.update()
        assert stats.skipped_files == 1  # blob.dat; huge.py is filtered before reading
        assert "huge.py" not in _paths(ix, "x", mode="bm25")
    finally:
        ix.stop()


def test_a_file_named_in_bytes_that_are_not_utf8_is_skipped_not_fatal(
    shop: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = os.fsdecode(b"espresso-caf\xe9")  # Python's view of a Latin-1 name on a UTF-8 system
    (shop / f"{bad}.py").write_text("def brew_espresso():\n    return 1\n")
    (shop / bad).mkdir()
    (shop / bad / "inner.py").write_text("def brew_latte():\n    return 2\n")
    (shop / ".gitignore").write_text("*.log\n")
    (shop / f"{bad}.log").write_text("ignored anyway\n")
    ix = WorkspaceIndex(shop, embedder=_HashEmbedder())
    try:
        with caplog.at_level(logging.WARNING, logger="greenpatch.indexer"):
            assert ix.update().files == 5  # shop's four and .gitignore
            (shop / "shop" / "cart.py").write_text("def cart_total():\n    return 0\n")
            ix.update()
        ix.apply_paths([f"{bad}.py", bad])  # the watcher's route
        assert _paths(ix, "charge credit card", mode="bm25")[0] == "shop/payment.py"
    finally:
        ix.stop()
    # Warned once each, not at every update; an ignored file not at all.
    warned = sorted(r.getMessage() for r in caplog.records if "not UTF-8" in r.getMessage())
    names = sorted([bad, f"{bad}.py", f"{bad}/inner.py"])  # the last from the watcher's walk
    assert warned == [f"skipping {n!r}: its name is not UTF-8" for n in names]


def test_pause_holds_background_update(shop: Path) -> None:
    ix = WorkspaceIndex(shop)
    try:
        ix.pause()
        future = ix.update_in_background()
        time.sleep(0.5)
        assert not future.done()
        ix.resume()
        assert future.result(timeout=60).files == 4
    finally:
        ix.stop()


WORDS = {
    "shop/cart.py": "cart",
    "shop/payment.py": "charge",
    "util/strings.py": "slugify",
    "README.md": "shop",
}


def test_past_the_vector_budget_files_are_searched_by_their_words(shop: Path) -> None:
    # cart.py has 3 chunks, payment.py, strings.py and README.md one each: 6 chunks, 5 fit,
    # so whichever file comes last in the walk gets no vectors.
    ix = WorkspaceIndex(shop, max_vectors=5, embedder=_HashEmbedder())
    try:
        stats = ix.update()
        assert (stats.files, stats.chunks, stats.lexical_only_files) == (4, 6, 1)
        assert stats.embedded_chunks in (3, 5)
        dense = {r.path for r in ix.search("x", top_k=20, mode="dense")}
        (lexical_only,) = set(WORDS) - dense
        assert lexical_only in _paths(ix, WORDS[lexical_only], mode="bm25")
    finally:
        ix.stop()
    again = WorkspaceIndex(shop, max_vectors=5, embedder=_HashEmbedder())
    try:  # the budget is remembered: a restart embeds nothing
        stats = again.update()
        assert (stats.changed_files, stats.embedded_chunks, stats.lexical_only_files) == (0, 0, 1)
    finally:
        again.stop()


def test_a_lost_catalog_is_rebuilt_from_the_files_without_embedding_again(
    shop: Path, tmp_path: Path
) -> None:
    ix = WorkspaceIndex(shop, embedder=_HashEmbedder())
    ix.update()
    ix.stop()
    (shop / ".greenpatch/index/catalog.sqlite").write_bytes(b"garbage" * 1000)
    # A fresh embedding cache: anything embedded again would show in embedded_chunks.
    again = WorkspaceIndex(shop, embedder=_HashEmbedder(), embed_cache=tmp_path / "new.sqlite")
    try:
        stats = again.update()
        assert stats.rebuilt and "catalog" in stats.note
        assert (stats.changed_files, stats.embedded_chunks) == (4, 0)  # the store's are kept
        assert _paths(again, "charge credit card", mode="bm25")[0] == "shop/payment.py"
        assert "shop/payment.py" in _paths(again, "charge card", mode="dense")
    finally:
        again.stop()


def test_a_restart_after_an_editor_session_embeds_nothing_again(shop: Path, tmp_path: Path) -> None:
    first = WorkspaceIndex(shop, embedder=_HashEmbedder())
    first.update()
    first.set_buffer(str(shop / "util/strings.py"), "def unsaved_shout(s):\n    return s\n")
    first.wait_idle(30)
    first.stop()  # the buffer was never dropped, as when the editor is killed
    again = WorkspaceIndex(shop, embedder=_HashEmbedder(), embed_cache=tmp_path / "new.sqlite")
    try:
        stats = again.update()
        assert (stats.changed_files, stats.embedded_chunks) == (1, 0)
        assert again.search("unsaved_shout", top_k=5, mode="bm25") == []
        assert _paths(again, "slugify", mode="bm25") == ["util/strings.py"]
    finally:
        again.stop()


def test_a_catalog_ahead_of_the_manifest_is_brought_back(shop: Path) -> None:
    # An update stopped between taking a file into the catalog and saving the manifest,
    # then the file went back to what the manifest says (git checkout).
    from greenpatch.indexer.chunking import chunk_file

    ix = WorkspaceIndex(shop, embedder=_HashEmbedder())
    ix.update()
    edited = {c.key(): c for c in chunk_file("util/strings.py", "def giraffe(t):\n    return t\n")}
    ix.catalog.set_file("util/strings.py", edited, "sha of the edited text")
    ix.stop()
    again = WorkspaceIndex(shop, embedder=_HashEmbedder())
    try:
        again.update()
        assert again.search("giraffe", top_k=5, mode="bm25") == []
        assert _paths(again, "slugify", mode="bm25") == ["util/strings.py"]
    finally:
        again.stop()


class _FailingOnce(_HashEmbedder):
    def __init__(self) -> None:
        self.failed = False

    def embed(self, texts: list[str]) -> Matrix:
        if texts and not self.failed:
            self.failed = True
            raise ConnectionError("the embedding service is down")
        return super().embed(texts)


def test_a_failed_batch_does_not_spend_the_vector_budget(shop: Path) -> None:
    ix = WorkspaceIndex(shop, max_vectors=6, embedder=_FailingOnce())
    try:
        with pytest.raises(ConnectionError):
            ix.update()
        stats = ix.update()
        assert (stats.lexical_only_files, stats.embedded_chunks) == (0, 6)
    finally:
        ix.stop()


class _NoEmbedder:
    """Fails the test if anything is embedded."""

    model_id = "test/none"

    def embed(self, texts: list[str]) -> Matrix:
        assert not texts, f"embedded {texts[:1]}"
        return np.zeros((0, 8), dtype=np.float32)


def test_with_no_vector_budget_nothing_is_embedded_not_even_a_query(shop: Path) -> None:
    ix = WorkspaceIndex(shop, max_vectors=0, embedder=_NoEmbedder())
    try:
        stats = ix.update()
        assert (stats.embedded_chunks, stats.lexical_only_files) == (0, 4)
        ix.set_buffer(str(shop / "util/strings.py"), "def shout(s):\n    return s.upper()\n")
        ix.wait_idle(30)
        buffer = ix.catalog.buffer("util/strings.py")
        assert buffer is not None and buffer.vectors == {}
        assert ix.search("charge credit card", top_k=1)[0].path == "shop/payment.py"
        assert ix.search("shout", top_k=1)[0].symbol == "shout"
    finally:
        ix.stop()
