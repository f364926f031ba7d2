"""What every member of the team is made of. A role's name picks, through the gateway, its
model (`models.<name>`, else the default), the rules its identity has learned (in its
system prompt) and its lines in the run's transcript; its prompts are templates shipped as
package data in `agents/prompts/`. The members: `roles.Planner`, `coder.Coder`,
`roles.Tester`, `coder.Debugger` and `roles.Critic`."""

from __future__ import annotations

import functools
import importlib.resources
import logging
import string
from typing import ClassVar

from greenpatch.agents.gateway import Gateway, Message
from greenpatch.agents.tools import Toolbox, converse
from greenpatch.errors import BudgetExceeded, Cancelled, GreenpatchError

log = logging.getLogger(__name__)


@functools.cache
def template(name: str) -> string.Template:
    text = importlib.resources.files("greenpatch.agents").joinpath(f"prompts/{name}.txt")
    return string.Template(text.read_text(encoding="utf-8"))


def render(name: str, **values: str) -> str:
    return template(name).safe_substitute(values)


def system_prompt(gateway: Gateway, role: str) -> str:
    """The house rules, then what this role has learned (its identity's rules)."""
    learned = gateway.rules(role).strip()
    base = render("system", role=f"the {role}").strip()
    return f"{base}\n\n{learned}" if learned else base


class Role:
    """A member of the team, asking its own model through the run's gateway (which keeps the
    budget, the transcript and cancellation)."""

    name: ClassVar[str]

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    @property
    def model(self) -> str:
        return self.gateway.model_for(self.name)

    def opening(self, prompt: str, toolbox: Toolbox | None = None) -> list[Message]:
        """The system prompt and the request, with the tools offered when there are any."""
        if toolbox is not None:
            prompt += "\n\n" + toolbox.describe()
        return [
            {"role": "system", "content": system_prompt(self.gateway, self.name)},
            {"role": "user", "content": prompt},
        ]

    def reply(
        self, prompt: str, toolbox: Toolbox | None = None, *, max_tokens: int = 2048
    ) -> str | None:
        """The model's reply, or None when the model failed: the roles that use this have a
        sensible default (running out of budget and cancellation still stop the run)."""
        try:
            messages = self.opening(prompt, toolbox)
            return converse(self.gateway, self.name, messages, toolbox, max_tokens=max_tokens).text
        except (BudgetExceeded, Cancelled):
            raise
        except GreenpatchError as exc:
            log.info("%s unavailable, using the default: %s", self.name, exc)
            return None
