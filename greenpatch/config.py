"""Settings: one typed tree, every field defaulted, read from layered sources.

Layers, lowest first: defaults < `[tool.greenpatch]` in the workspace's pyproject.toml or
`.greenpatch.toml` < environment variables (`GREENPATCH_MAX_ITERATIONS`,
`GREENPATCH_MODELS__CODER`, ...) < the editor's initializationOptions and
`workspace/configuration` (camelCase). A value that cannot be used is reported by name with
what is accepted, and the default applies: a typo never stops the server.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

ENV_PREFIX = "GREENPATCH_"
ROLES = ("planner", "coder", "tester", "debugger", "critic")


@dataclass(frozen=True, kw_only=True)
class ModelSettings:
    """Which model each agent uses. An empty name means: `default`, else automatic."""

    default: str = ""
    planner: str = ""
    coder: str = ""
    tester: str = ""
    debugger: str = ""
    critic: str = ""
    embedding: str = "local"
    fallbacks: tuple[str, ...] = ()
    edit_format: Literal["auto", "udiff", "whole", "search_replace"] = "auto"
    timeout_s: float = 600.0
    max_retries: int = 3


@dataclass(frozen=True, kw_only=True)
class BudgetSettings:
    usd: float = 1.0
    tokens: int = 400_000


@dataclass(frozen=True, kw_only=True)
class SandboxSettings:
    backend: Literal["auto", "bwrap", "docker", "process"] = "auto"
    timeout_s: float = 120.0
    docker_image: str = "python:3.11-slim"
    memory_mb: int = 2048
    test_command: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class IndexSettings:
    enabled: bool = True
    chroma_url: str = ""
    max_vectors: int = 100_000  # chunks that get vectors (indexer.types.MAX_VECTORS)


@dataclass(frozen=True, kw_only=True)
class SamplingSettings:
    """Several answers for one function, kept by running them (agents/sampling.py): small
    models rarely fix their own mistakes, but one of a few samples is often right."""

    samples: int = 5  # most answers per function, the greedy one included; 1 turns it off
    agree: int = 3  # stop early once this many answers behave alike and pass the examples
    temperature: float = 0.8
    # More answers for a fix when one leaves a target test failing, kept by those tests:
    # `auto` samples for local models (time is all they cost), not for paid ones.
    fixes: Literal["auto", "on", "off"] = "auto"


@dataclass(frozen=True, kw_only=True)
class Settings:
    models: ModelSettings = field(default_factory=ModelSettings)
    budget: BudgetSettings = field(default_factory=BudgetSettings)
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    index: IndexSettings = field(default_factory=IndexSettings)
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    max_iterations: int = 4
    # Independent plan steps (different groups, different files) coded at the same time.
    max_parallel_steps: int = 2
    time_limit_s: float = 1800.0
    approval: Literal["review", "auto"] = "review"
    # Runs the language server lets go at once; more are refused (at least 1).
    max_concurrent_runs: int = 2
    # Commit the files of an accepted proposal (only those) once the editor saved them.
    commit_on_accept: bool = False
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    def model_for(self, role: str) -> str:
        """The configured model name for a role ('' when automatic)."""
        return getattr(self.models, role, "") or self.models.default


@dataclass(frozen=True)
class LoadedSettings:
    settings: Settings
    problems: tuple[str, ...] = ()


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).replace("-", "_").lower()


def _normalise_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    return {_snake(k): _normalise_keys(v) if isinstance(v, Mapping) else v for k, v in data.items()}


def merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge two nested mappings; `top` wins."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def file_layer(workspace: Path | None) -> tuple[dict[str, Any], list[str]]:
    """`[tool.greenpatch]` from pyproject.toml, then `.greenpatch.toml` on top of it."""
    if workspace is None:
        return {}, []
    data: dict[str, Any] = {}
    problems: list[str] = []
    for name in ("pyproject.toml", ".greenpatch.toml"):
        path = workspace / name
        if not path.is_file():
            continue
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            problems.append(f"{path}: cannot be read ({exc}); its settings are ignored")
            continue
        section = doc.get("tool", {}).get("greenpatch", {}) if name == "pyproject.toml" else doc
        if isinstance(section, Mapping):
            data = merge(data, _normalise_keys(section))
    return data, problems


def env_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    """`GREENPATCH_A__B=value` becomes `{"a": {"b": "value"}}`; `GREENPATCH_MODEL` is
    shorthand for `GREENPATCH_MODELS__DEFAULT`. Variables that name no setting are left
    alone: the prefix is shared with non-settings such as GREENPATCH_MODEL_DIR."""
    data: dict[str, Any] = {}
    known = {f.name for f in dataclasses.fields(Settings)}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        path = key[len(ENV_PREFIX) :].lower().split("__")
        if path == ["model"]:
            path = ["models", "default"]
        if path[0] not in known:
            continue  # other tools' variables share the prefix (GREENPATCH_MODEL_DIR, ...)
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[path[-1]] = value
    return data


def load_settings(
    workspace: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    editor: Mapping[str, Any] | None = None,
) -> LoadedSettings:
    """Build the settings from every layer. Never raises for bad values."""
    layer, problems = file_layer(workspace)
    layer = merge(layer, env_layer(os.environ if environ is None else environ))
    if editor:
        layer = merge(layer, _normalise_keys(editor))
    settings = _build(Settings, layer, "", problems)
    for problem in problems:
        log.warning("settings: %s", problem)
    return LoadedSettings(settings, tuple(problems))


def _build(cls: type[Any], data: Mapping[str, Any], prefix: str, problems: list[str]) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in known:
            problems.append(f"unknown setting '{prefix}{key}' (known: {', '.join(sorted(known))})")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        name, raw, hint = prefix + f.name, data[f.name], hints[f.name]
        if dataclasses.is_dataclass(hint):
            if isinstance(raw, Mapping):
                kwargs[f.name] = _build(hint, raw, name + ".", problems)  # type: ignore[arg-type]
            else:
                problems.append(f"'{name}' must be a table of settings, not {raw!r}")
            continue
        try:
            kwargs[f.name] = _coerce(raw, hint)
        except ValueError as exc:
            problems.append(f"'{name}': {exc}; using the default")
    return cls(**kwargs)


def _coerce(raw: Any, hint: Any) -> Any:
    """Turn a TOML, JSON or environment value into the field's type, or raise ValueError
    saying what is accepted."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        allowed = typing.get_args(hint)
        value = raw.strip().lower() if isinstance(raw, str) else raw
        if value not in allowed:
            raise ValueError(f"{raw!r} is not one of {', '.join(map(str, allowed))}")
        return value
    if origin is tuple:
        items = [s.strip() for s in raw.split(",") if s.strip()] if isinstance(raw, str) else raw
        if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
            raise ValueError(f"{raw!r} is not a list of strings")
        return tuple(items)
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in (
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
        ):
            return raw.strip().lower() in ("1", "true", "yes", "on")
        raise ValueError(f"{raw!r} is not true or false")
    if hint in (int, float):
        try:
            value = hint(raw) if not isinstance(raw, bool) else None
        except (TypeError, ValueError):
            value = None
        if value is None or (hint is int and isinstance(raw, float) and raw != int(raw)):
            raise ValueError(f"{raw!r} is not a{'n integer' if hint is int else ' number'}")
        if value < 0:
            raise ValueError(f"{raw!r} must not be negative")
        return value
    if hint is str:
        if not isinstance(raw, str):
            raise ValueError(f"{raw!r} is not a string")
        return raw.strip()
    if isinstance(hint, types.UnionType):  # pragma: no cover - no such fields yet
        raise ValueError("unsupported")
    return raw


def settings_schema() -> dict[str, Any]:
    """Every setting as `{dotted.name: default}`, for documentation and clients."""
    out: dict[str, Any] = {}

    def walk(obj: Any, prefix: str) -> None:
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                walk(value, prefix + f.name + ".")
            else:
                out[prefix + f.name] = list(value) if isinstance(value, tuple) else value

    walk(Settings(), "")
    return out
