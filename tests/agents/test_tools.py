"""Tools for the roles: the registry over a real working copy and the real sandbox, and the
`TOOL:` protocol through the loop with the scripted model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from greenpatch.agents import tools, transcript
from greenpatch.agents.gateway import Gateway
from greenpatch.agents.loop import Run, run_task
from greenpatch.agents.providers import ScriptedReplies
from greenpatch.agents.types import TaskRequest
from greenpatch.agents.workcopy import WorkingCopy
from greenpatch.config import ModelSettings, Settings
from greenpatch.patch import FileChange
from greenpatch.sandbox import detect_python, get_sandbox


@pytest.fixture
def toolbox(shop: Path) -> tuple[tools.Toolbox, WorkingCopy, list[str]]:
    copy = WorkingCopy(shop, {})
    copy.apply((FileChange("shop/extra.py", None, "X = 1\n"),))
    asked: list[str] = []
    box = tools.for_run(
        copy,
        get_sandbox("bwrap"),
        detect_python(shop),
        approve=lambda what: asked.append(what) or False,
    )
    return box, copy, asked


def test_read_and_list_see_the_runs_changes(toolbox: Any) -> None:
    box, _, _ = toolbox
    assert box.call("read", "shop/extra.py") == "X = 1\n"
    assert "def apply_discount" in box.call("read", "shop/pricing.py")
    assert box.call("read", "../outside.py") == "../outside.py: no such file in the workspace"
    assert box.call("list", "shop").splitlines() == ["__init__.py", "extra.py", "pricing.py"]
    assert "shop/" in box.call("list", ".").splitlines()
    assert box.call("list", "../..") == "../..: outside the workspace"


def test_tests_and_commands_run_in_the_sandbox(toolbox: Any) -> None:
    box, _, _ = toolbox
    result = box.call("test", "tests/test_pricing.py")
    assert result.startswith("failed: 2 failed, 2 passed") and "apply_discount" in result
    # The sandbox sees the working copy's changes; a command off the allowlist is refused
    # (the sandbox's own isolation, network included, is tests/sandbox/test_hostile.py's).
    got = box.call("run", "python -c 'import shop.extra; print(shop.extra.X)'")
    assert got == "exit 0\n1"
    assert box.call("run", "curl http://example.com").startswith("not allowed: curl")
    assert box.call("nope", "x").startswith("no tool 'nope'; the tools are: read, list")


def test_installing_needs_the_users_yes(toolbox: Any) -> None:
    box, _, asked = toolbox
    assert box.call("install", "left-pad") == "the user did not allow installing left-pad"
    assert asked == ["install the Python package left-pad"]
    assert "is not a package name" in box.call("install", "--index-url=http://evil x")
    assert len(asked) == 1  # a bad name never reaches the user


def test_a_role_that_only_asks_for_tools_is_stopped() -> None:
    model = ScriptedReplies.register("tool-loop", ["TOOL: read a.py"] * 10)
    gateway = Gateway.for_run(Settings(models=ModelSettings(default=model)), environ={})
    runs: list[str] = []
    box = tools.Toolbox(
        [tools.Tool("read", "read PATH", "a file", lambda p: runs.append(p) or "text")]
    )
    messages: list[Any] = [{"role": "user", "content": "fix it"}]
    reply = tools.converse(gateway, "debugger", messages, box)
    assert reply.text == "TOOL: read a.py"
    assert len(gateway.records) == tools.MAX_CALLS + 1
    results = [m["content"] for m in messages if m["content"].startswith("RESULT of read a.py")]
    assert len(results) == tools.MAX_CALLS
    # Read once; asked again, it is told it has the result and should answer.
    assert runs == ["a.py"] and results[0] == "RESULT of read a.py:\ntext"
    assert all(r.endswith("Give your answer now.") for r in results[1:])
    assert tools.request_in("TOOL: read a.py\n```diff\n```") is None  # an answer, not a request
    assert tools.request_in("tool: read a.py") == ("read", "a.py")  # the 1.5B wrote it so
    assert tools.request_in("Tool: List src") == ("list", "src")


def test_the_debugger_reads_a_file_before_its_fix(shop: Path, shop_replies: dict[str, Any]) -> None:
    r = shop_replies
    model = ScriptedReplies.register(
        "debugger-reads", [r["wrong"], "TOOL: read shop/pricing.py", r["right"], r["approve"]]
    )
    request = TaskRequest(task="Fix the failing tests", workspace=shop, kind="fix")
    run = Run(request, Settings(models=ModelSettings(default=model)), journal_in_background=False)
    result = run_task(run)
    assert result.status == "green", result.message
    assert [c.agent for c in result.calls] == ["coder", "debugger", "debugger", "critic"]
    calls = transcript.read(shop, run.run_id).calls
    first, second = calls[1], calls[2]
    assert "TOOL: read PATH" in first.messages[-1]["content"]  # the debugger is told how
    answer = second.messages[-1]["content"]
    # The read saw the run's working copy: the coder's first (wrong) edit, not the disk.
    assert answer.startswith("RESULT of read shop/pricing.py:")
    assert "return round(price - percent, 2)" in answer
    assert "TOOL:" not in calls[0].messages[-1]["content"]  # the coder has no tools


def test_a_bare_test_name_selects_that_test(toolbox: Any) -> None:
    box, _, _ = toolbox
    # A small model names the test it saw fail, not its file: run it, not a missing path.
    result = box.call("test", "test_apply_discount_keeps_cents()")
    assert result.startswith("failed: 1 failed") and "test_apply_discount_keeps_cents" in result
    assert box.call("test", "test_no_such_thing").startswith("no test is named test_no_such_thing")


def test_a_file_named_by_its_base_name_is_found(toolbox: Any) -> None:
    box, copy, _ = toolbox
    # The 1.5B model's calls in the timesheet project: `read pay.py`, `test test_pay.py`.
    assert box.call("read", "pricing.py").startswith('(shop/pricing.py)\n"""Prices')
    assert box.call("read", "extra.py") == "(shop/extra.py)\nX = 1\n"  # the run's new file
    result = box.call("test", "test_pricing.py::test_apply_discount_keeps_cents")
    assert result.startswith("failed: 1 failed")
    assert box.call("read", "nowhere.py") == "nowhere.py: no such file in the workspace"
    copy.apply((FileChange("tests/extra.py", None, "Y = 2\n"),))
    assert box.call("read", "extra.py") == "extra.py: no such file in the workspace"  # two now
    copy.apply((FileChange("tests/extra.py", "Y = 2\n", None),))  # the run deletes one
    assert box.call("read", "extra.py") == "(shop/extra.py)\nX = 1\n"


def test_selection_keeps_paths_node_ids_and_options() -> None:
    assert tools.test_selection("tests/t.py::test_a -k 'a or b' -x t.py test_c") == (
        ["tests/t.py::test_a", "-x", "t.py"],
        ["(a or b)", "test_c"],  # one -k: pytest would keep only the last
    )
    assert tools.test_selection("test_a TestCart.test_total() 'test_b and,") == (
        [],
        ["test_a", "test_total", "test_b"],
    )
    assert tools.test_selection("--tb short tests", lambda word: word == "tests") == (
        ["--tb", "short", "tests"],
        [],
    )
