"""Choosing a backend by name."""

from __future__ import annotations

import logging

from greenpatch.errors import ConfigError, SandboxError
from greenpatch.sandbox.base import Sandbox
from greenpatch.sandbox.limits import Limits

log = logging.getLogger(__name__)

BACKENDS = ("auto", "bwrap", "docker", "process")


def get_sandbox(
    backend: str = "auto", limits: Limits | None = None, *, docker_image: str | None = None
) -> Sandbox:
    """The sandbox for `backend`.

    `auto` is bubblewrap where it works, else a reachable Docker engine, else
    `SandboxError` saying how to install bubblewrap (it never falls back to `process`);
    `docker` needs a reachable engine (local, or remote through DOCKER_HOST) and runs
    `docker_image`; `process` isolates nothing and says so in every result.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"sandbox backend {backend!r} is unknown; use one of {BACKENDS}")
    if backend == "process":
        from greenpatch.sandbox.process import PROCESS_WARNING, ProcessSandbox

        log.warning("%s", PROCESS_WARNING)
        return ProcessSandbox(limits)
    if backend == "docker":
        return _docker(limits, docker_image)
    from greenpatch.sandbox.bwrap import BwrapSandbox, bwrap_works

    problem = bwrap_works()
    if problem is None:
        return BwrapSandbox(limits)
    if backend == "bwrap":
        raise SandboxError(problem)
    try:
        sandbox = _docker(limits, docker_image)
    except SandboxError as exc:
        raise SandboxError(f"{problem} (and no Docker engine either: {exc})") from exc
    log.info("bubblewrap unavailable (%s); using the Docker engine", problem)
    return sandbox


def _docker(limits: Limits | None, image: str | None) -> Sandbox:
    from greenpatch.sandbox.docker_backend import DEFAULT_IMAGE, DockerSandbox

    return DockerSandbox(limits, image=image or DEFAULT_IMAGE)
