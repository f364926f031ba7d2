"""The lexical index of a very large workspace: time, peak memory, size on disk and query
latency of the catalog (SQLite FTS5) alone, without the store or the embedding model (a
measurement, not a test).

    python benchmarks/index_large.py [--files 100000] [--workdir DIR] [--queries N]
        [--queries-only] [--json]

The workspace is generated (`lsp_latency.generate_workspace`: packages of modules with
functions, classes and tests) under DIR/workspace, or reused if DIR/workspace.json says it
has that many files. The index is built in a child process, so its peak RSS is its own:
the walker, the chunker and the catalog as `WorkspaceIndex` uses them, one file at a time.
Queries are the problem statements of ../shared/data/swebench-lite-dev.jsonl (prose about
other code: their terms are common words, the slow case) and names the workspace defines.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "swebench-lite-dev.jsonl"


def build(root: Path, db: Path) -> dict[str, float]:
    """Index `root` lexically into `db` (in this process)."""
    from greenpatch.indexer.catalog import Catalog
    from greenpatch.indexer.chunking import chunk_file
    from greenpatch.indexer.files import IgnoreRules, decode, read_bytes, walk

    started = time.perf_counter()
    catalog = Catalog(db)
    files = 0
    for info in walk(root, IgnoreRules(root)):
        data = read_bytes(root, info.path)
        text = decode(data) if data is not None else None
        if text is None:
            continue
        catalog.set_file(info.path, {c.key(): c for c in chunk_file(info.path, text)})
        files += 1
        if files % 10_000 == 0:
            print(f"  {files} files, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    seconds = time.perf_counter() - started
    _, chunks = catalog.counts()
    catalog.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"files": files, "chunks": chunks, "seconds": seconds, "peak_rss_mb": peak}


def queries(catalog_db: Path, count: int) -> list[str]:
    import sqlite3

    prose = [json.loads(line)["problem_statement"] for line in DATA.read_text().splitlines()]
    with sqlite3.connect(catalog_db) as db:
        names = [s for (s,) in db.execute("SELECT symbol FROM chunks WHERE symbol != ''")]
    rng = random.Random(7)
    picked = rng.sample(prose, min(count // 2, len(prose)))
    return picked + [rng.choice(names) for _ in range(count - len(picked))]


def measure_queries(db: Path, count: int) -> dict[str, float]:
    from greenpatch.indexer import retrieval
    from greenpatch.indexer.catalog import Catalog

    catalog = Catalog(db)
    none = retrieval.Ranked([], {})
    took = []
    for query in queries(db, count):
        started = time.perf_counter()
        lexical = retrieval.lexical_signals(catalog, query)
        retrieval.file_ranking(lexical, none, "hybrid")
        took.append((time.perf_counter() - started) * 1000)
    took.sort()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "queries": len(took),
        "query_p50_ms": statistics.median(took),
        "query_p95_ms": took[int(0.95 * (len(took) - 1))],
        "query_max_ms": took[-1],
        "query_peak_rss_mb": peak,
    }


def workspace(workdir: Path, files: int) -> Path:
    sys.path.insert(0, str(REPO / "benchmarks"))
    from lsp_latency import generate_workspace

    root, info = workdir / "workspace", workdir / "workspace.json"
    if info.exists() and json.loads(info.read_text()).get("files") == files:
        return root
    started = time.perf_counter()
    generate_workspace(root, files)
    info.write_text(json.dumps({"files": files}))
    print(f"generated {files} files in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return root


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", type=int, default=100_000)
    p.add_argument("--workdir", type=Path, default=Path("/tmp/gp-index-large"))
    p.add_argument("--queries", type=int, default=60)
    p.add_argument("--json", action="store_true")
    p.add_argument("--queries-only", action="store_true", help="reuse DIR/catalog.sqlite")
    p.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(build(*args.child)))
        return 0
    args.workdir.mkdir(parents=True, exist_ok=True)
    root = workspace(args.workdir, args.files)
    db = args.workdir / "catalog.sqlite"
    result = {}
    if not (args.queries_only and db.exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(root), str(db)],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        result = json.loads(child.stdout)
    result["catalog_mb"] = (
        sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists())
        / 2**20
    )
    result.update(measure_queries(db, args.queries))
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>18}: {value:,.1f}" if isinstance(value, float) else f"{key:>18}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
