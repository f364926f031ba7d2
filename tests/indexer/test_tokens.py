from greenpatch.indexer.tokens import chunk_tokens, code_tokens, path_tokens, split_identifier


def test_split_identifier_camel_snake_and_acronyms() -> None:
    assert split_identifier("parse_HTTPHeader2") == ["parse", "http", "header", "2"]
    assert split_identifier("getUserName") == ["get", "user", "name"]
    assert split_identifier("XMLHttpRequest") == ["xml", "http", "request"]


def test_code_tokens_keep_whole_identifier_and_parts() -> None:
    tokens = code_tokens("def getUserName(self): return self._user_name")
    assert "getusername" in tokens
    assert {"get", "user", "name", "self", "def", "return"} <= set(tokens)
    assert "user_name" in tokens


def test_stopwords_and_single_letters_dropped() -> None:
    assert code_tokens("the cookie is a value of x") == ["cookie", "value"]


def test_path_tokens() -> None:
    assert path_tokens("src/requests/cookie_jar.py") == [
        "src",
        "requests",
        "cookie_jar",
        "cookie",
        "jar",
        "py",
    ]


def test_chunk_tokens_include_path_and_symbol() -> None:
    tokens = chunk_tokens("pkg/models.py", "Session.send", "pass")
    assert {"pkg", "models", "session", "send", "pass"} <= set(tokens)
