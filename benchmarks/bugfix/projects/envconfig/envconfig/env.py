"""Read typed settings from environment variables, with defaults and clear errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingError(ValueError):
    """An environment variable holds a value of the wrong kind."""


def env_bool(environ: Mapping[str, str], name: str, default: bool = False) -> bool:
    """True for 1/true/yes/on, False for 0/false/no/off or empty, any case; else an error."""
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value not in _TRUE | _FALSE:
        raise SettingError(f"{name}={raw!r} is not a boolean")
    return bool(value)


def env_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingError(f"{name}={raw!r} is not an integer") from None


def env_list(environ: Mapping[str, str], name: str) -> list[str]:
    """Comma-separated values, blanks dropped: "a, b,," -> ["a", "b"]."""
    return [part.strip() for part in environ.get(name, "").split(",") if part.strip()]


@dataclass(frozen=True)
class Settings:
    debug: bool = False
    port: int = 8000
    workers: int = 2
    allowed_hosts: list[str] = field(default_factory=list)


def load(environ: Mapping[str, str]) -> Settings:
    """Settings from APP_DEBUG, APP_PORT, APP_WORKERS and APP_ALLOWED_HOSTS."""
    return Settings(
        debug=env_bool(environ, "APP_DEBUG"),
        port=env_int(environ, "APP_PORT", 8000),
        workers=env_int(environ, "APP_WORKERS", 2),
        allowed_hosts=env_list(environ, "APP_ALLOWED_HOSTS"),
    )
