from textkit.text import initials, slugify, truncate_words


def test_slugify_simple():
    assert slugify("Hello, World!") == "hello-world"


def test_slugify_drops_accents():
    assert slugify("Crème Brûlée") == "creme-brulee"


def test_slugify_collapses_separators():
    assert slugify("  a -- b __ c  ") == "a-b-c"


def test_slugify_short_enough_is_untouched():
    assert slugify("Hello big world", max_length=15) == "hello-big-world"


def test_slugify_cut_short_has_no_trailing_dash():
    slug = slugify("Hello big world", max_length=10)
    assert slug == "hello-big"


def test_truncate_words():
    assert truncate_words("one two three four", 2) == "one two…"
    assert truncate_words("one two", 5) == "one two"


def test_initials():
    assert initials("ada  lovelace") == "AL"
