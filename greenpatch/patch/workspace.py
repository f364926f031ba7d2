"""An in-memory overlay over the caller's `read`: what the patch has changed so far, so
several sections of one diff can touch the same file and nothing is written until the end."""

from __future__ import annotations

from collections.abc import Callable

from greenpatch.errors import PatchRefused
from greenpatch.patch.model import FileChange
from greenpatch.patch.safety import Limits, UnsafePath

_ABSENT = object()


class TooLarge(ValueError):
    """A file exceeds the size limit."""


class Workspace:
    """Original and current text per path; renames remembered for the change list."""

    def __init__(self, read: Callable[[str], str | None], limits: Limits) -> None:
        self._read = read
        self._limits = limits
        self._original: dict[str, str | None] = {}
        self._current: dict[str, str | None] = {}
        self._renamed_from: dict[str, str] = {}

    def _load(self, path: str) -> str | None:
        if path not in self._original:
            try:
                text = self._read(path)
            except PatchRefused as exc:
                raise UnsafePath(f"{path!r}: {exc}") from exc
            if text is not None and len(text) > self._limits.max_file_chars:
                raise TooLarge(f"{path} is larger than {self._limits.max_file_chars} characters")
            self._original[path] = text
        return self._original[path]

    def get(self, path: str) -> str | None:
        """The file's text as the patch has left it so far."""
        original = self._load(path)
        return self._current.get(path, original)

    def put(self, path: str, text: str | None) -> None:
        """Record the file's new text (None: deleted)."""
        self._load(path)
        self._current[path] = text

    def rename(self, old: str, new: str, text: str) -> None:
        """Move `old` to `new` with `text` as its content."""
        self.put(old, None)
        self.put(new, text)
        self._renamed_from[new] = self._renamed_from.pop(old, old)

    def changes(self) -> tuple[FileChange, ...]:
        """One `FileChange` per path whose text differs from the original, in touch order."""
        sources = set(self._renamed_from.values())
        out: list[FileChange] = []
        for path, text in self._current.items():
            src = self._renamed_from.get(path)
            if src is not None and src != path:
                out.append(FileChange(path, self._original[src], text, old_path=src))
                continue
            if path in sources and text is None:
                continue  # shown as the rename's source
            if text != self._original[path]:
                out.append(FileChange(path, self._original[path], text))
        return tuple(out)
