import pytest

from thermo.convert import (
    Reading,
    celsius_to_fahrenheit,
    daily_range,
    fahrenheit_to_celsius,
    kelvin_to_celsius,
)


def test_celsius_to_fahrenheit():
    assert celsius_to_fahrenheit(100) == 212
    assert celsius_to_fahrenheit(-40) == -40


def test_fahrenheit_to_celsius():
    assert fahrenheit_to_celsius(212) == pytest.approx(100)
    assert fahrenheit_to_celsius(32) == pytest.approx(0)


def test_kelvin():
    assert kelvin_to_celsius(273.15) == 0
    with pytest.raises(ValueError):
        kelvin_to_celsius(-1)


def test_reading_unknown_unit():
    with pytest.raises(ValueError):
        Reading("x", 1.0, "R").celsius()


def test_daily_range_mixed_units():
    readings = [Reading("a", 10.0, "C"), Reading("b", 59.0, "F"), Reading("c", 280.15, "K")]
    assert daily_range(readings) == (7.0, 15.0)


def test_daily_range_celsius_only():
    assert daily_range([Reading("a", 3.25, "C"), Reading("a", -1.0, "C")]) == (-1.0, 3.2)
