"""What is indexed, per file: size, mtime, content hash and chunk keys. It makes a restart
incremental (unchanged files are recognised by size and mtime without being read) and is
the source of truth when the store holds leftovers of an interrupted update."""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

FORMAT = 1


@dataclass(slots=True)
class FileRecord:
    size: int
    mtime_ns: int
    sha1: str
    keys: list[str]
    vectors: bool = True  # False: lexical only, the vector budget was spent (index.py)


@dataclass(slots=True)
class Manifest:
    collection: str
    files: dict[str, FileRecord] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, collection: str) -> Manifest:
        """The saved manifest, or an empty one if it is missing, unreadable or belongs to
        another collection (model or chunker changed)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT or data.get("collection") != collection:
                return cls(collection)
            files = {p: FileRecord(*rec) for p, rec in data["files"].items()}
        except FileNotFoundError:
            return cls(collection)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.warning("index manifest %s unreadable (%s); rescanning everything", path, exc)
            return cls(collection)
        return cls(collection, files)

    def vector_count(self) -> int:
        """Chunks whose vectors the store holds."""
        return sum(len(r.keys) for r in self.files.values() if r.vectors)

    def save(self, path: Path) -> None:
        """Write atomically (a crash leaves the old manifest, never half a new one)."""
        data = {
            "format": FORMAT,
            "collection": self.collection,
            "files": {
                p: [r.size, r.mtime_ns, r.sha1, r.keys, r.vectors]
                for p, r in sorted(self.files.items())
            },
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        # A temporary file of its own: another process may save the same manifest now.
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, path)
