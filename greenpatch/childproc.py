"""What the server's child processes share: the pipe they talk over and where they log.

A child (`python -m greenpatch.<room>.process`) gets its requests on stdin and answers on
stdout, both wrapped as `multiprocessing.connection.Connection` (pickled messages between
our own processes). Nothing else may write to that stdout, so the child points fd 1 at
stderr before anything can print. It logs where and as much as the parent does.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any


def spawn(
    module: str, config: dict[str, Any]
) -> tuple[subprocess.Popen[bytes], Connection, Connection]:
    """Start `python -m module CONFIG_JSON`; returns the process, the connection to write to
    it and the one to read from it. `config` gets the parent's logging added."""
    config = {**config, **log_config()}
    proc = subprocess.Popen(
        # -P: the server's working directory is the user's workspace, and a module there
        # named like one of ours must not shadow it outside the sandbox.
        [sys.executable, "-P", "-m", module, json.dumps(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        close_fds=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    out = Connection(os.dup(proc.stdin.fileno()), readable=False)
    source = Connection(os.dup(proc.stdout.fileno()), writable=False)
    proc.stdin.close()
    proc.stdout.close()
    return proc, out, source


def child_pipes() -> tuple[Connection, Connection]:
    """In the child: (the connection to read requests from, the one to answer on)."""
    out = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)  # stdout is the pipe: a stray print now goes to stderr
    source = Connection(os.dup(0), writable=False)
    return source, out


def log_config() -> dict[str, Any]:
    """The child logs where and as much as this process does."""
    root = logging.getLogger()
    files = [h.baseFilename for h in root.handlers if isinstance(h, logging.FileHandler)]
    return {"log_level": root.getEffectiveLevel(), "log_file": files[0] if files else ""}


def configure_logging(config: dict[str, Any], tag: str) -> None:
    """In the child: log as `log_config` said, each line marked with `tag`."""
    log_file = str(config.get("log_file", ""))
    handler: logging.Handler = (
        logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s %(levelname)s %(name)s [{tag}]: %(message)s")
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(int(config.get("log_level", logging.WARNING)))


def error_from(name: str, text: str, fallback: Callable[[str], Exception]) -> Exception:
    """An error a child reported as (class name, message): ours by name, else `fallback`
    with both (anything else is a bug in the child, told in one line)."""
    from greenpatch import errors

    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, errors.GreenpatchError):
        return cls(text)
    return fallback(f"{name}: {text}")
