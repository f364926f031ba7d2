from datetime import date

import pytest

from subscriptions.billing import Subscription, add_months, days_in_month


def test_add_months_same_day():
    assert add_months(date(2023, 1, 15), 1) == date(2023, 2, 15)


def test_add_months_across_year():
    assert add_months(date(2023, 12, 10), 1) == date(2024, 1, 10)
    assert add_months(date(2024, 1, 10), -1) == date(2023, 12, 10)


def test_add_months_clamps_to_month_end():
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)


def test_days_in_month():
    assert days_in_month(2024, 2) == 29


def test_billing_dates_monthly():
    sub = Subscription("acme", date(2023, 3, 5))
    assert sub.billing_dates(3) == [date(2023, 3, 5), date(2023, 4, 5), date(2023, 5, 5)]


def test_billing_dates_end_of_month():
    sub = Subscription("acme", date(2023, 8, 31))
    assert sub.billing_dates(3) == [date(2023, 8, 31), date(2023, 9, 30), date(2023, 10, 31)]


def test_yearly():
    sub = Subscription("acme", date(2022, 6, 1), months_per_period=12, price_cents=1000)
    assert sub.billed_between(date(2022, 1, 1), date(2024, 12, 31)) == 3000


def test_negative_period():
    with pytest.raises(ValueError):
        Subscription("acme", date(2023, 1, 1)).billing_date(-1)
