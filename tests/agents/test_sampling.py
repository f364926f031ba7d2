"""Sampling and selection: docstring examples, tester assertions, and choosing among
candidates by running them in the real sandbox."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from greenpatch.agents import sampling
from greenpatch.agents.sampling import Example, Verdict
from greenpatch.errors import BudgetExceeded, ModelError
from greenpatch.sandbox import get_sandbox

DOCTEST = '''
def longest(strings):
    """Return the longest string.
    >>> longest([])

    >>> longest(['a', 'bb'])
    'bb'
    >>> longest(
    ...     ['x'])
    'x'
    """
'''

PROSE = '''
def x_or_y(n, x, y):
    """Return x if n is prime, else y.

    Examples:
    for x_or_y(7, 34, 12) == 34
    for x_or_y(15, 8, 5) == 5
    is_happy(aa) => False
    x_or_y(n, 1, 2) => 1
    x_or_y(2, 1, 0) ==> 1
    x_or_y(4, 1, 0) = 0
    x_or_y(1, 1, 0) = 1 + 0 - 1 = 0
    x_or_y(9, 1, 0) ->9 - 1 = 8
    x_or_y(3, True, False) => true
    """

def reverse_delete(s, c):
    """For s = "abcde", c = "ae", the result should be ('bcd',False)
    reverse_delete("abcdef", "b") should return ('acdef', False).
    reverse_delete("ab", "b") ➞ ("a", True)
    """
'''


def test_doctest_examples_need_a_literal_call_and_value() -> None:
    assert sampling.docstring_examples(DOCTEST, "longest") == [
        Example("longest(['a', 'bb'])", "'bb'")
    ]


def test_prose_examples_in_their_usual_spellings() -> None:
    assert sampling.docstring_examples(PROSE, "x_or_y") == [
        Example("x_or_y(7, 34, 12)", "34"),
        Example("x_or_y(15, 8, 5)", "5"),
        Example("x_or_y(2, 1, 0)", "1"),
        Example("x_or_y(4, 1, 0)", "0"),
        Example("x_or_y(9, 1, 0)", "8"),
        Example("x_or_y(3, True, False)", "True"),
    ]
    assert sampling.docstring_examples(PROSE, "reverse_delete") == [
        Example('reverse_delete("abcdef", "b")', "('acdef', False)"),
        Example('reverse_delete("ab", "b")', '("a", True)'),
        Example("reverse_delete('abcde', 'ae')", "('bcd',False)"),
    ]


NAMED = '''
def top_k(arr, k, reverse=False):
    """The k largest numbers of arr, sorted.

    Example 1:
        Input: arr = [-3, -4, 5], k = 3
        Output: [-4, -3, 5]

    Example 2:
        Input:
            numbers : [4, -4, 4]
            how_many : 2
        Output: [4, 4]  # both fours

    For k = 1, arr = [2, 1] the output should be [2]
    For arr = [1, 2], k = 2, as the list is short, the result will be [1, 2].
    For arr = [5] the output should be [5]
    For arr = [5], k = 1, reverse = True, x = 2 the output should be [5]
    For arr = [5], k = 1, reverse = 2 = 3 the output should be [5]
    Input: [7]
    Output: [7]
    """

def digits(n):
    """For N = 1000, the sum of digits will be 1 the output should be "1".

    Input: 12
    Output: (4, 6)
    """
'''


def test_examples_that_name_their_arguments() -> None:
    assert sampling.docstring_examples(NAMED, "top_k") == [
        Example("top_k([-3, -4, 5], 3)", "[-4, -3, 5]"),
        Example("top_k([4, -4, 4], 2)", "[4, 4]"),  # other names, in order
        Example("top_k([2, 1], 1)", "[2]"),  # in the signature's order
        Example("top_k([1, 2], 2)", "[1, 2]"),
    ]  # not: k missing, a name that is no parameter, "=" in what follows, one of three
    assert sampling.docstring_examples(NAMED, "digits") == [
        Example("digits(1000)", '"1"'),
        Example("digits(12)", "(4, 6)"),
    ]


def test_a_source_that_does_not_parse_has_no_examples() -> None:
    assert sampling.docstring_examples("def f(:\n", "f") == []


def test_tester_assertions_either_way_round_and_through_the_module() -> None:
    source = """
import solution
from solution import f

def test_f():
    assert f(1) == 2
    assert 3 == solution.f(2)
    assert f(x) == 1          # not literal: no
    assert f(1) != 5          # not equality: no
    assert g(1) == 1          # another function: no
    assert f(4)
    assert not f(5)
    assert f(6) is None
    assert f(7, key=1) == 2   # keywords: no
"""
    assert sampling.assertion_examples(source, "f") == [
        Example("f(1)", "2"),
        Example("f(2)", "3"),
        Example("f(4)", "True"),
        Example("f(5)", "False"),
        Example("f(6)", "None"),
    ]


def verdict(index: int, outputs: tuple[str, ...], examples: int = 0, tests: int = 0) -> Verdict:
    return Verdict(index, outputs, examples_passed=examples, tests_passed=tests)


def test_select_prefers_examples_then_agreement_then_the_greedy_answer() -> None:
    verdicts = [
        verdict(0, ("1", "2"), examples=1),
        verdict(1, ("1", "3"), examples=2),
        verdict(2, ("1", "3"), examples=2),
        verdict(3, ("1", "4"), examples=2, tests=1),
        Verdict(4, error="SyntaxError"),
    ]
    chosen = sampling.select(verdicts)
    assert (chosen.index, chosen.agreement) == (1, 2)
    # Ties everywhere: the earliest answer wins.
    assert sampling.select([verdict(0, ("a",)), verdict(1, ("b",))]).index == 0
    assert sampling.select([Verdict(0, error="x")]).index == -1


@pytest.fixture(scope="module")
def sandbox():
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    return get_sandbox("bwrap")


def test_candidates_run_in_the_sandbox_and_are_judged(sandbox, tmp_path: Path) -> None:
    examples = [Example("add(1, 2)", "3"), Example("add(0.1, 0.2)", "0.3")]
    tests = [Example("add(2, 2)", "4"), Example("add(-1, 1)", "5")]
    programs = [
        "def add(a, b):\n    return a + b\n",
        "def add(a, b):\n    return a - b\n",
        "def add(a, b):\n    while True:\n        pass\n",
        "def add(a, b) return\n",
        "import sys\nsys.exit(3)\n",
    ]
    right, wrong, loops, broken, exits = sampling.run_candidates(
        sandbox, tmp_path, programs, examples, tests
    )
    assert (right.examples_passed, right.tests_passed, right.failures) == (2, 1, [])
    assert right.outputs == ("3", "0.3", "4", "0")
    assert wrong.examples_passed == 0
    assert wrong.failures[0] == "assert add(1, 2) == 3  # got -1"
    assert loops.outputs == ("!TimeoutError",) * 4
    assert broken.error.startswith("SyntaxError")
    assert exits.error.startswith("SystemExit")
    assert sampling.select([right, wrong, loops, broken, exits]).index == 0


def test_draw_samples_until_enough_answers_agree_and_pass() -> None:
    def judge(index: int, answer: str) -> Verdict:
        right = answer == "right"
        failures = [] if right else ["assert f(1) == 2  # got 0"]
        return Verdict(index, (answer,), examples_passed=int(right), failures=failures)

    replies = iter([None, "right", "right", "wrong"])
    heard: list[tuple[int, int]] = []
    pool: sampling.Pool[str] = sampling.Pool()
    pool.add("wrong", judge)
    sampling.draw(
        pool,
        lambda: next(replies),
        judge,
        samples=5,
        agree=2,
        progress=lambda n, total: heard.append((n, total)),
    )
    assert pool.answers == ["wrong", None, "right", "right"]  # the fourth reply never asked
    assert pool.verdicts[1].error == "no usable code"
    assert heard == [(2, 5), (3, 5), (4, 5)]
    assert (pool.selection().index, pool.selection().agreement) == (2, 2)
    assert pool.chosen() == "right"


def test_draw_keeps_what_it_has_when_the_model_fails() -> None:
    def judge(index: int, answer: str) -> Verdict:
        return Verdict(index, (answer,), failures=["assert f(1) == 2"])

    def down() -> str:
        raise ModelError("scripted/x: no reply left")

    pool: sampling.Pool[str] = sampling.Pool()
    pool.add("first", judge)
    sampling.draw(pool, down, judge, samples=5, agree=2)
    assert pool.answers == ["first"] and pool.chosen() == "first"
    with pytest.raises(BudgetExceeded):  # the budget still stops the run
        sampling.draw(pool, _spent, judge, samples=5, agree=2)


def _spent() -> str:
    raise BudgetExceeded("budget spent")
