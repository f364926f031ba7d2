"""Issue, validate and purge opaque session tokens that expire after a time to live."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta


class InvalidToken(Exception):
    """The token is unknown or has expired."""


@dataclass(frozen=True)
class Token:
    value: str
    user: str
    expires_at: datetime

    def is_expired(self, now: datetime) -> bool:
        """A token is valid strictly before `expires_at` and expired from then on."""
        return now < self.expires_at


class TokenStore:
    def __init__(self, ttl: timedelta = timedelta(hours=1)) -> None:
        self.ttl = ttl
        self._tokens: dict[str, Token] = {}

    def issue(self, user: str, now: datetime) -> Token:
        token = Token(secrets.token_urlsafe(16), user, now + self.ttl)
        self._tokens[token.value] = token
        return token

    def validate(self, value: str, now: datetime) -> str:
        """The user the token belongs to; raises InvalidToken if unknown or expired."""
        token = self._tokens.get(value)
        if token is None or token.is_expired(now):
            raise InvalidToken(value)
        return token.user

    def revoke(self, value: str) -> None:
        self._tokens.pop(value, None)

    def purge(self, now: datetime) -> int:
        """Forget expired tokens; returns how many were removed."""
        expired = [value for value, token in self._tokens.items() if token.is_expired(now)]
        for value in expired:
            del self._tokens[value]
        return len(expired)

    def __len__(self) -> int:
        return len(self._tokens)
