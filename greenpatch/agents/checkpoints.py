"""Checkpoints: what the agent's files held before and after each applied edit, kept as git
objects under a private ref (`refs/greenpatch/checkpoints/...`).

They never touch the user's branches, index, stash or untracked files: blobs, trees and
commits are written with a throwaway index. A workspace that is not a git repository gets a
private bare repository in `.greenpatch/checkpoints.git`, so undo works everywhere and
survives a server restart.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from greenpatch.errors import GreenpatchError

log = logging.getLogger(__name__)

ACTIVE = "refs/greenpatch/checkpoints/"
UNDONE = "refs/greenpatch/undone/"
_IDENTITY = {
    "GIT_AUTHOR_NAME": "Greenpatch",
    "GIT_AUTHOR_EMAIL": "greenpatch@localhost",
    "GIT_COMMITTER_NAME": "Greenpatch",
    "GIT_COMMITTER_EMAIL": "greenpatch@localhost",
}


@dataclass(frozen=True)
class Checkpoint:
    ref: str
    run_id: str
    label: str
    before: dict[str, str | None]  # None: the file did not exist
    after: dict[str, str | None]


class Checkpoints:
    def __init__(self, workspace: Path) -> None:
        import git

        self.root = workspace
        try:
            self.repo = git.Repo(workspace)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            private = workspace / ".greenpatch" / "checkpoints.git"
            private.parent.mkdir(parents=True, exist_ok=True)
            ignore = private.parent / ".gitignore"
            if not ignore.exists():
                ignore.write_text("*\n", encoding="utf-8")
            self.repo = git.Repo.init(private, bare=True)

    def _run(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        out: str = self.repo.git.execute(
            ["git", *args], env={**os.environ, **_IDENTITY, **(env or {})}
        )
        return out

    def _blob(self, text: str) -> str:
        from gitdb import IStream

        data = text.encode("utf-8")
        sha = self.repo.odb.store(IStream(b"blob", len(data), io.BytesIO(data))).hexsha
        return sha.decode() if isinstance(sha, bytes) else str(sha)

    def _commit(self, files: Mapping[str, str | None], message: str, parent: str | None) -> str:
        with tempfile.TemporaryDirectory(prefix="greenpatch-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self._run("read-tree", "--empty", env=env)
            for path, text in sorted(files.items()):
                if text is not None:
                    sha = self._blob(text)
                    self._run(
                        "update-index", "--add", "--cacheinfo", f"100644,{sha},{path}", env=env
                    )
            tree = self._run("write-tree", env=env)
        args = ["commit-tree", tree, "-m", message]
        if parent:
            args += ["-p", parent]
        return self._run(*args)

    def record(
        self,
        run_id: str,
        label: str,
        before: Mapping[str, str | None],
        after: Mapping[str, str | None],
    ) -> str:
        """Store a checkpoint; returns its ref."""
        meta = json.dumps(
            {
                "run": run_id,
                "label": label,
                "absent_before": sorted(p for p, t in before.items() if t is None),
                "absent_after": sorted(p for p, t in after.items() if t is None),
                "files": sorted(set(before) | set(after)),
            }
        )
        first = self._commit(before, f"greenpatch: before {label}\n\n{meta}", None)
        second = self._commit(after, f"greenpatch: after {label}\n\n{meta}", first)
        ref = f"{ACTIVE}{time.time_ns()}-{run_id}"
        self._run("update-ref", ref, second)
        log.info("checkpoint %s for %s", ref, ", ".join(sorted(before)))
        return ref

    def _refs(self, prefix: str) -> list[str]:
        out = self._run("for-each-ref", "--format=%(refname)", prefix)
        return sorted(out.split(), key=lambda r: int(r.rsplit("/", 1)[1].split("-", 1)[0]))

    def latest(self) -> Checkpoint | None:
        refs = self._refs(ACTIVE)
        return self.load(refs[-1]) if refs else None

    def load(self, ref: str) -> Checkpoint:
        after_commit = self.repo.commit(ref)
        message = after_commit.message
        text = message.decode() if isinstance(message, bytes) else message
        meta = json.loads(text.split("\n\n", 1)[1])
        before_commit = after_commit.parents[0]

        def texts(commit: object, absent: list[str]) -> dict[str, str | None]:
            out: dict[str, str | None] = {}
            for path in meta["files"]:
                if path in absent:
                    out[path] = None
                    continue
                blob = commit.tree / path  # type: ignore[attr-defined]
                out[path] = blob.data_stream.read().decode("utf-8")
            return out

        return Checkpoint(
            ref,
            meta["run"],
            meta["label"],
            texts(before_commit, meta["absent_before"]),
            texts(after_commit, meta["absent_after"]),
        )

    def mark_undone(self, checkpoint: Checkpoint) -> None:
        """Keep the record, but out of the undo stack."""
        target = UNDONE + checkpoint.ref.removeprefix(ACTIVE)
        self._run("update-ref", target, checkpoint.ref)
        self._run("update-ref", "-d", checkpoint.ref)

    def drop(self, ref: str) -> None:
        self._run("update-ref", "-d", ref)


def open_checkpoints(workspace: Path) -> Checkpoints:
    try:
        return Checkpoints(workspace)
    except Exception as exc:
        raise GreenpatchError(f"cannot keep checkpoints in {workspace}: {exc}") from exc
