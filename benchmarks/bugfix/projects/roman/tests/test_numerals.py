import pytest

from roman.numerals import from_roman, to_roman


def test_to_roman():
    assert to_roman(1994) == "MCMXCIV"
    assert to_roman(3) == "III"
    assert to_roman(40) == "XL"


def test_to_roman_out_of_range():
    with pytest.raises(ValueError):
        to_roman(0)


def test_from_roman_subtractive():
    assert from_roman("IV") == 4
    assert from_roman("MCMXCIV") == 1994


def test_from_roman_repeated_letters():
    assert from_roman("III") == 3
    assert from_roman("MMXXIV") == 2024


def test_from_roman_rejects_invalid():
    for text in ["", "IIII", "VX", "ABC"]:
        with pytest.raises(ValueError):
            from_roman(text)


def test_round_trip():
    for number in range(1, 400):
        assert from_roman(to_roman(number)) == number
