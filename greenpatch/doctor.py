"""`greenpatch doctor`: what is available here and what is not, with the fix for each gap."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from greenpatch import __version__
from greenpatch.config import ROLES, Settings, load_settings


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    essential: bool = False


def _models(settings: Settings) -> list[Check]:
    from greenpatch.agents import local_models
    from greenpatch.agents.gateway import KEYED_DEFAULTS, resolve_model

    checks = []
    keys = [k for k, _ in KEYED_DEFAULTS if os.environ.get(k)]
    checks.append(
        Check(
            "api keys",
            bool(keys),
            ", ".join(keys) or "none in the environment",
            "" if keys else "optional: export e.g. OPENAI_API_KEY to use a hosted model",
        )
    )
    llama = importlib.util.find_spec("llama_cpp") is not None
    checks.append(
        Check(
            "llama-cpp-python",
            llama,
            "installed" if llama else "not installed",
            "" if llama else "pip install 'greenpatch[local]'",
        )
    )
    for model in local_models.CATALOGUE.values():
        pulled = local_models.is_pulled(model.name)
        detail = str(local_models.model_path(model.name)) if pulled else "not pulled"
        checks.append(
            Check(
                f"model {model.model_id}",
                pulled,
                detail,
                "" if pulled else f"greenpatch model pull {model.name}",
            )
        )
    for role in ROLES:
        chosen = resolve_model(settings, role)
        usable, fix = True, ""
        if chosen.startswith("local/"):
            name = chosen.removeprefix("local/")
            usable = llama and local_models.is_pulled(name)
            fix = "" if usable else f"greenpatch model pull {name}"
        checks.append(Check(f"{role} model", usable, chosen, fix, essential=True))
    return checks


def _sandboxes(settings: Settings) -> list[Check]:
    from greenpatch.sandbox.bwrap import bwrap_works

    problem = bwrap_works()
    checks = [
        Check(
            "sandbox bwrap",
            problem is None,
            problem or "works (default)",
            "" if problem is None else "sudo apt-get install -y bubblewrap",
            essential=settings.sandbox.backend in ("auto", "bwrap"),
        )
    ]
    from greenpatch.errors import SandboxError
    from greenpatch.sandbox.docker_backend import connect

    try:
        connect()
        checks.append(Check("sandbox docker", True, "engine reachable"))
    except SandboxError as exc:
        checks.append(
            Check(
                "sandbox docker",
                False,
                str(exc),
                "optional: start a Docker engine or set DOCKER_HOST",
                essential=settings.sandbox.backend == "docker",
            )
        )
    return checks


def _tools(workspace: Path) -> list[Check]:
    git = shutil.which("git")
    chroma = importlib.util.find_spec("chromadb") is not None
    index = (workspace / ".greenpatch").is_dir()
    return [
        Check("git", bool(git), git or "not found", "" if git else "sudo apt-get install git"),
        Check(
            "chromadb",
            chroma,
            "installed" if chroma else "missing",
            "" if chroma else "pip install chromadb",
        ),
        Check(
            "index",
            index,
            "present" if index else "not built yet",
            "" if index else f"greenpatch index --workspace {workspace}",
        ),
    ]


def run_checks(workspace: Path) -> list[Check]:
    loaded = load_settings(workspace if workspace.is_dir() else None)
    checks = [
        Check("greenpatch", True, f"{__version__} on Python {sys.version.split()[0]}"),
        Check(
            "workspace",
            workspace.is_dir(),
            str(workspace),
            "" if workspace.is_dir() else "pass --workspace DIR",
            essential=True,
        ),
    ]
    checks += [Check("setting", False, p, "fix or remove the setting") for p in loaded.problems]
    groups: list[Callable[[], list[Check]]] = [
        lambda: _models(loaded.settings),
        lambda: _sandboxes(loaded.settings),
        lambda: _tools(workspace),
    ]
    for group in groups:
        checks += group()
    return checks


def doctor_command(workspace: Path, *, as_json: bool) -> int:
    checks = run_checks(workspace)
    if as_json:
        print(json.dumps([dataclasses.asdict(c) for c in checks], indent=2))  # noqa: T201
    else:
        for c in checks:
            mark = "ok " if c.ok else ("!! " if c.essential else "-- ")
            line = f"{mark} {c.name:28} {c.detail}"
            print(line + (f"\n    fix: {c.fix}" if c.fix and not c.ok else ""))  # noqa: T201
    return 0 if all(c.ok for c in checks if c.essential) else 1
