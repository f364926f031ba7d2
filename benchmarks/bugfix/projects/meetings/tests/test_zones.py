from datetime import datetime, timedelta, timezone

import pytest

from meetings.zones import Meeting, from_utc, parse_offset, schedule, to_utc

UTC = timezone.utc


def test_parse_offset():
    assert parse_offset("+05:30") == timedelta(hours=5, minutes=30)
    assert parse_offset("-03:00") == timedelta(hours=-3)


def test_parse_offset_rejects_garbage():
    with pytest.raises(ValueError):
        parse_offset("5")


def test_to_utc_east():
    assert to_utc(datetime(2024, 5, 1, 9, 0), "+02:00") == datetime(2024, 5, 1, 7, 0, tzinfo=UTC)


def test_to_utc_west_crosses_midnight():
    assert to_utc(datetime(2024, 5, 1, 21, 0), "-05:00") == datetime(2024, 5, 2, 2, 0, tzinfo=UTC)


def test_from_utc():
    assert from_utc(datetime(2024, 5, 1, 7, 0, tzinfo=UTC), "+02:00") == datetime(2024, 5, 1, 9, 0)


def test_meetings_in_two_zones_overlap():
    paris = schedule("standup", datetime(2024, 5, 1, 10, 0), "+02:00", 30)
    new_york = schedule("sync", datetime(2024, 5, 1, 4, 15), "-04:00", 30)
    assert paris.overlaps(new_york)


def test_back_to_back_meetings_do_not_overlap():
    first = Meeting("a", datetime(2024, 5, 1, 8, 0, tzinfo=UTC), 60)
    second = Meeting("b", datetime(2024, 5, 1, 9, 0, tzinfo=UTC), 60)
    assert not first.overlaps(second)
