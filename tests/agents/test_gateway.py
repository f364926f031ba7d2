"""The gateway against LiteLLM with the scripted provider: retries, fallbacks, budget, records."""

from pathlib import Path

import pytest

from greenpatch.agents.gateway import (
    DEFAULT_LOCAL_MODEL,
    Gateway,
    litellm_module,
    resolve_model,
)
from greenpatch.agents.providers import ScriptedReplies
from greenpatch.config import BudgetSettings, ModelSettings, Settings
from greenpatch.errors import BudgetExceeded, ModelError, ModelNotAvailable

HELLO = [{"role": "user", "content": "hello"}]


def gateway(
    model: str,
    *,
    fallbacks: tuple[str, ...] = (),
    retries: int = 3,
    budget: BudgetSettings | None = None,
) -> tuple[Gateway, list[float]]:
    sleeps: list[float] = []
    settings = Settings(
        models=ModelSettings(default=model, fallbacks=fallbacks, max_retries=retries),
        budget=budget or BudgetSettings(),
    )
    return Gateway.for_run(settings, environ={}, sleep=sleeps.append), sleeps


def test_answers_and_records_the_call() -> None:
    model = ScriptedReplies.register("plain", ["the answer"])
    gw, _ = gateway(model)
    out = gw.complete("coder", HELLO)
    assert out.text == "the answer"
    [record] = gw.records
    assert record.agent == "coder" and record.model == model
    assert record.prompt_tokens > 0 and record.completion_tokens > 0
    assert record.cost_usd == 0.0 and record.latency_s >= 0 and record.error == ""


@pytest.mark.parametrize("kind", ["rate_limit", "server", "unavailable", "timeout", "connection"])
def test_transient_errors_are_retried_with_growing_backoff(kind: str) -> None:
    model = ScriptedReplies.register(f"flaky-{kind}", [{"error": kind}, {"error": kind}, "ok"])
    gw, sleeps = gateway(model)
    assert gw.complete("coder", HELLO).text == "ok"
    assert len(sleeps) == 2
    # jitter is 0.5x..1.5x of 1s then 2s
    assert 0.5 <= sleeps[0] <= 1.5 and 1.0 <= sleeps[1] <= 3.0
    assert [bool(r.error) for r in gw.records] == [True, True, False]


@pytest.mark.parametrize("kind", ["auth", "bad_request"])
def test_auth_and_bad_requests_are_not_retried(kind: str) -> None:
    model = ScriptedReplies.register(f"fatal-{kind}", [{"error": kind}, "never reached"])
    gw, sleeps = gateway(model)
    with pytest.raises(ModelError) as info:
        gw.complete("coder", HELLO)
    assert sleeps == []
    assert len(gw.records) == 1
    assert model in str(info.value)


def test_falls_back_to_the_next_model() -> None:
    bad = ScriptedReplies.register("refused-key", [{"error": "auth"}])
    good = ScriptedReplies.register("backup", ["from the fallback"])
    gw, _ = gateway(bad, fallbacks=(good,))
    out = gw.complete("debugger", HELLO)
    assert out.text == "from the fallback" and out.model == good


def test_scripted_entries_are_routed_by_role() -> None:
    model = ScriptedReplies.register(
        "roles", ["the coder's diff", {"role": "critic", "reply": "APPROVE"}, "the debugger's"]
    )
    gw, _ = gateway(model, retries=0)
    assert gw.complete("critic", HELLO).text == "APPROVE"
    assert gw.complete("coder", HELLO).text == "the coder's diff"
    assert gw.complete("debugger", HELLO).text == "the debugger's"
    with pytest.raises(ModelError, match="no reply left for planner"):
        gw.complete("planner", HELLO)


def test_gives_up_after_the_retries_and_says_why() -> None:
    model = ScriptedReplies.register("down", [{"error": "server"}] * 3)
    gw, sleeps = gateway(model, retries=2)
    with pytest.raises(ModelError, match="no model answered"):
        gw.complete("coder", HELLO)
    assert len(sleeps) == 2


def test_token_budget_stops_the_run() -> None:
    model = ScriptedReplies.register("chatty", ["x" * 400, "never reached"])
    gw, _ = gateway(model, budget=BudgetSettings(usd=1.0, tokens=50))
    gw.complete("coder", HELLO)
    with pytest.raises(BudgetExceeded, match="tokens"):
        gw.complete("coder", HELLO)
    assert len(gw.records) == 1


def test_usd_budget_uses_litellm_cost_tables() -> None:
    gw, _ = gateway("gpt-4o-mini", budget=BudgetSettings(usd=1e-9, tokens=0))
    litellm = litellm_module()
    response = litellm.ModelResponse(
        model="gpt-4o-mini",
        choices=[{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
        usage=litellm.Usage(prompt_tokens=1000, completion_tokens=1000, total_tokens=2000),
    )
    completion = gw._finish("coder", "gpt-4o-mini", response, 0.1)
    assert completion.record.cost_usd > 0
    with pytest.raises(BudgetExceeded, match=r"\$"):
        gw.budget.check()


def test_model_resolution() -> None:
    settings = Settings(models=ModelSettings(coder="x/coder"))
    assert resolve_model(settings, "coder", {}) == "x/coder"
    assert resolve_model(settings, "planner", {}) == DEFAULT_LOCAL_MODEL
    assert resolve_model(settings, "planner", {"OPENAI_API_KEY": "sk-1"}) == "gpt-4o-mini"
    both = {"OPENAI_API_KEY": "sk-1", "ANTHROPIC_API_KEY": "k"}
    assert resolve_model(settings, "planner", both).startswith("anthropic/")


def test_local_model_not_pulled_names_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GREENPATCH_MODEL_DIR", str(tmp_path))
    gw, _ = gateway("local/qwen2.5-coder-0.5b")
    with pytest.raises(ModelError, match=r"greenpatch model pull qwen2\.5-coder-0\.5b"):
        gw.complete("coder", HELLO)
    with pytest.raises(ModelNotAvailable, match="unknown local model"):
        gateway("local/nope")[0]._complete_with_retries("coder", "local/nope", HELLO, 0, 10)
