"""Optional commit on accept (`commit_on_accept`): the accepted files, and only those, are
committed once the files on disk hold exactly the accepted text.

Edits go to the editor as `workspace/applyEdit`, which changes buffers, not files: what is on
disk right after the apply is usually the old text. So a commit waits until every file it
covers matches what was applied — checked at once (an editor may save on apply) and on each
`didSave` of one of them. A save that shows other text (the user edited the file after
accepting) drops the commit, with a message: committing it would commit the user's own
edits under Greenpatch's message. Undo never rewrites history: it edits the files back, and
the user commits or discards that like any change."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types

from greenpatch.agents.types import Proposal
from greenpatch.server.app import GreenpatchServer

log = logging.getLogger(__name__)


@dataclass
class PendingCommit:
    """What one run's accepted edits left in each file (None: deleted)."""

    proposal: Proposal
    expected: dict[str, str | None] = field(default_factory=dict)
    armed: bool = False  # the review is done; commit once the disk matches


def message(proposal: Proposal) -> str:
    """The commit message: the task's first line, the run, and the test evidence."""
    first = proposal.task.strip().splitlines()[0] if proposal.task.strip() else "Greenpatch"
    lines = [
        first[:72],
        "",
        f"Greenpatch run {proposal.run_id}, accepted in review.",
        f"Tests before: {proposal.evidence.before}",
        f"Tests after:  {proposal.evidence.after}",
    ]
    if proposal.evidence.failing_before:
        lines.append("Failing before: " + ", ".join(proposal.evidence.failing_before[:10]))
    if proposal.evidence.dropped_tests:
        dropped = ", ".join(proposal.evidence.dropped_tests[:10])
        lines.append(f"Dropped as wrong (the tester's): {dropped}")
    return "\n".join(lines) + "\n"


def expect(ls: GreenpatchServer, proposal: Proposal, texts: Mapping[str, str | None]) -> None:
    """Record what an apply left in the editor for these files."""
    pending = ls.session.commits.setdefault(proposal.run_id, PendingCommit(proposal))
    pending.expected.update(texts)


def forget(ls: GreenpatchServer, run_id: str) -> None:
    ls.session.commits.pop(run_id, None)


async def arm(ls: GreenpatchServer, run_id: str) -> None:
    """The review of `run_id` is done: commit when (or as soon as) the files are saved."""
    pending = ls.session.commits.get(run_id)
    if pending is None:
        return
    if not ls.session.settings.commit_on_accept or not pending.expected:
        forget(ls, run_id)
        return
    pending.armed = True
    await _try(ls, pending, saved=None)


async def saved(ls: GreenpatchServer, path: str) -> None:
    """A file was saved: commit what now matches; drop a commit its file no longer matches."""
    for pending in list(ls.session.commits.values()):
        if pending.armed and path in pending.expected:
            await _try(ls, pending, saved=path)


async def _try(ls: GreenpatchServer, pending: PendingCommit, saved: str | None) -> None:
    root = ls.session.root
    assert root is not None
    run_id = pending.proposal.run_id
    differs = [p for p, text in pending.expected.items() if _on_disk(root, p) != text]
    if saved in differs:
        forget(ls, run_id)
        ls.tell(
            f"Greenpatch: did not commit run {run_id}: {saved} was saved with changes made "
            "after accepting; commit it yourself.",
            types.MessageType.Warning,
        )
        return
    if differs:
        return  # not saved yet
    forget(ls, run_id)
    paths = sorted(pending.expected)
    try:
        sha = await asyncio.to_thread(commit_only, root, paths, message(pending.proposal))
    except Exception as exc:
        log.warning("commit of run %s failed: %s", run_id, exc)
        ls.tell(f"Greenpatch: could not commit run {run_id}: {exc}", types.MessageType.Warning)
        return
    if sha is None:
        ls.tell(
            "Greenpatch: commit_on_accept is on, but the workspace is not in a git repository; "
            "nothing was committed.",
            types.MessageType.Warning,
        )
    else:
        ls.tell(f"Greenpatch: committed {', '.join(paths)} as {sha[:10]}.")


def _on_disk(root: Path, path: str) -> str | None:
    try:
        return (root / path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def commit_only(root: Path, paths: list[str], text: str) -> str | None:
    """`git commit --only -- paths`: the user's other staged changes stay staged and out of
    the commit. None when `root` is not in a git work tree."""
    import git

    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    top = Path(repo.working_tree_dir or root).resolve()
    names = [(root / p).resolve().relative_to(top).as_posix() for p in paths]
    tracked = set(repo.git.ls_files("--", *names).splitlines())
    new = [n for n in names if n not in tracked and (top / n).exists()]
    if new:
        repo.git.add("--", *new)
    repo.git.commit("--only", "-m", text, "--", *names)
    return str(repo.head.commit.hexsha)
