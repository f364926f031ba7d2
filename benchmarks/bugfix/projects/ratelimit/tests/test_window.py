import pytest

from ratelimit.window import SlidingWindowLimiter


def test_allows_up_to_the_limit():
    limiter = SlidingWindowLimiter(limit=2, window_s=10)
    assert limiter.allow("ip", 0)
    assert limiter.allow("ip", 1)
    assert not limiter.allow("ip", 2)


def test_clients_are_independent():
    limiter = SlidingWindowLimiter(limit=1, window_s=10)
    assert limiter.allow("a", 0)
    assert limiter.allow("b", 0)


def test_request_is_forgotten_after_the_window():
    limiter = SlidingWindowLimiter(limit=1, window_s=10)
    assert limiter.allow("ip", 0)
    assert not limiter.allow("ip", 9.5)
    assert limiter.allow("ip", 10)


def test_remaining():
    limiter = SlidingWindowLimiter(limit=3, window_s=60)
    limiter.allow("ip", 0)
    assert limiter.remaining("ip", 30) == 2
    assert limiter.remaining("ip", 60) == 3


def test_retry_after():
    limiter = SlidingWindowLimiter(limit=1, window_s=10)
    limiter.allow("ip", 2)
    assert limiter.retry_after("ip", 5) == 7
    assert limiter.retry_after("ip", 12) == 0


def test_bad_arguments():
    with pytest.raises(ValueError):
        SlidingWindowLimiter(limit=0, window_s=1)
