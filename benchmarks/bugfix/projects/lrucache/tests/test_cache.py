import pytest

from lrucache.cache import LRUCache


def test_put_and_get():
    cache = LRUCache(2)
    cache.put("a", 1)
    assert cache.get("a") == 1
    assert cache.get("b") is None
    assert (cache.hits, cache.misses) == (1, 1)


def test_evicts_least_recently_written():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    assert cache.keys() == ["b", "c"]


def test_reading_makes_a_key_recent():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")
    cache.put("c", 3)
    assert cache.keys() == ["a", "c"]


def test_updating_a_key_in_a_full_cache_evicts_nothing():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("b", 20)
    assert cache.keys() == ["a", "b"]
    assert cache.get("b") == 20


def test_get_or_compute():
    calls = []
    cache = LRUCache(3)

    def square(n):
        calls.append(n)
        return n * n

    assert cache.get_or_compute(4, square) == 16
    assert cache.get_or_compute(4, square) == 16
    assert calls == [4]


def test_bad_capacity():
    with pytest.raises(ValueError):
        LRUCache(0)
