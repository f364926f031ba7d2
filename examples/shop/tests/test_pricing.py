import pytest

from shop.pricing import apply_discount, total


def test_total():
    assert total([1.10, 2.20]) == 3.3


def test_apply_discount():
    assert apply_discount(80.0, 25) == 60.0


def test_apply_discount_keeps_cents():
    assert apply_discount(19.99, 10) == 17.99


def test_apply_discount_rejects_bad_percent():
    with pytest.raises(ValueError):
        apply_discount(10.0, 120)
