"""Property tests: for a random file and a random edit, the diff difflib writes, after each
corruption models commit, applies to exactly the edited file; a hunk whose context does not
exist is always refused and nothing changes."""

from __future__ import annotations

import difflib
import os
import random
from itertools import pairwise

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from greenpatch.patch import (
    FailureReason,
    FileChange,
    apply_hunks,
    apply_patch,
    apply_text_edits,
    parse_search_replace,
    split_hunks,
    text_edits,
)
from greenpatch.patch.corruptions import CORRUPTIONS, wrong_context
from greenpatch.patch.parse import parse_diff
from greenpatch.patch.resolve import trusted_hint

# No "p", "o", "l", "d": a mutated line ("..._old", "pass") can never exist in a file.
_WORDS = st.text(alphabet="abcefghijk", min_size=1, max_size=8)
_INDENT = st.sampled_from(["", "    ", "        ", "\t"])


@st.composite
def files(draw: st.DrawFn, blank_lines: bool = False) -> list[str]:
    """Unique lines (so any context is unique), optionally with blank lines among them."""
    n = draw(st.integers(min_value=1, max_value=40))
    lines = []
    for i in range(n):
        if blank_lines and draw(st.integers(0, 4)) == 0:
            lines.append("")
        else:
            lines.append(f"{draw(_INDENT)}{draw(_WORDS)}{i}")
    return lines


@st.composite
def edits(draw: st.DrawFn, lines: list[str]) -> list[str]:
    """The file after 1-3 random replacements, insertions or deletions."""
    out = list(lines)
    for k in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, len(out)))
        end = draw(st.integers(start, min(start + 3, len(out))))
        new = [f"{draw(_INDENT)}new{k}x{j}" for j in range(draw(st.integers(0, 3)))]
        out[start:end] = new
    return out


def _diff(old: list[str], new: list[str]) -> str:
    a = [ln + "\n" for ln in old]
    b = [ln + "\n" for ln in new]
    return "".join(difflib.unified_diff(a, b, "a/m.py", "b/m.py"))


def _text(lines: list[str]) -> str:
    return "".join(ln + "\n" for ln in lines)


KINDS = sorted(CORRUPTIONS)
# PROP_N=2000 for a deeper search than CI's default
_N = int(os.environ.get("PROP_N", "60"))
_SETTINGS = settings(
    max_examples=_N,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@_SETTINGS
@given(data=st.data(), kind=st.sampled_from(KINDS), seed=st.integers(0, 2**16), crlf=st.booleans())
def test_corrupted_difflib_diff_applies_exactly(
    data: st.DataObject, kind: str, seed: int, crlf: bool
) -> None:
    old = data.draw(files())
    new = data.draw(edits(old))
    diff = _diff(old, new)
    if not diff:
        return
    eol = "\r\n" if crlf else "\n"
    before, after = _text(old).replace("\n", eol), _text(new).replace("\n", eol)
    corrupted = CORRUPTIONS[kind](diff, random.Random(seed))
    result = apply_patch(corrupted, {"m.py": before}.get)
    assert result.ok, f"{kind}\n{corrupted}\n{result.message_for_model()}"
    (change,) = result.changes
    assert change.new_text == after


@_SETTINGS
@given(data=st.data(), kind=st.sampled_from(KINDS), seed=st.integers(0, 2**16))
def test_with_blank_lines_never_a_wrong_result(data: st.DataObject, kind: str, seed: int) -> None:
    """Blank lines repeat, so a hunk may be ambiguous: refused then, but never misplaced."""
    old = data.draw(files(blank_lines=True))
    new = data.draw(edits(old))
    diff = _diff(old, new)
    if not diff:
        return
    corrupted = CORRUPTIONS[kind](diff, random.Random(seed))
    result = apply_patch(corrupted, {"m.py": _text(old)}.get)
    if result.ok:
        assert result.changes[0].new_text == _text(new)
    else:
        assert {f.reason for f in result.failures} <= {FailureReason.AMBIGUOUS}


@_SETTINGS
@given(data=st.data(), kind=st.sampled_from(KINDS), seed=st.integers(0, 2**16))
def test_context_that_does_not_exist_is_always_refused(
    data: st.DataObject, kind: str, seed: int
) -> None:
    old = data.draw(files(blank_lines=data.draw(st.booleans())))
    new = data.draw(edits(old))
    diff = _diff(old, new)
    rng = random.Random(seed)
    broken = wrong_context(diff, rng)
    if broken == diff:
        return  # only additions at the very start: no line to get wrong
    result = apply_patch(CORRUPTIONS[kind](broken, rng), {"m.py": _text(old)}.get)
    assert not result.ok
    assert result.changes == ()
    assert FailureReason.NO_MATCH in {f.reason for f in result.failures}


def _sound_headers(diff: str) -> bool:
    (fp,) = parse_diff(diff)
    delta, sound = 0, False
    for hunk in fp.hunks:
        sound = sound or trusted_hint(hunk, delta)
        delta += len(hunk.after) - len(hunk.before)
    return sound


@st.composite
def repetitive_files(draw: st.DrawFn) -> list[str]:
    """Files made of few distinct lines: context repeats everywhere."""
    alphabet = st.sampled_from(["a", "b", "    c", "", "}"])
    return draw(st.lists(alphabet, min_size=1, max_size=30))


@_SETTINGS
@given(data=st.data(), kind=st.sampled_from(["pristine", *KINDS]), seed=st.integers(0, 2**16))
def test_repetitive_files_exact_or_refused(data: st.DataObject, kind: str, seed: int) -> None:
    """Whatever the corruption, on files where context repeats: exactly right, or refused."""
    old = data.draw(repetitive_files())
    new = data.draw(edits(old))
    diff = _diff(old, new)
    if not diff:
        return
    if kind != "pristine":
        diff = CORRUPTIONS[kind](diff, random.Random(seed))
    # The documented exception (greenpatch.patch.resolve): wrong numbers in a header that is
    # sound in every checkable way are believed, as git apply and patch believe them.
    assume(kind != "wrong_numbers" or not _sound_headers(diff))
    result = apply_patch(diff, {"m.py": _text(old)}.get)
    if result.ok:
        assert result.changes[0].new_text == _text(new), diff


_TEXT = st.lists(st.sampled_from(["a", "b", " ", "\n", "\r\n", "\r", "é", "😀", "\t"])).map("".join)


@settings(max_examples=5 * _N, deadline=None)
@given(old=_TEXT, new=_TEXT)
def test_text_edits_turn_old_into_new(old: str, new: str) -> None:
    edits = text_edits(old, new)
    assert apply_text_edits(old, edits) == new
    spans = [(e.start_line, e.start_character, e.end_line, e.end_character) for e in edits]
    assert all(a[2:] <= b[:2] for a, b in pairwise(spans))  # ordered, disjoint


@settings(max_examples=3 * _N, deadline=None)
@given(data=st.data())
def test_accepting_hunks_one_by_one_composes(data: st.DataObject) -> None:
    old = data.draw(files(blank_lines=True))
    new = data.draw(edits(old))
    change = FileChange("m.py", _text(old), _text(new))
    hunks = split_hunks(change)
    everything = set(range(len(hunks)))
    assert apply_hunks(change, everything) == _text(new)
    assert apply_hunks(change, set()) == _text(old)
    accepted = data.draw(st.sets(st.sampled_from(sorted(everything)))) if hunks else set()
    partial = apply_hunks(change, accepted)
    assert partial is not None
    # the rejected hunks are exactly what is left between the partial result and the edit
    rest = split_hunks(FileChange("m.py", partial, _text(new)))
    assert len(rest) <= len(hunks) - len(accepted)
    assert apply_hunks(FileChange("m.py", partial, _text(new)), set(range(len(rest)))) == _text(new)


_FRAGMENTS = st.sampled_from(
    [
        "--- a/m.py\n",
        "+++ b/m.py\n",
        "--- /dev/null\n",
        "+++ /dev/null\n",
        "@@ -1,2 +1,3 @@\n",
        "@@ ... @@\n",
        "@@\n",
        "diff --git a/m.py b/m.py\n",
        "new file mode 100644\n",
        "deleted file mode 100644\n",
        "rename from m.py\n",
        "rename to n.py\n",
        "```diff\n",
        "```\n",
        " a\n",
        "-a\n",
        "+b\n",
        "\n",
        "\\ No newline at end of file\n",
        "a\n",
        "<<<<<<< SEARCH\n",
        "=======\n",
        ">>>>>>> REPLACE\n",
        "m.py\n",
        "--- a/../x\n",
        "\r\n",
    ]
)


@settings(max_examples=10 * _N, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=25).map("".join))
def test_any_text_gives_a_result_never_an_exception(text: str) -> None:
    files = {"m.py": "a\na\nb\n", "n.py": "x\n"}
    for result in (apply_patch(text, files.get), parse_search_replace(text, files.get)):
        assert result.ok or (result.failures and not result.changes)
        for change in result.changes:
            assert change.path in files or change.old_text is None
