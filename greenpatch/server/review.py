"""Per-hunk review of a proposal: decisions, and the text each file should hold after them.

Pure bookkeeping over `patch.split_hunks` / `patch.apply_hunks`; the server turns the
before/after texts into versioned edits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from greenpatch import patch
from greenpatch.agents.types import Proposal
from greenpatch.errors import GreenpatchError


@dataclass
class Review:
    """Which hunks of each file were accepted (True), rejected (False) or are undecided."""

    proposal: Proposal
    decisions: dict[str, dict[int, bool]] = field(default_factory=dict)

    def change(self, path: str) -> patch.FileChange:
        for change in self.proposal.changes:
            if change.path == path:
                return change
        raise GreenpatchError(f"the proposal does not change {path}")

    def hunks(self, path: str) -> list[patch.HunkView]:
        return patch.split_hunks(self.change(path))

    def accepted(self, path: str) -> set[int]:
        return {i for i, ok in self.decisions.get(path, {}).items() if ok}

    def text_with(self, path: str, accepted: set[int]) -> str | None:
        change = self.change(path)
        if accepted == set(range(len(self.hunks(path)))):
            return change.new_text
        if not accepted:
            return change.old_text
        return patch.apply_hunks(change, accepted)

    def preview(self, path: str, index: int, accept: bool) -> tuple[str | None, str | None]:
        """(text the file should hold now, text it should hold once this decision is
        recorded); the caller records it only when the editor took the edit."""
        count = len(self.hunks(path))
        if not 0 <= index < count:
            raise GreenpatchError(f"{path} has {count} hunk(s); there is no hunk {index}")
        accepted = self.accepted(path)
        after = accepted | {index} if accept else accepted - {index}
        return self.text_with(path, accepted), self.text_with(path, after)

    def undecided(self) -> list[tuple[str, int]]:
        return [
            (c.path, h.index)
            for c in self.proposal.changes
            for h in patch.split_hunks(c)
            if h.index not in self.decisions.get(c.path, {})
        ]

    @property
    def done(self) -> bool:
        return not self.undecided()

    def to_json(self, uri_of: Any) -> dict[str, Any]:
        """The Proposal JSON clients render (see client-vscode)."""
        p = self.proposal
        files = []
        for change in p.changes:
            decided = self.decisions.get(change.path, {})
            files.append(
                {
                    "path": change.path,
                    "uri": uri_of(change.path),
                    "original": change.old_text or "",
                    "proposed": change.new_text or "",
                    "hunks": [
                        {
                            "index": h.index,
                            "header": h.header,
                            "startLine": max(h.new_start - 1, 0),
                            "endLine": max(h.new_start - 1 + h.new_count - 1, 0),
                            "accepted": decided.get(h.index),
                        }
                        for h in patch.split_hunks(change)
                    ],
                }
            )
        return {
            "runId": p.run_id,
            "task": p.task,
            "files": files,
            "diff": p.diff,
            "evidence": {
                "before": p.evidence.before,
                "after": p.evidence.after,
                "failingBefore": list(p.evidence.failing_before),
                "newTests": list(p.evidence.new_tests),
                "droppedTests": list(p.evidence.dropped_tests),
            },
            "costUsd": round(p.cost_usd, 6),
            "iterations": p.iterations,
        }
