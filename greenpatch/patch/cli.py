"""`greenpatch apply-patch PATCH_FILE --root DIR [--check] [--json]`: the one place in the
patch room that touches the file system. Exit 0 applied (or would apply, with --check),
1 refused with nothing written, 2 usage error."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from greenpatch.errors import PatchRefused
from greenpatch.patch.engine import apply_patch
from greenpatch.patch.model import FileChange, PatchResult

log = logging.getLogger(__name__)

EXIT_APPLIED, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


def make_reader(root: Path) -> Callable[[str], str | None]:
    """A `read(relpath)` over `root` that refuses paths resolving outside it (symlinks),
    directories, binary and non-UTF-8 files. Text is read as bytes: endings stay intact."""
    real_root = root.resolve()

    def read(rel: str) -> str | None:
        path = _inside(real_root, rel)
        if not path.exists():
            return None
        if not path.is_file():
            raise PatchRefused(f"{rel} is not a regular file")
        data = path.read_bytes()
        if b"\0" in data:
            raise PatchRefused(f"{rel} is a binary file")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PatchRefused(f"{rel} is not UTF-8 text") from exc

    return read


def _inside(real_root: Path, rel: str) -> Path:
    path = real_root / rel
    if not path.resolve().is_relative_to(real_root):
        raise PatchRefused(f"{rel} resolves outside the project root (symlink)")
    return path


def run(patch_file: Path, root: Path, *, check: bool, as_json: bool) -> int:
    """Apply `patch_file` to the tree at `root`, all-or-nothing, atomically per file."""
    if not root.is_dir():
        print(f"greenpatch apply-patch: {root} is not a directory", file=sys.stderr)
        return EXIT_USAGE
    try:
        diff_text = patch_file.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"greenpatch apply-patch: cannot read {patch_file}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    result = apply_patch(diff_text, make_reader(root))
    written = False
    if result.ok and not check:
        try:
            write_changes(root, result.changes)
            written = True
        except (OSError, PatchRefused) as exc:
            log.error("writing failed, nothing changed: %s", exc)
            _report(result, check=check, as_json=as_json, written=False, error=str(exc))
            return EXIT_REFUSED
    _report(result, check=check, as_json=as_json, written=written)
    return EXIT_APPLIED if result.ok else EXIT_REFUSED


def write_changes(root: Path, changes: tuple[FileChange, ...]) -> None:
    """Write every change or none: all new contents go to temporary files next to their
    targets first; only when all are written are they moved into place."""
    real_root = root.resolve()
    staged: list[tuple[Path, Path]] = []
    removals: list[Path] = []
    try:
        for ch in changes:
            target = _inside(real_root, ch.path)
            if ch.old_path and ch.old_path != ch.path:
                removals.append(_inside(real_root, ch.old_path))
            if ch.new_text is None:
                removals.append(target)
                continue
            staged.append((_stage(target, ch.new_text, ch.old_path or ch.path, real_root), target))
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, target in staged:
        os.replace(tmp, target)
    for path in removals:
        path.unlink(missing_ok=True)


def _stage(target: Path, text: str, mode_from: str, real_root: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.parent.resolve().is_relative_to(real_root):
        raise PatchRefused(f"{target} resolves outside the project root")
    fd, name = tempfile.mkstemp(prefix=".greenpatch-", dir=target.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(text.encode("utf-8"))
    source = real_root / mode_from
    if source.exists():
        os.chmod(name, source.stat().st_mode & 0o7777)
    else:
        os.chmod(name, 0o644)
    return Path(name)


def _report(
    result: PatchResult, *, check: bool, as_json: bool, written: bool, error: str | None = None
) -> None:
    if as_json:
        payload = {
            "ok": result.ok and error is None,
            "check": check,
            "written": written,
            "files": [asdict(f) for f in result.files],
            "failures": [asdict(f) for f in result.failures],
            "diff": result.diff,
            "message": error or result.message_for_model(),
        }
        print(json.dumps(payload, indent=2))
        return
    if not result.ok:
        print(result.message_for_model(), file=sys.stderr)
        return
    verb = "would change" if check else "changed"
    for f in result.files:
        print(f"{verb} {f.status}: {f.path}" + (f" (from {f.old_path})" if f.old_path else ""))
