#!/usr/bin/env python3
"""Whole-tree benchmark: testsec-fix against LibCST's no-op codemod and bandit, in one run.

    python3 -m pip install -e . -r bench/requirements.txt
    python3 bench/run.py "$(../shared/corpus/fetch.sh nova 34.0.0)/nova"

Each tool runs on its own fresh copy of TREE (nothing is written to TREE). Prints wall time,
peak memory (the largest process of the run) and testsec-fix's ratios to each baseline.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional, Tuple


def run(cmd: List[str], cwd: Path, ok=(0, 1)) -> Tuple[float, float]:
    """Wall seconds and peak RSS (MiB, largest process) of ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {code}")
    return seconds, usage.ru_maxrss / 1024


def tool(name: str) -> Optional[str]:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", type=Path, help="folder to scan, e.g. the nova/ package")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    tree = args.tree.resolve()
    work = Path(tempfile.mkdtemp(prefix="testsec-bench-"))
    rows = []

    def copy(label: str) -> Path:
        dest = work / label / tree.name
        shutil.copytree(tree, dest, symlinks=True)
        return dest

    try:
        files = sum(1 for _ in tree.rglob("*.py"))
        start = time.perf_counter()
        for path in tree.rglob("*.py"):
            path.read_bytes()
        rows.append(("read every .py file", time.perf_counter() - start, 0.0))

        fixer = tool("testsec-fix")
        if not fixer:
            raise SystemExit("testsec-fix is not installed")
        mine = copy("testsec")
        cache = work / "cache"  # empty: the first run is cold, the second finds its results
        cmd = [fixer, "--dry-run", "--quiet", "--jobs", str(args.jobs), "--cache-dir",
               str(cache), mine.name]
        rows.append(("testsec-fix --dry-run (cold)", *run(cmd, mine.parent)))
        rows.append(("testsec-fix --dry-run (warm re-run)", *run(cmd, mine.parent)))

        cst = copy("libcst")
        cmd = [sys.executable, "-m", "libcst.tool", "codemod", "noop.NOOPCommand", cst.name,
               "-j", str(args.jobs), "--no-format", "--hide-progress"]
        rows.append(("python -m libcst.tool codemod noop.NOOPCommand", *run(cmd, cst.parent)))

        bandit = tool("bandit")
        if bandit:
            cmd = [bandit, "-q", "-r", tree.name, "-t", "B105,B106,B107", "-f", "json",
                   "-o", os.devnull]
            rows.append(("bandit -r -t B105,B106,B107", *run(cmd, tree.parent)))
        else:
            print("bandit not installed: pip install -r bench/requirements.txt", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"tree: {tree} ({files} .py files), jobs: {args.jobs}, cores: {os.cpu_count()}")
    print(f"{'command':<52} {'seconds':>8} {'peak MiB':>9}")
    for label, seconds, rss in rows:
        print(f"{label:<52} {seconds:>8.2f} {rss:>9.0f}")
    cold = rows[1][1]
    for label, seconds, _ in rows[3:]:
        name = "libcst noop" if "libcst" in label else label.split()[0]
        print(f"ratio cold testsec-fix / {name:<12} {cold / seconds:>6.3f}")


if __name__ == "__main__":
    main()
