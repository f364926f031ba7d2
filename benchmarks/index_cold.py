"""Cold indexing of one real repository: wall time, chunks per second and peak memory of
`greenpatch index`, from an empty `.greenpatch` (a measurement, not a test).

    python benchmarks/index_cold.py GIT_DIR [--commit REV] [--workdir DIR] [--json]

GIT_DIR is a bare repository (e.g. `fetch github:sphinx-doc/sphinx` gives
/work/.mirror/sphinx-doc+sphinx/repo; at HEAD it has 2,059 files). The tree at REV is
extracted to a temporary folder and indexed by the CLI in a child process with the default
settings (the packaged MiniLM, ChromaDB on disk); its peak RSS is the kernel's high-water
mark for that child. The embedding cache lives in `.greenpatch` too, so nothing is reused
between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_PEAK_MB = 1024.0


def extract(git_dir: Path, rev: str, dest: Path) -> int:
    """The tree at `rev` under dest; returns its file count."""
    archive = subprocess.run(
        ["git", "-C", str(git_dir), "archive", rev], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return sum(1 for p in dest.rglob("*") if p.is_file())


def index_once(root: Path) -> dict[str, float]:
    """`greenpatch index --workspace root` in a child; its stats, wall time and peak RSS."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "greenpatch.cli", "index", "--workspace", str(root), "--json"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"greenpatch index failed ({done.returncode}): {done.stderr[-2000:]}")
    # The high-water mark of every child waited for: git and tar too, both far smaller.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    stats = json.loads(done.stdout)
    return {
        "files": stats["files"],
        "chunks": stats["chunks"],
        "embedded": stats.get("embedded_chunks", 0),
        "wall_s": round(wall, 1),
        "chunks_per_s": round(stats["chunks"] / wall, 1) if wall else 0.0,
        "peak_rss_mb": round(peak / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("git_dir", type=Path)
    parser.add_argument("--commit", default="HEAD")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gp-cold-", dir=args.workdir) as tmp:
        root = Path(tmp) / "ws"
        root.mkdir()
        files_in_tree = extract(args.git_dir, args.commit, root)
        result = {
            "repository": str(args.git_dir),
            "commit": args.commit,
            "tree_files": files_in_tree,
        }
        result.update(index_once(root))
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
        met = result["peak_rss_mb"] < TARGET_PEAK_MB
        print(f"target: peak < {TARGET_PEAK_MB:.0f} MB: {'met' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
