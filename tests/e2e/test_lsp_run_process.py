"""Each run in its own child process: the server never loads LiteLLM (its import stalled
the event loop for up to 277 ms and left 226 MB behind), and no run process outlives its
run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pytest_lsp import LanguageClient

from tests.e2e.lsp_client import children, client, execute, start_and_wait

__all__ = ["client"]

# Compiled extensions LiteLLM loads (pydantic's core, tiktoken's tokenizer): a process that
# imported LiteLLM maps them for good; nothing else in the server uses them.
LITELLM_EXTENSIONS = ("_pydantic_core", "_tiktoken")


def is_run_process(pid: int) -> bool:
    try:
        return b"greenpatch.agents.process_child" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # it ended meanwhile
        return False


@pytest.mark.asyncio
async def test_a_run_leaves_neither_litellm_nor_a_process_in_the_server(
    client: LanguageClient,
) -> None:
    server = client._server
    assert server is not None
    run_id = await start_and_wait(client, "greenpatch.fixFailingTests")
    status = await execute(client, "greenpatch.status")
    assert [(r["runId"], r["status"]) for r in status["runs"]] == [(run_id, "green")]
    log = await execute(client, "greenpatch.showRunLog")
    assert [line.split()[0] for line in log["text"].splitlines()[1:-1]] == [
        "coder",
        "debugger",
        "critic",
    ]  # the calls the child made, mirrored into the server
    for _ in range(600):  # the child writes the run's journal after the result, then ends
        if not any(is_run_process(pid) for pid in children(server.pid)):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the run's process outlived its run by a minute")
    maps = Path(f"/proc/{server.pid}/maps").read_text()
    loaded = [name for name in LITELLM_EXTENSIONS if name in maps]
    assert loaded == [], f"the server loaded {loaded}: LiteLLM ran in the server process"
