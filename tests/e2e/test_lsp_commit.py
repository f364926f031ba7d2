"""commit_on_accept through a real client: the accepted file is committed only once the editor
saved it, alone (the user's other staged change stays staged), with a message that says what
and why; undo edits the file back without touching history."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.lsp_client import client, execute, open_doc, start_and_wait

__all__ = ["client"]


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def repository(root: Path) -> None:
    git(root, "init", "-q")
    git(root, "config", "user.name", "Test User")
    git(root, "config", "user.email", "test@example.com")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "initial")


async def head_moves(root: Path, start: str) -> str:
    for _ in range(300):
        head = git(root, "rev-parse", "HEAD")
        if head != start:
            return head
        await asyncio.sleep(0.1)
    raise AssertionError("nothing was committed")


@pytest.mark.asyncio
async def test_commit_on_accept_waits_for_the_save_and_commits_only_that_file(
    client: LanguageClient,
) -> None:
    shop: Path = client.shop  # type: ignore[attr-defined]
    repository(shop)
    (shop / "NOTES.md").write_text("the user's own work, staged\n")
    git(shop, "add", "NOTES.md")
    initial = git(shop, "rev-parse", "HEAD")
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"greenpatch": {"commitOnAccept": True}})
    )
    client.editor.autosave = False  # type: ignore[attr-defined]
    uri = open_doc(client, shop / "shop" / "pricing.py")

    run_id = await start_and_wait(client, "greenpatch.fixFailingTests")
    assert await execute(client, "greenpatch.acceptProposal") == {"applied": ["shop/pricing.py"]}
    await asyncio.sleep(1)
    assert git(shop, "rev-parse", "HEAD") == initial, "committed before the file was saved"

    client.editor.save(uri)  # type: ignore[attr-defined]
    head = await head_moves(shop, initial)
    assert git(shop, "show", "--name-only", "--format=", head) == "shop/pricing.py"
    message = git(shop, "log", "-1", "--format=%B")
    assert message.startswith("Make the failing tests pass")
    assert f"Greenpatch run {run_id}" in message and "Tests after:  passed" in message
    assert git(shop, "diff", "--cached", "--name-only") == "NOTES.md"
    assert git(shop, "status", "--porcelain", "shop/pricing.py") == ""
    for _ in range(100):  # the message follows the commit
        if any(f"as {head[:10]}" in m.message for m in client.messages):
            break
        await asyncio.sleep(0.1)
    assert any(f"as {head[:10]}" in m.message for m in client.messages)

    assert (await execute(client, "greenpatch.undoLastApply"))["undone"] == ["shop/pricing.py"]
    client.editor.save(uri)  # type: ignore[attr-defined]
    assert git(shop, "rev-parse", "HEAD") == head  # history is left alone
    assert git(shop, "show", f"{initial}:shop/pricing.py") == client.editor.docs[uri][1].rstrip(  # type: ignore[attr-defined]
        "\n"
    )
