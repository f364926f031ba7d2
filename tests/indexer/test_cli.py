"""`greenpatch index` and `greenpatch search` through the real CLI entry point."""

import json
from pathlib import Path

import pytest

from greenpatch.cli import main


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
