"""The ways models mangle unified diffs, as deterministic functions of a clean diff and a seeded
random source. They are the catalogue of what the parser claims to tolerate: the property
tests and `benchmarks/patch_apply.py` run every clean diff through each of them.

`wrong_context` is the odd one out: it changes a line the hunk needs (next to a change), so
the result must be refused."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")


@dataclass
class _Hunk:
    old_start: int
    new_start: int
    section: str
    body: list[str]

    def counts(self) -> tuple[int, int]:
        # "" is a blank context line that lost its space
        old = sum(1 for ln in self.body if ln[:1] in (" ", "-", ""))
        new = sum(1 for ln in self.body if ln[:1] in (" ", "+", ""))
        return old, new

    def header(self) -> str:
        old, new = self.counts()
        return f"@@ -{self.old_start},{old} +{self.new_start},{new} @@{self.section}"


Segment = str | _Hunk


def segments(diff: str) -> list[Segment]:
    """A clean diff as meta lines and hunks (hunk ends found from the header's counts)."""
    lines = diff.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out: list[Segment] = []
    i = 0
    while i < len(lines):
        m = _HEADER.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        old_left = int(m[2]) if m[2] is not None else 1
        new_left = int(m[4]) if m[4] is not None else 1
        hunk = _Hunk(int(m[1]), int(m[3]), m[5], [])
        i += 1
        while i < len(lines) and (old_left > 0 or new_left > 0 or lines[i].startswith("\\")):
            ln = lines[i]
            hunk.body.append(ln)
            old_left -= ln[:1] in (" ", "-")
            new_left -= ln[:1] in (" ", "+")
            i += 1
        out.append(hunk)
    return out


def render(segs: list[Segment], header: Callable[[_Hunk], str] | None = None) -> str:
    """Segments back to diff text; `header` rewrites hunk headers."""
    out: list[str] = []
    for seg in segs:
        if isinstance(seg, str):
            out.append(seg)
        else:
            out.append(header(seg) if header else seg.header())
            out.extend(seg.body)
    return "\n".join(out) + "\n"


def fenced_prose(diff: str, rng: random.Random) -> str:
    """Prose, a ```diff fence, the diff, the closing fence, more prose (with a bullet list)."""
    intro = rng.choice(
        ["Here is the fix:", "Sure! Apply this patch:", "The change below fixes it."]
    )
    return f"{intro}\n\n```diff\n{diff}```\n\nThis should fix the issue.\n- it keeps the API\n"


def no_git_headers(diff: str, rng: random.Random) -> str:
    """Drop `diff --git` and `index` lines (kept for sections that have no --- line, such as
    an empty new file or a pure rename: without them nothing would say what happens)."""
    segs = segments(diff)
    keep = _sections_without_paths(segs)
    return render([s for i, s in enumerate(segs) if not _is_git_meta(s) or i in keep])


def _is_git_meta(seg: Segment) -> bool:
    return isinstance(seg, str) and seg.startswith(("diff --git ", "index "))


def _sections_without_paths(segs: list[Segment]) -> set[int]:
    """Indices of the git meta lines of sections that have no `--- ` line."""
    keep: set[int] = set()
    section: list[int] = []
    has_paths = False
    for i, seg in enumerate([*segs, "diff --git "]):
        if isinstance(seg, str) and seg.startswith("diff --git "):
            if section and not has_paths:
                keep.update(section)
            section, has_paths = [], False
        if isinstance(seg, str) and _is_git_meta(seg):
            section.append(i)
        elif isinstance(seg, str) and seg.startswith("--- "):
            has_paths = True
    return keep


def no_ab_prefix(diff: str, rng: random.Random) -> str:
    """Drop git headers and the a/ b/ prefixes of --- and +++ lines."""
    out: list[Segment] = []
    segs = segments(diff)
    keep = _sections_without_paths(segs)
    for i, seg in enumerate(segs):
        if _is_git_meta(seg) and i not in keep:
            continue
        if isinstance(seg, str) and seg.startswith(("--- a/", "+++ b/")):
            seg = seg[:4] + seg[6:]
        out.append(seg)
    return render(out)


def wrong_numbers(diff: str, rng: random.Random) -> str:
    """Shift every hunk's line numbers; half the time the counts are wrong too."""

    def header(h: _Hunk) -> str:
        old, new = h.counts()
        if rng.random() < 0.5:
            old, new = max(old + rng.randint(-3, 3), 0), max(new + rng.randint(-3, 3), 0)
        shift = rng.choice([-1, 1]) * rng.randint(3, 40)
        o, n = max(h.old_start + shift, 1), max(h.new_start + shift + rng.randint(-2, 2), 1)
        return f"@@ -{o},{old} +{n},{new} @@{h.section}"

    return render(segments(diff), header)


def bare_headers(diff: str, rng: random.Random) -> str:
    """Every hunk header is a bare `@@ ... @@` (or `@@ @@`)."""
    return render(segments(diff), lambda h: rng.choice(["@@ ... @@", "@@ @@", "@@"]))


def missing_counts(diff: str, rng: random.Random) -> str:
    """Hunk headers with start lines but no counts: `@@ -12 +12 @@`."""
    return render(segments(diff), lambda h: f"@@ -{h.old_start} +{h.new_start} @@")


def missing_hunk_header(diff: str, rng: random.Random) -> str:
    """The first hunk of each file has no `@@` line at all."""
    segs = segments(diff)
    first = True
    out: list[str] = []
    for seg in segs:
        if isinstance(seg, str):
            first = first or seg.startswith("+++ ")
            out.append(seg)
            continue
        if not first:
            out.append(seg.header())
        out.extend(seg.body)
        first = False
    return "\n".join(out) + "\n"


def blank_context_lost(diff: str, rng: random.Random) -> str:
    """Blank context lines lose their leading space."""
    segs = segments(diff)
    for seg in segs:
        if isinstance(seg, _Hunk):
            seg.body = ["" if ln == " " else ln for ln in seg.body]
    return render(segs)


def trailing_ws(diff: str, rng: random.Random) -> str:
    """Trailing whitespace drift on context and removed lines: added, stripped, or a blank
    line turned into indentation only."""
    segs = segments(diff)
    for seg in segs:
        if isinstance(seg, _Hunk):
            seg.body = [_drift(ln, rng) if ln[:1] in (" ", "-") else ln for ln in seg.body]
    return render(segs)


def _drift(ln: str, rng: random.Random) -> str:
    if ln[1:].strip() == "":
        return ln[0] + rng.choice(["", "    ", "\t", "        "])
    if ln != ln.rstrip():
        return ln.rstrip()
    return ln + rng.choice(["", " ", "  ", "\t"]) if rng.random() < 0.5 else ln


def dedented(diff: str, rng: random.Random) -> str:
    """Each hunk loses the indentation all its lines share (code pasted out of its block)."""
    segs = segments(diff)
    for seg in segs:
        if isinstance(seg, _Hunk):
            texts = [ln[1:] for ln in seg.body if ln[:1] in (" ", "-", "+") and ln[1:].strip()]
            common = _common_indent(texts)
            if common:
                seg.body = [
                    ln[0] + ln[1 + len(common) :] if ln[1:].strip() and ln[:1] != "\\" else ln
                    for ln in seg.body
                ]
    return render(segs)


def _common_indent(texts: list[str]) -> str:
    indents = [t[: len(t) - len(t.lstrip())] for t in texts]
    if not indents:
        return ""
    first = indents[0]
    n = 0
    while n < len(first) and all(len(i) > n and i[n] == first[n] for i in indents):
        n += 1
    return first[:n]


def crlf_patch(diff: str, rng: random.Random) -> str:
    """The diff text itself uses CRLF line endings (pasted through Windows)."""
    return diff.replace("\n", "\r\n")


def less_context(diff: str, rng: random.Random) -> str:
    """Only one line of context before and after each hunk's changes."""
    segs = segments(diff)
    for seg in segs:
        if isinstance(seg, _Hunk):
            lead = _run(seg.body)
            trail = _run(seg.body[::-1])
            cut_lead = max(lead - 1, 0)
            cut_trail = max(trail - 1, 0) if lead < len(seg.body) else 0
            seg.body = seg.body[cut_lead : len(seg.body) - cut_trail]
            seg.old_start += cut_lead
            seg.new_start += cut_lead
    return render(segs)


def _run(body: list[str]) -> int:
    n = 0
    for ln in body:
        if not ln.startswith((" ", "\\")):
            break
        n += ln.startswith(" ")
    return n


def combined(diff: str, rng: random.Random) -> str:
    """What a chat model typically sends: several corruptions at once."""
    for fn in (trailing_ws, blank_context_lost, no_ab_prefix, bare_headers, fenced_prose):
        diff = fn(diff, rng)
    return diff


def wrong_context(diff: str, rng: random.Random) -> str:
    """Alter a line the first hunk needs: the context line right before its first change, or
    its first removed line. The result must be refused."""
    segs = segments(diff)
    hunk = next((s for s in segs if isinstance(s, _Hunk) and _needs(s) is not None), None)
    if hunk is None:
        return diff
    k = _needs(hunk)
    assert k is not None
    ln = hunk.body[k]
    hunk.body[k] = ln[0] + _mutate(ln[1:], rng)
    return render(segs)


def _needs(h: _Hunk) -> int | None:
    first = next((i for i, ln in enumerate(h.body) if ln[:1] in ("+", "-")), None)
    if first is None:
        return None
    if first > 0 and h.body[first - 1].startswith(" "):
        return first - 1
    return first if h.body[first].startswith("-") else None


def _mutate(text: str, rng: random.Random) -> str:
    words = list(_WORD.finditer(text))
    if not words:
        return text + "  # ?" if text.strip() else "pass"
    w = rng.choice(words)
    return text[: w.start()] + w.group() + "_old" + text[w.end() :]


CORRUPTIONS: dict[str, Callable[[str, random.Random], str]] = {
    "fenced_prose": fenced_prose,
    "no_git_headers": no_git_headers,
    "no_ab_prefix": no_ab_prefix,
    "wrong_numbers": wrong_numbers,
    "bare_headers": bare_headers,
    "missing_counts": missing_counts,
    "missing_hunk_header": missing_hunk_header,
    "blank_context_lost": blank_context_lost,
    "trailing_ws": trailing_ws,
    "crlf_patch": crlf_patch,
    "dedented": dedented,
    "less_context": less_context,
    "combined": combined,
}
