"""Benchmark the patch engine on real patches, corrupted the way models corrupt diffs.

For every patch of swebench-lite-dev.jsonl (the gold patch and the agents' patches), the
expected post-image is `git apply` of the pristine patch at `base_commit`. Each patch is then
corrupted in each listed way (greenpatch.patch.corruptions, plus CRLF files and a wrong
context line) and applied by greenpatch and by three baselines; each outcome is scored:

  ok       the files are exactly the expected post-image
  refused  nothing changed
  corrupt  anything else (partial, misplaced or mangled result)

For `wrong_context` the right outcome is `refused`. Repositories are bare git dirs (as the
`fetch` tool brings them); files are read with `git show COMMIT:PATH`, never committed.

  python benchmarks/patch_apply.py --repos-dir /work/.mirror [--json] [--limit N]
  python benchmarks/patch_apply.py --repo psf/requests=/path/to/requests.git ...
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from greenpatch.patch import apply_patch, apply_text_edits, text_edits
from greenpatch.patch.corruptions import CORRUPTIONS, wrong_context

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "swebench-lite-dev.jsonl"
KINDS = ["pristine", *CORRUPTIONS, "crlf_file", "wrong_context"]
GREENPATCH = "greenpatch"
BASELINES = {
    "git apply": ["git", "apply"],
    "git apply --recount --ignore-whitespace -C1": [
        "git",
        "apply",
        "--recount",
        "--ignore-whitespace",
        "-C1",
    ],
    "patch --fuzz=2": ["patch", "--fuzz=2", "--batch", "--forward", "--no-backup-if-mismatch"],
}
_PATHS = re.compile(r"^(?:diff --git a/(\S+) b/(\S+)|--- a/(\S+)|\+\+\+ b/(\S+))", re.M)

State = dict[str, str]


@dataclass
class Case:
    """One patch with its pre-image and the post-image `git apply` gives."""

    instance_id: str
    source: str
    patch: str
    pre: State
    expected: State


def find_repo(repo: str, repos_dir: Path | None, explicit: dict[str, Path]) -> Path | None:
    """The git dir of `owner/name`: given explicitly, or under `repos_dir`."""
    if repo in explicit:
        return explicit[repo]
    if repos_dir is None:
        return None
    owner, name = repo.split("/")
    for cand in (f"{owner}+{name}/repo", f"{owner}+{name}", name, f"{name}.git"):
        if (repos_dir / cand).is_dir():
            return repos_dir / cand
    return None


def git_show(git_dir: Path, commit: str, path: str) -> str | None:
    """The file at `commit`, or None when it does not exist there."""
    proc = subprocess.run(
        ["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"],
        capture_output=True,
        check=False,
    )
    return proc.stdout.decode("utf-8") if proc.returncode == 0 else None


def touched_paths(patch: str) -> set[str]:
    """Every path a (clean, git) patch names."""
    return {p for m in _PATHS.finditer(patch) for p in m.groups() if p}


def materialise(root: Path, state: State) -> None:
    """Write `state` under `root`."""
    for path, text in state.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))


def snapshot(root: Path) -> State:
    """Every file under `root` (reject and backup files left out)."""
    out: State = {}
    for p in root.rglob("*"):
        if p.is_file() and not p.name.endswith((".rej", ".orig")):
            out[p.relative_to(root).as_posix()] = p.read_bytes().decode("utf-8", "replace")
    return out


def strip_level(patch: str) -> str:
    return "-p1" if re.search(r"^(--- a/|\+\+\+ b/|diff --git a/)", patch, re.M) else "-p0"


def run_tool(cmd: list[str], patch: str, pre: State) -> State:
    """Apply `patch` with an external tool to a scratch copy of `pre`; the files after."""
    with tempfile.TemporaryDirectory(prefix="gp-bench-") as tmp:
        work, patch_file = Path(tmp) / "w", Path(tmp) / "change.diff"
        work.mkdir()
        materialise(work, pre)
        patch_file.write_bytes(patch.encode("utf-8"))
        if cmd[0] == "patch":
            argv = [
                *cmd,
                strip_level(patch),
                "-r",
                str(Path(tmp) / "rejects"),
                "-i",
                str(patch_file),
            ]
        else:
            argv = [*cmd, strip_level(patch), str(patch_file)]
        subprocess.run(
            argv,
            cwd=work,
            capture_output=True,
            timeout=60,
            check=False,
        )
        return snapshot(work)


def run_greenpatch(patch: str, pre: State) -> State:
    """Apply `patch` with the engine, in memory; the files after."""
    result = apply_patch(patch, pre.get)
    state = dict(pre)
    for ch in result.changes:
        if ch.old_path and ch.old_path != ch.path:
            state.pop(ch.old_path, None)
        if ch.new_text is None:
            state.pop(ch.path, None)
        else:
            state[ch.path] = ch.new_text
    return state


def score(state: State, pre: State, expected: State) -> str:
    if state == expected:
        return "ok"
    return "refused" if state == pre else "corrupt"


def load_cases(
    data: Path, repos_dir: Path | None, explicit: dict[str, Path], limit: int
) -> list[Case]:
    """Every patch whose repository is here, with pre-image and expected post-image."""
    cases: list[Case] = []
    missing: Counter[str] = Counter()
    for line in data.read_text().splitlines():
        inst = json.loads(line)
        git_dir = find_repo(inst["repo"], repos_dir, explicit)
        if git_dir is None:
            missing[inst["repo"]] += len(inst["patches"])
            continue
        for entry in inst["patches"]:
            case = _case(inst, entry, git_dir)
            if case is not None:
                cases.append(case)
            if limit and len(cases) >= limit:
                return cases
    for repo, n in missing.items():
        print(f"note: {repo} not found, {n} patches skipped", file=sys.stderr)
    return cases


def _case(inst: dict[str, object], entry: dict[str, str], git_dir: Path) -> Case | None:
    patch = entry["patch"]
    pre: State = {}
    for path in touched_paths(patch):
        text = git_show(git_dir, str(inst["base_commit"]), path)
        if text is not None:
            pre[path] = text
    expected = run_tool(["git", "apply"], patch, pre)
    if expected == pre:
        print(f"note: {inst['instance_id']}/{entry['source']} does not apply", file=sys.stderr)
        return None
    return Case(str(inst["instance_id"]), entry["source"], patch, pre, expected)


def variant(case: Case, kind: str, rng: random.Random) -> tuple[str, State, State] | None:
    """The patch, pre-image and expected post-image for one corruption kind."""
    if kind == "pristine":
        return case.patch, case.pre, case.expected
    if kind == "crlf_file":
        # files the patch creates get LF: nothing tells a tool to write CRLF there
        crlf = {p: _crlf(t) for p, t in case.pre.items()}
        post = {p: _crlf(t) if p in case.pre else t for p, t in case.expected.items()}
        return case.patch, crlf, post
    if kind == "wrong_context":
        broken = wrong_context(case.patch, rng)
        return (broken, case.pre, case.expected) if broken != case.patch else None
    return CORRUPTIONS[kind](case.patch, rng), case.pre, case.expected


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def run(cases: list[Case], kinds: list[str], tools: list[str]) -> dict[str, object]:
    """Score every case x kind x tool."""
    table: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    misses: list[dict[str, str]] = []
    for n, case in enumerate(cases):
        for kind in kinds:
            rng = random.Random(f"{case.instance_id}/{case.source}/{kind}")
            v = variant(case, kind, rng)
            if v is None:
                continue
            patch, pre, expected = v
            for tool in tools:
                state = (
                    run_greenpatch(patch, pre)
                    if tool == GREENPATCH
                    else run_tool(BASELINES[tool], patch, pre)
                )
                outcome = score(state, pre, expected)
                table[kind][tool][outcome] += 1
                good = "refused" if kind == "wrong_context" else "ok"
                if tool == GREENPATCH and outcome != good:
                    misses.append(_miss(case, kind, outcome, patch, pre))
        print(f"\r{n + 1}/{len(cases)} patches", end="", file=sys.stderr)
    print(file=sys.stderr)
    return {
        "table": {k: {t: dict(c) for t, c in v.items()} for k, v in table.items()},
        "misses": misses,
    }


def check_normalised_diffs(cases: list[Case]) -> tuple[int, int]:
    """For how many pristine patches both greenpatch outputs are exact: `git apply` of the
    normalised diff and the LSP text edits each give the expected post-image."""
    good = 0
    for case in cases:
        result = apply_patch(case.patch, case.pre.get)
        edits_ok = all(
            apply_text_edits(c.old_text, text_edits(c.old_text, c.new_text)) == c.new_text
            for c in result.changes
            if c.old_text is not None and c.new_text is not None
        )
        if (
            result.ok
            and edits_ok
            and run_tool(["git", "apply"], result.diff, case.pre) == case.expected
        ):
            good += 1
    return good, len(cases)


def _miss(case: Case, kind: str, outcome: str, patch: str, pre: State) -> dict[str, str]:
    result = apply_patch(patch, pre.get)
    reasons = ",".join(sorted({f.reason.value for f in result.failures}))
    return {
        "instance": case.instance_id,
        "source": case.source,
        "kind": kind,
        "outcome": outcome,
        "reasons": reasons,
    }


def format_table(table: dict[str, dict[str, dict[str, int]]], tools: list[str]) -> str:
    """Rows: corruption kinds; per tool: ok% and ok/refused/corrupt counts."""
    width = 26
    head = f"{'kind':<20}{'n':>5}  " + "".join(f"{_short(t):<{width}}" for t in tools)
    lines = [head, "-" * len(head)]
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    for kind in KINDS:
        if kind not in table:
            continue
        row = table[kind]
        n = sum(row[tools[0]].values())
        cells = []
        for t in tools:
            c = row.get(t, {})
            good = c.get("refused" if kind == "wrong_context" else "ok", 0)
            cells.append(_cell(good, n, c))
            if kind not in ("pristine", "wrong_context"):
                totals[t].update(c)
        lines.append(f"{kind:<20}{n:>5}  " + "".join(f"{x:<{width}}" for x in cells))
    if totals:
        n = sum(totals[tools[0]].values())
        cells = [_cell(totals[t]["ok"], n, totals[t]) for t in tools]
        lines.append("-" * len(head))
        lines.append(f"{'all corruptions':<20}{n:>5}  " + "".join(f"{x:<{width}}" for x in cells))
    lines.append("cells: good% ok/refused/corrupt; good = ok, except wrong_context: good = refused")
    return "\n".join(lines)


def _cell(good: int, n: int, c: Mapping[str, int]) -> str:
    return f"{100 * good / n:5.1f}% {c.get('ok', 0)}/{c.get('refused', 0)}/{c.get('corrupt', 0)}"


def _short(tool: str) -> str:
    return {"git apply --recount --ignore-whitespace -C1": "git apply -C1 recount ws"}.get(
        tool, tool
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repos-dir", type=Path, help="dir holding owner+name/repo bare git dirs")
    ap.add_argument("--repo", action="append", default=[], metavar="OWNER/NAME=GITDIR")
    ap.add_argument("--limit", type=int, default=0, help="at most this many patches")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--json", action="store_true", help="print the table and misses as JSON")
    args = ap.parse_args(argv)
    explicit = dict(_pair(s) for s in args.repo)
    cases = load_cases(args.data, args.repos_dir, explicit, args.limit)
    if not cases:
        print("no patches: give --repos-dir or --repo", file=sys.stderr)
        return 2
    kinds = [k for k in args.kinds.split(",") if k]
    tools = [GREENPATCH] + ([] if args.no_baselines else list(BASELINES))
    started = time.monotonic()
    report = run(cases, kinds, tools)
    good, total = check_normalised_diffs(cases)
    report["normalised_diff_git_apply"] = {"ok": good, "n": total}
    report["patches"] = len(cases)
    report["seconds"] = round(time.monotonic() - started, 1)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{len(cases)} patches, {report['seconds']} s")
        print(format_table(report["table"], tools))  # type: ignore[arg-type]
        print(f"normalised diff (git apply) and LSP text edits both exact: {good}/{total}")
        for m in report["misses"]:  # type: ignore[attr-defined]
            print("miss:", m)
    return 0


def _pair(spec: str) -> tuple[str, Path]:
    name, _, path = spec.partition("=")
    return name, Path(path)


if __name__ == "__main__":
    sys.exit(main())
