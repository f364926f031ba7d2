from querystring.query import build_query, first, merge, parse_query


def test_parse_repeated_keys():
    assert parse_query("?a=1&a=2&b=x") == {"a": ["1", "2"], "b": ["x"]}


def test_parse_decodes():
    assert parse_query("q=hello+world&city=S%C3%A3o+Paulo") == {
        "q": ["hello world"],
        "city": ["São Paulo"],
    }


def test_parse_key_without_value():
    assert parse_query("debug&x=1&") == {"debug": [""], "x": ["1"]}


def test_parse_value_containing_equals():
    assert parse_query("sig=YWJjZA==&expires=99") == {"sig": ["YWJjZA=="], "expires": ["99"]}


def test_build_query():
    assert build_query({"q": ["a b"], "tag": ["x", "y&z"]}) == "q=a+b&tag=x&tag=y%26z"


def test_first():
    params = parse_query("a=1&a=2")
    assert first(params, "a") == "1"
    assert first(params, "b", "none") == "none"


def test_merge_keeps_signature():
    assert merge("sig=ab%3D%3D&page=1", page="2") == "sig=ab%3D%3D&page=2"


def test_merge_raw_equals_survives():
    assert merge("token=abc=&page=1", page="3") == "token=abc%3D&page=3"
