# ruff: noqa: W293  (blank context lines in the diff fixtures are " ", on purpose)
"""Every tolerance of the parser and matcher, table-driven, with inline fixtures: each diff
below is a way models mangle the same edit, and each must give exactly the edited file."""

from __future__ import annotations

import pytest

from greenpatch.patch import apply_patch

BASE = """import os


def alpha(x):
    if x:
        return 1
    return 0


def beta(y):
    total = 0
    for i in range(y):
        total += i
    return total


class Gamma:
    def delta(self):
        return "d"

    def epsilon(self):
        return "e"
"""

EDITED = BASE.replace("    return 0\n", "    return -1\n").replace('return "e"', 'return "E"')

CLEAN = """diff --git a/pkg/mod.py b/pkg/mod.py
index 1234567..89abcde 100644
--- a/pkg/mod.py
+++ b/pkg/mod.py
@@ -4,7 +4,7 @@ import os
 def alpha(x):
     if x:
         return 1
-    return 0
+    return -1
 
 
 def beta(y):
@@ -20,4 +20,4 @@ class Gamma:
         return "d"
 
     def epsilon(self):
-        return "e"
+        return "E"
"""

FENCED = """Sure! Here is the change you asked for:

```diff
--- a/pkg/mod.py
+++ b/pkg/mod.py
@@ -4,7 +4,7 @@
 def alpha(x):
     if x:
         return 1
-    return 0
+    return -1
 
 
 def beta(y):
@@ -20,4 +20,4 @@
         return "d"
 
     def epsilon(self):
-        return "e"
+        return "E"
```

This makes alpha return -1 and epsilon return "E".
- note: a bullet after the fence is prose.
"""

NO_PREFIXES = """--- pkg/mod.py
+++ pkg/mod.py
@@ -4,7 +4,7 @@
 def alpha(x):
     if x:
         return 1
-    return 0
+    return -1
 
 
 def beta(y):
@@ -20,4 +20,4 @@
         return "d"
 
     def epsilon(self):
-        return "e"
+        return "E"
"""

WRONG_NUMBERS = """--- a/pkg/mod.py
+++ b/pkg/mod.py
@@ -40,9 +41,2 @@
 def alpha(x):
     if x:
         return 1
-    return 0
+    return -1
 
 
 def beta(y):
@@ -2,4 +7,9 @@
         return "d"
 
     def epsilon(self):
-        return "e"
+        return "E"
"""

BARE_HEADERS = """--- a/pkg/mod.py
+++ b/pkg/mod.py
@@ ... @@
 def alpha(x):
     if x:
         return 1
-    return 0
+    return -1
 
 
 def beta(y):
@@
         return "d"
 
     def epsilon(self):
-        return "e"
+        return "E"
"""

MISSING_COUNTS = """--- a/pkg/mod.py
+++ b/pkg/mod.py
@@ -4 +4 @@
 def alpha(x):
     if x:
         return 1
-    return 0
+    return -1
 
 
 def beta(y):
@@ -20 +20 @@
         return "d"
 
     def epsilon(self):
-        return "e"
+        return "E"
"""

BLANKS_LOST_SPACE = CLEAN.replace("\n \n \n def beta", "\n\n\n def beta").replace(
    '"d"\n \n', '"d"\n\n'
)

TRAILING_WS = CLEAN.replace(" def alpha(x):\n", " def alpha(x):   \n").replace(
    "-    return 0\n", "-    return 0\t\n"
)

CRLF_PATCH = CLEAN.replace("\n", "\r\n")

INDENT_SHIFTED = """--- a/pkg/mod.py
+++ b/pkg/mod.py
@@ -20,4 +20,4 @@
     return "d"

 def epsilon(self):
-    return "e"
+    return "E"
@@ -4,7 +4,7 @@
 def alpha(x):
     if x:
         return 1
-    return 0
+    return -1
"""

STALE_OUTER_CONTEXT = """--- a/pkg/mod.py
+++ b/pkg/mod.py
@@ -3,8 +3,8 @@
 # a comment the model imagined
 def alpha(x):
     if x:
         return 1
-    return 0
+    return -1
 
 
 def beta(y):  # and another one
@@ -20,4 +20,4 @@
         return "d"
 
     def epsilon(self):
-        return "e"
+        return "E"
"""

CONTEXT_LOST_SPACE = """--- a/pkg/mod.py
+++ b/pkg/mod.py
@@ -4,7 +4,7 @@
 def alpha(x):
     if x:
         return 1
-    return 0
+    return -1
@@ -15,8 +15,8 @@
 
 
class Gamma:
     def delta(self):
         return "d"
 
     def epsilon(self):
-        return "e"
+        return "E"
"""

TWO_SECTIONS_SAME_FILE = """--- a/pkg/mod.py
+++ b/pkg/mod.py
@@ -4,7 +4,7 @@
 def alpha(x):
     if x:
         return 1
-    return 0
+    return -1
--- a/pkg/mod.py
+++ b/pkg/mod.py
@@ -20,4 +20,4 @@
     def epsilon(self):
-        return "e"
+        return "E"
"""

NO_HUNK_HEADER = """--- a/pkg/mod.py
+++ b/pkg/mod.py
 def alpha(x):
     if x:
         return 1
-    return 0
+    return -1
@@ -20,4 +20,4 @@
     def epsilon(self):
-        return "e"
+        return "E"
"""

TIMESTAMPS = """--- pkg/mod.py\t2024-01-01 10:00:00.000000000 +0000
+++ pkg/mod.py\t2024-01-02 10:00:00.000000000 +0000
@@ -4,7 +4,7 @@
 def alpha(x):
     if x:
         return 1
-    return 0
+    return -1
@@ -20,4 +20,4 @@
     def epsilon(self):
-        return "e"
+        return "E"
"""

CASES = {
    "clean git diff": CLEAN,
    "code fence with prose": FENCED,
    "no diff --git, no a/ b/": NO_PREFIXES,
    "wrong line numbers and counts": WRONG_NUMBERS,
    "bare @@ headers": BARE_HEADERS,
    "missing counts": MISSING_COUNTS,
    "blank context without space": BLANKS_LOST_SPACE,
    "trailing whitespace drift": TRAILING_WS,
    "CRLF patch text": CRLF_PATCH,
    "hunks out of order, indentation shifted": INDENT_SHIFTED,
    "stale outer context": STALE_OUTER_CONTEXT,
    "context line lost its space": CONTEXT_LOST_SPACE,
    "two sections for one file": TWO_SECTIONS_SAME_FILE,
    "timestamps in headers": TIMESTAMPS,
    "first hunk without @@ line": NO_HUNK_HEADER,
}


@pytest.mark.parametrize("diff", CASES.values(), ids=list(CASES))
def test_tolerated_variants_give_exactly_the_edit(diff: str) -> None:
    result = apply_patch(diff, {"pkg/mod.py": BASE}.get)
    assert result.ok, result.message_for_model()
    (change,) = result.changes
    assert change.path == "pkg/mod.py"
    assert change.old_text == BASE
    assert change.new_text == EDITED


def test_crlf_file_keeps_its_endings() -> None:
    crlf = BASE.replace("\n", "\r\n")
    result = apply_patch(CLEAN, {"pkg/mod.py": crlf}.get)
    assert result.ok, result.message_for_model()
    assert result.changes[0].new_text == EDITED.replace("\n", "\r\n")


def test_crlf_patch_on_crlf_file() -> None:
    crlf = BASE.replace("\n", "\r\n")
    result = apply_patch(CRLF_PATCH, {"pkg/mod.py": crlf}.get)
    assert result.ok
    assert result.changes[0].new_text == EDITED.replace("\n", "\r\n")


def test_mixed_endings_untouched_lines_keep_theirs() -> None:
    text = "a\r\nb\nc\r\nd\n"
    diff = "--- a/f\n+++ b/f\n@@ -2,2 +2,2 @@\n b\n-c\n+C\n"
    result = apply_patch(diff, {"f": text}.get)
    assert result.ok
    assert result.changes[0].new_text == "a\r\nb\nC\nd\n"


@pytest.mark.parametrize(
    ("old", "diff", "new"),
    [
        pytest.param(
            "a\nb",
            "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+B\n",
            "a\nB\n",
            id="gains final newline",
        ),
        pytest.param(
            "a\nb\n",
            "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n\\ No newline at end of file\n",
            "a\nB",
            id="loses final newline",
        ),
        pytest.param(
            "a\nb",
            "--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n a\n b\n+c\n",
            "a\nb\nc\n",
            id="marker forgotten, appended after unterminated line",
        ),
        pytest.param(
            "a\nb",
            "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-a\n+A\n b\n\\ No newline at end of file\n",
            "A\nb",
            id="unterminated context line stays so",
        ),
    ],
)
def test_no_newline_at_end_of_file(old: str, diff: str, new: str) -> None:
    result = apply_patch(diff, {"f": old}.get)
    assert result.ok, result.message_for_model()
    assert result.changes[0].new_text == new


def test_new_deleted_and_renamed_files_in_one_diff() -> None:
    files = {"old.py": "x = 1\ny = 2\n", "gone.py": "bye\n", "keep.py": "k\n"}
    diff = """diff --git a/old.py b/new.py
similarity index 80%
rename from old.py
rename to new.py
--- a/old.py
+++ b/new.py
@@ -1,2 +1,2 @@
 x = 1
-y = 2
+y = 3
diff --git a/gone.py b/gone.py
deleted file mode 100644
--- a/gone.py
+++ /dev/null
@@ -1 +0,0 @@
-bye
diff --git a/made.py b/made.py
new file mode 100644
--- /dev/null
+++ b/made.py
@@ -0,0 +1,2 @@
+hello
+world
"""
    result = apply_patch(diff, files.get)
    assert result.ok, result.message_for_model()
    by_path = {c.path: c for c in result.changes}
    assert by_path["new.py"].old_path == "old.py"
    assert by_path["new.py"].new_text == "x = 1\ny = 3\n"
    assert by_path["gone.py"].new_text is None
    assert by_path["made.py"].old_text is None
    assert by_path["made.py"].new_text == "hello\nworld\n"
    assert "old.py" not in by_path
    assert {f.status for f in result.files} == {"renamed", "deleted", "created"}


def test_pure_rename_without_hunks() -> None:
    diff = "diff --git a/a.txt b/b.txt\nsimilarity index 100%\nrename from a.txt\nrename to b.txt\n"
    result = apply_patch(diff, {"a.txt": "same\n"}.get)
    assert result.ok
    (change,) = result.changes
    assert (change.old_path, change.path, change.new_text) == ("a.txt", "b.txt", "same\n")


def test_new_file_written_loosely_without_dev_null() -> None:
    diff = "--- a/new.py\n+++ b/new.py\n@@ -0,0 +1,2 @@\n+a = 1\n+b = 2\n"
    result = apply_patch(diff, {}.get)
    assert result.ok
    assert result.changes[0].new_text == "a = 1\nb = 2\n"


def test_repeated_context_is_placed_by_a_sound_header() -> None:
    text = "x\ny\nz\n" * 3
    diff = "--- a/f\n+++ b/f\n@@ -4,3 +4,3 @@\n x\n-y\n+Y\n z\n"
    result = apply_patch(diff, {"f": text}.get)
    assert result.ok
    assert result.changes[0].new_text == "x\ny\nz\nx\nY\nz\nx\ny\nz\n"
    assert result.files[0].hunks[0].line == 4


def test_repeated_context_is_placed_by_hunk_order() -> None:
    text = "head\nx\ny\nz\nmid\nx\ny\nz\n"
    diff = "--- a/f\n+++ b/f\n@@ ... @@\n-mid\n+MID\n@@ ... @@\n x\n-y\n+Y\n z\n"
    result = apply_patch(diff, {"f": text}.get)
    assert result.ok, result.message_for_model()
    assert result.changes[0].new_text == "head\nx\ny\nz\nMID\nx\nY\nz\n"


def test_strategy_is_reported() -> None:
    result = apply_patch(TRAILING_WS, {"pkg/mod.py": BASE}.get)
    assert [h.strategy for h in result.files[0].hunks] == ["whitespace", "exact"]


def test_context_line_that_lost_its_space_is_context() -> None:
    result = apply_patch(CONTEXT_LOST_SPACE, {"pkg/mod.py": BASE}.get)
    assert result.files[0].hunks[1].strategy == "exact"


def test_repeated_context_is_placed_between_its_neighbours() -> None:
    # hunk 1 is ambiguous alone; hunk 2 is unique and comes after it in the file
    text = "x\ny\nz\nmid\nlast\nx\ny\nz\n"
    diff = "--- a/f\n+++ b/f\n@@ ... @@\n x\n-y\n+Y\n z\n@@ ... @@\n-mid\n+MID\n last\n"
    result = apply_patch(diff, {"f": text}.get)
    assert result.ok, result.message_for_model()
    assert result.changes[0].new_text == "x\nY\nz\nMID\nlast\nx\ny\nz\n"


def test_repeated_context_is_placed_by_a_neighbours_offset() -> None:
    # "a b c" is at lines 1 and 5, both before the unique hunk, so order does not decide;
    # both headers are off by +1, and the unique hunk shows that offset
    text = "a\nb\nc\nq\na\nb\nc\nr\nunique\n"
    diff = (
        "--- a/f\n+++ b/f\n@@ -6,3 +6,3 @@\n a\n-b\n+B\n c\n@@ -10,1 +10,1 @@\n-unique\n+UNIQUE\n"
    )
    result = apply_patch(diff, {"f": text}.get)
    assert result.ok, result.message_for_model()
    assert result.changes[0].new_text == "a\nb\nc\nq\na\nB\nc\nr\nUNIQUE\n"
    inconsistent = diff.replace("@@ -10,1 +10,1 @@", "@@ -12,1 +12,1 @@")
    assert not apply_patch(inconsistent, {"f": text}.get).ok


def test_header_without_counts_is_a_usable_hint() -> None:
    text = "x\ny\nz\n" * 3
    diff = "--- a/f\n+++ b/f\n@@ -7 +7 @@\n x\n-y\n+Y\n z\n"
    result = apply_patch(diff, {"f": text}.get)
    assert result.ok
    assert result.changes[0].new_text == "x\ny\nz\nx\ny\nz\nx\nY\nz\n"


def test_removed_and_added_lines_that_look_like_file_headers() -> None:
    text = "select 1;\n-- old comment\nselect 2;\n"
    diff = (
        "--- a/q.sql\n+++ b/q.sql\n@@ -1,3 +1,3 @@\n select 1;\n"
        "--- old comment\n+++ new comment\n select 2;\n"
    )
    result = apply_patch(diff, {"q.sql": text}.get)
    assert result.ok, result.message_for_model()
    assert result.changes[0].new_text == "select 1;\n++ new comment\nselect 2;\n"


def test_bare_hunks_go_to_the_default_path() -> None:
    diff = (
        "```diff\n@@ -20,4 +20,4 @@\n     def epsilon(self):\n"
        '-        return "e"\n+        return "E"\n```'
    )
    assert not apply_patch(diff, {"pkg/mod.py": BASE}.get).ok
    result = apply_patch(diff, {"pkg/mod.py": BASE}.get, default_path="pkg/mod.py")
    assert result.ok
    assert result.changes[0].new_text == BASE.replace('return "e"', 'return "E"')


@pytest.mark.parametrize(
    ("old_header", "new_header"),
    [
        ("--- pkg/mod.py (original)", "+++ pkg/mod.py (modified)"),
        ("--- a/pkg/mod.py", "+++ b/pkg/mod_fixed.py"),
        ("--- a/pkg/mod_orig.py", "+++ b/pkg/mod.py"),
    ],
)
def test_labelled_or_mismatched_names_patch_the_existing_file(
    old_header: str, new_header: str
) -> None:
    diff = f"{old_header}\n{new_header}\n@@ -20,4 +20,4 @@\n     def epsilon(self):\n"
    diff += '-        return "e"\n+        return "E"\n'
    result = apply_patch(diff, {"pkg/mod.py": BASE}.get)
    assert result.ok, result.message_for_model()
    (change,) = result.changes
    assert (change.path, change.old_path) == ("pkg/mod.py", None)
