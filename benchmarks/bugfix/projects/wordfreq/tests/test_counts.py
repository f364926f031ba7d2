from wordfreq.counts import tokenize, top_words, vocabulary_size, word_counts


def test_tokenize():
    assert tokenize("Don't panic! 'Quoted' words, 42 times.") == [
        "don't",
        "panic",
        "quoted",
        "words",
        "42",
        "times",
    ]


def test_word_counts_skip_stop_words():
    assert word_counts("The cat and the hat") == {"cat": 1, "hat": 1}


def test_top_words_by_count():
    assert top_words("x x x y y z", 2) == [("x", 3), ("y", 2)]


def test_top_words_ties_are_alphabetical():
    assert top_words("pear apple fig apple pear fig kiwi", 3) == [
        ("apple", 2),
        ("fig", 2),
        ("pear", 2),
    ]


def test_vocabulary_size():
    assert vocabulary_size("The the THE cat") == 2
