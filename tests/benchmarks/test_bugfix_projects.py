"""Guards benchmarks/bugfix: every project is well formed, its tests fail on the bug and pass
with its reference fix, and the runner judges a `greenpatch run` end to end."""

from __future__ import annotations

import importlib.util
import json
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

RUNNER = Path(__file__).resolve().parents[2] / "benchmarks" / "bugfix" / "run.py"


def _load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bugfix_run", RUNNER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


run = _load_runner()
PROJECTS = run.load_projects()


def test_there_are_at_least_twenty_projects_some_needing_two_edits() -> None:
    assert len(PROJECTS) >= 20
    assert {p.places for p in PROJECTS} == {1, 2}
    assert len({p.kind for p in PROJECTS}) >= 15


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_project_is_laid_out_like_the_example(project) -> None:
    config = tomllib.loads((project.path / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["tool"]["pytest"]["ini_options"] == {"pythonpath": ["."], "testpaths": ["tests"]}
    package = project.path / project.name
    assert (package / "__init__.py").is_file()
    code_lines = sum(len(f.read_text().splitlines()) for f in package.glob("*.py"))
    assert 20 <= code_lines <= 120
    assert list((project.path / "tests").glob("test_*.py"))
    assert project.task and project.fix


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_bug_fails_and_reference_fix_passes(project) -> None:
    check = run.check_project(project)
    assert check.fails_before, f"tests pass on the buggy project: {check.before}"
    assert check.fix_applies, f"fix.diff does not apply: {check.after}"
    assert check.passes_after, f"tests still fail with fix.diff: {check.after}"
    assert " passed" in check.before, "a bug should leave some tests passing"


def test_copy_for_the_model_hides_the_answer(tmp_path: Path) -> None:
    copy = run.copy_project(PROJECTS[0], tmp_path / "work")
    assert not (copy / "BUG.md").exists() and not (copy / "fix.diff").exists()
    assert (copy / "tests").is_dir()


@pytest.mark.slow
def test_runner_scores_a_scripted_fix_as_solved(tmp_path: Path) -> None:
    project = next(p for p in PROJECTS if p.places == 2)
    model = run.reference_script(project, tmp_path)
    outcome = run.run_project(project, model, timeout=300)
    assert outcome.status == "green", outcome.message
    assert outcome.solved and not outcome.tests_changed
    assert outcome.iterations == 1 and outcome.calls == 2  # the coder, and the critic asked
    assert outcome.prompt_tokens > 0


@pytest.mark.slow
def test_a_run_killed_at_the_timeout_still_reports_what_it_spent(tmp_path: Path) -> None:
    # The coder answers prose, then hangs when asked again: the runner kills the run and
    # reads the transcript it left for the calls made and where it stopped.
    script = tmp_path / "hang.json"
    replies = ["I would look at the code first.", {"sleep": 600, "reply": "too late"}]
    script.write_text(json.dumps({"replies": replies}), encoding="utf-8")
    keep = tmp_path / "kept"
    outcome = run.run_project(PROJECTS[0], f"scripted/{script}", timeout=40, keep=keep)
    assert outcome.status == "timeout" and not outcome.solved
    assert outcome.calls == 1 and outcome.prompt_tokens > 0
    assert "no result after 40s; last recorded: call coder" in outcome.message
    assert list((keep / PROJECTS[0].name).glob("*.jsonl"))
