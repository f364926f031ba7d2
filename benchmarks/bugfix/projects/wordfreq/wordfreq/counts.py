"""Count words in free text, ignoring case, punctuation and stop words."""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"[a-z0-9']+")
STOP_WORDS = frozenset({"a", "an", "and", "the", "of", "to", "in", "is", "it"})


def tokenize(text: str) -> list[str]:
    """Lower-case words; apostrophes stay inside words ("don't"), quotes around them go."""
    return [word.strip("'") for word in _WORD.findall(text.lower()) if word.strip("'")]


def word_counts(text: str, skip_stop_words: bool = True) -> Counter[str]:
    words = tokenize(text)
    if skip_stop_words:
        words = [word for word in words if word not in STOP_WORDS]
    return Counter(words)


def top_words(text: str, n: int) -> list[tuple[str, int]]:
    """The `n` most frequent words with their counts, most frequent first.

    Words with the same count are in alphabetical order, so the result is stable.
    """
    counts = word_counts(text)
    ranked = sorted(counts.items(), key=lambda item: (item[1], item[0]), reverse=True)
    return ranked[:n]


def vocabulary_size(text: str) -> int:
    """How many different words (stop words included) the text uses."""
    return len(set(tokenize(text)))
