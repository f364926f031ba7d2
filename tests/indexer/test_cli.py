"""`greenpatch index` and `greenpatch search` through the real CLI entry point."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from greenpatch.cli import main
from tests.indexer.conftest import write_tree


def test_index_then_search_json(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "--workspace", str(shop), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["files"] == 4 and stats["chunks"] >= 5

    assert main(["index", "--workspace", str(shop)]) == 0
    assert "indexed 4 files" in capsys.readouterr().out

    argv = ["search", "--workspace", str(shop), "--json", "--top-k", "2", "charge credit card"]
    assert main(argv) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert len(results) == 2
    assert set(results[0]) == {"path", "score", "start_line", "end_line", "symbol"}
    assert results[0]["path"] == "shop/payment.py"
    assert results[0]["symbol"] == "charge_credit_card"

    argv = ["search", "--workspace", str(shop), "--files", "--json", "cart total price"]
    assert main(argv) == 0
    files = [r["path"] for r in json.loads(capsys.readouterr().out)["results"]]
    assert files[0] == "shop/cart.py" and len(files) == len(set(files))


def test_missing_workspace_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "--workspace", str(tmp_path / "nope")]) == 1
    assert "not a directory" in capsys.readouterr().err


def test_two_processes_indexing_one_workspace_at_once_leave_it_whole(tmp_path: Path) -> None:
    # A server's index process and a `greenpatch index` in a terminal share the catalog,
    # the Chroma store and the manifest. Both must finish, and a third run must find
    # nothing to do and every file searchable.
    root = tmp_path / "ws"
    for n in range(300):
        write_tree(root, {f"pkg{n % 7}/mod{n}.py": f"def handler_{n}(request):\n    return {n}\n"})
    env = {**os.environ, "GREENPATCH_INDEX__MAX_VECTORS": "40"}  # some vectors, quickly
    cli = [sys.executable, "-m", "greenpatch.cli"]
    argv = [*cli, "index", "--workspace", str(root), "--json"]
    runs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)]
    time.sleep(0.3)
    runs.append(subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err.decode()
        stats = json.loads(out)
        # both indexed files: the second started before the first had saved them all
        assert stats["files"] == 300 and stats["changed_files"] > 0

    third = subprocess.run(argv, env=env, capture_output=True, timeout=300, check=True)
    stats = json.loads(third.stdout)
    assert (stats["files"], stats["changed_files"], stats["embedded_chunks"]) == (300, 0, 0)
    for n in (0, 151, 299):
        search = [*cli, "search", "--workspace", str(root), "--json", f"handler_{n}"]
        found = json.loads(subprocess.run(search, env=env, capture_output=True, check=True).stdout)
        assert found["results"][0]["path"] == f"pkg{n % 7}/mod{n}.py"
