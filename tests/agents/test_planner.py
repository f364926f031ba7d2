"""The planner with the scripted model: a JSON plan, kept to files that exist; prose, broken
JSON or no answer give the fallback plan; what worked before is in its prompt."""

from __future__ import annotations

import json

import pytest

from greenpatch.agents import roles
from greenpatch.agents.gateway import Gateway
from greenpatch.agents.providers import ScriptedReplies
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
    plan = roles.plan(planner("plan-json", [reply]), TASK, CANDIDATES)
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
    plan = roles.plan(planner(f"plan-bad-{hash(reply)}", [reply]), TASK, CANDIDATES)
    assert not plan.from_model and not plan.write_tests
    assert plan.goals == (TASK,) and plan.files == tuple(CANDIDATES[:3])
    assert plan.independent() is None


def test_a_planner_that_does_not_answer_gives_the_fallback_plan() -> None:
    plan = roles.plan(planner("plan-none", []), TASK, CANDIDATES)
    assert not plan.from_model and plan.goals == (TASK,)


def test_what_worked_before_is_in_the_planners_prompt() -> None:
    gateway = planner("plan-lessons", ['{"steps": [{"goal": "g", "files": []}]}'])
    seen: list[str] = []
    gateway.on_call = lambda record, messages, reply: seen.append(messages[-1]["content"])
    plan = roles.plan(gateway, TASK, CANDIDATES, "- An earlier task ended green: paged by id")
    assert "What worked before on similar tasks:" in seen[0] and "paged by id" in seen[0]
    assert plan.files == tuple(CANDIDATES[:3])  # a plan naming no file works on the candidates
