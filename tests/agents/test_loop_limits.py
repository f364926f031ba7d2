"""The loop's stops and gate, through the real loop, the real sandbox and the scripted model:
the same failure three times, the critic's revision that no iteration is left for, the
wall-time limit, a test module that cannot be imported before the change."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from greenpatch.agents.loop import Run, run_task
from greenpatch.agents.providers import ScriptedReplies
from greenpatch.agents.types import RunResult, TaskRequest
from greenpatch.config import ModelSettings, Settings

PRICING = "shop/pricing.py"
BUGGY = "    return round(price * percent / 100, 2)\n"


def edit(shop: Path, before: str, after: str) -> str:
    """A reply with a diff taking pricing.py from the line `before` (as the run will have
    it then) to the line `after`."""
    original = (shop / PRICING).read_text()
    old = original.replace(BUGGY, before).splitlines(keepends=True)
    new = original.replace(BUGGY, after).splitlines(keepends=True)
    diff = "".join(difflib.unified_diff(old, new, f"a/{PRICING}", f"b/{PRICING}"))
    return f"```diff\n{diff}```\n"


def fix(
    shop: Path, model: str, iterations: int, tests: tuple[str, ...] = (), **settings: Any
) -> RunResult:
    request = TaskRequest(task="Fix the failing tests", workspace=shop, kind="fix", tests=tests)
    config = Settings(models=ModelSettings(default=model), max_iterations=iterations, **settings)
    return run_task(Run(request, config, journal_in_background=False))


def test_the_same_failure_three_times_stops_the_run(shop: Path) -> None:
    wrong = "    return round(price - percent, 2)\n"
    same = "    return round((price - percent), 2)\n"  # other code, the same wrong value
    again = "    return round(price + -percent, 2)\n"
    replies = [edit(shop, BUGGY, wrong), edit(shop, wrong, same), edit(shop, same, again)]
    model = ScriptedReplies.register("breaker", [*replies, edit(shop, again, BUGGY)])
    result = fix(shop, model, iterations=6)
    assert result.status == "failed"
    assert "the same failure repeated" in result.message
    assert result.iterations == 3  # not the 6 allowed
    assert [c.agent for c in result.calls] == ["coder", "debugger", "debugger"]


def test_a_revision_the_critic_asked_for_is_not_lost_when_it_breaks_the_change(
    shop: Path,
) -> None:
    wrong = "    return round(price - percent, 2)\n"
    right = "    return round(price * (100 - percent) / 100, 2)\n"
    replies = [
        edit(shop, BUGGY, wrong),  # coder: red
        edit(shop, wrong, right),  # debugger: green
        {"role": "critic", "reply": "REVISE\nName the magic number 100."},
        edit(shop, right, wrong),  # the revision: red again, and the last iteration
    ]
    result = fix(shop, ScriptedReplies.register("revise", replies), iterations=3)
    assert result.status == "green", result.message  # the last green change is offered
    assert result.proposal is not None and "(100 - percent)" in result.proposal.diff
    assert "the critic still asks for a revision" in result.message
    review = result.proposal.evidence.review
    assert "asked for a revision" in review and "Name the magic number 100." in review


def test_the_wall_time_limit_ends_the_run(shop: Path) -> None:
    model = ScriptedReplies.register("slow", [{"sleep": 3, "reply": "no diff here"}] * 3)
    result = fix(shop, model, iterations=3, time_limit_s=2)
    assert result.status == "failed"
    assert "took longer than 2 s" in result.message
    assert "price * percent / 100" in (shop / PRICING).read_text()  # nothing half-done


def test_a_test_module_that_cannot_be_imported_does_not_hide_the_rest(
    shop: Path, shop_replies: dict[str, Any]
) -> None:
    (shop / "tests" / "test_export.py").write_text("import no_such_exporter\n")
    r = shop_replies
    model = ScriptedReplies.register("collection", [r["wrong"], r["right"], r["approve"]])
    result = fix(shop, model, iterations=3, tests=("tests/test_pricing.py",))  # as "fix this test"
    assert result.status == "green", result.message
    assert result.proposal is not None
    assert "tests/test_export.py" in result.proposal.evidence.failing_before  # not new
    assert "4 passed" in result.proposal.evidence.after
