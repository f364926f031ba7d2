"""RunStore against real SQLite files: lifecycle, restart after a kill, concurrent writers."""

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from greenpatch.agents.store import STATES, RunStore


def test_begin_transition_finish_are_persisted(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    started = store.begin("r1", "fix the total", json.dumps({"task": "fix the total"}))
    assert started.state == "PLAN" and started.status == "running" and not started.finished
    for state in ("CODE", "TEST", "DEBUG", "TEST", "REVIEW", "PROPOSE"):
        store.transition("r1", state, f"entered {state}")
    done = store.finish("r1", "green", "fixed Cart.total rounding; 3 tests green")
    assert done.finished and done.status == "green" and done.state == "DONE"
    assert [t.state for t in done.transitions] == [
        "PLAN", "CODE", "TEST", "DEBUG", "TEST", "REVIEW", "PROPOSE", "DONE",
    ]  # fmt: skip
    stamps = [t.at for t in done.transitions]
    assert stamps == sorted(stamps) and done.finished_at is not None
    assert json.loads(done.request_json) == {"task": "fix the total"}
    assert (tmp_path / ".greenpatch" / ".gitignore").read_text() == "*\n"
    assert RunStore(tmp_path).get("r1") == done  # a fresh store reads the same record


def test_bad_state_and_unknown_run_are_refused(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.begin("r1", "t")
    with pytest.raises(ValueError, match="unknown run state"):
        store.transition("r1", "DANCE")
    with pytest.raises(KeyError):
        store.transition("nope", "CODE")
    with pytest.raises(KeyError):
        store.get("nope")
    assert store.get("r1").state == "PLAN"  # the failed write left nothing behind
    assert "CANCELLED" in STATES


def test_cancel_and_failure_end_in_their_terminal_states(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.begin("a", "t")
    store.begin("b", "t")
    assert store.finish("a", "cancelled").state == "CANCELLED"
    assert store.finish("b", "failed", "tests stayed red").state == "FAIL"


def test_runs_of_a_killed_process_are_closed_on_restart(tmp_path: Path) -> None:
    code = (
        "import os, sys; from pathlib import Path\n"
        "from greenpatch.agents.store import RunStore\n"
        "s = RunStore(Path(sys.argv[1]))\n"
        "s.begin('killed', 'add a feature'); s.transition('killed', 'CODE')\n"
        "s.transition('killed', 'TEST', 'running pytest')\n"
        "os._exit(9)\n"  # no cleanup, no close: as if killed
    )
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, check=False)
    assert done.returncode == 9
    restarted = RunStore(tmp_path)
    [left] = restarted.unfinished()
    assert left.run_id == "killed" and left.state == "TEST"
    [closed] = restarted.close_unfinished("the server restarted")
    assert closed.state == "FAIL" and closed.status == "interrupted"
    assert closed.summary == "the server restarted"
    assert [t.state for t in closed.transitions] == ["PLAN", "CODE", "TEST", "FAIL"]
    assert restarted.unfinished() == [] and restarted.close_unfinished("again") == []


def test_simulated_kill_in_process_and_live_owner_left_alone(tmp_path: Path) -> None:
    first = RunStore(tmp_path)
    first.begin("mine", "t")
    first.begin("theirs", "t")
    first.transition("mine", "CODE")
    # Another live process (our parent) owns "theirs": a CLI run next to the server.
    with sqlite3.connect(first.path) as db:
        db.execute("UPDATE runs SET owner_pid = ? WHERE run_id = 'theirs'", (os.getppid(),))
    second = RunStore(tmp_path)  # the "restarted server"
    assert [r.run_id for r in second.close_unfinished("restart")] == ["mine"]
    assert [r.run_id for r in second.unfinished()] == ["theirs"]


def test_recent_lists_finished_runs_newest_first(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    for i in range(4):
        store.begin(f"r{i}", f"task {i}")
        if i != 2:
            store.finish(f"r{i}", "green", f"summary {i}")
    recent = store.recent(2)
    assert [(r.run_id, r.summary) for r in recent] == [("r3", "summary 3"), ("r1", "summary 1")]
    assert [r.run_id for r in store.recent(10)] == ["r3", "r1", "r0"]


def test_concurrent_writers_from_threads_and_two_stores(tmp_path: Path) -> None:
    stores = [RunStore(tmp_path), RunStore(tmp_path)]
    errors: list[BaseException] = []

    def work(n: int) -> None:
        store = stores[n % 2]
        try:
            for i in range(15):
                run = f"t{n}-{i}"
                store.begin(run, f"task {run}")
                for state in ("CODE", "TEST", "REVIEW"):
                    store.transition(run, state)
                store.finish(run, "green", run)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    fresh = RunStore(tmp_path)
    runs = fresh.recent(100)
    assert len(runs) == 60 and fresh.unfinished() == []
    assert all(len(r.transitions) == 5 for r in runs)
    for store in (*stores, fresh):
        store.close()
