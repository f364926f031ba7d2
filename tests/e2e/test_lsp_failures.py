"""Known failing tests through a real client: a run's baseline marks them (a warning on each
failing test, "fix this failing test" preferred there), and a re-check after the accepted fix
clears them; undo brings them back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.lsp_client import client, execute, line_of, open_doc, start_and_wait

__all__ = ["client"]


def failing_marks(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    return [d for d in client.diagnostics.get(uri, []) if d.code == "failing-test"]


async def marked(client: LanguageClient, uri: str, count: int) -> list[types.Diagnostic]:
    """The failing-test marks once there are `count` of them (or after two minutes)."""
    for _ in range(1200):
        if len(failing_marks(client, uri)) == count:
            break
        await asyncio.sleep(0.1)
    return failing_marks(client, uri)


async def fix_action(client: LanguageClient, uri: str, line: int) -> types.CodeAction:
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(
                start=types.Position(line=line, character=4),
                end=types.Position(line=line, character=4),
            ),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    [fix] = [
        a
        for a in actions or []
        if isinstance(a, types.CodeAction) and a.title.startswith("Greenpatch: fix this failing")
    ]
    return fix


@pytest.mark.asyncio
async def test_failing_tests_are_marked_then_cleared_when_they_pass(
    client: LanguageClient,
) -> None:
    shop: Path = client.shop  # type: ignore[attr-defined]
    tests = shop / "tests" / "test_pricing.py"
    uri = open_doc(client, tests)
    open_doc(client, shop / "shop" / "pricing.py")  # the fix lands in an open buffer
    discount = line_of(tests, "def test_apply_discount():")
    passing = line_of(tests, "def test_total():")
    assert not (await fix_action(client, uri, discount)).is_preferred  # nothing known yet

    run_id = await start_and_wait(client, "greenpatch.fixFailingTests")
    marks = await marked(client, uri, 2)
    assert sorted((d.range.start.line, d.severity, d.source) for d in marks) == [
        (discount, types.DiagnosticSeverity.Warning, "greenpatch"),
        (line_of(tests, "def test_apply_discount_keeps_cents():"), 2, "greenpatch"),
    ]
    assert "tests/test_pricing.py::test_apply_discount failed" in marks[0].message
    assert (await fix_action(client, uri, discount)).is_preferred
    assert not (await fix_action(client, uri, passing)).is_preferred

    await execute(client, "greenpatch.acceptProposal", {"runId": run_id})
    assert await marked(client, uri, 0) == []  # the re-check runs in the background
    assert not (await fix_action(client, uri, discount)).is_preferred

    await execute(client, "greenpatch.undoLastApply")  # the bug is back, and so are the marks
    assert len(await marked(client, uri, 2)) == 2
