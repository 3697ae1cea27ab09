"""The out-of-the-box census: every project of the development corpus, as a new user runs the
tool (no configuration), measured for the table of the closing notes.

    python bench/corpus.py [NAME ...]    # default: every project in projects.txt

For each project: a copy of its released tree; a dry-run (its diff must pass
``git apply --check``, and the applied tree must equal the in-place result); the in-place
run; a second run (must change nothing); files changed, fixes and declines by reason (JSON).
Prints a Markdown table, then the declines by reason. Needs the corpus fetched
(../shared/corpus/fetch.sh NAME VERSION).
"""
from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "shared" / "corpus"
CACHE = Path(os.environ.get("CORPUS_CACHE", Path.home() / ".cache" / "testsec-corpus"))


def projects():
    for line in (CORPUS / "projects.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version, folder = line.split()[:3]
            yield name, version, folder


def tool(*args, cwd):
    return subprocess.run([os.environ.get("TESTSEC_FIX", "testsec-fix"), "--no-cache", "-q",
                           *args], cwd=cwd,
                          capture_output=True)


def tree(root: Path):
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and ".git" not in p.parts}


def census(name: str, version: str, folder: str, work: Path) -> dict:
    src = CACHE / f"{name}-{version}"
    dry, inplace = work / f"{name}-dry", work / f"{name}-inplace"
    for dest in (dry, inplace):
        shutil.copytree(src, dest, symlinks=True)
    subprocess.run("git init -q . && git add -A && git -c user.email=c@c -c user.name=c "
                   "commit -qm base", shell=True, cwd=dry, check=True)
    shown = tool("--dry-run", folder, cwd=dry)
    records = json.loads(tool("--dry-run", "--format", "json", folder, cwd=dry).stdout or "[]")
    check = subprocess.run(["git", "apply", "--check", "-"], cwd=dry, input=shown.stdout,
                           capture_output=True)
    if shown.stdout and check.returncode == 0:
        subprocess.run(["git", "apply", "-"], cwd=dry, input=shown.stdout, check=True)
    written = tool(folder, cwd=inplace)
    again = tool(folder, cwd=inplace)
    same = {k: v for k, v in tree(dry).items()} == tree(inplace)
    fixed = collections.Counter(r["code"] for r in records if r["fixed"])
    declined = collections.Counter((r["code"], r["reason"]) for r in records
                                   if not r["fixed"] and not r["suppressed"])
    changed = len({r["path"] for r in records if r["fixed"]})
    return {"name": name, "changed": changed, "fixed": fixed, "declined": declined,
            "apply": "no diff" if not shown.stdout else "ok" if check.returncode == 0 else
            " ".join(check.stderr.decode().split())[:80],
            "same": same, "again": len(again.stdout.splitlines()),
            "errors": sum(1 for r in records if r["code"] == "error"),
            "exit": (shown.returncode, written.returncode, again.returncode)}


def main(argv) -> int:
    wanted = set(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, version, folder in projects():
            if wanted and name not in wanted:
                continue
            if not (CACHE / f"{name}-{version}" / ".complete").exists():
                print(f"{name}: not fetched", file=sys.stderr)
                continue
            rows.append(census(name, version, folder, Path(tmp)))
            print(f"{name}: done", file=sys.stderr)
    codes = ["TSF101", "TSF102", "TSF103", "TSF104"]
    print("| project | files changed | " + " | ".join(f"{c} fixed / left" for c in codes)
          + " | errors | diff applies | = in place | 2nd run diff lines |")
    print("|---" * (7 + len(codes)) + "|")
    for r in rows:
        left = collections.Counter(code for code, _ in r["declined"].elements())
        print(f"| {r['name']} | {r['changed']} | "
              + " | ".join(f"{r['fixed'][c]} / {left[c]}" for c in codes)
              + f" | {r['errors']} | {r['apply']} | {r['same']} | {r['again']} |")
    print()
    for r in rows:
        for (code, reason), n in r["declined"].most_common(8):
            print(f"- {r['name']} {code} x{n}: {reason}")
    return 0 if all(r["apply"] in ("ok", "no diff") and r["same"] and not r["again"]
                    for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
