"""URL query strings as dictionaries of lists: "a=1&a=2&b=x" <-> {"a": ["1", "2"], "b": ["x"]}."""

from __future__ import annotations

from urllib.parse import quote_plus, unquote_plus


def parse_query(query: str) -> dict[str, list[str]]:
    """Decode `query` (a leading "?" is allowed). A key without "=" has the value "".

    Values may themselves contain "=" (base64 signatures often end in "=="); only the first
    "=" of a pair separates the key from the value.
    """
    result: dict[str, list[str]] = {}
    for pair in query.removeprefix("?").split("&"):
        if not pair:
            continue
        parts = pair.split("=")
        key = unquote_plus(parts[0])
        value = unquote_plus(parts[1]) if len(parts) > 1 else ""
        result.setdefault(key, []).append(value)
    return result


def build_query(params: dict[str, list[str]]) -> str:
    """Encode `params` with keys in the given order and values in list order."""
    return "&".join(
        f"{quote_plus(key)}={quote_plus(value)}"
        for key, values in params.items()
        for value in values
    )


def first(params: dict[str, list[str]], key: str, default: str | None = None) -> str | None:
    """The first value of `key`, or `default` when it is absent."""
    values = params.get(key)
    return values[0] if values else default


def merge(base: str, **updates: str) -> str:
    """`base` with each key in `updates` replaced by that single value."""
    params = parse_query(base)
    for key, value in updates.items():
        params[key] = [value]
    return build_query(params)
