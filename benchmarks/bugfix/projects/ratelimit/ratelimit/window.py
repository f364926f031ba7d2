"""A sliding-window rate limiter: at most `limit` requests per client in any window."""

from __future__ import annotations

from collections import defaultdict, deque


class SlidingWindowLimiter:
    """Allows `limit` requests per `window_s` seconds for each client key.

    A request made at time t counts against the client until t + window_s; from that
    instant on it is forgotten.
    """

    def __init__(self, limit: int, window_s: float) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit and window must be positive")
        self.limit = limit
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    def _forget_old(self, key: str, now: float) -> deque[float]:
        hits = self._hits[key]
        while hits and hits[0] < now - self.window_s:
            hits.popleft()
        return hits

    def allow(self, key: str, now: float) -> bool:
        """Record the request and return True, or return False if the client is over."""
        hits = self._forget_old(key, now)
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def remaining(self, key: str, now: float) -> int:
        return self.limit - len(self._forget_old(key, now))

    def retry_after(self, key: str, now: float) -> float:
        """Seconds until the client may make another request (0 if it may now)."""
        hits = self._forget_old(key, now)
        if len(hits) < self.limit:
            return 0.0
        return hits[0] + self.window_s - now
