import pytest

from money.amount import Money


def test_parse_whole_and_two_decimals():
    assert Money.parse("12").cents == 1200
    assert Money.parse("12.05").cents == 1205
    assert Money.parse("-3.10").cents == -310


def test_parse_one_decimal():
    assert Money.parse("12.5").cents == 1250


def test_parse_rejects_garbage():
    for text in ["", "12.345", "1,5", "abc"]:
        with pytest.raises(ValueError):
            Money.parse(text)


def test_str_two_digit_cents():
    assert str(Money(1250)) == "12.50"


def test_str_pads_cents():
    assert str(Money(1205)) == "12.05"
    assert str(Money(-5)) == "-0.05"


def test_round_trip():
    for text in ["0.01", "7.10", "99.99", "-0.50"]:
        assert str(Money.parse(text)) == text


def test_arithmetic():
    assert Money(150) + Money(275) == Money(425)
    assert Money(100) - Money(250) == Money(-150)


def test_split_adds_up():
    shares = Money(1000).split(3)
    assert shares == [Money(334), Money(333), Money(333)]
    assert sum(s.cents for s in shares) == 1000
