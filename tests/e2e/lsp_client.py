"""A real LSP client (pytest-lsp) for the real server, with a strict little editor behind
workspace/applyEdit, and the gestures the end-to-end tests share."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.e2e.editor import Editor

RUN_TIMEOUT = 240


# pip may run (the roles' `TOOL: install`, once the user allows it) but never reaches an
# index: the tests stay offline and install nothing.
OFFLINE_PIP = {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "greenpatch.cli", "lsp"],
        server_env={**os.environ, **OFFLINE_PIP},
    ),
)
async def client(lsp_client: LanguageClient, shop: Path, scripted_model: str):  # type: ignore[no-untyped-def]
    editor = Editor()
    events: list[dict[str, Any]] = []
    finished = asyncio.Event()

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        return editor.apply(params.edit)

    @lsp_client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
    def refresh_lenses(params: None) -> None:
        lsp_client.lens_refreshes += 1  # type: ignore[attr-defined]

    lsp_client.lens_refreshes = 0  # type: ignore[attr-defined]

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

    def changed(uri: str, version: int, text: str) -> None:
        lsp_client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )

    def saved(uri: str) -> None:
        lsp_client.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    editor.changed, editor.saved = changed, saved
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
    run_id = await start_and_wait(client, fix.command.command, fix.command.arguments)
    proposal = await execute(client, "greenpatch.showProposal", {"runId": run_id})
    return run_id, proposal


async def execute(client: LanguageClient, command: str, *arguments: Any) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=list(arguments))
    )


async def start_and_wait(client: LanguageClient, command: str, arguments: Any = None) -> str:
    """Execute a command that starts a run; wait for the run's `finished` event."""
    finished: asyncio.Event = client.finished  # type: ignore[attr-defined]
    finished.clear()
    started = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=arguments)
    )
    assert "runId" in started, started
    await asyncio.wait_for(finished.wait(), RUN_TIMEOUT)
    return str(started["runId"])


async def wait_indexed(client: LanguageClient, timeout: float = 240) -> None:
    """Until the server's first index is built: it runs at a low priority in its own
    process, so on a busy machine it may still be going when a short run ends."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (await execute(client, "greenpatch.status"))["state"] == "indexing":
        assert loop.time() < deadline, "the index was not built in time"
        await asyncio.sleep(0.1)


def suite_passes(shop: Path) -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=shop,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0


def children(pid: int) -> list[int]:
    """The direct children of a process: of any of its threads, some of which may end while
    they are read."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # that thread ended meanwhile
            found += [int(child) for child in (task / "children").read_text().split()]
    return found
