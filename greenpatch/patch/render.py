"""The normalised diff a user reviews, and per-hunk acceptance.

The diff is computed from the before/after texts (never echoed from the model), so it is
clean: git headers, a/ b/ prefixes, exact counts, three lines of context, endings preserved
and `\\ No newline at end of file` where it applies. `git apply` accepts it."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Sequence

from greenpatch.patch.model import FileChange, HunkView

_CONTEXT = 3
Opcode = tuple[str, int, int, int, int]
_NO_EOL = "\\ No newline at end of file\n"


def _lines(text: str | None) -> list[str]:
    """Lines with their endings; split on "\\n" only."""
    if not text:
        return []
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def _groups(change: FileChange) -> list[list[Opcode]]:
    a, b = _lines(change.old_text), _lines(change.new_text)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return [list(g) for g in matcher.get_grouped_opcodes(_CONTEXT)] if a != b else []


def _range(start: int, count: int) -> str:
    # unified diff convention: an empty range names the line before it
    first = start + 1 if count else start
    return f"{first}" if count == 1 else f"{first},{count}"


def _emit(prefix: str, line: str) -> str:
    return f"{prefix}{line}" if line.endswith("\n") else f"{prefix}{line}\n{_NO_EOL}"


def _render_group(group: Sequence[Opcode], a: list[str], b: list[str]) -> tuple[str, int, int]:
    i1, i2 = group[0][1], group[-1][2]
    j1, j2 = group[0][3], group[-1][4]
    out = [f"@@ -{_range(i1, i2 - i1)} +{_range(j1, j2 - j1)} @@\n"]
    for tag, a1, a2, b1, b2 in group:
        if tag == "equal":
            out.extend(_emit(" ", ln) for ln in a[a1:a2])
            continue
        out.extend(_emit("-", ln) for ln in a[a1:a2])
        out.extend(_emit("+", ln) for ln in b[b1:b2])
    return "".join(out), i1, j1


def _header(change: FileChange) -> list[str]:
    old = change.old_path or change.path
    out = [f"diff --git a/{old} b/{change.path}\n"]
    if change.old_text is None:
        out.append("new file mode 100644\n")
    elif change.new_text is None:
        out.append("deleted file mode 100644\n")
    elif change.old_path and change.old_path != change.path:
        same = change.old_text == change.new_text
        out += ["similarity index 100%\n"] if same else []
        out += [f"rename from {change.old_path}\n", f"rename to {change.path}\n"]
    return out


def file_diff(change: FileChange) -> str:
    """The clean unified diff of one change."""
    a, b = _lines(change.old_text), _lines(change.new_text)
    groups = _groups(change)
    out = _header(change)
    if groups:
        old = change.old_path or change.path
        out.append("--- /dev/null\n" if change.old_text is None else f"--- a/{old}\n")
        out.append("+++ /dev/null\n" if change.new_text is None else f"+++ b/{change.path}\n")
        out.extend(_render_group(g, a, b)[0] for g in groups)
    return "".join(out)


def unified_diff(changes: Sequence[FileChange]) -> str:
    """The normalised, clean unified diff (a/ b/ headers) of `changes`."""
    return "".join(file_diff(c) for c in changes)


def split_hunks(change: FileChange) -> list[HunkView]:
    """The change as independent hunks (three lines of context, as in `unified_diff`)."""
    a, b = _lines(change.old_text), _lines(change.new_text)
    views: list[HunkView] = []
    for k, group in enumerate(_groups(change)):
        text, i1, j1 = _render_group(group, a, b)
        i2, j2 = group[-1][2], group[-1][4]
        old_start = i1 + 1 if i2 > i1 else i1
        new_start = j1 + 1 if j2 > j1 else j1
        views.append(HunkView(k, old_start, i2 - i1, new_start, j2 - j1, text))
    return views


def apply_hunks(change: FileChange, accepted: Collection[int]) -> str | None:
    """The text of `change.path` with only the `accepted` hunks (indices into
    `split_hunks(change)`) applied. None means the file does not exist afterwards: a created
    file with no accepted hunk, or a deleted file with every hunk accepted."""
    groups = _groups(change)
    if change.new_text is None and all(k in accepted for k in range(len(groups))):
        return None
    if change.old_text is None and not any(k in accepted for k in range(len(groups))):
        return None if groups else change.new_text
    a, b = _lines(change.old_text), _lines(change.new_text)
    out: list[str] = []
    pos = 0
    for k, group in enumerate(groups):
        if k not in accepted:
            continue
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                continue
            out.extend(a[pos:a1])
            out.extend(b[b1:b2])
            pos = a2
    out.extend(a[pos:])
    return _join(out)


def _join(lines: list[str]) -> str:
    # A kept line that lost its successor may lack "\n" only if it is still last.
    fixed = [
        ln if ln.endswith("\n") or i == len(lines) - 1 else ln + "\n" for i, ln in enumerate(lines)
    ]
    return "".join(fixed)
