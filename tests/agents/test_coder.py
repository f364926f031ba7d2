"""Turning model replies into changes: the whole-function format small models use."""

import pytest

from greenpatch.agents.coder import Brief, build_prompt, edit_format_for, extract_code, splice_units
from greenpatch.agents.context import functions_under_test, unit_named, units_in
from greenpatch.errors import FormatError

SOURCE = '''import math


class Cart:
    def total(self, prices):
        return sum(prices)

    @staticmethod
    def tax(amount):
        return amount * 0.2


def mean(xs):
    """Average of xs."""
    return sum(xs) / (len(xs) - 1)
'''
TEST = """from shop.cart import mean, Cart


def test_mean():
    assert mean([1, 2, 3]) == 2
"""
FILES = {"shop/cart.py": SOURCE, "tests/test_cart.py": TEST}


def read(path: str) -> str | None:
    return FILES.get(path)


def test_units_cover_functions_methods_and_decorators() -> None:
    units = {u.qualname: u for u in units_in("shop/cart.py", SOURCE)}
    assert set(units) == {"Cart", "Cart.total", "Cart.tax", "mean"}
    assert units["Cart.tax"].source.lstrip().startswith("@staticmethod")
    assert units["Cart.total"].indent == "    "


def test_functions_under_test_follow_the_imports() -> None:
    units = functions_under_test("tests/test_cart.py", "test_mean", read)
    assert [u.qualname for u in units] == ["mean"]


def test_splice_replaces_only_the_shown_function() -> None:
    unit = unit_named("shop/cart.py", SOURCE, "mean")
    assert unit is not None
    reply = "Here is the fix:\n```python\ndef mean(xs):\n    return sum(xs) / len(xs)\n```\n"
    [change] = splice_units(reply, [unit], read)
    assert change.path == "shop/cart.py" and change.old_text == SOURCE
    assert change.new_text == SOURCE.replace(
        '    """Average of xs."""\n    return sum(xs) / (len(xs) - 1)\n',
        "    return sum(xs) / len(xs)\n",
    )


def test_splice_reindents_methods_and_adds_new_imports() -> None:
    unit = unit_named("shop/cart.py", SOURCE, "Cart.total")
    assert unit is not None
    reply = (
        "```python\nimport functools\n\n"
        "def total(self, prices):\n    return round(sum(prices), 2)\n```"
    )
    [change] = splice_units(reply, [unit], read)
    assert change.new_text is not None
    assert "    def total(self, prices):\n        return round(sum(prices), 2)\n" in change.new_text
    assert change.new_text.startswith("import math\nimport functools\n")
    compile(change.new_text, "cart.py", "exec")


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("I cannot help with that.", "no ```python block"),
        ("```python\ndef mean(xs:\n```", "does not parse"),
        ("```python\ndef median(xs):\n    return 0\n```", "defines none of the functions"),
        ("```python\n" + SOURCE.split("\n\n\n")[-1] + "```", "identical"),
    ],
)
def test_unusable_replies_are_refused_with_a_reason(reply: str, reason: str) -> None:
    unit = unit_named("shop/cart.py", SOURCE, "mean")
    assert unit is not None
    with pytest.raises(FormatError, match=reason):
        splice_units(reply, [unit], read)


def test_extract_code_accepts_an_unfenced_reply() -> None:
    assert extract_code("def f():\n    return 1\n").startswith("def f")


def test_prompt_for_small_models_is_focused() -> None:
    unit = unit_named("shop/cart.py", SOURCE, "mean")
    assert unit is not None
    brief = Brief("fix it", (unit,), (("shop/cart.py", SOURCE),), TEST, "assert 3.0 == 2")
    prompt = build_prompt(brief, "whole")
    assert "def mean" in prompt and "assert 3.0 == 2" in prompt
    assert "class Cart" not in prompt  # the function, not the whole file
    assert "class Cart" in build_prompt(brief, "udiff")


def test_edit_format_by_model() -> None:
    assert edit_format_for("local/qwen2.5-coder-1.5b", "auto") == "whole"
    assert edit_format_for("gpt-4o-mini", "auto") == "udiff"
    assert edit_format_for("local/qwen2.5-coder-1.5b", "udiff") == "udiff"
