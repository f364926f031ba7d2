"""The critic: bandit's findings on the changed lines always ask for a revision; otherwise the
model's APPROVE or REVISE decides, with the scripted model."""

from __future__ import annotations

from greenpatch.agents import roles
from greenpatch.agents.gateway import Gateway
from greenpatch.agents.providers import ScriptedReplies
from greenpatch.config import ModelSettings, Settings
from greenpatch.patch import FileChange

OLD = """import subprocess


def archive(name):
    subprocess.run(["tar", "czf", name + ".tgz", name], check=True)
"""
SHELL = """import subprocess


def archive(name):
    subprocess.run("tar czf " + name + ".tgz " + name, shell=True, check=True)
"""


def critic(name: str, reply: str) -> tuple[Gateway, list[str]]:
    model = ScriptedReplies.register(name, [{"role": "critic", "reply": reply}])
    return Gateway.for_run(Settings(models=ModelSettings(default=model)), environ={}), []


def review(name: str, reply: str, old: str, new: str) -> roles.Review:
    gateway, _ = critic(name, reply)
    change = FileChange("tools/archive.py", old, new)
    return roles.Critic(gateway).review(
        "Archive a folder", "(the diff)", "before: red; after: green", [change]
    )


def test_a_shell_command_built_from_input_is_sent_back_whatever_the_model_says() -> None:
    verdict = review("critic-shell", "APPROVE\nLooks fine.", OLD, SHELL)
    assert not verdict.approved
    assert [(f.path, f.line) for f in verdict.findings] == [("tools/archive.py", 5)]
    assert verdict.findings[0].severity == "HIGH" and "shell" in verdict.findings[0].text
    assert "tools/archive.py:5 [HIGH]" in verdict.feedback


def test_only_the_changed_lines_count() -> None:
    # The same shell call, untouched by the change: not this change's finding.
    added = SHELL + "\n\ndef size(name):\n    return len(name)\n"
    assert roles.bandit_findings([FileChange("tools/archive.py", SHELL, added)]) == []
    verdict = review("critic-unchanged", "APPROVE", SHELL, added)
    assert verdict.approved and verdict.findings == ()


def test_the_models_verdict_decides_the_rest() -> None:
    revise = review("critic-revise", "**REVISE**\nThe name is not quoted.", OLD, OLD + "\n")
    assert not revise.approved and revise.feedback == "The name is not quoted."
    approve = review("critic-approve", "APPROVE: does the task and nothing else.", OLD, OLD + "\n")
    assert approve.approved and approve.from_model
    inline = review("critic-inline", "**REVISE**: quote the name.\nUse shlex.", OLD, OLD + "\n")
    assert not inline.approved and inline.feedback == "quote the name.\nUse shlex."
    labelled = review("critic-label", "Verdict: revise - the name is not quoted", OLD, OLD + "\n")
    assert not labelled.approved and labelled.feedback == "the name is not quoted"


def test_a_critic_that_does_not_answer_leaves_the_tests_as_the_gate() -> None:
    gateway = Gateway.for_run(
        Settings(models=ModelSettings(default=ScriptedReplies.register("critic-none", []))),
        environ={},
    )
    verdict = roles.Critic(gateway).review(
        "task", "(diff)", "green", [FileChange("a.py", "x = 1\n", "x = 2\n")]
    )
    assert verdict.approved and not verdict.from_model
