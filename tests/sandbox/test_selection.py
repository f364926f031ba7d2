"""Choosing the tests that touch the changed files."""

from __future__ import annotations

from pathlib import Path

from greenpatch.sandbox.selection import is_test_file, related_tests


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_related_tests(tmp_path: Path):
    write(tmp_path, "src/pkg/calc.py", "")
    write(tmp_path, "tests/test_calc.py", "from pkg.calc import add\n")
    write(tmp_path, "tests/test_pkg.py", "from pkg import util, calc\n")
    write(tmp_path, "tests/test_other.py", "import pkg.other\n")
    write(tmp_path, "tests/test_calculator.py", "import pkg.calculator\n")
    write(tmp_path, ".venv/lib/test_calc.py", "from pkg.calc import add\n")
    found = related_tests(tmp_path, ["src/pkg/calc.py", "tests/test_new.py", "README.md"])
    assert found == ("tests/test_new.py", "tests/test_calc.py", "tests/test_pkg.py")


def test_nothing_changed_means_nothing_selected(tmp_path: Path):
    write(tmp_path, "tests/test_a.py", "import a\n")
    assert related_tests(tmp_path, []) == ()
    assert related_tests(tmp_path, ["docs/index.md"]) == ()


def test_is_test_file():
    assert is_test_file("tests/test_a.py") and is_test_file("a_test.py")
    assert not is_test_file("tests/helpers.py") and not is_test_file("test_a.txt")
