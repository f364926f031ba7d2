import pytest

from timesheet.pay import Shift, shift_hours, weekly_pay


def test_shift_hours_same_day():
    assert shift_hours("09:00", "17:30") == 8.5


def test_shift_hours_overnight():
    assert shift_hours("22:00", "06:00") == 8


def test_shift_with_break():
    assert Shift("09:00", "17:00", unpaid_break_minutes=30).hours == 7.5


def test_weekly_pay_without_overtime():
    shifts = [Shift("09:00", "17:00")] * 5
    assert weekly_pay(shifts, 20.0) == 800.0


def test_weekly_pay_overtime_is_time_and_a_half():
    shifts = [Shift("08:00", "18:00")] * 5
    assert weekly_pay(shifts, 20.0) == 1100.0


def test_weekly_pay_custom_multiplier():
    shifts = [Shift("08:00", "18:00")] * 5
    assert weekly_pay(shifts, 10.0, overtime_multiplier=2.0) == pytest.approx(600.0)
