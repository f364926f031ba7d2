"""FailureMemory with the packaged MiniLM and a real ChromaDB store in a temporary directory."""

import logging
import sys
import time
from pathlib import Path

import pytest

from greenpatch.agents.memory import FailureMemory, format_lessons

ZERO_DIV = (
    "tests/test_stats.py::test_mean_of_empty FAILED\n"
    "ZeroDivisionError: division by zero in stats.mean when the list is empty"
)
ZERO_FIX = "-    return sum(xs) / len(xs)\n+    return sum(xs) / len(xs) if xs else 0.0"
KEY_ERROR = (
    "tests/test_config.py::test_missing_key FAILED\n"
    "KeyError: 'timeout' raised by load_config when the setting is absent from the file"
)
KEY_FIX = "-    return data['timeout']\n+    return data.get('timeout', 30)"
DATE_FAIL = (
    "tests/test_dates.py::test_parse FAILED\n"
    "AssertionError: parse_date('2024-02-30') should raise ValueError for an impossible day"
)


def test_empty_memory_answers_fast_without_opening_anything(tmp_path: Path) -> None:
    memory = FailureMemory(tmp_path)
    started = time.perf_counter()
    assert memory.recall("ZeroDivisionError in mean") == []
    assert memory.count() == 0
    assert time.perf_counter() - started < 0.05
    assert not (tmp_path / ".greenpatch" / "memory").exists()


def test_recall_ranks_the_similar_failure_first(tmp_path: Path) -> None:
    memory = FailureMemory(tmp_path)
    assert memory.remember("make config loading robust", KEY_ERROR, KEY_FIX, "green")
    assert memory.remember("fix the stats helpers", ZERO_DIV, ZERO_FIX, "green")
    assert memory.remember("validate dates", DATE_FAIL, "+    raise ValueError(day)", "failed")
    query = "ZeroDivisionError: division by zero in average() for an empty sequence"
    lessons = FailureMemory(tmp_path).recall(query, k=3)  # a fresh instance reads the store
    assert len(lessons) == 3
    best = lessons[0]
    assert best.task == "fix the stats helpers" and best.fix == ZERO_FIX
    assert best.failure == ZERO_DIV and best.outcome == "green" and best.kind == "fix"
    assert best.score > lessons[1].score >= lessons[2].score
    assert "Earlier failure" in format_lessons(lessons)


def test_remembering_twice_keeps_one_copy_and_summaries_are_filtered(tmp_path: Path) -> None:
    memory = FailureMemory(tmp_path)
    memory.remember("fix the stats helpers", ZERO_DIV, ZERO_FIX, "green")
    memory.remember("fix the stats helpers", ZERO_DIV, ZERO_FIX, "green")
    memory.remember_task("add a median helper", "added stats.median with tests", "green")
    assert memory.count() == 2
    [summary] = memory.recall("write a median function", kind="summary")
    assert summary.kind == "summary" and summary.fix == "added stats.median with tests"
    assert summary.failure == ""
    assert memory.recall("anything", k=5, min_score=1.01) == []


def test_an_unusable_store_degrades_to_no_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / ".greenpatch").mkdir()
    (tmp_path / ".greenpatch" / "memory").write_text("not a directory")
    memory = FailureMemory(tmp_path)
    with caplog.at_level(logging.WARNING):
        assert memory.remember("t", ZERO_DIV, ZERO_FIX, "green") is False
    assert "running without it" in caplog.text
    assert memory.recall(ZERO_DIV) == [] and memory.count() == 0


@pytest.mark.skipif(sys.platform == "win32", reason="file layout of Chroma")
def test_a_corrupt_store_degrades_to_no_memory(tmp_path: Path) -> None:
    store = tmp_path / ".greenpatch" / "memory"
    store.mkdir(parents=True)
    (store / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    memory = FailureMemory(tmp_path)
    assert memory.recall(ZERO_DIV) == []
    assert memory.remember("t", ZERO_DIV, ZERO_FIX, "green") is False
