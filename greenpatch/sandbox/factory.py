"""Choosing a backend by name."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from greenpatch.config import SandboxSettings
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


def from_settings(settings: SandboxSettings) -> Sandbox:
    """The sandbox the settings ask for: backend, memory limit and Docker image (the
    per-run timeout is `settings.timeout_s`, passed to each run by the caller)."""
    return get_sandbox(
        settings.backend,
        Limits(memory_mb=settings.memory_mb),
        docker_image=settings.docker_image,
    )


@dataclass(frozen=True)
class BackendStatus:
    """Whether a backend works here, and if not why (for `greenpatch doctor`)."""

    name: str
    ok: bool
    detail: str


def diagnose() -> tuple[BackendStatus, ...]:
    """Each backend's status: bwrap (with the view strategy it would use), docker, process."""
    from greenpatch.sandbox.bwrap import bwrap_works
    from greenpatch.sandbox.view import STRATEGIES, strategy_works

    problem = bwrap_works()
    view = next((s for s in STRATEGIES if strategy_works(s)), "copy")
    statuses = [BackendStatus("bwrap", problem is None, problem or f"works; view: {view}")]
    try:
        _docker(None, None)
        statuses.append(BackendStatus("docker", True, "engine reachable"))
    except SandboxError as exc:
        statuses.append(BackendStatus("docker", False, str(exc)))
    statuses.append(BackendStatus("process", True, "works; isolates nothing"))
    return tuple(statuses)
