"""What one sandboxed command produced."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

TIMEOUT_EXIT_CODE = 124


@dataclass(frozen=True, kw_only=True)
class CommandResult:
    """The outcome of one command in the sandbox.

    `exit_code` is the command's own exit status (128 + signal when a signal ended it, 124
    when the wall-clock timeout did). `killed_reason` says, in words, which limit or guard
    ended the run (None when the command ended on its own terms). `stdout` and `stderr` are
    capped (head and tail kept); `warnings` repeats anything the user must know about how the
    run was made, e.g. that the `process` backend isolates nothing.
    """

    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool
    killed_reason: str | None
    duration_s: float
    backend: str
    warnings: tuple[str, ...] = ()
    # Files the caller asked to `collect` that the run wrote (workspace-relative -> text).
    collected: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def ok(self) -> bool:
        """True when the command exited 0 and nothing killed it."""
        return self.exit_code == 0 and self.killed_reason is None

    def to_dict(self) -> dict[str, object]:
        """The sandbox-run CLI's JSON object (plus `warnings`)."""
        return {
            "exit_code": self.exit_code,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "timed_out": self.timed_out,
            "killed_reason": self.killed_reason,
            "duration_s": round(self.duration_s, 6),
            "backend": self.backend,
            "warnings": list(self.warnings),
        }

    def to_json(self) -> str:
        """`to_dict()` as one line of JSON."""
        return json.dumps(self.to_dict())
