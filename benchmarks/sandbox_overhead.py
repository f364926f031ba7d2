"""Sandbox overhead: what a sandboxed run costs over a bare process, and what building the
workspace view costs as the tree grows. A measurement, not a test.

    python benchmarks/sandbox_overhead.py [--runs N] [--json]

Per backend available here (bwrap, process, docker when an engine is reachable): the median
wall time of `true` and `python -c pass`, bare and through `Sandbox.run`, as a ratio and in
ms over bare. Then the view: trees of 100, 1,000 and 10,000 files with 1 and 50 changed
files, for each view strategy that works here (`mount` and `namespace` overlays, a full
`copy`): the staging alone (writing the changed files, mounting) and, for the strategy the
bwrap backend uses, a whole sandboxed run of `true` on that view.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from greenpatch.errors import SandboxError
from greenpatch.sandbox import Limits, Sandbox, get_sandbox
from greenpatch.sandbox.view import STRATEGIES, create_view, strategy_works

COMMANDS = {"true": ["true"], "python -c pass": [sys.executable, "-c", "pass"]}
TREE_SIZES = (100, 1_000, 10_000)
CHANGED = (1, 50)


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm caches (page cache, probes) outside the measurement
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def backends() -> dict[str, Sandbox]:
    found: dict[str, Sandbox] = {}
    for name in ("bwrap", "process", "docker"):
        try:
            found[name] = get_sandbox(name, Limits())
        except SandboxError as exc:
            print(f"# {name}: not available ({exc})", file=sys.stderr)
    return found


def overhead(runs: int, workspace: Path) -> list[dict[str, object]]:
    """Bare and sandboxed runs interleaved, so that load from elsewhere hits both alike."""
    rows: list[dict[str, object]] = []
    sandboxes = backends()
    for label, argv in COMMANDS.items():
        cmd = {n: (["python", "-c", "pass"] if n == "docker" and label != "true" else argv)
               for n in sandboxes}  # fmt: skip
        runners: dict[str, Callable[[], object]] = {
            "bare": lambda argv=argv: subprocess.run(argv, check=True)
        }
        for name, sandbox in sandboxes.items():
            runners[name] = lambda s=sandbox, c=cmd[name]: s.run(workspace, c, timeout=60)
        samples: dict[str, list[float]] = {name: [] for name in runners}
        for fn in runners.values():
            fn()  # warm caches (page cache, probes) outside the measurement
        for _ in range(runs):
            for name, fn in runners.items():
                start = time.perf_counter()
                fn()
                samples[name].append((time.perf_counter() - start) * 1000)
        bare = statistics.median(samples["bare"])
        for name in sandboxes:
            ms = statistics.median(samples[name])
            rows.append(
                {
                    "command": label,
                    "backend": name,
                    "bare_ms": round(bare, 2),
                    "sandbox_ms": round(ms, 2),
                    "overhead_ms": round(ms - bare, 2),
                    "ratio": round(ms / bare, 2),
                }
            )
    return rows


def make_tree(root: Path, files: int) -> None:
    for i in range(files):
        path = root / f"pkg{i // 100}" / f"mod{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"VALUE = {i}\n")


def view_costs(runs: int, base: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    strategies = [s for s in STRATEGIES if strategy_works(s)]
    try:
        bwrap: Sandbox | None = get_sandbox("bwrap", Limits())
    except SandboxError:
        bwrap = None
    for size in TREE_SIZES:
        tree = base / f"tree{size}"
        make_tree(tree, size)
        for changed in CHANGED:
            overlay = {f"pkg{i // 100}/mod{i}.py": f"VALUE = -{i}\n" for i in range(changed)}
            for strategy in strategies:

                def stage(
                    tree: Path = tree, overlay: dict[str, str] = overlay, s: str = strategy
                ) -> None:
                    create_view(tree, overlay, strategies=(s,)).cleanup()

                row: dict[str, object] = {
                    "files": size,
                    "changed": changed,
                    "strategy": strategy,
                    "stage_ms": round(median_ms(stage, runs), 2),
                }
                if bwrap is not None and strategy == strategies[0]:
                    run_ms = median_ms(
                        lambda t=tree, o=overlay: bwrap.run(t, ["true"], overlay=o), runs
                    )
                    row["run_true_ms"] = round(run_ms, 2)
                rows.append(row)
    return rows


def print_tables(result: dict[str, list[dict[str, object]]]) -> None:
    print(
        f"{'command':<16}{'backend':<9}{'bare ms':>9}{'sandbox ms':>12}{'over ms':>9}{'ratio':>7}"
    )
    for r in result["overhead"]:
        print(
            f"{r['command']:<16}{r['backend']:<9}{r['bare_ms']:>9}{r['sandbox_ms']:>12}"
            f"{r['overhead_ms']:>9}{r['ratio']:>7}"
        )
    print()
    print(f"{'files':>7}{'changed':>9}  {'view':<11}{'stage ms':>10}{'run true ms':>13}")
    for r in result["view"]:
        print(
            f"{r['files']:>7}{r['changed']:>9}  {r['strategy']:<11}{r['stage_ms']:>10}"
            f"{r.get('run_true_ms', '-'):>13}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gp-bench-") as tmp:
        base = Path(tmp)
        workspace = base / "small"
        make_tree(workspace, 10)
        result = {
            "overhead": overhead(args.runs, workspace),
            "view": view_costs(max(args.runs // 3, 5), base),
        }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_tables(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
