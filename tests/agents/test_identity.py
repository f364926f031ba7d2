"""Identities in a real SQLite file: gates, outcomes, pruning, rollback, reflection with the
scripted model through the real gateway."""

from pathlib import Path

import pytest

from greenpatch.agents.gateway import Gateway
from greenpatch.agents.identity import (
    DEFAULT_EXPERTISE,
    Identities,
    check_rule,
    jaccard,
    parse_rules,
    prompt_section,
)
from greenpatch.agents.providers import ScriptedReplies
from greenpatch.config import ModelSettings, Settings

RUN_NARROW = "Run the failing test alone before running the whole suite again."
CHECK_EMPTY = "Check empty inputs before dividing or indexing into a sequence."
KEEP_SMALL = "Keep each change as small as the failing test requires, nothing more."


def gateway_replying(name: str, *replies: object) -> Gateway:
    model = ScriptedReplies.register(name, list(replies))
    return Gateway.for_run(Settings(models=ModelSettings(default=model)), environ={})


def test_new_role_gets_default_expertise_and_a_first_version(tmp_path: Path) -> None:
    ids = Identities(tmp_path)
    coder = ids.get("coder")
    assert coder.expertise == DEFAULT_EXPERTISE["coder"] and coder.rules == ()
    assert coder.version == 1 and [v.change for v in ids.history("coder")] == ["created"]
    assert ids.get("some-new-role").expertise == ""


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Be careful.", "too short"),
        ("Always " + "check things carefully " * 12, "too long"),
        ("Read src/shop/cart.py before editing the totals.", "file path"),
        ("Never edit setup.cfg when a test fails for another reason.", "file path"),
        ("Round the result of compute_total to two decimal places.", "from its task"),
        ("Run the failing test alone before running the whole suite.", "duplicates"),
    ],
)
def test_gates_reject(text: str, reason: str) -> None:
    got = check_rule(text, [RUN_NARROW], task_terms=["compute_total", "Cart"])
    assert reason in got


def test_gates_accept_a_general_rule() -> None:
    assert check_rule(CHECK_EMPTY, [RUN_NARROW], ["compute_total", "Cart"]) == ""
    assert jaccard(RUN_NARROW, RUN_NARROW) == 1.0 and jaccard(RUN_NARROW, CHECK_EMPTY) < 0.3
    # a task term only counts as a whole word: "Cart" is not in "Cartesian"
    assert check_rule("Prefer Cartesian products over nested loops in tests.", [], ["Cart"]) == ""


def test_propose_rules_keeps_what_passes_and_bumps_the_version(tmp_path: Path) -> None:
    ids = Identities(tmp_path)
    added = ids.propose_rules(
        "coder", [f"- {RUN_NARROW}", RUN_NARROW.upper(), "- tiny", f"* {CHECK_EMPTY}"]
    )
    assert [r.text for r in added] == [RUN_NARROW, CHECK_EMPTY]  # the upper-case copy is a dup
    assert ids.get("coder").version == 2
    paraphrase = "Always run the failing test alone before running the full suite again."
    assert ids.propose_rules("coder", [paraphrase]) == []
    assert ids.get("coder").version == 2  # nothing added, nothing changed


def test_outcomes_rank_rules_and_prune_retires_weak_ones(tmp_path: Path) -> None:
    ids = Identities(tmp_path)
    weak, good, fresh = ids.propose_rules("debugger", [RUN_NARROW, CHECK_EMPTY, KEEP_SMALL])
    for i in range(6):
        ids.record_outcome("debugger", [weak.id, good.id], success=i == 0)
        ids.record_outcome("debugger", [good.id], success=True)
    best = ids.rules_for("debugger", limit=3)
    assert [r.id for r in best] == [good.id, fresh.id, weak.id]
    assert (best[0].uses, best[0].successes) == (12, 7) and best[2].success_rate == 1 / 6
    assert ids.rules_for("debugger", limit=1) == best[:1]
    pruned = ids.prune(min_uses=5, max_success_rate=0.2)
    assert [r.id for r in pruned] == [weak.id]
    assert [r.id for r in ids.rules_for("debugger", 5)] == [good.id, fresh.id]
    assert ids.prune() == []


def test_identity_survives_reopen_and_model_swap(tmp_path: Path) -> None:
    Identities(tmp_path).propose_rules("critic", [KEEP_SMALL])
    Identities(tmp_path).add_mistake("critic", "Approved a diff that deleted a test.")
    critic = Identities(tmp_path).get("critic")  # keyed by role: whatever model runs it
    assert [r.text for r in critic.rules] == [KEEP_SMALL]
    assert critic.mistakes == ("Approved a diff that deleted a test.",)
    section = prompt_section(critic, critic.rules)
    assert KEEP_SMALL in section and "deleted a test" in section


def test_rollback_restores_rules_mistakes_and_expertise(tmp_path: Path) -> None:
    ids = Identities(tmp_path)
    [rule] = ids.propose_rules("coder", [RUN_NARROW])
    ids.record_outcome("coder", [rule.id], success=True)
    good = ids.get("coder").version
    ids.set_expertise("coder", "Writes whatever.")
    ids.propose_rules("coder", [CHECK_EMPTY])
    ids.add_mistake("coder", "Returned prose instead of a diff.")
    for _ in range(5):
        ids.record_outcome("coder", [rule.id], success=False)
    ids.prune()
    assert ids.rules_for("coder") and ids.rules_for("coder")[0].text == CHECK_EMPTY
    restored = ids.rollback("coder", good)
    assert restored.expertise == DEFAULT_EXPERTISE["coder"] and restored.mistakes == ()
    assert [(r.id, r.text, r.uses, r.successes) for r in restored.rules] == [
        (rule.id, RUN_NARROW, 1, 1)
    ]
    assert restored.version == len(ids.history("coder"))
    assert ids.history("coder")[-1].change == f"rolled back to version {good}"
    with pytest.raises(KeyError):
        ids.rollback("coder", 999)


def test_mistakes_are_deduplicated_and_bounded(tmp_path: Path) -> None:
    ids = Identities(tmp_path)
    assert ids.add_mistake("tester", "Wrote a test that needs the network.")
    assert not ids.add_mistake("tester", "Wrote a test   that needs the network.")
    for i in range(25):
        ids.add_mistake("tester", f"mistake {i}")
    mistakes = ids.get("tester").mistakes
    assert len(mistakes) == 20 and mistakes[-1] == "mistake 24"


def test_due_counts_runs_since_the_last_reflection(tmp_path: Path) -> None:
    ids = Identities(tmp_path)
    assert not ids.due("coder", every=2)
    ids.record_outcome("coder", [], success=True)
    assert not ids.due("coder", every=2)
    ids.record_outcome("coder", [], success=False)
    assert ids.due("coder", every=2)
    ids.reflect("coder", gateway_replying("reflect-none", "none"), ["run 1: green"])
    assert not ids.due("coder", every=2)


def test_reflection_adds_a_general_rule_and_rejects_duplicate_and_task_specific(
    tmp_path: Path,
) -> None:
    ids = Identities(tmp_path)
    ids.propose_rules("debugger", [RUN_NARROW])
    reply = (
        "Looking at these runs, here is what I learned:\n"
        f"- {CHECK_EMPTY}\n"
        "- Run the failing test alone before running the whole suite again!\n"
        "- Make parse_date reject the thirtieth of February.\n"
        "- Read the full traceback before changing any code at all.\n"
    )
    gw = gateway_replying("reflect-debugger", reply)
    added = ids.reflect(
        "debugger",
        gw,
        ["run 1: parse_date accepted 2024-02-30; fixed on retry", "run 2: green first time"],
        task_terms=["parse_date", "dates.py"],
    )
    assert [r.text for r in added] == [CHECK_EMPTY]  # the 4th line is beyond the limit of 3
    assert {r.text for r in ids.get("debugger").rules} == {RUN_NARROW, CHECK_EMPTY}
    [call] = gw.records
    assert call.agent == "debugger"


def test_reflection_prompt_is_focused_and_a_failing_model_adds_nothing(tmp_path: Path) -> None:
    ids = Identities(tmp_path)
    gw = gateway_replying("reflect-broken", {"error": "auth"})
    assert ids.reflect("planner", gw, ["x" * 10_000] * 9) == []
    assert parse_rules("none") == []
    assert parse_rules("- a\n* b\n  - c\n- d") == ["a", "b", "c"]


class RecordingGateway(Gateway):
    """The real gateway, keeping the messages it was asked to send."""

    sent: list[list[dict[str, str]]]

    def complete(self, role, messages, **kwargs):  # type: ignore[no-untyped-def]
        self.sent = [*getattr(self, "sent", []), [dict(m) for m in messages]]
        return super().complete(role, messages, **kwargs)


def test_reflection_prompt_is_small_and_asks_for_bulleted_general_rules(tmp_path: Path) -> None:
    ids = Identities(tmp_path)
    ids.propose_rules("tester", [KEEP_SMALL])
    ids.add_mistake("tester", "Wrote a test that needs the network.")
    model = ScriptedReplies.register("reflect-prompt", ["none"])
    gw = RecordingGateway.for_run(Settings(models=ModelSettings(default=model)), environ={})
    assert isinstance(gw, RecordingGateway)
    transcripts = [f"run {i}: " + "details " * 1000 for i in range(9)]
    assert ids.reflect("tester", gw, transcripts) == []
    [[message]] = gw.sent
    prompt = message["content"]
    assert "at most 3" in prompt and '"- "' in prompt and KEEP_SMALL in prompt
    assert "needs the network" in prompt
    assert "run 8:" in prompt and "run 4:" not in prompt  # only the latest few runs
    assert len(prompt) < 8000


def test_a_reflected_rule_that_keeps_failing_is_pruned(tmp_path: Path) -> None:
    from greenpatch.agents import transcript
    from greenpatch.agents.gateway import CallRecord

    with transcript.Transcript(tmp_path, "r1") as t:
        t.event("tests", "3 failed: ZeroDivisionError", phase="TEST", iteration=1)
        t.call(CallRecord("coder", "m", 10, 5, 0.0, 0.1), [], "prose, no diff", "format_error")
        t.summary(task="fix the mean", status="failed", summary="never produced a diff")
    digest = transcript.digest(transcript.read(tmp_path, "r1"))
    assert "format_error" in digest and "fix the mean" in digest
    ids = Identities(tmp_path)
    gw = gateway_replying("reflect-then-prune", f"- {KEEP_SMALL}")
    [rule] = ids.reflect("coder", gw, [digest])
    for _ in range(5):
        ids.record_outcome("coder", [r.id for r in ids.rules_for("coder")], success=False)
    assert [r.id for r in ids.prune(role="coder")] == [rule.id]
    assert ids.rules_for("coder") == []
    assert [v.change for v in ids.history("coder")][-1] == f"pruned rules [{rule.id}]"
