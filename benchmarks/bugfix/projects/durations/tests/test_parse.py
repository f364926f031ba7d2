import pytest

from durations.parse import format_duration, parse_duration


def test_parse_duration_seconds():
    assert parse_duration("45s") == 45


def test_parse_duration_minutes():
    assert parse_duration("2m") == 120


def test_parse_duration_hours():
    assert parse_duration("1h30m") == 5400


def test_parse_duration_days():
    assert parse_duration(" 1d ") == 86400


@pytest.mark.parametrize("text", ["", "abc", "10", "5x", "1h 30m"])
def test_parse_duration_rejects_garbage(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format_duration():
    assert format_duration(3725) == "1h2m5s"
    assert format_duration(0) == "0s"


@pytest.mark.parametrize("seconds", [1, 59, 61, 3600, 3661, 90061])
def test_round_trip(seconds):
    assert parse_duration(format_duration(seconds)) == seconds
