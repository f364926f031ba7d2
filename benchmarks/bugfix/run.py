"""Run the bugfix benchmark: small projects with one real bug each, fixed by `greenpatch run`.

Every folder of projects/ is a Python project whose tests fail because of one bug; its
BUG.md holds the task as a user would type it, and fix.diff the reference fix. For each
project (a private copy without BUG.md and fix.diff) this runs

    greenpatch run TASK --workspace COPY --yes --json [--model M]

then runs the project's tests itself: a project counts as solved only if they all pass and
the files under tests/ are unchanged. It reports iterations, wall time, tokens and cost.

    python benchmarks/bugfix/run.py [--model M ...] [--only a,b] [--limit N] [--json]
    python benchmarks/bugfix/run.py --reference       # the loop, fed each project's fix.diff
    python benchmarks/bugfix/run.py --check           # no model: bug fails, fix.diff passes
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJECTS = HERE / "projects"
REPO = HERE.parents[1]
TEST_TIMEOUT_S = 120.0
_ANSWERS = ("BUG.md", "fix.diff")  # never shown to the model
_JUNK = ("__pycache__", ".pytest_cache", ".greenpatch")
_FIELD = re.compile(r"^(Task|Fix|Kind|Places):\s*(.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Project:
    """One benchmark project, as its BUG.md describes it."""

    name: str
    path: Path
    task: str
    fix: str
    kind: str
    places: int


@dataclass(frozen=True)
class Check:
    """Whether a project's bug and reference fix behave: red before, green after."""

    name: str
    fails_before: bool
    fix_applies: bool
    passes_after: bool
    before: str
    after: str

    @property
    def ok(self) -> bool:
        return self.fails_before and self.fix_applies and self.passes_after


@dataclass(frozen=True)
class Outcome:
    """One `greenpatch run` over one project, and what the independent test run said."""

    name: str
    model: str
    status: str  # greenpatch's status, or "timeout" / "error"
    solved: bool
    tests_changed: bool
    iterations: int
    wall_s: float
    duration_s: float
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    calls: int
    message: str


def load_projects(root: Path = PROJECTS) -> list[Project]:
    """Every project folder under `root`, by name."""
    return [_load(folder) for folder in sorted(root.iterdir()) if (folder / "BUG.md").is_file()]


def _load(folder: Path) -> Project:
    fields = dict(_FIELD.findall((folder / "BUG.md").read_text(encoding="utf-8")))
    missing = {"Task", "Fix", "Kind", "Places"} - fields.keys()
    if missing:
        raise ValueError(f"{folder / 'BUG.md'} lacks {', '.join(sorted(missing))}")
    return Project(
        folder.name,
        folder,
        fields["Task"].strip(),
        fields["Fix"].strip(),
        fields["Kind"].strip(),
        int(fields["Places"]),
    )


def copy_project(project: Project, dest: Path, *, with_answers: bool = False) -> Path:
    """A private copy of the project at `dest`; without BUG.md and fix.diff unless asked."""
    ignored = _JUNK if with_answers else (*_JUNK, *_ANSWERS)
    shutil.copytree(project.path, dest, ignore=shutil.ignore_patterns(*ignored))
    return dest


def _execute(
    cmd: Sequence[str], cwd: Path, timeout: float, env: dict[str, str] | None = None
) -> tuple[int | None, str, str]:
    """Run `cmd`; (return code, stdout, stderr), the code None on timeout. A timeout kills
    the whole process group, so test processes the run started do not outlive it."""
    with subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            return None, out, err
        return proc.returncode, out, err


def _test_env() -> dict[str, str]:
    # The projects need no pytest plugins; loading the venv's plugins triples the start-up.
    return {
        **os.environ,
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def run_tests(workspace: Path, timeout: float = TEST_TIMEOUT_S) -> tuple[bool, str]:
    """Run the project's tests; (all passed, pytest's summary line)."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header"]
    code, out, err = _execute(cmd, workspace, timeout, _test_env())
    if code is None:
        return False, f"tests timed out after {timeout:.0f}s"
    lines = [line for line in (out + err).splitlines() if line.strip()]
    return code == 0, lines[-1].strip("= ") if lines else f"pytest exited {code}"


def check_project(project: Project) -> Check:
    """Tests fail on the project as shipped, fix.diff applies, and then they all pass."""
    with tempfile.TemporaryDirectory(prefix=f"bugfix-{project.name}-") as tmp:
        work = copy_project(project, Path(tmp) / project.name)
        passed, before = run_tests(work)
        applied = subprocess.run(
            ["git", "apply", str(project.path / "fix.diff")],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
        )
        if applied.returncode != 0:
            return Check(project.name, not passed, False, False, before, applied.stderr.strip())
        green, after = run_tests(work)
        return Check(project.name, not passed, True, green, before, after)


def _tests_digest(workspace: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((workspace / "tests").rglob("*.py")):
        digest.update(path.relative_to(workspace).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _greenpatch_env() -> dict[str, str]:
    # The checkout's greenpatch, whatever is installed in the interpreter.
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"}


def _transcript(work: Path) -> list[dict[str, Any]]:
    """The lines of the run's transcripts: a run killed at the timeout leaves them too."""
    rows = []
    for path in sorted((work / ".greenpatch" / "runs").glob("*.jsonl")):
        for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rows.append(json.loads(raw))
            except ValueError:
                continue  # a line the kill cut short
    return rows


def _killed_run(lines: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    """What a run with no result spent: its model calls, and the last one it recorded (the
    transcript holds calls only; iterations are in state.db, so they count as 0)."""
    calls = [line for line in lines if line.get("type") == "call"]
    where = f"; last recorded: call {calls[-1].get('role')}" if calls else ""
    return calls, where


def run_project(
    project: Project, model: str | None, timeout: float, keep: Path | None = None
) -> Outcome:
    """Let `greenpatch run` fix a private copy of the project, then judge it by its tests.
    With `keep`, the run's transcripts are copied to keep/<project>/ (main adds the model)."""
    label = model or "(default)"
    with tempfile.TemporaryDirectory(prefix=f"bugfix-{project.name}-") as tmp:
        work = copy_project(project, Path(tmp) / project.name)
        tests_before = _tests_digest(work)
        cmd = [sys.executable, "-m", "greenpatch.cli", "run", project.task]
        cmd += ["--workspace", str(work), "--yes", "--json"]
        cmd += ["--model", model] if model else []
        started = time.monotonic()
        code, out, err = _execute(cmd, work, timeout, _greenpatch_env())
        wall = time.monotonic() - started
        result = _parse_result(out)
        if result is not None:
            status, message = str(result.get("status", "?")), str(result.get("message", ""))
            calls, iterations = list(result.get("calls", [])), int(result.get("iterations", 0))
        else:
            iterations = 0
            calls, where = _killed_run(_transcript(work))
            if code is None:
                status, message = "timeout", f"no result after {timeout:.0f}s{where}"
            else:
                status = "error"
                message = (_last_line(err) or f"greenpatch exited {code}") + where
        if keep is not None and (work / ".greenpatch" / "runs").is_dir():
            shutil.copytree(work / ".greenpatch" / "runs", keep / project.name, dirs_exist_ok=True)
        changed = _tests_digest(work) != tests_before
        green, summary = run_tests(work)
        return Outcome(
            name=project.name,
            model=label,
            status=status,
            solved=green and not changed,
            tests_changed=changed,
            iterations=iterations,
            wall_s=round(wall, 2),
            duration_s=float(result.get("duration_s", 0.0)) if result else 0.0,
            prompt_tokens=sum(int(c.get("prompt_tokens", 0)) for c in calls),
            completion_tokens=sum(int(c.get("completion_tokens", 0)) for c in calls),
            cost_usd=float(result.get("cost_usd", 0.0)) if result else 0.0,
            calls=len(calls),
            message=f"{message} | tests: {summary}",
        )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def _parse_result(stdout: str) -> dict[str, object] | None:
    try:
        parsed = json.loads(stdout)
    except json.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def reference_script(project: Project, folder: Path) -> str:
    """A scripted model (a JSON file in `folder`) whose only reply is the project's fix.diff,
    so a run checks the runner and the loop end to end without a real model."""
    diff = (project.path / "fix.diff").read_text(encoding="utf-8")
    script = folder / f"{project.name}.json"
    script.write_text(json.dumps({"replies": [f"```diff\n{diff}```\n"]}), encoding="utf-8")
    return f"scripted/{script}"


def _in_parallel(
    work: Callable[[Project], Check], projects: Sequence[Project], jobs: int
) -> list[Check]:
    if jobs <= 1:
        return [work(project) for project in projects]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(work, projects))


def totals(outcomes: Sequence[Outcome]) -> dict[str, object]:
    """Solve rate and sums over one model's outcomes."""
    solved = [o for o in outcomes if o.solved]
    count = len(outcomes)
    return {
        "model": outcomes[0].model if outcomes else "",
        "projects": count,
        "solved": len(solved),
        "solve_rate": round(len(solved) / count, 3) if count else 0.0,
        "mean_iterations": round(sum(o.iterations for o in outcomes) / count, 2) if count else 0,
        "mean_iterations_solved": (
            round(sum(o.iterations for o in solved) / len(solved), 2) if solved else 0
        ),
        "wall_s": round(sum(o.wall_s for o in outcomes), 1),
        "prompt_tokens": sum(o.prompt_tokens for o in outcomes),
        "completion_tokens": sum(o.completion_tokens for o in outcomes),
        "cost_usd": round(sum(o.cost_usd for o in outcomes), 4),
    }


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    cells = [[str(c) for c in header], *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def render_checks(checks: Sequence[Check]) -> str:
    rows = [(c.name, "ok" if c.ok else "BAD", c.before, c.after) for c in checks]
    good = sum(c.ok for c in checks)
    table = _table(("project", "check", "before (bug)", "after (fix.diff)"), rows)
    return f"{table}\n\n{good}/{len(checks)} projects: bug fails, reference fix passes"


def render_outcomes(outcomes: Sequence[Outcome], projects: dict[str, Project]) -> str:
    rows = [
        (
            o.name,
            projects[o.name].places,
            o.status,
            "yes" if o.solved else "no",
            o.iterations,
            f"{o.wall_s:.1f}",
            o.prompt_tokens + o.completion_tokens,
            f"{o.cost_usd:.4f}",
        )
        for o in outcomes
    ]
    header = ("project", "places", "status", "solved", "iter", "wall s", "tokens", "cost $")
    t = totals(outcomes)
    summary = (
        f"model {t['model']}: solved {t['solved']}/{t['projects']} ({t['solve_rate']:.0%}), "
        f"mean iterations {t['mean_iterations']}, wall {t['wall_s']} s, "
        f"tokens {t['prompt_tokens']}+{t['completion_tokens']}, cost ${t['cost_usd']:.4f}"
    )
    return f"{_table(header, rows)}\n{summary}"


def _select(projects: list[Project], only: str | None, limit: int | None) -> list[Project]:
    if only:
        wanted = [name.strip() for name in only.split(",") if name.strip()]
        known = {p.name: p for p in projects}
        unknown = [name for name in wanted if name not in known]
        if unknown:
            raise SystemExit(f"unknown project(s): {', '.join(unknown)}")
        projects = [known[name] for name in wanted]
    return projects[:limit] if limit is not None else projects


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--model",
        action="append",
        help="model for greenpatch run (repeat to compare); default: what greenpatch resolves",
    )
    p.add_argument("--reference", action="store_true", help="scripted model replying fix.diff")
    p.add_argument("--check", action="store_true", help="verify bugs and fixes; no model")
    p.add_argument("--only", help="comma-separated project names")
    p.add_argument("--limit", type=int, help="first N projects only")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per project run")
    p.add_argument("--jobs", type=int, default=1, help="projects checked at once (--check)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument(
        "--keep", type=Path, help="copy each run's transcripts to KEEP/<model>/<project>/"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    projects = _select(load_projects(), args.only, args.limit)
    if args.check:
        checks = _in_parallel(check_project, projects, args.jobs)
        if args.json:
            print(json.dumps([{**dataclasses.asdict(c), "ok": c.ok} for c in checks], indent=2))
        else:
            print(render_checks(checks))
        return 0 if all(c.ok for c in checks) else 1
    by_name = {p.name: p for p in projects}
    runs: list[list[Outcome]] = []
    with tempfile.TemporaryDirectory(prefix="bugfix-scripts-") as scripts:
        for model in [None] if args.reference else args.model or [None]:
            outcomes = []
            for project in projects:
                chosen = reference_script(project, Path(scripts)) if args.reference else model
                keep = args.keep / _slug(model or "default") if args.keep else None
                outcome = run_project(project, chosen, args.timeout, keep)
                if args.reference:
                    outcome = dataclasses.replace(outcome, model="reference (scripted fix.diff)")
                # One JSON line per project as it ends: a long run stopped early still reports.
                print(json.dumps(dataclasses.asdict(outcome)), file=sys.stderr, flush=True)
                outcomes.append(outcome)
            runs.append(outcomes)
    if args.json:
        report = [
            {"totals": totals(o), "projects": [dataclasses.asdict(x) for x in o]} for o in runs
        ]
        print(json.dumps(report, indent=2))
    else:
        print("\n\n".join(render_outcomes(outcomes, by_name) for outcomes in runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
