"""Choosing a backend by name."""

from __future__ import annotations

import logging

from greenpatch.errors import ConfigError, SandboxError
from greenpatch.sandbox.base import Sandbox
from greenpatch.sandbox.limits import Limits

log = logging.getLogger(__name__)

BACKENDS = ("auto", "bwrap", "docker", "process")


def get_sandbox(backend: str = "auto", limits: Limits | None = None) -> Sandbox:
    """The sandbox for `backend`.

    `auto` is bubblewrap where it works, else `SandboxError` saying how to install it (it
    never falls back to `process` silently); `docker` needs a reachable engine (local, or
    remote through DOCKER_HOST); `process` isolates nothing and says so in every result.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"sandbox backend {backend!r} is unknown; use one of {BACKENDS}")
    if backend == "process":
        from greenpatch.sandbox.process import PROCESS_WARNING, ProcessSandbox

        log.warning("%s", PROCESS_WARNING)
        return ProcessSandbox(limits)
    if backend == "docker":
        from greenpatch.sandbox.docker_backend import DockerSandbox

        return DockerSandbox(limits)
    from greenpatch.sandbox.bwrap import BwrapSandbox, bwrap_works

    problem = bwrap_works()
    if problem is not None:
        raise SandboxError(problem)
    return BwrapSandbox(limits)
