"""The live index with a real watchdog observer on a temp dir."""

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from greenpatch.indexer import WorkspaceIndex
from greenpatch.indexer import watcher as watcher_module
from greenpatch.indexer.files import IgnoreRules
from greenpatch.indexer.watcher import Watcher


def _until(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def _paths(ix: WorkspaceIndex, query: str) -> list[str]:
    return [r.path for r in ix.search(query, top_k=1)]


def _symbols(ix: WorkspaceIndex, query: str) -> list[str]:
    return [r.symbol for r in ix.search(query, top_k=10, mode="bm25")]


def test_saved_edits_become_searchable(shop: Path) -> None:
    ix = WorkspaceIndex(shop)
    try:
        assert ix.start_watching().result(timeout=120).files == 4
        (shop / "shop/refunds.py").write_text("def refund_order(order_id):\n    return 0\n")
        assert _until(lambda: "refund_order" in _symbols(ix, "refund order"))
        (shop / "shop/refunds.py").unlink()
        assert _until(lambda: "refund_order" not in _symbols(ix, "refund order"))
        (shop / "util").rename(shop / "helpers")
        assert _until(lambda: _paths(ix, "slugify") == ["helpers/strings.py"])
    finally:
        ix.stop()


def test_checkout_storm_is_one_rescan(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A smaller storm threshold keeps the test fast: every new file is embedded.
    monkeypatch.setattr(watcher_module, "STORM_PATHS", 20)
    subprocess.run(["git", "init", "-q", str(shop)], check=True)
    ix = WorkspaceIndex(shop)
    rescans: list[int] = []
    original = ix.update
    monkeypatch.setattr(ix, "update", lambda *a: rescans.append(1) or original(*a))
    try:
        ix.start_watching().result(timeout=120)
        rescans.clear()
        (shop / "gen").mkdir()
        for i in range(60):
            (shop / f"gen/mod_{i}.py").write_text(f"def generated_function_{i}():\n    pass\n")
        assert _until(lambda: "generated_function_59" in _symbols(ix, "generated function 59"), 120)
        ix.wait_idle(timeout=120)
        assert rescans == [1]
        assert ix.search("generated_function_5", top_k=1, mode="bm25")[0].path == "gen/mod_5.py"
    finally:
        ix.stop()


def test_debounce_coalesces_and_git_head_triggers_rescan(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git/HEAD").write_text("ref: refs/heads/main\n")
    calls: list[list[str]] = []
    rescans: list[float] = []
    watcher = Watcher(
        tmp_path,
        IgnoreRules(tmp_path),
        on_paths=calls.append,
        on_rescan=lambda: rescans.append(time.monotonic()),
    )
    watcher.start()
    try:
        target = tmp_path / "a.py"
        for i in range(20):  # rapid saves of one file: handed on once
            target.write_text(f"x = {i}\n")
        (tmp_path / "node_modules").mkdir()
        (tmp_path / "node_modules/lib.js").write_text("ignored")
        watcher.flush()
        assert [p for batch in calls for p in batch].count("a.py") == 1
        assert not any("node_modules" in p for batch in calls for p in batch)
        (tmp_path / ".git/HEAD").write_text("ref: refs/heads/feature\n")
        assert _until(lambda: bool(rescans), timeout=10)
    finally:
        watcher.stop()


def test_overflow_signal_requests_rescan(tmp_path: Path) -> None:
    import logging

    rescans: list[int] = []
    watcher = Watcher(
        tmp_path,
        IgnoreRules(tmp_path),
        on_paths=lambda _: None,
        on_rescan=lambda: rescans.append(1),
    )
    watcher.start()
    try:
        logging.getLogger("watchdog.observers.inotify_c").warning(
            "Inotify queue overflowed; filesystem events were lost"
        )
        assert _until(lambda: bool(rescans), timeout=10)
    finally:
        watcher.stop()
