"""Retrieval benchmark on SWE-bench Lite instances (not a test).

For each instance: extract the repository at base_commit from a bare git dir (fetched
beforehand, e.g. /work/.mirror/psf+requests/repo), index it with WorkspaceIndex, query the
problem statement at file level, and score Acc@k = share of instances whose gold_files are
all in the top k, for BM25 alone (whole-file BM25 over code tokens: the anchor's
retriever), dense alone and the hybrid. Also: index seconds, one-file-changed-to-searchable
latency, and optionally save-to-searchable latency through the watcher during a burst.

    python benchmarks/retrieval.py /work/.mirror/*/repo [--repos psf/requests,...]
        [--limit N] [--py-only] [--cache DIR] [--burst N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from greenpatch.indexer import WorkspaceIndex, retrieval
from greenpatch.indexer.catalog import Catalog
from greenpatch.indexer.chunking import chunk_file
from greenpatch.indexer.files import IgnoreRules, decode, read_bytes, walk

DATA = Path("/work/shared/data/swebench-lite-dev.jsonl")
KS = (1, 3, 5, 10)
MODES = ("bm25", "dense", "hybrid")


def _repo_dirs(args: list[str]) -> dict[str, Path]:
    """owner/name -> git dir, from paths like .../owner+name/repo or owner/name=DIR."""
    out = {}
    for arg in args:
        if "=" in arg:
            name, path = arg.split("=", 1)
            out[name] = Path(path)
            continue
        path = Path(arg)
        tag = next((p for p in reversed(path.parts) if "+" in p), "")
        if tag:
            out[tag.replace("+", "/", 1)] = path
    return out


def _extract(git_dir: Path, commit: str, dest: Path, py_only: bool) -> None:
    spec = [":(glob)**/*.py"] if py_only else []
    archive = subprocess.run(
        ["git", "-C", str(git_dir), "archive", commit, "--", *spec],
        check=True,
        capture_output=True,
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)


def _hits(ranked: list[str], gold: list[str]) -> dict[int, bool]:
    return {k: set(gold) <= set(ranked[:k]) for k in KS}


def _edit_latency(ix: WorkspaceIndex, root: Path, rel: str, n: int) -> float:
    """Append a function with a unique name to rel; seconds until search returns it."""
    name = f"zzprobe_marker_{n}"
    with (root / rel).open("a", encoding="utf-8") as fh:
        fh.write(f"\n\ndef {name}():\n    return {n}\n")
    started = time.perf_counter()
    ix.apply_paths([rel])
    found = ix.search(name, top_k=3)
    elapsed = time.perf_counter() - started
    if name not in [r.symbol for r in found]:
        raise RuntimeError(f"{name} is not in the top 3 after the edit: {found[:1]}")
    return elapsed


def _burst(ix: WorkspaceIndex, root: Path, rel: str, count: int) -> list[float]:
    """Save-to-searchable through the watcher: edit, then poll search until it shows."""
    ix.start_watching().result()
    latencies = []
    for n in range(count):
        name = f"zzburst_marker_{n}"
        with (root / rel).open("a", encoding="utf-8") as fh:
            fh.write(f"\n\ndef {name}():\n    return {n}\n")
        started = time.perf_counter()
        while time.perf_counter() - started < 30:
            hits = ix.search(name, top_k=1, mode="bm25")
            if hits and hits[0].symbol == name:
                break
            time.sleep(0.005)
        latencies.append(time.perf_counter() - started)
        time.sleep(0.05)
    return latencies


# Lexical file rankings: whole-file BM25 (the anchor's retriever) and the hybrid's file
# ranking without its dense list under several weightings (what runs without a model).
NO_DENSE = retrieval.Weights(dense=0.0)
V1 = replace(NO_DENSE, mention=0.0, path=0.0, test_file=1.0)
LEXICAL_CONFIGS: dict[str, retrieval.Weights | None] = {
    "file-bm25": None,
    "lexical-v1 (file+chunk BM25, names, code prior)": V1,
    "+ named files": replace(V1, mention=1.0),
    "+ test files x0.5": replace(V1, mention=1.0, test_file=0.5),
    "+ path BM25 x0.5 (default)": NO_DENSE,
    "default, path BM25 x1.0": replace(NO_DENSE, path=1.0),
    "default, chunk decay 0.5": replace(NO_DENSE, chunk_decay=0.5),
    "default, symbols x0.5": replace(NO_DENSE, symbol=0.5),
}


def run_lexical(row: dict[str, Any], git_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The lexical rankings alone, without the store or the model (fast: all instances).
    Uses the index's own walker, chunker, tokenizer, BM25 indexes and file ranking."""
    with tempfile.TemporaryDirectory(prefix="gp-bench-") as tmp:
        root = Path(tmp)
        _extract(git_dir, row["base_commit"], root, args.py_only)
        started = time.perf_counter()
        catalog = Catalog()
        for info in walk(root, IgnoreRules(root)):
            data = read_bytes(root, info.path)
            text = decode(data) if data is not None else None
            if text is not None:
                catalog.set_file(info.path, {c.key(): c for c in chunk_file(info.path, text)})
        index_s = time.perf_counter() - started
    lexical = retrieval.lexical_signals(catalog, row["problem_statement"])
    no_dense = retrieval.Ranked([], {})
    files, chunks = catalog.counts()
    result: dict[str, Any] = {
        "instance_id": row["instance_id"],
        "files": files,
        "chunks": chunks,
        "index_s": index_s,
    }
    for name, weights in LEXICAL_CONFIGS.items():
        if weights is None:
            ranked = lexical.files.keys
        else:
            ranked = [p for p, _ in retrieval.file_ranking(lexical, no_dense, "hybrid", weights)]
        result[name] = _hits(ranked, row["gold_files"])
    return result


def run_instance(row: dict[str, Any], git_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gp-bench-") as tmp:
        root = Path(tmp) / "ws"
        root.mkdir()
        _extract(git_dir, row["base_commit"], root, args.py_only)
        ix = WorkspaceIndex(root, embed_cache=args.cache / "embeddings.sqlite")
        try:
            stats = ix.update()
            result: dict[str, Any] = {
                "instance_id": row["instance_id"],
                "files": stats.files,
                "chunks": stats.chunks,
                "embedded": stats.embedded_chunks,
                "index_s": stats.seconds,
            }
            for mode in args.modes:
                started = time.perf_counter()
                ranked = [
                    r.path
                    for r in ix.search(row["problem_statement"], top_k=10, files=True, mode=mode)
                ]
                result[mode] = _hits(ranked, row["gold_files"])
                result[f"{mode}_query_s"] = time.perf_counter() - started
                result[f"{mode}_top"] = ranked[:5]
            if args.dense_weights:
                result["dense_weight"] = _dense_weights(ix, row, args.dense_weights)
            gold = row["gold_files"][0]
            if (root / gold).exists():
                result["edit_s"] = _edit_latency(ix, root, gold, 0)
            if args.burst:
                result["burst_s"] = _burst(ix, root, gold, args.burst)
        finally:
            ix.stop()
    return result


def _from_json(line: str) -> dict[str, Any]:
    """A row as written, with the Acc@k maps' keys back to ints."""
    row: dict[str, Any] = json.loads(line)
    for key, value in row.items():
        if isinstance(value, dict) and set(value) == {str(k) for k in KS}:
            row[key] = {int(k): hit for k, hit in value.items()}
    for w, hits in row.get("dense_weight", {}).items():
        row["dense_weight"][w] = {int(k): hit for k, hit in hits.items()}
    return row


def _dense_weights(
    ix: WorkspaceIndex, row: dict[str, Any], weights: list[float]
) -> dict[str, dict[int, bool]]:
    """Acc@k of the hybrid file ranking with the dense list at each weight, from one set of
    signals (the default search fuses it at WEIGHTS.dense)."""
    store, _, embedder = ix._open()
    lexical = retrieval.lexical_signals(ix.catalog, row["problem_statement"])
    dense = retrieval.dense_ranking(ix.catalog, store, embedder, row["problem_statement"])
    out = {}
    for w in weights:
        ranking = retrieval.file_ranking(
            lexical, dense, "hybrid", replace(retrieval.WEIGHTS, dense=w)
        )
        out[str(w)] = _hits([p for p, _ in ranking], row["gold_files"])
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarise(results: list[dict[str, Any]], modes: list[str]) -> str:
    n = len(results)
    lines = [f"{n} instances", "| retriever | " + " | ".join(f"Acc@{k}" for k in KS) + " |"]
    lines.append("| --- |" + " --- |" * len(KS))
    for mode in modes:
        accs = [100.0 * sum(r[mode][k] for r in results) / n for k in KS]
        lines.append(f"| {mode} | " + " | ".join(f"{a:.1f}%" for a in accs) + " |")
    weighted = [r for r in results if "dense_weight" in r]
    for w in weighted[0]["dense_weight"] if weighted else []:
        accs = [100.0 * sum(r["dense_weight"][w][k] for r in weighted) / len(weighted) for k in KS]
        lines.append(
            f"| hybrid, dense x{w} ({len(weighted)}) | "
            + " | ".join(f"{a:.1f}%" for a in accs)
            + " |"
        )
    index_s = [r["index_s"] for r in results]
    lines.append(f"index seconds: mean {statistics.mean(index_s):.1f}, max {max(index_s):.1f}")
    edits = [r["edit_s"] for r in results if "edit_s" in r]
    if edits:
        lines.append(
            f"one file changed -> searchable: p50 {_pct(edits, 0.5) * 1000:.0f} ms, "
            f"p95 {_pct(edits, 0.95) * 1000:.0f} ms"
        )
    bursts = [x for r in results for x in r.get("burst_s", [])]
    if bursts:
        lines.append(
            f"save -> searchable via watcher ({len(bursts)} saves): p50 "
            f"{_pct(bursts, 0.5) * 1000:.0f} ms, p95 {_pct(bursts, 0.95) * 1000:.0f} ms"
        )
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines.append(f"peak RSS of the benchmark process: {rss_mb:.0f} MB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("git_dirs", nargs="+", help="bare git dirs (.../owner+name/repo)")
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--repos", default="", help="comma-separated owner/name to include")
    p.add_argument("--limit", type=int, default=0, help="at most N instances")
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--py-only", action="store_true", help="index only *.py files")
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "gp-bench-cache")
    p.add_argument("--burst", type=int, default=0, help="watcher saves per instance")
    p.add_argument(
        "--lexical-only", action="store_true", help="lexical rankings only (no model, fast)"
    )
    p.add_argument("--json", type=Path, default=None, help="append per-instance rows here")
    p.add_argument(
        "--dense-weights",
        default="",
        help="comma-separated weights of the dense list to score the hybrid with, e.g. 0,0.3,1",
    )
    args = p.parse_args(argv)
    args.modes = [m for m in args.modes.split(",") if m]
    args.dense_weights = [float(w) for w in args.dense_weights.split(",") if w]
    if args.lexical_only:
        args.modes = list(LEXICAL_CONFIGS)
    args.cache.mkdir(parents=True, exist_ok=True)
    dirs = _repo_dirs(args.git_dirs)
    wanted = set(filter(None, args.repos.split(",")))
    rows = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r["repo"] in dirs and (not wanted or r["repo"] in wanted)]
    if args.limit:
        rows = rows[: args.limit]
    done = {}  # a rerun with the same --json continues where an interrupted one stopped
    if args.json is not None and args.json.exists():
        for line in args.json.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = _from_json(line)
                done[row["instance_id"]] = row
    results = [done[r["instance_id"]] for r in rows if r["instance_id"] in done]
    for i, row in enumerate(rows, 1):
        if row["instance_id"] in done:
            continue
        run = run_lexical if args.lexical_only else run_instance
        result = run(row, dirs[row["repo"]], args)
        results.append(result)
        marks = "".join("y" if result[m][5] else "n" for m in args.modes)
        print(
            f"[{i}/{len(rows)}] {row['instance_id']}: {result['files']} files, "
            f"{result['chunks']} chunks, {result['index_s']:.1f} s, @5 by mode: {marks}",
            file=sys.stderr,
            flush=True,
        )
        if args.json is not None:
            with args.json.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(result) + "\n")
    if results:
        print(summarise(results, args.modes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
