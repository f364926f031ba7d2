"""The run's view of the workspace: disk, under the editor's buffers, under the changes made
so far. Nothing here writes to disk."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from greenpatch import patch


@dataclass
class WorkingCopy:
    """The run's view of the workspace: disk, under the editor's buffers, under the changes
    made so far. Reads never leave the workspace root."""

    root: Path
    buffers: dict[str, str]
    edits: dict[str, str | None] = field(default_factory=dict)
    originals: dict[str, str | None] = field(default_factory=dict)

    def base(self, path: str) -> str | None:
        if path in self.buffers:
            return self.buffers[path]
        target = (self.root / path).resolve()
        if not target.is_relative_to(self.root) or not target.is_file():
            return None
        try:
            return target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def read(self, path: str) -> str | None:
        return self.edits[path] if path in self.edits else self.base(path)

    def apply(self, changes: tuple[patch.FileChange, ...]) -> None:
        for change in changes:
            for path in filter(None, (change.old_path, change.path)):
                if path not in self.originals:
                    self.originals[path] = self.base(path)
            if change.old_path and change.old_path != change.path:
                self.edits[change.old_path] = None
            self.edits[change.path] = change.new_text

    def branch(self, changes: tuple[patch.FileChange, ...] = ()) -> WorkingCopy:
        """A copy with `changes` applied on top; this one is left as it is."""
        copy = WorkingCopy(self.root, self.buffers, dict(self.edits), dict(self.originals))
        copy.apply(changes)
        return copy

    def overlay(self) -> dict[str, str | None]:
        return {**self.buffers, **self.edits}

    def changes(self) -> tuple[patch.FileChange, ...]:
        """Everything changed since the start, as one change per file."""
        out = []
        for path, new in self.edits.items():
            old = self.originals.get(path)
            if old != new:
                out.append(patch.FileChange(path=path, old_text=old, new_text=new))
        return tuple(out)


def fingerprint(overlay: dict[str, str | None]) -> str:
    """The same change gives the same fingerprint, in any process."""
    digest = hashlib.sha256()
    for path, text in sorted(overlay.items()):
        digest.update(f"{path}\0{text}\0".encode())
    return digest.hexdigest()[:16]
