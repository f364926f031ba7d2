"""File text as lines with their own line endings, so CRLF, mixed endings and a missing final
newline survive an edit byte for byte wherever the edit does not touch them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Line:
    """One line: `text` without its ending, `eol` one of "\\n", "\\r\\n" or "" (last line)."""

    text: str
    eol: str


def split_lines(text: str) -> list[Line]:
    """Split on "\\n" only (never on the other characters str.splitlines knows)."""
    if not text:
        return []
    out: list[Line] = []
    parts = text.split("\n")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if last and part == "":
            break
        if last:
            out.append(Line(part, ""))
        elif part.endswith("\r"):
            out.append(Line(part[:-1], "\r\n"))
        else:
            out.append(Line(part, "\n"))
    return out


def join_lines(lines: list[Line]) -> str:
    """The inverse of `split_lines`."""
    return "".join(ln.text + ln.eol for ln in lines)


def dominant_eol(lines: list[Line]) -> str:
    """The ending new lines should get: CRLF when most lines use it, else LF."""
    crlf = sum(1 for ln in lines if ln.eol == "\r\n")
    lf = sum(1 for ln in lines if ln.eol == "\n")
    return "\r\n" if crlf > lf else "\n"


def fix_inner_eols(lines: list[Line], eol: str) -> list[Line]:
    """A line without ending can only be the last one; give any other one `eol`."""
    return [
        Line(ln.text, eol) if ln.eol == "" and i < len(lines) - 1 else ln
        for i, ln in enumerate(lines)
    ]
