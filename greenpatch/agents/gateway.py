"""The LLM gateway: every model call of every agent goes through `Gateway.complete`.

It resolves the model for a role, calls LiteLLM with retries (exponential backoff with jitter
on rate limits, 5xx, timeouts and connection errors; never on auth or bad requests), falls back
along the configured list, records each call (agent, model, tokens, cost, latency) and enforces
the run's budget. The embedded local models and the scripted test model are LiteLLM custom
providers, so this code cannot tell them from a remote model.
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from greenpatch.config import Settings
from greenpatch.errors import BudgetExceeded, Cancelled, ModelError, ModelNotAvailable

log = logging.getLogger(__name__)

LOCAL_PROVIDER = "local"
SCRIPTED_PROVIDER = "scripted"
DEFAULT_LOCAL_MODEL = "local/qwen2.5-coder-1.5b"
# Models picked automatically when a provider's key is in the environment and nothing is set.
KEYED_DEFAULTS = (
    ("ANTHROPIC_API_KEY", "anthropic/claude-sonnet-4-5"),
    ("OPENAI_API_KEY", "gpt-4o-mini"),
    ("GEMINI_API_KEY", "gemini/gemini-2.0-flash"),
    ("MISTRAL_API_KEY", "mistral/codestral-latest"),
)

Message = Mapping[str, str]


@dataclass(frozen=True)
class CallRecord:
    """One model call, as the transcript keeps it."""

    agent: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_s: float
    error: str = ""


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    record: CallRecord


@dataclass
class Budget:
    """What a run may spend. Checked before every call, so one call can overshoot a little."""

    usd: float
    tokens: int
    spent_usd: float = 0.0
    spent_tokens: int = 0

    def check(self) -> None:
        if self.usd and self.spent_usd >= self.usd:
            raise BudgetExceeded(
                f"budget spent: ${self.spent_usd:.4f} of ${self.usd:.2f}; "
                "raise budget.usd to let runs spend more"
            )
        if self.tokens and self.spent_tokens >= self.tokens:
            raise BudgetExceeded(
                f"budget spent: {self.spent_tokens} of {self.tokens} tokens; "
                "raise budget.tokens to let runs use more"
            )

    def add(self, record: CallRecord) -> None:
        self.spent_usd += record.cost_usd
        self.spent_tokens += record.prompt_tokens + record.completion_tokens


_UNPRICED: set[str] = set()  # models already said to have no known price


def resolve_model(settings: Settings, role: str, environ: Mapping[str, str] | None = None) -> str:
    """The model a role uses: its own setting, else `models.default`, else a keyed provider's
    default when its API key is in the environment, else the embedded local default."""
    configured = settings.model_for(role)
    if configured:
        return configured
    env = os.environ if environ is None else environ
    for key, model in KEYED_DEFAULTS:
        if env.get(key):
            return model
    return DEFAULT_LOCAL_MODEL


def is_free(model: str) -> bool:
    return model.split("/", 1)[0] in (LOCAL_PROVIDER, SCRIPTED_PROVIDER)


_litellm_lock = threading.Lock()
_litellm: Any = None


def litellm_module() -> Any:
    """Import LiteLLM once, offline: its cost map from the package, no telemetry, our
    providers registered."""
    global _litellm
    with _litellm_lock:
        if _litellm is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            os.environ.setdefault("LITELLM_TELEMETRY", "False")
            import litellm

            from greenpatch.agents.providers import register

            litellm.telemetry = False
            litellm.suppress_debug_info = True
            register(litellm)
            _litellm = litellm
    return _litellm


def _retryable(exc: BaseException, litellm: Any) -> bool:
    never = (
        litellm.AuthenticationError,
        litellm.PermissionDeniedError,
        litellm.BadRequestError,
        litellm.NotFoundError,
    )
    if isinstance(exc, never):
        return False
    retry = (
        litellm.RateLimitError,
        litellm.InternalServerError,
        litellm.ServiceUnavailableError,
        litellm.APIConnectionError,
        litellm.Timeout,
    )
    return isinstance(exc, retry)


def describe_error(exc: BaseException, model: str) -> str:
    """One line a user can act on, without LiteLLM's stacked class-name prefixes."""
    name = type(exc).__name__
    lines = str(exc).strip().splitlines()
    text = re.sub(r"^(litellm\.\w+: |\w+Error: |\w+Exception - )+", "", lines[0] if lines else name)
    if "Authentication" in name:
        return f"{model}: the API key was refused ({text[:160]})"
    if "RateLimit" in name:
        return f"{model}: rate limited ({text[:160]})"
    if "Connection" in name or "Timeout" in name or "connection error" in text.lower():
        return f"{model}: not reachable ({text[:160]})"
    return f"{model}: {text[:200]}"


@dataclass
class Gateway:
    """One run's door to the models. The plan's independent steps call it from several
    threads at once: the records and the budget are updated under a lock."""

    settings: Settings
    budget: Budget
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    sleep: Callable[[float], None] = time.sleep
    cancel: threading.Event = field(default_factory=threading.Event)
    records: list[CallRecord] = field(default_factory=list)
    on_record: Callable[[CallRecord], None] | None = None
    # Transcript hook: every call with its messages and reply ("" when it failed).
    on_call: Callable[[CallRecord, Sequence[Message], str], None] | None = None
    # A role's learned rules, appended to its system prompt by the roles.
    rules: Callable[[str], str] = lambda role: ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def for_run(cls, settings: Settings, **kwargs: Any) -> Gateway:
        return cls(settings, Budget(settings.budget.usd, settings.budget.tokens), **kwargs)

    def model_for(self, role: str) -> str:
        return resolve_model(self.settings, role, self.environ)

    def complete(
        self,
        role: str,
        messages: Sequence[Message],
        *,
        temperature: float = 0.0,
        max_tokens: int = 2048,
    ) -> Completion:
        """Ask the role's model, then each fallback, until one answers."""
        models = [self.model_for(role), *self.settings.models.fallbacks]
        errors: list[str] = []
        for model in dict.fromkeys(models):
            try:
                return self._complete_with_retries(role, model, messages, temperature, max_tokens)
            except (BudgetExceeded, Cancelled):
                raise
            except ModelError as exc:
                errors.append(str(exc))
                log.warning("model %s failed for %s: %s", model, role, exc)
        raise ModelError("no model answered: " + "; ".join(errors))

    def _complete_with_retries(
        self,
        role: str,
        model: str,
        messages: Sequence[Message],
        temperature: float,
        max_tokens: int,
    ) -> Completion:
        from greenpatch.agents import providers

        litellm = litellm_module()
        providers.check_available(model)
        attempts = self.settings.models.max_retries + 1
        for attempt in range(attempts):
            self._check_cancel()
            self.budget.check()
            started = time.monotonic()
            try:
                with providers.cancellation(self.cancel):
                    response = litellm.completion(
                        model=model,
                        messages=list(messages),
                        temperature=temperature,
                        max_tokens=max_tokens,
                        timeout=self.settings.models.timeout_s,
                        num_retries=0,
                        metadata={"greenpatch_role": role},
                    )
            except (ModelNotAvailable, Cancelled):
                raise
            except Exception as exc:
                if providers.was_cancelled(exc) or self.cancel.is_set():
                    raise Cancelled("run cancelled") from exc
                failed = self._record(role, model, 0, 0, 0.0, time.monotonic() - started, repr(exc))
                if self.on_call:
                    self.on_call(failed, messages, "")
                if attempt + 1 < attempts and _retryable(exc, litellm):
                    delay = min(30.0, 2.0**attempt) * (0.5 + random.random())
                    log.info("%s: %s; retrying in %.1fs", model, type(exc).__name__, delay)
                    self.sleep(delay)
                    continue
                raise ModelError(describe_error(exc, model)) from exc
            completion = self._finish(role, model, response, time.monotonic() - started)
            if self.on_call:
                self.on_call(completion.record, messages, completion.text)
            return completion
        raise ModelError(f"{model}: gave up after {attempts} attempts")  # pragma: no cover

    def _finish(self, role: str, model: str, response: Any, latency: float) -> Completion:
        usage = getattr(response, "usage", None)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        cost = 0.0 if is_free(model) else self._cost(response)
        record = self._record(role, model, prompt, completion, cost, latency)
        text = response.choices[0].message.content or ""
        return Completion(text=text, model=model, record=record)

    def _cost(self, response: Any) -> float:
        try:
            return float(litellm_module().completion_cost(completion_response=response))
        except Exception:  # unknown to LiteLLM's cost tables: say so once, count it as 0
            model = str(getattr(response, "model", "") or "the model")
            if model not in _UNPRICED:
                _UNPRICED.add(model)
                log.warning(
                    "no price known for %s: its calls cost $0 to the USD budget; the token "
                    "budget (budget.tokens) still bounds them",
                    model,
                )
            return 0.0

    def _record(
        self,
        role: str,
        model: str,
        prompt: int,
        completion: int,
        cost: float,
        latency: float,
        error: str = "",
    ) -> CallRecord:
        record = CallRecord(role, model, prompt, completion, cost, round(latency, 3), error)
        with self._lock:
            self.records.append(record)
            self.budget.add(record)
        if self.on_record:
            self.on_record(record)
        return record

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("run cancelled")

    @property
    def cost_usd(self) -> float:
        return self.budget.spent_usd
