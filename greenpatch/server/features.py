"""LSP features: lifecycle, configuration and code actions. Thin: each handler fetches what it
needs, calls a pure helper and builds lsprotocol types."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import to_fs_path

from greenpatch.config import merge
from greenpatch.server import commits, failures
from greenpatch.server.actions import gestures_at
from greenpatch.server.app import GreenpatchServer, guarded

log = logging.getLogger(__name__)

CONFIG_SECTION = "greenpatch"


def _root_of(params: types.InitializeParams) -> Path | None:
    uri = None
    if params.workspace_folders:
        uri = params.workspace_folders[0].uri
    elif params.root_uri:
        uri = params.root_uri
    fs = to_fs_path(uri) if uri else params.root_path
    return Path(fs).resolve() if fs else None


def register(server: GreenpatchServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: GreenpatchServer, params: types.InitializeParams) -> None:
        ls.session.root = _root_of(params)
        options = params.initialization_options
        ls.session.editor_settings = dict(options) if isinstance(options, dict) else {}
        ls.reload_settings()
        log.info("initialised for %s", ls.session.root)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: GreenpatchServer, params: types.InitializedParams) -> None:
        import asyncio

        ls.loop = asyncio.get_running_loop()
        live = ls.live_index
        if live is not None:
            live.starting = ls.session.settings.index.enabled  # busy from the first request
        await pull_configuration(ls)
        if ls.session.root is not None:
            from greenpatch.agents.journal import close_interrupted

            closed = await asyncio.to_thread(close_interrupted, ls.session.root)
            if closed:
                ls.tell(
                    "Greenpatch: closed runs the last server left unfinished (nothing was "
                    "applied): " + "; ".join(closed) + ". Those that got past their first "
                    "tests continue with 'Greenpatch: Resume Run' (greenpatch.resumeRun).",
                    types.MessageType.Warning,
                )
        if live is not None:
            live.starting = ls.session.settings.index.enabled
            if live.starting:
                ls.background(live.start())

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: GreenpatchServer, *args: Any) -> None:
        await ls.wind_down()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def changed_configuration(
        ls: GreenpatchServer, params: types.DidChangeConfigurationParams
    ) -> None:
        settings = params.settings
        if isinstance(settings, dict) and isinstance(settings.get(CONFIG_SECTION), dict):
            ls.session.editor_settings = merge(ls.session.editor_settings, settings[CONFIG_SECTION])
            ls.reload_settings()
        else:
            await pull_configuration(ls)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    @guarded
    async def did_save(ls: GreenpatchServer, params: types.DidSaveTextDocumentParams) -> None:
        path = ls.relative(params.text_document.uri)
        if path is None:
            return
        await commits.saved(ls, path)
        if path.endswith(".py"):
            failures.recheck(ls)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.Refactor]
        ),
    )
    def code_actions(
        ls: GreenpatchServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        path = ls.relative(params.text_document.uri)
        if path is None or not path.endswith(".py"):
            return None
        doc = ls.workspace.get_text_document(params.text_document.uri)
        rng = params.range
        selection = (rng.start.line, rng.end.line) if rng.start != rng.end else None
        gestures = gestures_at(
            path,
            doc.source,
            rng.start.line,
            failing_tests=ls.session.failing_tests,
            selection=selection,
        )
        return [
            types.CodeAction(
                title=g.title,
                kind=types.CodeActionKind.QuickFix
                if g.arguments.get("kind") == "fix"
                else types.CodeActionKind.Refactor,
                is_preferred=g.preferred or None,
                command=types.Command(title=g.title, command=g.command, arguments=[g.arguments]),
            )
            for g in gestures
        ]


async def pull_configuration(ls: GreenpatchServer) -> None:
    """Ask the editor for our section, when it can answer `workspace/configuration`."""
    caps = ls.client_capabilities.workspace
    if not (caps and caps.configuration):
        return
    try:
        result = await ls.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section=CONFIG_SECTION)])
        )
    except Exception as exc:  # the client may refuse; the other layers still apply
        log.info("workspace/configuration failed: %s", exc)
        return
    if result and isinstance(result[0], dict):
        ls.session.editor_settings = merge(ls.session.editor_settings, result[0])
        ls.reload_settings()
