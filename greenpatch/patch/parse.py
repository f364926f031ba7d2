"""Tolerant parsing of the unified diffs models write.

Accepted beyond strict unified diff: code fences and prose around the diff; missing
`diff --git`/`index` lines and `a/` `b/` prefixes; hunk headers with wrong, missing or bare
numbers (numbers are only hints, counts are never trusted to end a hunk); blank context lines
that lost their leading space; a non-blank context line without its space when it sits between
hunk lines; CRLF patch text. What cannot be read unambiguously raises `DiffSyntaxError`, so a
half-understood diff is refused rather than half applied."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from greenpatch.patch.model import FilePatch, Hunk, HunkLine, LineKind

_FENCE = re.compile(r"^(```|~~~)")
_HUNK_HEADER = re.compile(
    r"^@@+\s*(?:-(?P<os>\d+)(?:,(?P<oc>\d+))?)?\s*(?:\+(?P<ns>\d+)(?:,(?P<nc>\d+))?)?\s*@@+(?P<sec>.*)$"
)
_GIT_HEADER = re.compile(r"^diff --git (?P<a>\"?a/.+?\"?) (?P<b>\"?b/.+\"?)$")
# "--- foo.py (original)" / "+++ foo.py (modified)", as some models label the two sides
_LABEL = re.compile(r"\s+\((?:original|modified|old|new|before|after|updated)\)$", re.I)
_BINARY = ("GIT binary patch", "Binary files ", "Binary patch")
_IGNORED_META = (
    "index ",
    "similarity index",
    "dissimilarity index",
    "old mode",
    "new mode",
    "Index: ",
    "====",
    "diff -",
)


class DiffSyntaxError(ValueError):
    """The text contains diff-like material that cannot be read unambiguously."""


@dataclass
class _FileState:
    """A file section being read."""

    old_path: str | None = None
    new_path: str | None = None
    git_old: str | None = None
    git_new: str | None = None
    created: bool = False
    deleted: bool = False
    rename_from: str | None = None
    rename_to: str | None = None
    binary: bool = False
    seen_paths: bool = False
    hunks: list[Hunk] = field(default_factory=list)


def diff_lines(text: str) -> list[str]:
    """The lines of the diff: the content of fenced blocks that look like diffs when the text
    has fences, else every line. Trailing carriage returns are removed."""
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()  # the text's final newline ends the last line; it is not an empty line
    if not any(_FENCE.match(ln) for ln in lines):
        return lines
    out: list[str] = []
    block: list[str] | None = None
    for ln in lines:
        if _FENCE.match(ln):
            if block is None:
                block = []
                continue
            if _looks_like_diff(block):
                out.extend(block)
                out.append("")  # keep blocks apart
            block = None
        elif block is not None:
            block.append(ln)
    if block is not None and _looks_like_diff(block):  # unclosed fence at the end
        out.extend(block)
    return out


def _looks_like_diff(block: list[str]) -> bool:
    return any(ln.startswith(("@@", "--- ", "+++ ", "diff --git ")) for ln in block)


def parse_diff(text: str, default_path: str | None = None) -> list[FilePatch]:
    """Parse `text` into one `FilePatch` per file section, in order. Hunks before any file
    header belong to `default_path` when one is given (else they are a syntax error)."""
    return _Parser(diff_lines(text), default_path).run()


def clean_path(raw: str) -> str | None:
    """A header path without timestamp, quotes or trailing blanks; None for /dev/null."""
    path = raw.split("\t", 1)[0].strip()
    if len(path) >= 2 and path[0] == path[-1] == '"':
        path = path[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
        path = path.encode("latin-1", "replace").decode("utf-8", "replace")
    path = re.sub(r"\s+\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?( [+-]\d{4})?$", "", path)
    path = _LABEL.sub("", path)
    if path in ("/dev/null", "dev/null", "a/dev/null", "b/dev/null"):
        return None
    return path


class _Parser:
    """A single pass over the diff lines."""

    def __init__(self, lines: list[str], default_path: str | None = None) -> None:
        self.lines = lines
        self.default_path = default_path
        self.i = 0
        self.files: list[FilePatch] = []
        self.cur: _FileState | None = None

    def run(self) -> list[FilePatch]:
        while self.i < len(self.lines):
            self._step(self.lines[self.i])
        self._close()
        return self.files

    def _peek(self, k: int) -> str | None:
        j = self.i + k
        return self.lines[j] if j < len(self.lines) else None

    def _step(self, ln: str) -> None:
        nxt = self._peek(1) or ""
        if ln.startswith("diff --git "):
            self._open()
            self._git_header(ln)
        elif ln.startswith("--- ") and nxt.startswith("+++ "):
            if self.cur is None or self.cur.seen_paths or self.cur.hunks:
                self._open()
            assert self.cur is not None
            self.cur.old_path = clean_path(ln[4:])
            self.cur.new_path = clean_path(nxt[4:])
            self.cur.seen_paths = True
            self.i += 1
        elif ln.startswith("@@"):
            self.i += 1
            self._hunk(ln)
            return
        elif self._headerless_hunk(ln):
            self._hunk("")
            return
        else:
            self._meta(ln)
        self.i += 1

    def _meta(self, ln: str) -> None:
        cur = self.cur
        if cur is None:
            return  # prose before the diff
        if ln.startswith("new file mode"):
            cur.created = True
        elif ln.startswith("deleted file mode"):
            cur.deleted = True
        elif ln.startswith("rename from "):
            cur.rename_from = clean_path(ln[len("rename from ") :])
        elif ln.startswith("rename to "):
            cur.rename_to = clean_path(ln[len("rename to ") :])
        elif ln.startswith(("copy from ", "copy to ")):
            raise DiffSyntaxError(f"copies are not supported: {ln!r}")
        elif ln.startswith(_BINARY):
            cur.binary = True
        elif ln.startswith(_IGNORED_META) or not ln.strip():
            return
        elif cur.hunks and ln[:1] in ("+", "-", " "):
            raise DiffSyntaxError(f"diff line outside any hunk: {ln!r}")

    def _git_header(self, ln: str) -> None:
        assert self.cur is not None
        m = _GIT_HEADER.match(ln)
        if m:
            self.cur.git_old, self.cur.git_new = clean_path(m["a"]), clean_path(m["b"])
            return
        rest = ln[len("diff --git ") :].split(" ")
        half = len(rest) // 2
        if len(rest) % 2 == 0 and rest[:half] == rest[half:]:
            self.cur.git_old = self.cur.git_new = " ".join(rest[:half])

    def _hunk(self, header: str) -> None:
        if self.cur is None and self.default_path is not None:
            self.cur = _FileState(old_path=self.default_path, new_path=self.default_path)
            self.cur.seen_paths = True
        if self.cur is None or not (self.cur.seen_paths or self.cur.git_new):
            raise DiffSyntaxError(f"hunk without a file header (--- / +++): {header!r}")
        m = _HUNK_HEADER.match(header)
        body = self._hunk_body(_header_counts(m))
        creating = self.cur.seen_paths and self.cur.old_path is None
        hunk = _make_hunk(body, m, creating)
        if hunk.lines:
            self.cur.hunks.append(hunk)

    def _headerless_hunk(self, ln: str) -> bool:
        """Diff lines right after the +++ line, with no @@ line: a hunk without header."""
        cur = self.cur
        return (
            cur is not None
            and cur.seen_paths
            and not cur.hunks
            and self.i > 0
            and self.lines[self.i - 1].startswith("+++ ")
            and ln[:1] in (" ", "+", "-")
        )

    def _hunk_body(self, counts: tuple[int, int] | None) -> list[str]:
        old_left, new_left = counts or (0, 0)
        body: list[str] = []
        while self.i < len(self.lines):
            ln = self.lines[self.i]
            if _is_boundary(ln, self._peek(1)) and not self._removed_dashes(old_left, new_left):
                break
            if ln == "" or ln[0] in " +-\\":
                body.append(ln)
                old_left -= ln[:1] in ("", " ", "-")
                new_left -= ln[:1] in ("", " ", "+")
            elif body and body[-1] != "" and self._next_is_body():
                body.append(" " + ln)  # a context line that lost its leading space
            else:
                break
            self.i += 1
        return body

    def _removed_dashes(self, old_left: int, new_left: int) -> bool:
        """A removed "-- x" line followed by an added "++ y" line looks like a file header;
        it is body when the header's counts still expect both and no hunk header follows."""
        ln, after = self.lines[self.i], self._peek(2)
        return (
            ln.startswith("--- ")
            and old_left > 0
            and new_left > 0
            and not (after is not None and after.startswith("@@"))
        )

    def _next_is_body(self) -> bool:
        nxt = self._peek(1)
        return nxt is not None and not _is_boundary(nxt, self._peek(2)) and nxt[:1] in " +-\\"

    def _open(self) -> None:
        self._close()
        self.cur = _FileState()

    def _close(self) -> None:
        cur, self.cur = self.cur, None
        if cur is None:
            return
        old = cur.rename_from or cur.old_path if cur.seen_paths else cur.git_old
        new = cur.rename_to or cur.new_path if cur.seen_paths else cur.git_new
        if cur.rename_from or cur.rename_to:
            old = cur.rename_from or old
            new = cur.rename_to or new
        if cur.created and not cur.hunks:
            old = None
        if cur.deleted and not cur.hunks:
            new = None
        if old is None and new is None:
            if cur.hunks or cur.binary:
                raise DiffSyntaxError("a file section names no path")
            return
        # rename from/to lines carry the bare paths, never a/ b/
        ab = False if (cur.rename_from or cur.rename_to) else _has_ab(cur)
        self.files.append(
            FilePatch(
                old_path=old,
                new_path=new,
                hunks=tuple(cur.hunks),
                is_rename=bool(cur.rename_from and cur.rename_to),
                is_binary=cur.binary,
                had_ab_prefix=ab,
            )
        )


def _has_ab(cur: _FileState) -> bool:
    if cur.git_old is not None or cur.git_new is not None:
        return True  # git always writes a/ b/ unless told not to
    pair = (cur.old_path, cur.new_path)
    return all(p is None or p.startswith(("a/", "b/")) for p in pair) and any(pair)


def _is_boundary(ln: str, nxt: str | None) -> bool:
    if ln.startswith(("@@", "diff --git ")) or _FENCE.match(ln):
        return True
    return ln.startswith("--- ") and nxt is not None and nxt.startswith("+++ ")


def _header_counts(m: re.Match[str] | None) -> tuple[int, int] | None:
    if m is None or m["os"] is None or m["ns"] is None:
        return None
    return int(m["oc"] or 1), int(m["nc"] or 1)


def _make_hunk(body: list[str], m: re.Match[str] | None, creating: bool) -> Hunk:
    """Build a hunk from its raw body lines and the header match."""

    def num(name: str) -> int | None:
        return int(m[name]) if m and m[name] is not None else None

    old_start, new_start = num("os"), num("ns")
    old_count = num("oc") if num("oc") is not None else (1 if old_start is not None else None)
    new_count = num("nc") if num("nc") is not None else (1 if new_start is not None else None)
    body = _trim_trailing_blanks(body, old_count, new_count, rescue=not creating)
    return Hunk(
        lines=tuple(_body_lines(body)),
        old_start=old_start,
        old_count=old_count,
        new_start=new_start,
        new_count=new_count,
        section=(m["sec"].strip() if m else ""),
        has_counts=num("oc") is not None or num("nc") is not None,
    )


def _body_lines(body: list[str]) -> list[HunkLine]:
    out: list[HunkLine] = []
    for raw in body:
        if raw.startswith("\\"):
            if out:
                out[-1] = HunkLine(out[-1].kind, out[-1].text, no_eol=True)
            continue
        kind = LineKind(raw[0]) if raw else LineKind.CONTEXT
        out.append(HunkLine(kind, raw[1:]))
    return out


def _trim_trailing_blanks(
    body: list[str], old_count: int | None, new_count: int | None, *, rescue: bool
) -> list[str]:
    """Empty lines (not even the context space) at the end of a hunk may be the blank line
    that separates the diff from what follows, or blank context that lost its space. Keep as
    many as the header's counts ask for, or all when the hunk has no other old-side line."""
    n_blank = len(body) - len(_rstrip_empty(body))
    if not n_blank:
        return body
    core = body[: len(body) - n_blank]
    old_have = sum(1 for ln in core if ln[:1] in (" ", "-", ""))
    if not old_have and rescue and old_count != 0:
        return body  # without them the hunk could not be placed at all
    keep = 0
    if old_count is not None and new_count is not None:
        new_have = sum(1 for ln in core if ln[:1] in (" ", "+", ""))
        need_old, need_new = old_count - old_have, new_count - new_have
        if need_old == need_new and 0 < need_old <= n_blank:
            keep = need_old
    return body[: len(core) + keep]


def _rstrip_empty(body: list[str]) -> list[str]:
    end = len(body)
    while end and body[end - 1] == "":
        end -= 1
    return body[:end]
