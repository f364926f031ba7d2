"""Code actions come from the AST alone, instantly."""

from greenpatch.server.actions import gestures_at

SOURCE = """import pytest


def helper():
    raise NotImplementedError


def done(x):
    return x + 1


class TestCart:
    def test_total(self):
        assert helper() == 1
"""


def titles(line: int, **kw: object) -> list[str]:
    return [g.title for g in gestures_at("tests/test_cart.py", SOURCE, line, **kw)]  # type: ignore[arg-type]


def test_fix_on_a_test_method_carries_its_node_id() -> None:
    [fix] = gestures_at(
        "tests/test_cart.py", SOURCE, 13, failing_tests={"tests/test_cart.py::TestCart::test_total"}
    )
    assert fix.title == "Greenpatch: fix this failing test (test_total)"
    assert fix.arguments["tests"] == ["tests/test_cart.py::TestCart::test_total"]
    assert fix.arguments["kind"] == "fix" and fix.preferred


def test_stub_gets_implement_first() -> None:
    assert titles(4) == [
        "Greenpatch: implement helper",
        "Greenpatch: write tests for helper",
        "Greenpatch: refactor helper...",
    ]


def test_plain_function_gets_tests_and_refactor() -> None:
    assert titles(8) == ["Greenpatch: write tests for done", "Greenpatch: refactor done..."]


def test_selection_and_nothing_outside_code() -> None:
    assert titles(0) == []
    assert titles(0, selection=(0, 2)) == ["Greenpatch: change the selection..."]


def test_broken_source_offers_nothing() -> None:
    assert gestures_at("a.py", "def (:\n", 0) == []
