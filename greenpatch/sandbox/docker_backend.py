"""The `docker` backend: one throwaway container per run, through the Docker SDK, against a
local engine or a remote one (`DOCKER_HOST`) -- the path for teams that outgrow one machine.

The container has no network, a read-only root, a tmpfs /tmp, memory/CPU/pids limits,
rlimits as ulimits, no capabilities and no privilege escalation. The view cannot be a bind
mount (the engine may be on another machine), so it travels as a tar archive (the workspace
with the overlay applied) into an anonymous volume at /workspace, and collected files travel
back the same way. That makes this backend's cost grow with the tree; it buys distance.
"""

from __future__ import annotations

import io
import logging
import os
import tarfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from greenpatch.errors import SandboxError
from greenpatch.sandbox.base import Sandbox, resolve_cwd, scrubbed_env
from greenpatch.sandbox.limits import MB, Limits
from greenpatch.sandbox.result import TIMEOUT_EXIT_CODE, CommandResult
from greenpatch.sandbox.view import check_overlay_paths, resolve_workspace

log = logging.getLogger(__name__)

DEFAULT_IMAGE = "python:3.11-slim"
CONTAINER_WORKSPACE = "/workspace"
_SKIP_DIRS = frozenset({".git", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"})


@dataclass(frozen=True, kw_only=True)
class ContainerSpec:
    """Everything the container is created with; `create_kwargs` is the SDK's form."""

    image: str
    command: tuple[str, ...]
    working_dir: str
    environment: Mapping[str, str]
    memory_bytes: int
    nano_cpus: int
    pids_limit: int
    ulimits: tuple[tuple[str, int], ...]
    tmpfs_mb: int = 256

    def create_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `client.containers.create`."""
        from docker.types import Mount, Ulimit

        kwargs: dict[str, Any] = {
            "image": self.image,
            "command": list(self.command),
            "working_dir": self.working_dir,
            "environment": dict(self.environment),
            "network_mode": "none",
            "read_only": True,
            "tmpfs": {"/tmp": f"rw,nosuid,nodev,size={self.tmpfs_mb}m"},
            "mounts": [Mount(CONTAINER_WORKSPACE, None, type="volume")],
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "ulimits": [Ulimit(name=n, soft=v, hard=v) for n, v in self.ulimits],
            "labels": {"greenpatch.sandbox": "1"},
            "detach": True,
        }
        if self.memory_bytes:
            kwargs["mem_limit"] = self.memory_bytes
            kwargs["memswap_limit"] = self.memory_bytes
        if self.nano_cpus:
            kwargs["nano_cpus"] = self.nano_cpus
        if self.pids_limit:
            kwargs["pids_limit"] = self.pids_limit
        return kwargs


def container_spec(
    command: Sequence[str],
    *,
    limits: Limits,
    image: str = DEFAULT_IMAGE,
    cwd: str = ".",
    env: Mapping[str, str] | None = None,
    cpus: float = 1.0,
) -> ContainerSpec:
    """The container for one run of `command` in `cwd` (workspace-relative)."""
    ulimits = (
        ("cpu", limits.cpu_seconds),
        ("fsize", limits.file_size_mb * MB),
        ("nofile", limits.open_files),
    )
    return ContainerSpec(
        image=image,
        command=tuple(command),
        working_dir=str(resolve_cwd(Path(CONTAINER_WORKSPACE), cwd)),
        environment=scrubbed_env(env, executable=command[0]),
        memory_bytes=limits.memory_mb * MB,
        nano_cpus=int(cpus * 1e9),
        pids_limit=limits.processes,
        ulimits=tuple((name, value) for name, value in ulimits if value > 0),
    )


def view_archive(workspace: Path, overlay: Mapping[str, str | None]) -> bytes:
    """A tar of the workspace with `overlay` applied, paths relative to the workspace."""
    check_overlay_paths(overlay)
    root = resolve_workspace(workspace)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
            for name in sorted(filenames) + [
                d for d in dirnames if os.path.islink(Path(dirpath) / d)
            ]:
                path = Path(dirpath) / name
                rel = path.relative_to(root).as_posix()
                if rel not in overlay:
                    tar.add(path, arcname=rel, recursive=False)
        for rel, text in overlay.items():
            if text is not None:
                data = text.encode("utf-8")
                info = tarfile.TarInfo(rel)
                info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class DockerSandbox(Sandbox):
    """Runs each command in a fresh container on a Docker engine."""

    name = "docker"

    def __init__(
        self, limits: Limits | None = None, *, image: str = DEFAULT_IMAGE, client: Any = None
    ) -> None:
        super().__init__(limits)
        self.image = image
        self.client = client if client is not None else connect()

    def workspace_path(self, root: Path) -> str:
        """The workspace is at /workspace in the container."""
        return CONTAINER_WORKSPACE

    def default_python(self, root: Path) -> str:
        """The image's interpreter: host paths mean nothing in the container."""
        return "python"

    def run(
        self,
        workspace: Path,
        command: Sequence[str],
        *,
        overlay: Mapping[str, str | None] = {},
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str = ".",
        collect: Sequence[str] = (),
    ) -> CommandResult:
        """Run `command` in a fresh container on the view (see `Sandbox.run`)."""
        if not command:
            raise SandboxError("no command to run")
        spec = container_spec(command, limits=self.limits, image=self.image, cwd=cwd, env=env)
        archive = view_archive(workspace, overlay)
        start = time.monotonic()
        container = self._create(spec)
        try:
            container.put_archive(CONTAINER_WORKSPACE, archive)
            container.start()
            timed_out, status = _wait(container, timeout)
            stdout, stderr = _logs(container, self.limits.output_bytes)
            state = container.client.api.inspect_container(container.id)["State"]
            collected = {rel: t for rel in collect if (t := _fetch(container, rel)) is not None}
        finally:
            _remove(container)
        code = TIMEOUT_EXIT_CODE if timed_out else int(status)
        return CommandResult(
            exit_code=code,
            stdout=stdout,
            stderr=stderr,
            timed_out=timed_out,
            killed_reason=_reason(timeout, timed_out, bool(state.get("OOMKilled")), self.limits),
            duration_s=time.monotonic() - start,
            backend=self.name,
            warnings=self.warnings(),
            collected=collected,
        )

    def _create(self, spec: ContainerSpec) -> Any:
        from docker.errors import DockerException, ImageNotFound

        try:
            return self.client.containers.create(**spec.create_kwargs())
        except ImageNotFound:
            log.info("pulling %s", spec.image)
            self.client.images.pull(spec.image)
            return self.client.containers.create(**spec.create_kwargs())
        except DockerException as exc:
            raise SandboxError(f"the Docker engine refused the container: {exc}") from exc


def connect() -> Any:
    """A client for the engine named by DOCKER_HOST (or the local socket), checked alive."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError as exc:  # pragma: no cover - docker is a dependency
        raise SandboxError("the `docker` package is not installed: pip install docker") from exc
    where = os.environ.get("DOCKER_HOST", "the local socket")
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except DockerException as exc:
        raise SandboxError(f"no Docker engine reachable at {where}: {exc}") from exc
    return client


def _wait(container: Any, timeout: float | None) -> tuple[bool, int]:
    from requests.exceptions import ConnectionError as RequestsConnectionError
    from requests.exceptions import ReadTimeout

    try:
        status = container.wait(timeout=timeout)
        return False, int(status.get("StatusCode", 1))
    except (ReadTimeout, RequestsConnectionError):
        container.kill()
        return True, TIMEOUT_EXIT_CODE


def _logs(container: Any, cap: int) -> tuple[str, str]:
    def one(stdout: bool) -> str:
        data: bytes = container.logs(stdout=stdout, stderr=not stdout)
        text = data.decode("utf-8", "replace")
        half = cap // 2
        if len(text) > cap:
            omitted = len(text) - 2 * half
            marker = f"\n[... {omitted} characters omitted by the sandbox ...]\n"
            return text[:half] + marker + text[-half:]
        return text

    return one(True), one(False)


def _fetch(container: Any, rel: str) -> str | None:
    from docker.errors import NotFound

    path = PurePosixPath(CONTAINER_WORKSPACE) / rel
    try:
        chunks, _stat = container.get_archive(str(path))
    except NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
        member = tar.next()
        if member is None or not member.isfile():
            return None
        handle = tar.extractfile(member)
        return handle.read().decode("utf-8", "replace") if handle else None


def _remove(container: Any) -> None:
    from docker.errors import DockerException

    try:
        container.remove(v=True, force=True)
    except DockerException as exc:
        log.warning("could not remove container %s: %s", container.id[:12], exc)


def _reason(timeout: float | None, timed_out: bool, oom: bool, limits: Limits) -> str | None:
    if timed_out:
        return f"timeout: killed after {timeout:g} s of wall-clock time"
    if oom:
        return f"memory limit: killed using more than {limits.memory_mb} MB in total"
    return None
