#!/usr/bin/env python3
"""Benchmark: testsec-fix against LibCST's no-op codemod and bandit, checked against targets.

    python3 -m pip install -e . -r bench/requirements.txt
    python3 bench/run.py "$(../shared/corpus/fetch.sh nova 34.0.0)/nova"           # all of it
    python3 bench/run.py --quick "$(../shared/corpus/fetch.sh nova 34.0.0)/nova"   # < 1 minute

Each tool runs on its own fresh copy of the folder (nothing is written to TREE). The full run
times all of TREE and, on generated test files of 0.2, 1 and 5 MB (bench/generate.py), one
file at a time. ``--quick`` times the folder ``--quick-folder`` of TREE only (default
``tests/unit/api``). Prints wall time and peak memory (the largest process of the run) of
each command, then each target with its figure; exits 1 when a target is missed. The machine
may be busy: the ratios, measured in one go, are what counts.
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
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate  # noqa: E402  (bench/generate.py)

Row = Tuple[str, float, float]  # command, seconds, peak MiB


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


class Targets:
    """Targets and what was measured against them."""

    def __init__(self) -> None:
        self.lines: List[Tuple[str, str, bool]] = []

    def check(self, what: str, figure: float, limit: float, unit: str = "") -> None:
        ok = figure <= limit
        self.lines.append((what, f"{figure:.3f}{unit} (target <= {limit:g}{unit})", ok))

    @property
    def missed(self) -> List[str]:
        return [what for what, _, ok in self.lines if not ok]


def compare(tree: Path, work: Path, jobs: int, rows: List[Row],
            targets: Targets, limits: Dict[str, float]) -> None:
    """testsec-fix cold and warm, LibCST's no-op codemod and bandit over ``tree``."""
    def copy(label: str) -> Path:
        dest = work / label / tree.name
        shutil.copytree(tree, dest, symlinks=True)
        return dest

    fixer = tool("testsec-fix")
    if not fixer:
        raise SystemExit("testsec-fix is not installed")
    mine = copy("testsec")
    cache = work / "cache"  # empty: the first run is cold, the second finds its results
    cmd = [fixer, "--dry-run", "--quiet", "--jobs", str(jobs), "--cache-dir", str(cache),
           mine.name]
    cold = run(cmd, mine.parent)
    warm = run(cmd, mine.parent)
    rows += [("testsec-fix --dry-run (cold)", *cold),
             ("testsec-fix --dry-run (warm re-run)", *warm)]

    cst = copy("libcst")
    cmd = [sys.executable, "-m", "libcst.tool", "codemod", "noop.NOOPCommand", cst.name,
           "-j", str(jobs), "--no-format", "--hide-progress"]
    noop = run(cmd, cst.parent)
    rows.append(("python -m libcst.tool codemod noop.NOOPCommand", *noop))

    bandit = tool("bandit")
    if not bandit:
        raise SystemExit("bandit is not installed: pip install -r bench/requirements.txt")
    cmd = [bandit, "-q", "-r", tree.name, "-t", "B105,B106,B107", "-f", "json",
           "-o", os.devnull]
    scan = run(cmd, tree.parent)
    rows.append(("bandit -r -t B105,B106,B107", *scan))

    targets.check("cold / LibCST no-op", cold[0] / noop[0], limits["noop"], "x")
    targets.check("cold / bandit", cold[0] / scan[0], limits["bandit"], "x")
    targets.check("warm re-run", warm[0], limits["warm"], " s")
    targets.check("warm re-run peak memory", warm[1], limits["warm_mib"], " MiB")


def generated(work: Path, rows: List[Row], targets: Targets,
              sizes: Tuple[float, ...]) -> None:
    """testsec-fix on generated files, one at a time (one job, no cache)."""
    fixer = tool("testsec-fix")
    assert fixer
    names = {(kind, size): generate.file_name(kind, size)
             for kind in ("sparse", "dense") for size in sizes}
    root = work / "generated"
    generate.project(root, {name: generate.generate(kind, size)
                            for (kind, size), name in names.items()})
    seconds: Dict[Tuple[str, float], Row] = {}
    for (kind, size), name in names.items():
        label = f"testsec-fix generated {kind} {size:g} MB"
        cmd = [fixer, "--dry-run", "--quiet", "--no-cache", "--jobs", "1",
               str(Path("pkg") / "tests" / name)]
        seconds[(kind, size)] = (label, *run(cmd, root))
        rows.append(seconds[(kind, size)])
    big, small = max(sizes), min(sizes)
    if big == 5:
        targets.check("generated sparse 5 MB", seconds[("sparse", 5)][1], 15, " s")
        targets.check("generated sparse 5 MB peak memory", seconds[("sparse", 5)][2], 400,
                      " MiB")
    if small == 0.2:
        targets.check("generated dense 0.2 MB", seconds[("dense", 0.2)][1], 8, " s")
    # Linear growth: a file 25 times larger takes at most 30 times as long.
    growth = seconds[("dense", big)][1] / seconds[("dense", small)][1]
    targets.check(f"generated dense {big:g} MB / {small:g} MB", growth,
                  round(big / small * 1.2, 1), "x")


# Cold: times LibCST's no-op codemod and bandit; warm: seconds and MiB.
FULL = {"noop": 0.08, "bandit": 0.2, "warm": 1.0, "warm_mib": 100}
# The quick folder's own figures (nova/tests/unit/api: 98 files, 1.9 MB), with room for a
# busy machine.
QUICK = {"noop": 0.2, "bandit": 0.6, "warm": 0.5, "warm_mib": 100}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", type=Path, help="folder to scan, e.g. the nova/ package")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--quick", action="store_true",
                        help="one mid-sized folder, cold and warm (under a minute): run it "
                             "before stopping whenever src/ changed")
    parser.add_argument("--quick-folder", default="tests/unit/api",
                        help="the folder of TREE --quick times (default: %(default)s)")
    args = parser.parse_args()
    tree = args.tree.resolve()
    if args.quick:
        tree = tree / args.quick_folder
    if not tree.is_dir():
        raise SystemExit(f"{tree}: no such folder")
    work = Path(tempfile.mkdtemp(prefix="testsec-bench-"))
    rows: List[Row] = []
    targets = Targets()
    try:
        files = sum(1 for _ in tree.rglob("*.py"))
        start = time.perf_counter()
        for path in tree.rglob("*.py"):
            path.read_bytes()
        rows.append(("read every .py file", time.perf_counter() - start, 0.0))
        compare(tree, work, args.jobs, rows, targets, QUICK if args.quick else FULL)
        if not args.quick:
            generated(work, rows, targets, (0.2, 1, 5))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"tree: {tree} ({files} .py files), jobs: {args.jobs}, cores: {os.cpu_count()}")
    print(f"| {'command':<52} | {'seconds':>8} | {'peak MiB':>9} |")
    print(f"|{'-' * 54}|{'-' * 9}:|{'-' * 10}:|")
    for label, seconds, rss in rows:
        print(f"| {label:<52} | {seconds:>8.2f} | {rss:>9.0f} |")
    print()
    for what, figure, ok in targets.lines:
        print(f"{'ok    ' if ok else 'MISSED'} {what}: {figure}")
    if targets.missed:
        raise SystemExit(f"{len(targets.missed)} target(s) missed: {', '.join(targets.missed)}")


if __name__ == "__main__":
    main()
