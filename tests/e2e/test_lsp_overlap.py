"""The user typed meanwhile, on the very lines the proposal spans: the patch engine can still
re-base it, so the tests run again in the sandbox on the combined text, and the edit is
offered only if they are still green."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.lsp_client import client, execute, open_doc, run_fix, suite_passes

__all__ = ["client"]

GUARD = "    if not 0 <= percent <= 100:\n"


def type_text(client: LanguageClient, uri: str, text: str) -> None:
    version = client.editor.docs[uri][0] + 1  # type: ignore[attr-defined]
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    client.editor.docs[uri] = (version, text)  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_overlapping_typing_is_reverified_refused_when_red_applied_when_green(
    client: LanguageClient,
) -> None:
    shop: Path = client.shop  # type: ignore[attr-defined]
    source = shop / "shop" / "pricing.py"
    uri = open_doc(client, source)
    run_id, _ = await run_fix(client)
    original = source.read_text()

    # The user narrows the guard right above the line the proposal fixes: the hunk still
    # applies, but test_apply_discount (25 %) now fails on the guard.
    red = original.replace(GUARD, GUARD.replace("100", "10"))
    type_text(client, uri, red)
    refused = await execute(client, "greenpatch.acceptProposal", {"runId": run_id})
    assert "where the proposal changes it" in refused["error"]
    assert "still failing: tests/test_pricing.py::test_apply_discount" in refused["error"]
    assert "nothing was applied" in refused["error"]
    assert not client.editor.applied  # type: ignore[attr-defined]
    assert source.read_text() == original

    # The user writes the same guard another way instead: still green.
    green = original.replace(GUARD, "    if not (0 <= percent <= 100):\n")
    type_text(client, uri, green)
    applied = await execute(client, "greenpatch.acceptProposal", {"runId": run_id})
    assert applied == {"applied": ["shop/pricing.py"]}
    text = client.editor.docs[uri][1]  # type: ignore[attr-defined]
    assert "if not (0 <= percent <= 100):" in text and "price * (100 - percent) / 100" in text
    assert any("re-verified: passed" in m.message for m in client.messages)
    assert suite_passes(shop)
