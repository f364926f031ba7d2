"""Typed data of the patch room: what a diff says (`FilePatch`, `Hunk`), what applying it
would change (`FileChange`), and why it was refused (`HunkFailure`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class LineKind(StrEnum):
    """The role of one line inside a hunk body."""

    CONTEXT = " "
    DELETE = "-"
    ADD = "+"


@dataclass(frozen=True, slots=True)
class HunkLine:
    """One body line of a hunk. `text` has no prefix and no line ending.
    `no_eol` is set when a `\\ No newline at end of file` marker followed it."""

    kind: LineKind
    text: str
    no_eol: bool = False


@dataclass(frozen=True, slots=True)
class Hunk:
    """One hunk as written. `old_start` is the 1-based hint from the header (None when the
    header was bare or missing); counts are what the header claimed (1 when a start was given
    without a count, as unified diff abbreviates; `has_counts` says whether any was written)."""

    lines: tuple[HunkLine, ...]
    old_start: int | None = None
    old_count: int | None = None
    new_start: int | None = None
    new_count: int | None = None
    section: str = ""
    has_counts: bool = True

    @property
    def before(self) -> list[str]:
        """The old-side lines: context and deletions, in order."""
        return [ln.text for ln in self.lines if ln.kind is not LineKind.ADD]

    @property
    def after(self) -> list[str]:
        """The new-side lines: context and additions, in order."""
        return [ln.text for ln in self.lines if ln.kind is not LineKind.DELETE]

    @property
    def counts_match(self) -> bool:
        """True when the header's counts agree with the body (a sign the header is sound)."""
        return self.old_count == len(self.before) and self.new_count == len(self.after)


@dataclass(frozen=True, slots=True)
class FilePatch:
    """Everything one diff says about one file. Paths are as written (prefixes removed);
    `old_path` None means the file is created, `new_path` None means it is deleted."""

    old_path: str | None
    new_path: str | None
    hunks: tuple[Hunk, ...]
    is_rename: bool = False
    is_binary: bool = False
    had_ab_prefix: bool = False

    @property
    def display_path(self) -> str:
        """The path to name in reports."""
        return self.new_path or self.old_path or "?"


@dataclass(frozen=True, slots=True)
class FileChange:
    """What will change in one file. `old_text` None: created; `new_text` None: deleted;
    `old_path` set: renamed from there to `path`."""

    path: str
    old_text: str | None
    new_text: str | None
    old_path: str | None = None


class FailureReason(StrEnum):
    """Machine-readable reasons a hunk or a file was refused."""

    NO_MATCH = "no_match"
    AMBIGUOUS = "ambiguous"
    OVERLAP = "overlap"
    NO_CONTEXT = "no_context"
    MISSING_FILE = "missing_file"
    FILE_EXISTS = "file_exists"
    UNSAFE_PATH = "unsafe_path"
    BINARY = "binary"
    TOO_LARGE = "too_large"
    PARSE_ERROR = "parse_error"
    EMPTY_PATCH = "empty_patch"


@dataclass(frozen=True, slots=True)
class HunkFailure:
    """Why one hunk (or, with `hunk_index` None, a whole file or patch) was refused.
    `expected` is the old-side text the hunk needed; `closest` the most similar text found,
    starting at 1-based line `closest_line`; `candidates` the 1-based lines of an ambiguity."""

    path: str
    hunk_index: int | None
    reason: FailureReason
    message: str
    expected: str = ""
    closest: str | None = None
    closest_line: int | None = None
    candidates: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class HunkReport:
    """How one hunk was placed: 1-based old-file line and the strategy that found it."""

    index: int
    applied: bool
    line: int | None = None
    strategy: str | None = None


@dataclass(frozen=True, slots=True)
class FileReport:
    """Per-file outcome for reports (`--json`)."""

    path: str
    status: str
    old_path: str | None = None
    hunks: tuple[HunkReport, ...] = ()


@dataclass(frozen=True, slots=True)
class TextEdit:
    """An LSP-shaped text edit: 0-based lines, characters counted in UTF-16 code units."""

    start_line: int
    start_character: int
    end_line: int
    end_character: int
    new_text: str


@dataclass(frozen=True, slots=True)
class HunkView:
    """One independently acceptable hunk of a change, for per-hunk review."""

    index: int
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    text: str

    @property
    def header(self) -> str:
        """The hunk's `@@ -a,b +c,d @@` line."""
        return f"@@ -{self.old_start},{self.old_count} +{self.new_start},{self.new_count} @@"


@dataclass(frozen=True, slots=True)
class PatchResult:
    """The outcome of applying a patch in memory. All-or-nothing: when `ok` is False,
    `changes` is empty and `failures` says why."""

    ok: bool
    changes: tuple[FileChange, ...] = ()
    failures: tuple[HunkFailure, ...] = ()
    files: tuple[FileReport, ...] = field(default=())
    diff: str = ""

    def message_for_model(self) -> str:
        """What failed and what is close, written for an LLM to fix its edit."""
        if self.ok:
            return "The edit applied cleanly."
        parts = [
            "The edit was NOT applied; no file was changed. Fix these problems and send the "
            "whole edit again:"
        ]
        parts.extend(f"- {f.message}" for f in self.failures)
        return "\n".join(parts)
