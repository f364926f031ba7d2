"""Where a run stands, as JSON: what `greenpatch run --resume` and `loop.resume` continue from.

The loop saves a `Position` in the run store after the baseline and after every iteration:
the request, the working copy's edits so far, the test reports the next step needs, the
plan, the loop's counters and what the budget has spent. A run paused for budget, or killed
mid-run, continues from its last saved position; the step that was under way when it
stopped is done again.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenpatch.agents.roles import Plan, PlanStep
from greenpatch.agents.types import TaskRequest
from greenpatch.sandbox import TestCase, TestReport

VERSION = 1


def report_to_json(report: TestReport | None) -> dict[str, Any] | None:
    return None if report is None else dataclasses.asdict(report)


def report_from_json(data: dict[str, Any] | None) -> TestReport | None:
    if data is None:
        return None
    cases = tuple(TestCase(**c) for c in data.get("cases", ()))
    return TestReport(
        **{
            **data,
            "cases": cases,
            "command": tuple(data.get("command", ())),
            "warnings": tuple(data.get("warnings", ())),
        }
    )


def request_to_json(request: TaskRequest) -> dict[str, Any]:
    return {
        "task": request.task,
        "workspace": str(request.workspace),
        "kind": request.kind,
        "path": request.path,
        "line": request.line,
        "symbol": request.symbol,
        "tests": list(request.tests),
        "buffers": dict(request.buffers),
    }


def request_from_json(data: dict[str, Any]) -> TaskRequest:
    return TaskRequest(
        task=data["task"],
        workspace=Path(data["workspace"]),
        kind=data["kind"],
        path=data.get("path"),
        line=data.get("line"),
        symbol=data.get("symbol"),
        tests=tuple(data.get("tests", ())),
        buffers=dict(data.get("buffers", {})),
    )


def plan_to_json(plan: Plan | None) -> dict[str, Any] | None:
    return None if plan is None else dataclasses.asdict(plan)


def plan_from_json(data: dict[str, Any] | None) -> Plan | None:
    if data is None:
        return None
    steps = tuple(PlanStep(s["goal"], tuple(s["files"]), s["group"]) for s in data["steps"])
    return Plan(steps, tuple(data["files"]), data["write_tests"], data["from_model"])


@dataclass
class Position:
    """The loop's state between steps. `iteration` is the last iteration completed."""

    model: str = ""  # `models.default` when the run started ('' = per-role or automatic)
    budget_usd: float = 0.0
    budget_tokens: int = 0
    spent_usd: float = 0.0
    spent_tokens: int = 0
    iteration: int = 0
    before: TestReport | None = None  # the baseline; None until it ran
    report: TestReport | None = None  # the latest test report
    targets: list[str] = field(default_factory=list)
    plan: Plan | None = None
    planned: bool = False  # planning and test writing are done
    tests_written: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # the tester's tests taken out, file::test
    edits: dict[str, str | None] = field(default_factory=dict)
    originals: dict[str, str | None] = field(default_factory=dict)
    feedback: str = ""
    signature: str = ""
    repeats: int = 0
    attempts: list[str] = field(default_factory=list)  # fingerprints of tried changes
    green: dict[str, Any] | None = None  # the last green change: edits, report, iteration
    revision: str = ""  # what the user asked of the proposal, for the next iteration
    limit: int = 0  # the last iteration allowed, when not `max_iterations` (a revision's)
    proposed: bool = False  # the run ended with a proposal of this position's green change

    def to_json(self, request: TaskRequest) -> str:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data.update(
            version=VERSION,
            request=request_to_json(request),
            before=report_to_json(self.before),
            report=report_to_json(self.report),
            plan=plan_to_json(self.plan),
        )
        if self.green is not None:
            data["green"] = {**self.green, "report": report_to_json(self.green["report"])}
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> tuple[TaskRequest, Position]:
        """The request and the position; ValueError when the text is not a checkpoint."""
        try:
            data = json.loads(text)
            if data.pop("version", None) != VERSION:
                raise ValueError("written by another version of Greenpatch")
            request = request_from_json(data.pop("request"))
            data["before"] = report_from_json(data["before"])
            data["report"] = report_from_json(data["report"])
            data["plan"] = plan_from_json(data["plan"])
            if data.get("green") is not None:
                green = data["green"]
                data["green"] = {**green, "report": report_from_json(green["report"])}
            return request, cls(**data)
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"the checkpoint cannot be read: {exc}") from exc
