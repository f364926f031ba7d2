"""A role's `TOOL: install PACKAGE` through the server: the user is asked with
window/showMessageRequest, and only Allow lets pip run (offline here: see OFFLINE_PIP)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from greenpatch.agents import transcript
from tests.conftest import SCRIPT
from tests.e2e.lsp_client import client, start_and_wait

__all__ = ["client"]

PACKAGE = "greenpatch-e2e-absent"  # on no index, and pip may not look at one anyway


def answering(client: LanguageClient, title: str | None) -> list[types.ShowMessageRequestParams]:
    """An editor that answers every showMessageRequest with `title` (None: dismissed)."""
    asked: list[types.ShowMessageRequestParams] = []

    @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def show_message_request(
        params: types.ShowMessageRequestParams,
    ) -> types.MessageActionItem | None:
        asked.append(params)
        return types.MessageActionItem(title=title) if title else None

    return asked


async def run_asking_to_install(client: LanguageClient, tmp_path: Path) -> tuple[str, str]:
    """The shop's fix, with a debugger that first asks to install PACKAGE; returns the run id
    and the tool's answer as the debugger saw it."""
    wrong, right, approve = json.loads(SCRIPT.read_text())["replies"]
    script = tmp_path / "install.json"
    script.write_text(json.dumps({"replies": [wrong, f"TOOL: install {PACKAGE}", right, approve]}))
    task = {"task": "Fix the failing tests", "kind": "fix", "model": f"scripted/{script}"}
    run_id = await start_and_wait(client, "greenpatch.runTask", [task])
    calls = transcript.read(client.shop, run_id).calls  # type: ignore[attr-defined]
    prefix = f"RESULT of install {PACKAGE}:\n"
    [answer] = {m["content"] for c in calls for m in c.messages if m["content"].startswith(prefix)}
    kinds = [e["kind"] for e in client.events if e["phase"] == "done"]  # type: ignore[attr-defined]
    assert kinds == ["proposal", "finished"]  # the debugger went on to a green fix
    return run_id, answer.removeprefix(prefix)


@pytest.mark.asyncio
async def test_allow_lets_pip_try(client: LanguageClient, tmp_path: Path) -> None:
    asked = answering(client, "Allow")
    run_id, answer = await run_asking_to_install(client, tmp_path)
    [question] = asked
    assert question.message == (
        f"Greenpatch wants to install the Python package {PACKAGE} (run {run_id})."
    )
    assert [a.title for a in question.actions or []] == ["Allow", "Deny"]
    # pip ran and found nothing (no index): the attempt, not the network, is what is tested
    assert answer.startswith("exit 1\n") and PACKAGE in answer, answer
    assert "did not allow" not in answer


@pytest.mark.asyncio
@pytest.mark.parametrize("title", ["Deny", None])
async def test_deny_or_a_dismissed_question_is_a_no(
    client: LanguageClient, tmp_path: Path, title: str | None
) -> None:
    asked = answering(client, title)
    _, answer = await run_asking_to_install(client, tmp_path)
    assert len(asked) == 1
    assert answer == f"the user did not allow installing {PACKAGE}"
