"""JUnit XML (pytest's `xunit1` flavour, which keeps file and line) into `TestCase`s."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath

from greenpatch.sandbox.report import Outcome, TestCase

# `path/to/file.py:12: in test_x` or `path/to/file.py:12: AssertionError` in a traceback.
_FRAME = re.compile(r"^(?P<file>[^\s:][^:\n]*\.py):(?P<line>\d+):", re.MULTILINE)
_NOT_PROJECT = ("site-packages", "dist-packages", "/.venv/", "/venv/", "/lib/python")
OUTPUT_CAP = 8000


class JUnitError(ValueError):
    """The XML could not be read."""


def parse_junit(xml_text: str, workspace: Path) -> tuple[TestCase, ...]:
    """Every `<testcase>` in the report, in order."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise JUnitError(f"unreadable JUnit XML: {exc}") from exc
    return tuple(_case(el, workspace) for el in root.iter("testcase"))


def _case(el: ET.Element, workspace: Path) -> TestCase:
    file_attr = el.get("file") or ""
    name = el.get("name", "")
    classname = el.get("classname", "")
    outcome, message, details = _outcome(el)
    frame = project_frame(details, workspace)
    line_attr = el.get("line")
    if frame is None and file_attr:
        # The test's own definition (pytest's line attribute is 0-based).
        frame = (file_attr, int(line_attr) + 1) if line_attr and line_attr.isdigit() else None
    output = "\n".join(
        part for part in (details, _text(el, "system-out"), _text(el, "system-err")) if part
    )
    return TestCase(
        nodeid=_nodeid(file_attr, classname, name),
        outcome=outcome,
        duration_s=float(el.get("time") or 0.0),
        message=message,
        file=frame[0] if frame else (file_attr or None),
        line=frame[1] if frame else None,
        output=output[-OUTPUT_CAP:],
    )


def _outcome(el: ET.Element) -> tuple[Outcome, str, str]:
    for tag in ("failure", "error"):
        child = el.find(tag)
        if child is not None:
            outcome: Outcome = "failed" if tag == "failure" else "error"
            return outcome, _first_line(child.get("message", "")), child.text or ""
    skipped = el.find("skipped")
    if skipped is not None:
        kind: Outcome = "xfailed" if skipped.get("type") == "pytest.xfail" else "skipped"
        return kind, _first_line(skipped.get("message", "")), skipped.text or ""
    return "passed", "", ""


def _nodeid(file_attr: str, classname: str, name: str) -> str:
    if not file_attr:
        # A collection error: pytest names the module in dotted form.
        return (classname.replace(".", "/") + ".py") if not name else f"{classname}::{name}"
    module = PurePosixPath(file_attr).with_suffix("").as_posix().replace("/", ".")
    rest = classname[len(module) + 1 :] if classname.startswith(module + ".") else ""
    parts = [file_attr, *(p for p in rest.split(".") if p), name]
    return "::".join(parts)


def project_frame(traceback: str, workspace: Path) -> tuple[str, int] | None:
    """The deepest traceback frame in the project's own files, workspace-relative."""
    found = None
    for match in _FRAME.finditer(traceback):
        rel = _relative(match.group("file"), workspace)
        if rel is not None:
            found = (rel, int(match.group("line")))
    return found


def _relative(path: str, workspace: Path) -> str | None:
    if any(marker in f"/{path}" for marker in _NOT_PROJECT):
        return None
    candidate = Path(path)
    if candidate.is_absolute():
        if not candidate.is_relative_to(workspace):
            return None
        candidate = candidate.relative_to(workspace)
    if ".." in candidate.parts:
        return None
    return candidate.as_posix()


def _text(el: ET.Element, tag: str) -> str:
    child = el.find(tag)
    return (child.text or "").strip() if child is not None else ""


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:500] if text.strip() else ""
