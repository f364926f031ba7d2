"""RunStore against real SQLite files: lifecycle, restart after a kill, concurrent writers."""

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from greenpatch.agents.store import STATES, RunStore, briefing


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


def test_revising_a_finished_run_reopens_it_until_the_next_finish(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.begin("r", "t")
    store.transition("r", "PROPOSE")
    store.finish("r", "green", "proposed")
    store.transition("r", "REVISE", "user: also handle negatives")
    assert [r.run_id for r in store.unfinished()] == ["r"]
    assert store.get("r").status == "running"
    done = store.finish("r", "green", "revised")
    assert done.finished and [t.state for t in done.transitions][-3:] == ["DONE", "REVISE", "DONE"]


def test_a_stale_run_is_closed_even_if_its_pid_lives(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.begin("old", "t")
    with sqlite3.connect(store.path) as db:
        db.execute(
            "UPDATE runs SET owner_pid = ?, updated_at = updated_at - 86400", (os.getppid(),)
        )
    assert [r.run_id for r in store.close_unfinished("restart")] == ["old"]


def test_briefing_lists_earlier_runs_for_a_follow_up(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.begin("a", "fix rounding in totals")
    store.finish("a", "green", "rounded Cart.total to cents")
    text = briefing(store.recent(3))
    assert "'fix rounding in totals' ended green: rounded Cart.total to cents" in text
    assert briefing([]) == ""


WRITER = """
import sys
from pathlib import Path
from greenpatch.agents.store import RunStore
store = RunStore(Path(sys.argv[1]))
for i in range(25):
    run = f"{sys.argv[2]}-{i}"
    store.begin(run, "t")
    for state in ("CODE", "TEST"):
        store.transition(run, state)
    store.finish(run, "green", run)
"""


def test_two_processes_write_the_same_store(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), name], env=env)
        for name in ("p1", "p2")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    runs = RunStore(tmp_path).recent(100)
    assert len(runs) == 50 and all(len(r.transitions) == 4 for r in runs)
