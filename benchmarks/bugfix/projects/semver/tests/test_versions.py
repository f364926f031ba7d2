import pytest

from semver.versions import bump, latest, parse_version, satisfies


def test_parse_version():
    assert parse_version("v1.10.2") == (1, 10, 2)
    with pytest.raises(ValueError):
        parse_version("1.2")


def test_satisfies():
    assert satisfies("1.10.0", ">=1.2.0, <2.0.0")
    assert not satisfies("2.0.0", ">=1.2.0, <2.0.0")
    assert satisfies("1.9.9", "<1.10.0")


def test_latest_simple():
    assert latest(["1.0.0", "1.2.0", "1.1.5"]) == "1.2.0"


def test_latest_compares_numerically():
    assert latest(["1.9.0", "1.10.0", "1.2.3"]) == "1.10.0"


def test_latest_keeps_spelling():
    assert latest(["v2.0.0", "1.0.0"]) == "v2.0.0"


def test_bump():
    assert bump("1.2.3", "minor") == "1.3.0"
    assert bump("1.2.3", "major") == "2.0.0"
    assert bump("1.2.3", "patch") == "1.2.4"
