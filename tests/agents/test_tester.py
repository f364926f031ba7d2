"""The tester with the scripted model: a reply cut off at its token cap still gives its tests;
a property-based test is asked for only where the project can run one."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from greenpatch.agents import roles, sampling
from greenpatch.agents.context import unit_named
from greenpatch.agents.gateway import Gateway
from greenpatch.agents.providers import ScriptedReplies
from greenpatch.config import ModelSettings, Settings

PILE = '''def make_a_pile(n):
    """The stones of n levels, n first, each level the next number of n's parity.

    >>> make_a_pile(3)
    [3, 5, 7]
    """
'''

# As the 0.5B model wrote it for HumanEval/100: the block never closed, the last line cut.
CUT_OFF = """Here are the tests:
```python
from solution import make_a_pile

def test_make_a_pile():
    # Test case 1
    assert make_a_pile(3) == [3, 5, 7]
    # Test case 2
    assert make_a_pile(4) == [4, 6, 8, 10]
    # Test case 3
    assert make_a_pile(4) == [4, 6, 8, 10]
    x = 1; assert make_a_pile(4) == [4, 6, 8, 10]
    # Test case 4
    assert make_a_pile(1) == [1]
    # Test case 5
    assert make_a_pile(4) == [4, 6, 8, 10]
    # Test case 6
    assert make_a_pile(5) == [5, 7, 9, 11, 1"""


def scripted_tester(
    reply: str, name: str, prompts: list[str] | None = None
) -> tuple[Gateway, list[int]]:
    model = ScriptedReplies.register(name, [{"role": "tester", "reply": reply}])
    gateway = Gateway.for_run(Settings(models=ModelSettings(default=model)), environ={})
    caps: list[int] = []
    complete = gateway.complete

    def capped(role: str, messages: Any, **kwargs: Any) -> Any:
        caps.append(kwargs.get("max_tokens", 2048))
        if prompts is not None:
            prompts.append(messages[-1]["content"])
        return complete(role, messages, **kwargs)

    gateway.complete = capped  # type: ignore[method-assign]
    return gateway, caps


def test_a_reply_cut_off_keeps_its_complete_tests_once_each() -> None:
    gateway, caps = scripted_tester(CUT_OFF, "tester-cut-off")
    unit = unit_named("solution.py", PILE, "make_a_pile")
    assert unit is not None

    change = roles.Tester(gateway).write_tests("Implement make_a_pile.", unit, [])

    assert caps == [roles.TESTER_MAX_TOKENS]
    assert change is not None and change.path == "tests/test_greenpatch_make_a_pile.py"
    body = change.new_text.split("\n", 1)[1]  # after the tester's mark
    assert body == textwrap.dedent("""\
        from solution import make_a_pile

        def test_make_a_pile():
            # Test case 1
            assert make_a_pile(3) == [3, 5, 7]
            # Test case 2
            assert make_a_pile(4) == [4, 6, 8, 10]
            x = 1; assert make_a_pile(4) == [4, 6, 8, 10]
            # Test case 4
            assert make_a_pile(1) == [1]
        """)
    assert sampling.assertion_examples(change.new_text, "make_a_pile") == [
        sampling.Example("make_a_pile(3)", "[3, 5, 7]"),
        sampling.Example("make_a_pile(4)", "[4, 6, 8, 10]"),
        sampling.Example("make_a_pile(1)", "[1]"),
    ]


def test_a_closed_block_that_does_not_parse_is_not_cut() -> None:
    broken = "```python\ndef test_x():\n    assert make_a_pile(3) == [3, 5\n```\n"
    gateway, _ = scripted_tester(broken, "tester-broken")
    unit = unit_named("solution.py", PILE, "make_a_pile")
    assert unit is not None
    assert roles.Tester(gateway).write_tests("Implement make_a_pile.", unit, []) is None


def test_prose_without_code_gives_no_tests() -> None:
    assert roles.cut_off_code("I would test it with a few values.") is None
    assert roles.cut_off_code("```python\n(((") is None


def test_a_cut_off_line_that_happens_to_parse_is_dropped_too() -> None:
    reply = "```python\ndef test_fib():\n    assert fib(1) == 1\n    assert fib(10) == 5"
    assert roles.cut_off_code(reply) == "def test_fib():\n    assert fib(1) == 1"


def test_asserts_that_change_state_are_kept_when_repeated() -> None:
    code = textwrap.dedent("""\
        def test_pops():
            s = [1, 1, 2]
            assert s.pop() == 2
            assert s.pop() == 1
            assert s.pop() == 1
            assert next(iter(s), None) is None
            assert f(2) == 4
            assert f(2) == 4
        """)
    kept = roles.without_repeated_asserts(code)
    assert kept.count("assert s.pop() == 1") == 2 and kept.count("assert f(2) == 4") == 1


def test_carriage_returns_count_as_line_ends() -> None:
    reply = "```python\r\ndef test_x():\r\n    assert f(1) == 2\r\n    assert f(1) == 2\r\n```\r\n"
    gateway, _ = scripted_tester(reply, "tester-crlf")
    unit = unit_named("solution.py", PILE, "make_a_pile")
    assert unit is not None
    change = roles.Tester(gateway).write_tests("Implement make_a_pile.", unit, [])
    assert change is not None and change.new_text.count("assert f(1) == 2") == 1


def test_an_expression_too_deep_for_ast_gives_no_tests_not_a_crash() -> None:
    deep = "assert x == " + "1 + " * 400 + "1"
    reply = f"```python\ndef test_x():\n    {deep}\n    {deep}\n```\n"
    gateway, _ = scripted_tester(reply, "tester-deep")
    unit = unit_named("solution.py", PILE, "make_a_pile")
    assert unit is not None
    assert roles.Tester(gateway).write_tests("Implement make_a_pile.", unit, []) is None


PROPERTY = """```python
from hypothesis import given, strategies as st

from solution import make_a_pile


@given(st.integers(min_value=1, max_value=50))
def test_a_pile_has_n_levels(n):
    assert len(make_a_pile(n)) == n
```"""


@pytest.mark.parametrize("properties", [True, False])
def test_a_property_test_is_asked_for_only_where_hypothesis_is_there(properties: bool) -> None:
    prompts: list[str] = []
    gateway, _ = scripted_tester(PROPERTY, f"tester-properties-{properties}", prompts)
    unit = unit_named("solution.py", PILE, "make_a_pile")
    assert unit is not None
    change = roles.Tester(gateway).write_tests(
        "Implement make_a_pile.", unit, [], properties=properties
    )
    (prompt,) = prompts
    assert ("`@given`" in prompt and "`hypothesis.strategies`" in prompt) is properties
    assert prompt.rstrip().endswith(
        "No fixtures, no network, no files." if not properties else "beside the example tests."
    )
    # What the tester wrote is kept either way: the loop runs it with the project's tests.
    assert (
        change is not None and "@given(st.integers(min_value=1, max_value=50))" in change.new_text
    )


def test_the_embedded_models_are_not_asked_for_properties() -> None:
    assert not roles.writes_properties("local/qwen2.5-coder-1.5b")
    assert roles.writes_properties("anthropic/claude-sonnet-4-5")
    assert roles.writes_properties("scripted/tests/replies.json")
