"""The real server over stdio, driven by a real LSP client the way an editor drives it:
code action on a failing test -> run with the scripted model in the real sandbox -> review ->
versioned workspace edit -> the tests pass."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.lsp_client import client, open_doc, run_fix, suite_passes

__all__ = ["client"]


@pytest.mark.asyncio
async def test_code_action_leads_to_a_green_applied_edit(client: LanguageClient) -> None:
    shop: Path = client.shop  # type: ignore[attr-defined]
    source = shop / "shop" / "pricing.py"
    original = source.read_text()
    run_id, proposal = await run_fix(client)

    kinds = [e["kind"] for e in client.events]  # type: ignore[attr-defined]
    assert kinds[0] == "started" and "tests" in kinds and kinds[-1] == "finished"
    assert proposal["iterations"] == 2  # the scripted first fix is wrong, the debugger's right
    assert proposal["evidence"]["before"].startswith("failed")
    assert proposal["evidence"]["after"].startswith("passed")
    assert [f["path"] for f in proposal["files"]] == ["shop/pricing.py"]
    assert source.read_text() == original, "nothing may change before the user accepts"
    assert not client.editor.applied  # type: ignore[attr-defined]
    assert any("green" in m.message for m in client.messages)
    assert client.progress_reports, "work-done progress was reported"

    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="greenpatch.acceptProposal", arguments=[{"runId": run_id}]
        )
    )
    assert result == {"applied": ["shop/pricing.py"]}
    [edit] = client.editor.applied  # type: ignore[attr-defined]
    [doc_edit] = edit.document_changes
    assert isinstance(doc_edit, types.TextDocumentEdit)
    assert doc_edit.text_document.uri == source.as_uri()
    assert suite_passes(shop)


@pytest.mark.asyncio
async def test_per_hunk_review_applies_only_accepted_hunks(client: LanguageClient) -> None:
    shop: Path = client.shop  # type: ignore[attr-defined]
    source = shop / "shop" / "pricing.py"
    uri = open_doc(client, source)
    run_id, proposal = await run_fix(client)
    hunks = proposal["files"][0]["hunks"]
    assert len(hunks) == 2
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="greenpatch.rejectHunk",
            arguments=[{"runId": run_id, "file": "shop/pricing.py", "hunk": 0}],
        )
    )
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="greenpatch.acceptHunk",
            arguments=[{"runId": run_id, "file": "shop/pricing.py", "hunk": 1}],
        )
    )
    assert result["remaining"] == 0
    [edit] = client.editor.applied  # type: ignore[attr-defined]
    assert edit.document_changes[0].text_document.version == 1  # pinned to the open version
    text = client.editor.docs[uri][1]  # type: ignore[attr-defined]
    assert '"""Prices for a small shop."""' in text  # rejected hunk left out
    assert "price * (100 - percent) / 100" in text  # accepted hunk in
    assert suite_passes(shop)


@pytest.mark.asyncio
async def test_typing_meanwhile_is_rebased_never_clobbered(client: LanguageClient) -> None:
    shop: Path = client.shop  # type: ignore[attr-defined]
    source = shop / "shop" / "pricing.py"
    uri = open_doc(client, source)
    run_id, _ = await run_fix(client)
    # The user types at the end of the file while the proposal waits for review.
    typed = client.editor.docs[uri][1] + "\n\n# the user's note\n"  # type: ignore[attr-defined]
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=typed)],
        )
    )
    client.editor.docs[uri] = (2, typed)  # type: ignore[attr-defined]
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="greenpatch.acceptProposal", arguments=[{"runId": run_id}]
        )
    )
    text = client.editor.docs[uri][1]  # type: ignore[attr-defined]
    assert text.endswith("# the user's note\n")
    assert "price * (100 - percent) / 100" in text


@pytest.mark.asyncio
async def test_conflicting_edit_is_refused_and_nothing_changes(client: LanguageClient) -> None:
    shop: Path = client.shop  # type: ignore[attr-defined]
    source = shop / "shop" / "pricing.py"
    uri = open_doc(client, source)
    run_id, _ = await run_fix(client)
    mine = client.editor.docs[uri][1].replace(  # type: ignore[attr-defined]
        "return round(price * percent / 100, 2)", "return price  # the user's own fix"
    )
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=mine)],
        )
    )
    client.editor.docs[uri] = (2, mine)  # type: ignore[attr-defined]
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="greenpatch.acceptProposal", arguments=[{"runId": run_id}]
        )
    )
    assert "error" in result and "changed where the proposal edits it" in result["error"]
    assert not client.editor.applied  # type: ignore[attr-defined]
    assert client.editor.docs[uri][1] == mine  # type: ignore[attr-defined]
    assert any(m.type == types.MessageType.Error for m in client.messages)
