"""Asking the user before a role changes their environment (`TOOL: install PACKAGE`).

The run's process asks (`RunProcess.approve`, in a thread of its own) and waits for the answer; the
question itself goes out on the event loop as `window/showMessageRequest`, so the server
keeps serving while the user thinks. Anything but an explicit Allow is a no: Deny, a
dismissed prompt, a client without the request, a run cancelled meanwhile, or no answer
within `TIMEOUT_S` (a question nobody sees must not hold the run forever)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import CancelledError

from lsprotocol import types

from greenpatch.agents.process import RunProcess
from greenpatch.server.app import GreenpatchServer

log = logging.getLogger(__name__)

ALLOW, DENY = "Allow", "Deny"
TIMEOUT_S = 120.0
POLL_S = 0.25  # how soon a cancelled run stops waiting for the answer


def asker(ls: GreenpatchServer, run: RunProcess) -> Callable[[str], bool]:
    """`RunProcess.approve` for a run the server drives: asks the user, blocking only the
    thread that waits for the answer."""

    def approve(what: str) -> bool:
        loop = ls.loop
        if loop is None or loop.is_closed():
            return False
        question = asyncio.run_coroutine_threadsafe(_ask(ls, run.run_id, what), loop)
        deadline = time.monotonic() + TIMEOUT_S
        while not run.cancel.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                question.cancel()
                _note(ls, f"no answer in {TIMEOUT_S:.0f} s about: {what}; taken as no")
                return False
            try:
                allowed = question.result(timeout=min(POLL_S, left))
            except TimeoutError:
                continue
            except CancelledError:  # the server is shutting down
                return False
            _note(ls, f"{'allowed' if allowed else 'refused'}: {what}")
            return allowed
        question.cancel()
        return False

    return approve


async def _ask(ls: GreenpatchServer, run_id: str, what: str) -> bool:
    params = types.ShowMessageRequestParams(
        type=types.MessageType.Warning,
        message=f"Greenpatch wants to {what} (run {run_id}).",
        actions=[types.MessageActionItem(title=ALLOW), types.MessageActionItem(title=DENY)],
    )
    try:
        answer = await ls.window_show_message_request_async(params)
    except Exception as exc:  # no such request in this client, or it failed: that is a no
        log.info("no answer to the question about %r: %s", what, exc)
        return False
    return answer is not None and answer.title == ALLOW


def _note(ls: GreenpatchServer, line: str) -> None:
    log.info("install approval: %s", line)
    ls.from_thread(lambda: ls.log_line(f"Greenpatch: {line}"))
