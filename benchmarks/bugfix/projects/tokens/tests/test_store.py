from datetime import datetime, timedelta

import pytest

from tokens.store import InvalidToken, TokenStore

NOON = datetime(2024, 3, 1, 12, 0)


def test_fresh_token_is_valid():
    store = TokenStore()
    token = store.issue("ada", NOON)
    assert store.validate(token.value, NOON + timedelta(minutes=5)) == "ada"


def test_expired_token_is_refused():
    store = TokenStore(ttl=timedelta(minutes=10))
    token = store.issue("ada", NOON)
    with pytest.raises(InvalidToken):
        store.validate(token.value, NOON + timedelta(minutes=10))


def test_unknown_token_is_refused():
    with pytest.raises(InvalidToken):
        TokenStore().validate("nope", NOON)


def test_revoke():
    store = TokenStore()
    token = store.issue("ada", NOON)
    store.revoke(token.value)
    with pytest.raises(InvalidToken):
        store.validate(token.value, NOON)


def test_purge_removes_only_expired():
    store = TokenStore(ttl=timedelta(minutes=10))
    store.issue("old", NOON)
    store.issue("new", NOON + timedelta(minutes=8))
    assert store.purge(NOON + timedelta(minutes=12)) == 1
    assert len(store) == 1


def test_tokens_are_unique():
    store = TokenStore()
    assert store.issue("a", NOON).value != store.issue("a", NOON).value
