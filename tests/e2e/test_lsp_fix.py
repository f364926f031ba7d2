"""The real server over stdio, driven by a real LSP client the way an editor drives it:
code action on a failing test -> run with the scripted model in the real sandbox -> review ->
versioned workspace edit -> the tests pass."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.e2e.editor import Editor

RUN_TIMEOUT = 240


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "greenpatch.cli", "lsp"]),
)
async def client(lsp_client: LanguageClient, shop: Path, scripted_model: str):  # type: ignore[no-untyped-def]
    editor = Editor()
    events: list[dict[str, Any]] = []
    finished = asyncio.Event()

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        return editor.apply(params.edit)

    @lsp_client.feature("greenpatch/runEvent")
    def run_event(params: Any) -> None:
        # pygls hands custom notifications over as namedtuples
        event = params if isinstance(params, dict) else params._asdict()
        events.append(event)
        if event["kind"] == "finished":
            finished.set()

    # lsprotocol structures any result with a "command" key as a Command, which turns our
    # CodeActions (that carry a command) into garbage on the client side; real editors read
    # the JSON as the spec says: a string "command" means Command.
    converter = lsp_client.protocol._converter
    converter.register_structure_hook(
        types.Command | types.CodeAction,
        lambda obj, _: converter.structure(
            obj, types.Command if isinstance(obj.get("command"), str) else types.CodeAction
        ),
    )
    lsp_client.editor = editor  # type: ignore[attr-defined]
    lsp_client.events = events  # type: ignore[attr-defined]
    lsp_client.finished = finished  # type: ignore[attr-defined]
    lsp_client.shop = shop  # type: ignore[attr-defined]
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
            root_uri=shop.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=shop.as_uri(), name="shop")],
            initialization_options={"models": {"default": scripted_model}},
        )
    )
    yield
    await lsp_client.shutdown_session()


def open_doc(client: LanguageClient, path: Path) -> str:
    uri = path.as_uri()
    text = path.read_text(encoding="utf-8")
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=text
            )
        )
    )
    client.editor.docs[uri] = (1, text)  # type: ignore[attr-defined]
    return uri


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines()) if needle in line)


async def run_fix(client: LanguageClient) -> tuple[str, dict[str, Any]]:
    shop: Path = client.shop  # type: ignore[attr-defined]
    test_file = shop / "tests" / "test_pricing.py"
    uri = open_doc(client, test_file)
    line = line_of(test_file, "def test_apply_discount():")
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
    assert actions, "no code action on a test line"
    [fix] = [
        a
        for a in actions
        if isinstance(a, types.CodeAction)
        and a.title == "Greenpatch: fix this failing test (test_apply_discount)"
    ]
    assert fix.command is not None
    started = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=fix.command.command, arguments=fix.command.arguments)
    )
    run_id = started["runId"]
    await asyncio.wait_for(client.finished.wait(), RUN_TIMEOUT)  # type: ignore[attr-defined]
    proposal = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="greenpatch.showProposal", arguments=[{"runId": run_id}])
    )
    return run_id, proposal


def suite_passes(shop: Path) -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=shop,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0


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
