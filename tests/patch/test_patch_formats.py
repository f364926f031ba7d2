"""Other edit formats: search/replace blocks and whole-file replacement give the same
normalised diff and the same all-or-nothing behaviour as unified diffs."""

from __future__ import annotations

import pytest

from greenpatch.patch import (
    FailureReason,
    apply_patch,
    from_whole_file,
    parse_search_replace,
    parse_whole_file,
    unified_diff,
)

FILES = {
    "app/core.py": "def f():\n    return 1\n\n\ndef g():\n    return 2\n",
    "dup.py": "a = 1\na = 1\n",
}


def test_search_replace_blocks_in_prose_and_fences() -> None:
    reply = """I'll change both functions.

app/core.py
```python
<<<<<<< SEARCH
def f():
    return 1
=======
def f():
    return 10
>>>>>>> REPLACE
```

And then:

`app/core.py`
<<<<<<< SEARCH
    return 2
=======
    return 20
>>>>>>> REPLACE
"""
    result = parse_search_replace(reply, FILES.get)
    assert result.ok, result.message_for_model()
    (change,) = result.changes
    assert change.new_text == FILES["app/core.py"].replace("1\n", "10\n").replace("2\n", "20\n")
    assert result.diff == unified_diff(result.changes)


def test_search_tolerates_indentation_and_trailing_whitespace() -> None:
    reply = (
        "app/core.py\n<<<<<<< SEARCH\ndef g():   \nreturn 2\n"
        "=======\ndef g():\nreturn 3\n>>>>>>> REPLACE\n"
    )
    result = parse_search_replace(reply, FILES.get)
    assert not result.ok  # indentation differs by line, not uniformly: refused
    reply = "app/core.py\n<<<<<<< SEARCH\n  return 2  \n=======\n  return 3\n>>>>>>> REPLACE\n"
    result = parse_search_replace(reply, FILES.get)
    assert result.ok
    assert result.changes[0].new_text.endswith("def g():\n    return 3\n")


def test_empty_search_creates_a_file() -> None:
    reply = "docs/new.md\n<<<<<<< SEARCH\n=======\n# Title\n>>>>>>> REPLACE\n"
    result = parse_search_replace(reply, FILES.get)
    assert result.ok
    assert result.changes[0].old_text is None
    assert result.changes[0].new_text == "# Title\n"
    assert result.files[0].status == "created"


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (
            "app/core.py\n<<<<<<< SEARCH\nnothing\n=======\nx\n>>>>>>> REPLACE\n",
            FailureReason.NO_MATCH,
        ),
        (
            "dup.py\n<<<<<<< SEARCH\na = 1\n=======\na = 2\n>>>>>>> REPLACE\n",
            FailureReason.AMBIGUOUS,
        ),
        (
            "missing.py\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n",
            FailureReason.MISSING_FILE,
        ),
        ("../x.py\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n", FailureReason.UNSAFE_PATH),
        ("app/core.py\n<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE\n", FailureReason.NO_CONTEXT),
        ("app/core.py\n<<<<<<< SEARCH\na\n=======\nb\n", FailureReason.PARSE_ERROR),
    ],
)
def test_search_replace_refusals(reply: str, reason: FailureReason) -> None:
    good = "app/core.py\n<<<<<<< SEARCH\n    return 2\n=======\n    return 3\n>>>>>>> REPLACE\n"
    result = parse_search_replace(good + "\n" + reply, FILES.get)
    assert not result.ok
    assert result.changes == ()
    assert reason in {f.reason for f in result.failures}


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n", FailureReason.PARSE_ERROR),
        ("no blocks here", FailureReason.EMPTY_PATCH),
    ],
)
def test_unreadable_replies(reply: str, reason: FailureReason) -> None:
    result = parse_search_replace(reply, FILES.get)
    assert [f.reason for f in result.failures] == [reason]


def test_search_replace_failure_names_the_block() -> None:
    reply = "app/core.py\n<<<<<<< SEARCH\n    return 7\n=======\n    return 3\n>>>>>>> REPLACE\n"
    (failure,) = parse_search_replace(reply, FILES.get).failures
    assert "block 1" in failure.message and "SEARCH text" in failure.message
    assert failure.closest_line == 2


def test_whole_file_keeps_endings_and_final_newline() -> None:
    change = from_whole_file("w.py", "a\r\nb\r\n", "a\nc")
    assert change.new_text == "a\r\nc\r\n"
    created = from_whole_file("n.py", None, "x\n")
    assert created.old_text is None and created.new_text == "x\n"


def test_whole_file_diff_round_trips() -> None:
    change = from_whole_file("app/core.py", FILES["app/core.py"], "def f():\n    return 5\n")
    result = apply_patch(unified_diff([change]), FILES.get)
    assert result.ok
    assert result.changes[0].new_text == change.new_text


def test_prose_ending_in_a_dot_is_not_a_path() -> None:
    reply = (
        "Done.\n\napp/core.py\n<<<<<<< SEARCH\n    return 1\n=======\n    return 5\n"
        ">>>>>>> REPLACE\nAlso.\n<<<<<<< SEARCH\n    return 2\n=======\n    return 6\n"
        ">>>>>>> REPLACE\n"
    )
    result = parse_search_replace(reply, FILES.get)
    assert result.ok, result.message_for_model()
    assert result.changes[0].new_text.count("return 5") == 1
    assert result.changes[0].new_text.count("return 6") == 1


def test_whole_file_reply_in_a_fence() -> None:
    reply = "Here is the file:\n\n```python\ndef f():\n    return 9\n```\nEnjoy."
    result = parse_whole_file(reply, "app/core.py", FILES.get)
    assert result.ok
    assert result.changes[0].new_text == "def f():\n    return 9\n"
    assert result.diff.startswith("diff --git a/app/core.py b/app/core.py")


@pytest.mark.parametrize(
    ("reply", "path", "reason"),
    [
        ("```\na\n```\n```\nb\n```\n", "app/core.py", FailureReason.PARSE_ERROR),
        ("x = 1\n", "../evil.py", FailureReason.UNSAFE_PATH),
    ],
)
def test_whole_file_refusals(reply: str, path: str, reason: FailureReason) -> None:
    result = parse_whole_file(reply, path, FILES.get)
    assert [f.reason for f in result.failures] == [reason]


def test_whole_file_new_and_unchanged() -> None:
    created = parse_whole_file("print('hi')\n", "tools/new.py", FILES.get)
    assert created.changes[0].old_text is None
    same = parse_whole_file(f"```\n{FILES['dup.py']}```", "dup.py", FILES.get)
    assert same.ok and same.changes == ()
