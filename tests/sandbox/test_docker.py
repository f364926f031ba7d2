"""The docker backend: the container spec and the view archive without an engine; real
runs only where an engine is reachable (skipped with the reason otherwise)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from greenpatch.errors import SandboxError
from greenpatch.sandbox import Limits, get_sandbox
from greenpatch.sandbox.docker_backend import (
    CONTAINER_WORKSPACE,
    DockerSandbox,
    connect,
    container_spec,
    view_archive,
)
from greenpatch.sandbox.limits import MB


def test_spec_isolates_and_limits(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    limits = Limits(cpu_seconds=7, memory_mb=300, processes=40, file_size_mb=9, open_files=99)
    spec = container_spec(
        ["python", "-m", "pytest"], limits=limits, image="img:1", cwd="sub", env={"X": "1"}
    )
    kwargs = spec.create_kwargs()
    assert kwargs["image"] == "img:1"
    assert kwargs["command"] == ["python", "-m", "pytest"]
    assert kwargs["network_mode"] == "none"
    assert kwargs["read_only"] is True
    assert kwargs["tmpfs"]["/tmp"].startswith("rw,")
    assert kwargs["mem_limit"] == kwargs["memswap_limit"] == 300 * MB
    assert kwargs["pids_limit"] == 40
    assert kwargs["nano_cpus"] == 1_000_000_000
    assert kwargs["cap_drop"] == ["ALL"]
    assert "no-new-privileges" in kwargs["security_opt"]
    assert kwargs["working_dir"] == f"{CONTAINER_WORKSPACE}/sub"
    ulimits = {u["Name"]: (u["Soft"], u["Hard"]) for u in kwargs["ulimits"]}
    assert ulimits == {"cpu": (7, 7), "fsize": (9 * MB, 9 * MB), "nofile": (99, 99)}
    mount = kwargs["mounts"][0]
    assert (mount["Target"], mount["Type"]) == (CONTAINER_WORKSPACE, "volume")
    assert kwargs["environment"]["X"] == "1"
    assert "OPENAI_API_KEY" not in kwargs["environment"]


def test_spec_refuses_cwd_outside():
    with pytest.raises(SandboxError):
        container_spec(["true"], limits=Limits(), cwd="../etc")


def test_view_archive_applies_overlay_and_skips_caches(
    workspace: Path, tree_hash: Callable[[Path], str]
):
    (workspace / ".git").mkdir()
    (workspace / ".git" / "HEAD").write_text("ref")
    (workspace / "link").symlink_to("/etc")
    before = tree_hash(workspace)
    data = view_archive(workspace, {"pkg/calc.py": "EDITED\n", "data.txt": None, "n/new.py": "N"})
    assert tree_hash(workspace) == before
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert "data.txt" not in members and ".git/HEAD" not in members
        assert members["link"].issym() and members["link"].linkname == "/etc"
        calc = tar.extractfile(members["pkg/calc.py"])
        assert calc is not None and calc.read() == b"EDITED\n"
        assert "n/new.py" in members and "pkg/__init__.py" in members


def test_no_engine_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(SandboxError, match="no Docker engine reachable"):
        connect()
    with pytest.raises(SandboxError):
        get_sandbox("docker")


@pytest.fixture
def engine() -> DockerSandbox:
    try:
        return DockerSandbox(Limits(memory_mb=256, processes=64))
    except SandboxError as exc:
        pytest.skip(f"no Docker engine: {exc}")


@pytest.mark.docker
def test_engine_runs_on_the_view(engine: DockerSandbox, workspace: Path):
    result = engine.run(
        workspace,
        ["sh", "-c", "cat pkg/calc.py; test -e data.txt || echo gone; echo r > out.txt"],
        overlay={"pkg/calc.py": "EDITED\n", "data.txt": None},
        collect=["out.txt"],
        timeout=120,
    )
    assert result.exit_code == 0, result.stderr
    assert "EDITED" in result.stdout and "gone" in result.stdout
    assert result.collected == {"out.txt": "r\n"}


@pytest.mark.docker
def test_engine_has_no_network_and_a_timeout(engine: DockerSandbox, workspace: Path):
    code = "import socket; socket.create_connection(('1.1.1.1', 443), timeout=3)"
    result = engine.run(workspace, ["python", "-c", code], timeout=60)
    assert result.exit_code != 0
    slow = engine.run(workspace, ["sleep", "60"], timeout=2)
    assert slow.timed_out and slow.exit_code == 124
