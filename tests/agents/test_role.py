"""What the roles share (agents/role.py): a model that fails gives the role's default, but a
cancel or a spent budget is never taken for a model that failed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from greenpatch.agents import roles
from greenpatch.agents.context import unit_named
from greenpatch.agents.gateway import Gateway
from greenpatch.agents.providers import ScriptedReplies
from greenpatch.config import BudgetSettings, ModelSettings, Settings
from greenpatch.errors import BudgetExceeded, Cancelled
from greenpatch.patch import FileChange

SOURCE = 'def double(x):\n    """>>> double(2)\n    4\n    """\n'
UNIT = unit_named("calc.py", SOURCE, "double")
CHANGE = FileChange("calc.py", SOURCE, SOURCE + "    return 2 * x\n")

ASKS: dict[str, Callable[[Gateway], Any]] = {
    "planner": lambda gw: roles.Planner(gw).plan("Double it", ["calc.py"]),
    "tester": lambda gw: roles.Tester(gw).write_tests("Implement double", UNIT, []),
    "critic": lambda gw: roles.Critic(gw).review("Implement double", "(diff)", "green", [CHANGE]),
}


def gateway(name: str, **budget: Any) -> Gateway:
    model = ScriptedReplies.register(name, [])  # no reply: a model that is down
    settings = Settings(models=ModelSettings(default=model), budget=BudgetSettings(**budget))
    return Gateway.for_run(settings, environ={})


@pytest.mark.parametrize("role", ASKS)
def test_a_model_that_fails_gives_the_roles_default(role: str) -> None:
    result = ASKS[role](gateway(f"down-{role}"))
    defaults = {
        "planner": lambda plan: not plan.from_model and plan.files == ("calc.py",),
        "tester": lambda tests: tests is None,
        "critic": lambda review: review.approved and not review.from_model,
    }
    assert defaults[role](result)


@pytest.mark.parametrize("role", ASKS)
def test_a_cancel_stops_the_role_instead_of_its_default(role: str) -> None:
    gw = gateway(f"cancelled-{role}")
    gw.cancel.set()
    with pytest.raises(Cancelled):
        ASKS[role](gw)


@pytest.mark.parametrize("role", ASKS)
def test_a_spent_budget_stops_the_role_instead_of_its_default(role: str) -> None:
    gw = gateway(f"spent-{role}", tokens=1000)
    gw.budget.spent_tokens = 1000
    with pytest.raises(BudgetExceeded):
        ASKS[role](gw)
