"""Transcripts on disk: calls from the real gateway, events, summaries, a crash mid-run."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from greenpatch.agents import transcript
from greenpatch.agents.gateway import CallRecord, Gateway
from greenpatch.agents.providers import ScriptedReplies
from greenpatch.agents.transcript import Transcript
from greenpatch.config import ModelSettings, Settings

ASK = [{"role": "user", "content": "fix the total"}]


def test_calls_events_and_summary_round_trip(tmp_path: Path) -> None:
    model = ScriptedReplies.register("transcript-rt", ["```python\nx = 1\n```"])
    gw = Gateway.for_run(Settings(models=ModelSettings(default=model)), environ={})
    answer = gw.complete("coder", ASK)
    with Transcript(tmp_path, "run-1") as t:
        t.event("phase", "writing the change", phase="CODE", iteration=1)
        t.call(answer.record, ASK, answer.text, outcome="red")
        t.summary(task="fix the total", status="failed", iterations=1, cost_usd=0.0)
    data = transcript.read(tmp_path, "run-1")
    [call] = data.calls
    assert call.role == "coder" and call.model == model and call.outcome == "red"
    assert call.messages == tuple(ASK) and call.reply == answer.text
    assert call.prompt_tokens == answer.record.prompt_tokens > 0 and call.latency_s >= 0
    [event] = data.events
    assert (event.kind, event.phase, event.iteration) == ("phase", "CODE", 1)
    assert data.summary["status"] == "failed" and data.summary["run_id"] == "run-1"
    assert data.torn == 0
    assert "coder call -> red" in transcript.digest(data)
    assert "status: failed" in transcript.digest(data)


def test_failed_call_is_recorded_as_an_error(tmp_path: Path) -> None:
    record = CallRecord("planner", "m", 0, 0, 0.0, 1.5, "RateLimitError()")
    t = Transcript(tmp_path, "run-2")
    line = t.call(record, ASK, "")
    t.close()
    assert line.outcome == "error"
    assert transcript.read(tmp_path, "run-2").calls[0].error == "RateLimitError()"


def test_lines_survive_a_kill_mid_run_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    code = (
        "import os, sys; from pathlib import Path\n"
        "from greenpatch.agents.gateway import CallRecord\n"
        "from greenpatch.agents.transcript import Transcript\n"
        "t = Transcript(Path(sys.argv[1]), 'killed')\n"
        "for i in range(3):\n"
        "    t.event('iteration', f'try {i}', iteration=i)\n"
        "    t.call(CallRecord('coder', 'm', 10, 5, 0.0, 0.1), [], f'reply {i}', 'red')\n"
        "os._exit(9)\n"  # killed before close(): no buffered data may be lost
    )
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, check=False)
    assert done.returncode == 9
    path = tmp_path / ".greenpatch" / "runs" / "killed.jsonl"
    with path.open("a", encoding="utf-8") as f:
        f.write('{"type": "call", "role": "cod')  # a write cut short
    data = transcript.read(tmp_path, "killed")
    assert [c.reply for c in data.calls] == ["reply 0", "reply 1", "reply 2"]
    assert [e.iteration for e in data.events] == [0, 1, 2]
    assert data.torn == 1 and data.summary == {}


def test_missing_run_reads_empty_and_bad_ids_are_refused(tmp_path: Path) -> None:
    data = transcript.read(tmp_path, "never")
    assert data.calls == () and data.events == () and data.summary == {}
    with pytest.raises(ValueError):
        Transcript(tmp_path, "../escape")


def test_summary_is_replaced_whole(tmp_path: Path) -> None:
    t = Transcript(tmp_path, "r")
    t.summary(status="running")
    path = t.summary(status="green", files=["a.py"])
    assert json.loads(path.read_text())["status"] == "green"
    assert not path.with_suffix(".tmp").exists()
