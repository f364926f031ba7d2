"""server: the pygls language server. The only room that imports pygls and lsprotocol."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def build_server() -> object:
    """A fresh server with every feature and command registered."""
    from greenpatch.server import commands, features, indexing, resuming, reviewing
    from greenpatch.server.app import GreenpatchServer

    server = GreenpatchServer()
    features.register(server)
    commands.register(server)
    reviewing.register(server)
    resuming.register(server)
    indexing.register(server)
    return server


def serve(tcp: str | None = None) -> int:
    """`greenpatch lsp`: serve over stdio, or over TCP with `HOST:PORT`."""
    from greenpatch.errors import ConfigError
    from greenpatch.server.app import GreenpatchServer

    server = build_server()
    assert isinstance(server, GreenpatchServer)
    if tcp:
        host, _, port = tcp.rpartition(":")
        if not port.isdigit():
            raise ConfigError(f"--tcp wants HOST:PORT, not {tcp!r}")
        log.info("serving LSP on %s:%s", host or "127.0.0.1", port)
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io()
    # The editor is gone (exit, or stdin closed): stop runs instead of working for nobody.
    server.cancel_all()
    if server.live_index is not None:
        server.live_index.stop()
    return 0
