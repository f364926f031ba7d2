"""Guards benchmarks/lsp_latency.py's parts that need no server: the statistics, the table
and the generated workspace (deterministic, exactly N files, tests that pass)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "lsp_latency.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lsp_latency", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


bench = _load()


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert bench.percentile(values, 50) == 50.0
    assert bench.percentile(values, 99) == 99.0
    assert bench.percentile(values, 100) == 100.0
    assert bench.percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        bench.percentile([], 50)


def test_summary_and_table() -> None:
    summary = bench.summarise([3.0, 1.0, 2.0, 10.0])
    assert summary == {"n": 4, "p50": 2.0, "p95": 10.0, "p99": 10.0, "max": 10.0, "mean": 4.0}
    table = bench.markdown_table({"idle": {"codeAction": summary}})
    assert table.splitlines()[2] == "| idle | codeAction | 4 | 2.0 | 10.0 | 10.0 | 10.0 |"


def test_workspace_is_deterministic_and_exactly_sized(tmp_path: Path) -> None:
    paths = bench.generate_workspace(tmp_path / "a", 120)
    again = bench.generate_workspace(tmp_path / "b", 120)
    files = sorted(
        p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file()
    )
    assert len(files) == 120
    assert paths == again
    for rel in paths:
        assert (tmp_path / "a" / rel).read_text() == (tmp_path / "b" / rel).read_text()
    assert any(p.startswith("tests/") for p in paths)
    with pytest.raises(FileExistsError):
        bench.generate_workspace(tmp_path / "a", 120)
    with pytest.raises(ValueError):
        bench.generate_workspace(tmp_path / "c", 2)


def test_generated_tests_pass_except_the_shops_bug(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    bench.generate_workspace(root, 60)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    summary = done.stdout.strip().splitlines()[-1]
    assert "2 failed" in summary, done.stdout[-2000:]  # the shop's discount bug, on purpose
    assert "passed" in summary and "error" not in summary, done.stdout[-2000:]


def test_the_slow_script_delays_only_edit_replies(tmp_path: Path) -> None:
    import json

    model = bench.write_script(tmp_path / "s.json", 4.0)
    assert model == f"scripted/{tmp_path / 's.json'}"
    replies = json.loads((tmp_path / "s.json").read_text())["replies"]
    assert [r.get("sleep") for r in replies] == [4.0, 4.0, None]
    assert replies[2]["role"] == "critic"
