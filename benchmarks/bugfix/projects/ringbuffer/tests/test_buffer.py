import pytest

from ringbuffer.buffer import RingBuffer


def filled(*samples: float, capacity: int = 3) -> RingBuffer:
    buffer = RingBuffer(capacity)
    for sample in samples:
        buffer.append(sample)
    return buffer


def test_iteration_before_full():
    assert list(filled(1, 2)) == [1, 2]


def test_overwrites_oldest():
    assert list(filled(1, 2, 3, 4, 5)) == [3, 4, 5]


def test_latest():
    assert filled(1, 2, 3, 4).latest(2) == [3, 4]


def test_latest_more_than_stored():
    assert filled(1, 2).latest(5) == [1, 2]


def test_latest_zero_is_empty():
    assert filled(1, 2, 3).latest(0) == []


def test_moving_average():
    assert filled(1, 2, 3, 4).moving_average(2) == 3.5
    assert filled(1, 2, 3).moving_average(0) is None


def test_bad_capacity():
    with pytest.raises(ValueError):
        RingBuffer(0)
