"""Every refusal, table-driven: the patch is refused as a whole, nothing changes, and each
failure carries a machine-readable reason and a message for the model."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from greenpatch.errors import PatchRefused
from greenpatch.patch import FailureReason, Limits, apply_patch, reject_unless_ok

FILES = {
    "src/app.py": "def main():\n    print('hi')\n    return 0\n",
    "src/util.py": "A = 1\nB = 2\nC = 3\n",
    "dup.py": "x = 1\ny = 2\n\nx = 1\ny = 2\n",
}

GOOD_UTIL = (
    "--- a/src/util.py\n+++ b/src/util.py\n@@ -1,3 +1,3 @@\n A = 1\n-B = 2\n+B = 20\n C = 3\n"
)


def _diff(path: str, body: str) -> str:
    return f"--- a/{path}\n+++ b/{path}\n{body}"


REFUSALS: list[tuple[str, str, FailureReason]] = [
    (
        "context that does not exist",
        _diff("src/app.py", "@@ -1,3 +1,3 @@\n def main():\n-    print('bye')\n+    print('x')\n"),
        FailureReason.NO_MATCH,
    ),
    (
        "ambiguous without a usable hint",
        _diff("dup.py", "@@ ... @@\n x = 1\n-y = 2\n+y = 3\n"),
        FailureReason.AMBIGUOUS,
    ),
    (
        "pure addition without context",
        _diff("src/util.py", "@@ ... @@\n+D = 4\n"),
        FailureReason.NO_CONTEXT,
    ),
    ("missing file", _diff("src/nope.py", "@@ -1 +1 @@\n-a\n+b\n"), FailureReason.MISSING_FILE),
    (
        "creating an existing file",
        "--- /dev/null\n+++ b/src/util.py\n@@ -0,0 +1 @@\n+new\n",
        FailureReason.FILE_EXISTS,
    ),
    (
        "rename onto an existing file",
        "diff --git a/src/util.py b/src/app.py\nrename from src/util.py\nrename to src/app.py\n",
        FailureReason.FILE_EXISTS,
    ),
    ("absolute path", _diff("/etc/passwd", "@@ -1 +1 @@\n-a\n+b\n"), FailureReason.UNSAFE_PATH),
    ("dot-dot path", _diff("../outside.py", "@@ -1 +1 @@\n-a\n+b\n"), FailureReason.UNSAFE_PATH),
    (
        "git internals",
        "--- /dev/null\n+++ b/.git/hooks/pre-commit\n@@ -0,0 +1 @@\n+evil\n",
        FailureReason.UNSAFE_PATH,
    ),
    (
        "windows separators",
        _diff("src\\app.py", "@@ -1 +1 @@\n-a\n+b\n"),
        FailureReason.UNSAFE_PATH,
    ),
    (
        "binary patch",
        "diff --git a/img.png b/img.png\nindex 1..2 100644\nGIT binary patch\nliteral 5\nabc\n",
        FailureReason.BINARY,
    ),
    (
        "binary files differ",
        "diff --git a/img.png b/img.png\nBinary files a/img.png and b/img.png differ\n",
        FailureReason.BINARY,
    ),
    ("no diff at all", "I could not find the bug, sorry.", FailureReason.EMPTY_PATCH),
    (
        "hunk without file header",
        "@@ -1,3 +1,3 @@\n A = 1\n-B = 2\n+B = 20\n C = 3\n",
        FailureReason.PARSE_ERROR,
    ),
    (
        "diff lines dangling after a hunk",
        _diff("src/util.py", "@@ -1,3 +1,3 @@\n A = 1\n-B = 2\n+B = 20\n\nsome prose\n-C = 3\n"),
        FailureReason.PARSE_ERROR,
    ),
    (
        "deletion that leaves lines behind",
        "--- a/src/util.py\n+++ /dev/null\n@@ -1,3 +0,0 @@\n-A = 1\n-B = 2\n",
        FailureReason.NO_MATCH,
    ),
    (
        "elided context",
        _diff("src/app.py", "@@ -1,3 +1,3 @@\n def main():\n ...\n-    return 0\n+    return 1\n"),
        FailureReason.NO_MATCH,
    ),
]


@pytest.mark.parametrize(
    ("diff", "reason"), [(d, r) for _, d, r in REFUSALS], ids=[n for n, _, _ in REFUSALS]
)
def test_refusals(diff: str, reason: FailureReason) -> None:
    result = apply_patch(diff, FILES.get)
    assert not result.ok
    assert result.changes == ()
    assert result.diff == ""
    assert reason in {f.reason for f in result.failures}
    assert all(f.message for f in result.failures)
    assert "NOT applied" in result.message_for_model()


def test_all_or_nothing_across_files() -> None:
    bad = _diff("src/app.py", "@@ -1,3 +1,3 @@\n def main():\n-    print('bye')\n+    print('x')\n")
    result = apply_patch(GOOD_UTIL + bad, FILES.get)
    assert not result.ok
    assert result.changes == ()
    statuses = {f.path: f.status for f in result.files}
    assert statuses == {"src/util.py": "modified", "src/app.py": "failed"}


def test_every_failing_hunk_is_reported() -> None:
    diff = _diff(
        "src/util.py",
        "@@ -1,2 +1,2 @@\n-A = 9\n+A = 1\n B = 2\n"
        "@@ -2,2 +2,2 @@\n B = 2\n-C = 3\n+C = 4\n"
        "@@ -3 +3 @@\n-Z = 0\n+Z = 1\n",
    )
    result = apply_patch(diff, FILES.get)
    assert [(f.hunk_index, f.reason) for f in result.failures] == [
        (0, FailureReason.NO_MATCH),
        (2, FailureReason.NO_MATCH),
    ]
    assert [h.applied for h in result.files[0].hunks] == [False, True, False]


def test_no_match_says_what_is_close_and_where() -> None:
    diff = _diff(
        "src/app.py", "@@ -1,3 +1,3 @@\n def main():\n-    print('bye')\n+    print('x')\n"
    )
    (failure,) = apply_patch(diff, FILES.get).failures
    assert failure.expected == "def main():\n    print('bye')"
    assert failure.closest == "def main():\n    print('hi')"
    assert failure.closest_line == 1
    assert "line 1" in failure.message and "print('hi')" in failure.message


def test_ambiguity_lists_the_candidates() -> None:
    diff = _diff("dup.py", "@@ ... @@\n x = 1\n-y = 2\n+y = 3\n")
    (failure,) = apply_patch(diff, FILES.get).failures
    assert failure.candidates == (1, 4)
    assert "lines 1, 4" in failure.message


def test_wrong_header_does_not_break_ambiguity() -> None:
    # counts disagree with the body: the header is unsound, its line number is no evidence
    diff = _diff("dup.py", "@@ -4,9 +4,1 @@\n x = 1\n-y = 2\n+y = 3\n")
    result = apply_patch(diff, FILES.get)
    assert [f.reason for f in result.failures] == [FailureReason.AMBIGUOUS]


def test_reader_refusal_is_an_unsafe_path() -> None:
    def read(path: str) -> str | None:
        raise PatchRefused("resolves outside the project root (symlink)")

    result = apply_patch(_diff("link/x.py", "@@ -1 +1 @@\n-a\n+b\n"), read)
    assert [f.reason for f in result.failures] == [FailureReason.UNSAFE_PATH]


@pytest.mark.parametrize(
    ("limits", "files"),
    [
        (Limits(max_patch_chars=10), FILES),
        (Limits(max_file_chars=5), FILES),
        (Limits(max_files=0), FILES),
    ],
)
def test_size_limits(limits: Limits, files: dict[str, str]) -> None:
    read: Callable[[str], str | None] = files.get
    result = apply_patch(GOOD_UTIL, read, limits=limits)
    assert [f.reason for f in result.failures] == [FailureReason.TOO_LARGE]


def test_reject_unless_ok_raises_with_the_message() -> None:
    with pytest.raises(PatchRefused, match="NOT applied"):
        reject_unless_ok(apply_patch("nothing", FILES.get))
    assert reject_unless_ok(apply_patch(GOOD_UTIL, FILES.get)).ok


def test_the_same_hunk_twice_is_an_overlap() -> None:
    hunk = "@@ -1,3 +1,3 @@\n A = 1\n-B = 2\n+B = 20\n C = 3\n"
    result = apply_patch(_diff("src/util.py", hunk + hunk), FILES.get)
    assert [(f.hunk_index, f.reason) for f in result.failures] == [(1, FailureReason.OVERLAP)]


def test_header_with_inconsistent_starts_is_no_evidence() -> None:
    # counts agree, but +9 cannot follow -4 in a first hunk: the numbers are made up
    diff = _diff("dup.py", "@@ -4,2 +9,2 @@\n x = 1\n-y = 2\n+y = 3\n")
    result = apply_patch(diff, FILES.get)
    assert [f.reason for f in result.failures] == [FailureReason.AMBIGUOUS]
    sound = _diff("dup.py", "@@ -4,2 +4,2 @@\n x = 1\n-y = 2\n+y = 3\n")
    assert apply_patch(sound, FILES.get).changes[0].new_text == "x = 1\ny = 2\n\nx = 1\ny = 3\n"
