"""Whole projects through the CLI: the dry-run diff applies with ``git apply`` and is exactly
what an in-place run writes; a second run finds nothing; a failure changes nothing.

The projects in ``tests/data/projects`` are small trees, each made to break one promise
(a BOM, a latin-1 cookie, form feeds, CRLF, a helper module with a syntax error or another
``wait_until``, symlinks, a path given twice, two projects in one run ...).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from test_cli import _entry_point

DATA = Path(__file__).parent / "data" / "projects"
ARGS = {"twice": ["pkg", "pkg"], "two": ["alpha", "beta"]}
FAILS = {"badhelper", "exist", "exist2", "existasync"}  # the helper module cannot be made: nothing changes


def _run(args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([_entry_point(), "--no-cache", *args], cwd=cwd, capture_output=True,
                          timeout=120)


def _tree(root: Path) -> dict:
    out = {}
    for path in sorted(root.rglob("*")):
        if ".git" in path.parts or path.is_dir():
            continue
        rel = str(path.relative_to(root))
        out[rel] = ("link", os.path.basename(os.readlink(path))) if path.is_symlink() else \
            (path.read_bytes(), oct(path.stat().st_mode))
    return out


def _copy(name: str, dest: Path, outside: Path) -> Path:
    shutil.copytree(DATA / name, dest, symlinks=True)
    if name == "extlink":
        outside.mkdir()
        (outside / "test_out.py").write_bytes((DATA / "extlink_target.py.txt").read_bytes())
        os.symlink(outside / "test_out.py", dest / "pkg" / "tests" / "test_ext.py")
    subprocess.run("git init -q . && git add -A && git -c user.email=t@t -c user.name=t "
                   "commit -qm init", shell=True, cwd=dest, check=True)
    return dest


@pytest.mark.skipif(not shutil.which("git"), reason="git not installed")
@pytest.mark.parametrize("name", sorted(p.name for p in DATA.iterdir() if p.is_dir()))
def test_project(name: str, tmp_path: Path) -> None:
    args = ARGS.get(name, ["pkg"] if (DATA / name / "pkg").exists() else ["."])
    dry = _copy(name, tmp_path / "dry", tmp_path / "outside_dry")
    inplace = _copy(name, tmp_path / "inplace", tmp_path / "outside_inplace")
    original = _tree(dry)
    shown = _run(["--dry-run", *args], dry)
    assert _tree(dry) == original, "--dry-run wrote something"
    written = _run(args, inplace)
    assert shown.returncode == written.returncode, written.stderr.decode()
    if name in FAILS:
        assert written.returncode == 2
        assert _tree(inplace) == original, "a failed helper module must leave files alone"
        return
    assert written.returncode in (0, 1), written.stderr.decode()
    patch = tmp_path / "changes.diff"
    patch.write_bytes(shown.stdout)
    if shown.stdout:
        subprocess.run(["git", "apply", str(patch)], cwd=dry, check=True)
    assert _tree(dry) == _tree(inplace), "the dry-run diff is not what the run wrote"
    again = _run(args, inplace)
    # Nothing left to change; findings left alone (with their reason) still exit 1.
    left = b": not fixed: " in again.stderr
    assert again.stdout == b"" and again.returncode == (1 if left else 0), \
        again.stderr.decode()
