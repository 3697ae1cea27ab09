"""A fleet campaign over the development corpus, measured for the closing notes.

    python bench/fleet.py [NAME ...]    # default: every fetched project in projects.txt

Writes a manifest of the corpus trees (read in place, never written), then runs
``testsec-fix fleet`` with local worker processes and again on a Dask ``LocalCluster`` of two
worker processes; checks that both give the same patches and that each patch passes
``git apply --check`` on a fresh copy of its tree; times a second local campaign (every
repository unchanged, so skipped) and the single-repository runs
(``testsec-fix --dry-run``) for comparison. Prints the campaign table and the times.
"""
from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import CACHE, projects  # noqa: E402

TOOL = os.environ.get("TESTSEC_FIX", "testsec-fix")


def timed(args, **kwargs):
    start = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True, **kwargs)
    return done, time.monotonic() - start


def main(argv) -> int:
    from distributed import LocalCluster

    wanted = set(argv)
    chosen = [(n, v, f) for n, v, f in projects() if (not wanted or n in wanted)
              and (CACHE / f"{n}-{v}" / ".complete").exists()]
    work = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    manifest = work / "corpus.txt"
    manifest.write_text("".join(f"{CACHE / f'{n}-{v}'} name={n} paths={f}\n"
                                for n, v, f in chosen))
    local, t_local = timed([TOOL, "fleet", str(manifest), "-o", str(work / "local")])
    print(local.stderr, file=sys.stderr)
    again, t_again = timed([TOOL, "fleet", str(manifest), "-o", str(work / "local")])
    print(again.stderr, file=sys.stderr)
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None) as cluster:
        address = cluster.scheduler_address.replace("tcp://", "dask://")
        dask, t_dask = timed([TOOL, "fleet", str(manifest), "-o", str(work / "dask"),
                              "--executor", address])
    print(dask.stderr, file=sys.stderr)
    t_single = 0.0
    problems = []
    for name, version, folder in chosen:
        tree = CACHE / f"{name}-{version}"
        _, seconds = timed([TOOL, "--dry-run", "--no-cache", "-q", folder], cwd=tree)
        t_single += seconds
        patch = work / "local" / f"{name}.patch"
        if patch.exists() != (work / "dask" / f"{name}.patch").exists() or (
                patch.exists() and not filecmp.cmp(patch, work / "dask" / patch.name, False)):
            problems.append(f"{name}: local and Dask patches differ")
        if patch.exists():
            fresh = work / "fresh" / name
            shutil.copytree(tree, fresh, symlinks=True)
            check = subprocess.run(["git", "apply", "--check", str(patch)], cwd=fresh,
                                   capture_output=True, text=True)
            if check.returncode:
                problems.append(f"{name}: git apply --check: {check.stderr.strip()[:200]}")
            shutil.rmtree(fresh)
    print((work / "local" / "campaign.md").read_text())
    print(f"wall time: local processes {t_local:.1f} s, Dask LocalCluster (2 workers) "
          f"{t_dask:.1f} s, sum of single-repository runs {t_single:.1f} s; the local "
          f"campaign again, nothing changed: {t_again:.1f} s")
    print("\n".join(problems) or "patches: identical (local, Dask); all pass git apply --check")
    print(f"outputs: {work}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
