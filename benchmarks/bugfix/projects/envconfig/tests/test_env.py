import pytest

from envconfig.env import SettingError, Settings, env_bool, env_int, env_list, load


@pytest.mark.parametrize("raw", ["1", "true", "YES", " on "])
def test_env_bool_true(raw):
    assert env_bool({"X": raw}, "X") is True


@pytest.mark.parametrize("raw", ["0", "false", "No", "off", ""])
def test_env_bool_false(raw):
    assert env_bool({"X": raw}, "X") is False


def test_env_bool_default_and_garbage():
    assert env_bool({}, "X", default=True) is True
    with pytest.raises(SettingError):
        env_bool({"X": "maybe"}, "X")


def test_env_int():
    assert env_int({"P": "81"}, "P", 1) == 81
    assert env_int({}, "P", 1) == 1
    with pytest.raises(SettingError):
        env_int({"P": "eighty"}, "P", 1)


def test_env_list():
    assert env_list({"H": "a.com, b.com,,"}, "H") == ["a.com", "b.com"]


def test_load_defaults():
    assert load({}) == Settings()


def test_load_production():
    settings = load({"APP_DEBUG": "false", "APP_PORT": "443", "APP_ALLOWED_HOSTS": "x.io"})
    assert settings == Settings(debug=False, port=443, allowed_hosts=["x.io"])
