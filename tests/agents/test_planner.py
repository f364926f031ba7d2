"""The planner with the scripted model: a JSON plan, kept to files that exist; prose, broken
JSON or no answer give the fallback plan; what worked before is in its prompt; a plan that
asks for tests gets the tester's (real loop and sandbox)."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from greenpatch.agents import roles, transcript
from greenpatch.agents.gateway import Gateway
from greenpatch.agents.loop import Run, run_task
from greenpatch.agents.providers import ScriptedReplies
from greenpatch.agents.types import TaskRequest
from greenpatch.config import ModelSettings, Settings

TASK = "Add pagination to the orders endpoint"
CANDIDATES = ["shop/orders.py", "shop/api.py", "shop/db.py", "shop/models.py"]


def planner(name: str, replies: list[str]) -> Gateway:
    model = ScriptedReplies.register(name, [{"role": "planner", "reply": r} for r in replies])
    return Gateway.for_run(Settings(models=ModelSettings(default=model)), environ={})


def test_a_json_plan_keeps_steps_groups_tests_and_only_files_that_exist() -> None:
    reply = "Here is the plan:\n" + json.dumps(
        {
            "steps": [
                {"goal": "page the query", "files": ["shop/db.py", "shop/nowhere.py"], "group": 1},
                {"goal": "take page and size", "files": ["shop/api.py"], "group": 2},
                {"goal": "", "files": ["shop/orders.py"]},  # no goal: not a step
            ],
            "tests": True,
        }
    )
    plan = roles.Planner(planner("plan-json", [reply])).plan(TASK, CANDIDATES)
    assert plan.from_model and plan.write_tests
    assert plan.goals == ("page the query", "take page and size")
    assert [s.files for s in plan.steps] == [("shop/db.py",), ("shop/api.py",)]
    assert plan.files == ("shop/db.py", "shop/api.py")
    assert [s.files for s in plan.independent() or []] == [("shop/db.py",), ("shop/api.py",)]


@pytest.mark.parametrize(
    "reply",
    [
        "I would first look at the orders endpoint, then add the parameters.",  # prose
        '{"steps": [{"goal": "page the query", "files": ["shop/db.py"]',  # cut off
        '{"plan": "page it"}',  # JSON, not a plan
        '{"steps": "page it"}',
    ],
)
def test_prose_or_broken_json_gives_the_fallback_plan(reply: str) -> None:
    plan = roles.Planner(planner(f"plan-bad-{hash(reply)}", [reply])).plan(TASK, CANDIDATES)
    assert not plan.from_model and not plan.write_tests
    assert plan.goals == (TASK,) and plan.files == tuple(CANDIDATES[:3])
    assert plan.independent() is None


def test_a_planner_that_does_not_answer_gives_the_fallback_plan() -> None:
    plan = roles.Planner(planner("plan-none", [])).plan(TASK, CANDIDATES)
    assert not plan.from_model and plan.goals == (TASK,)


def test_what_worked_before_is_in_the_planners_prompt() -> None:
    gateway = planner("plan-lessons", ['{"steps": [{"goal": "g", "files": []}]}'])
    seen: list[str] = []
    gateway.on_call = lambda record, messages, reply: seen.append(messages[-1]["content"])
    plan = roles.Planner(gateway).plan(
        TASK, CANDIDATES, "- An earlier task ended green: paged by id"
    )
    assert "What worked before on similar tasks:" in seen[0] and "paged by id" in seen[0]
    assert plan.files == tuple(CANDIDATES[:3])  # a plan naming no file works on the candidates


def test_a_planned_task_gets_the_testers_tests_for_the_module_it_changes(shop: Path) -> None:
    pricing = (shop / "shop" / "pricing.py").read_text()
    added = pricing + "\n\ndef half_price(price: float) -> float:\n    return round(price / 2, 2)\n"
    coded = "".join(
        difflib.unified_diff(
            pricing.splitlines(keepends=True),
            added.splitlines(keepends=True),
            "a/shop/pricing.py",
            "b/shop/pricing.py",
        )
    )
    plan = {"steps": [{"goal": "add half_price", "files": ["shop/pricing.py"]}], "tests": True}
    tests = "```python\nfrom shop.pricing import half_price\n\n\ndef test_half_price():\n"
    tests += "    assert half_price(10.0) == 5.0\n```\n"
    model = ScriptedReplies.register(
        "planned-tests",
        [
            {"role": "planner", "reply": json.dumps(plan)},
            {"role": "tester", "reply": tests},
            f"```diff\n{coded}```\n",
            {"role": "critic", "reply": "APPROVE"},
        ],
    )
    request = TaskRequest(task="Add half_price(price) to the pricing module", workspace=shop)
    config = Settings(models=ModelSettings(default=model))
    result = run_task(Run(request, config, journal_in_background=False))
    assert result.status == "green", result.message
    assert [c.agent for c in result.calls] == ["planner", "tester", "coder", "critic"]
    assert result.proposal is not None
    [written] = result.proposal.evidence.new_tests
    assert written == "tests/test_greenpatch_pricing.py" and written in result.proposal.diff
    # The tester saw the module the plan changes, whole.
    tester = transcript.read(shop, result.run_id).calls[1]
    assert "def apply_discount" in tester.messages[-1]["content"]
    assert "def total" in tester.messages[-1]["content"]


def test_the_embedded_models_are_not_asked_for_a_tasks_tests() -> None:
    assert not roles.writes_task_tests("local/qwen2.5-coder-1.5b")
    assert roles.writes_task_tests("openai/gpt-4o-mini")
