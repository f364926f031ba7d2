import pytest

from gradebook.book import Gradebook, letter_grade


def make_book() -> Gradebook:
    book = Gradebook()
    for name, scores in {
        "cleo": [70, 80],
        "ada": [95, 91],
        "bob": [60, 55],
        "dan": [75, 75],
    }.items():
        for score in scores:
            book.record(name, score)
    return book


@pytest.mark.parametrize(
    ("score", "letter"), [(95, "A"), (90, "A"), (85, "B"), (60, "D"), (10, "F")]
)
def test_letter_grade(score, letter):
    assert letter_grade(score) == letter


def test_average():
    assert make_book().average("ada") == 93


def test_report():
    assert make_book().report() == {"cleo": "C", "ada": "A", "bob": "F", "dan": "C"}


def test_ranking_best_first():
    assert make_book().ranking() == [("ada", 93.0), ("cleo", 75.0), ("dan", 75.0), ("bob", 57.5)]


def test_top():
    assert make_book().top(1) == ["ada"]


def test_out_of_range_score():
    with pytest.raises(ValueError):
        Gradebook().record("eve", 101)
