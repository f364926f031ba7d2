"""resumeRun when the editor gives up while the run's process is being prepared."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from greenpatch.server import resuming


class Prepared:
    """Stands in for a `RunProcess` whose child has resumed the run and waits for "go"."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def close(self) -> None:
        self.closed.set()


@pytest.mark.asyncio
async def test_a_cancelled_resume_ends_the_child_prepared_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared = Prepared()
    started = threading.Event()

    def slow_resuming(*args: Any, **kwargs: Any) -> Prepared:
        started.set()
        time.sleep(0.5)  # the child is still loading the run when the editor cancels
        return prepared

    monkeypatch.setattr(resuming.RunProcess, "resuming", slow_resuming)
    session = SimpleNamespace(root=tmp_path, runs={}, settings=None)
    ls: Any = SimpleNamespace(session=session)
    request = asyncio.ensure_future(resuming.resume_run(ls, {"runId": "abc123"}))
    await asyncio.to_thread(started.wait, 5)
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    assert not prepared.closed.is_set()  # not ready yet when the request ended
    assert await asyncio.to_thread(prepared.closed.wait, 5)
    assert session.runs == {}
