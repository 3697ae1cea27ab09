"""What is read: regular files only, and every path that cannot be walked or read is an
error line (exit 2). Run through the installed command."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fixture_cases import FIXTURES
from test_cli import _entry_point

LOOP = (FIXTURES / "sleep-polling-loop" / "event_wait.py").read_text()
FIXED = "done.wait(1)"
ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False
# Root reads and writes past permission bits; without these capabilities it obeys them as
# any user does (uid 0 then owns what root created, and is "other" elsewhere).
NO_DAC = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


def run(*args: str, cwd: Path, prefix=(), timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, _entry_point(), "--no-cache", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def unprivileged():
    """A command prefix that makes the run obey permission bits (none needed but as root)."""
    if not ROOT:
        return ()
    if not shutil.which("setpriv"):
        pytest.skip("running as root and setpriv (util-linux) is missing")
    return tuple(NO_DAC)


def errors(proc: subprocess.CompletedProcess) -> list:
    return [line for line in proc.stderr.splitlines() if ": error: " in line]


@pytest.fixture
def tests(tmp_path: Path) -> Path:
    folder = tmp_path / "tests"
    folder.mkdir()
    (folder / "test_good.py").write_text(LOOP)
    return folder


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_an_error_and_never_opened(tests: Path) -> None:
    """Opening a pipe waits for a writer: the run used to hang. Named or found while
    walking, it is one error line, and the other files are done."""
    os.mkfifo(tests / "test_pipe.py")
    for args in (["tests"], ["tests/test_pipe.py", "tests/test_good.py"]):
        proc = run("--dry-run", *args, cwd=tests.parent, timeout=30)
        assert proc.returncode == 2, proc.stderr
        assert errors(proc) == ["tests/test_pipe.py: error: not a regular file (a named "
                                "pipe); not read"], proc.stderr
        assert FIXED in proc.stdout, "the good file was still fixed"


def test_a_folder_that_cannot_be_listed_is_an_error(tests: Path) -> None:
    """A folder the user may not read was skipped with '0 errors'."""
    hidden = tests / "hidden"
    hidden.mkdir()
    (hidden / "test_hidden.py").write_text(LOOP)
    (tests / "test_unreadable.py").write_text(LOOP)
    prefix = unprivileged()
    (tests / "test_unreadable.py").chmod(0)
    hidden.chmod(0)
    try:
        proc = run("--dry-run", "tests", cwd=tests.parent, prefix=prefix)
    finally:
        hidden.chmod(0o755)
    assert proc.returncode == 2, proc.stderr
    assert sorted(errors(proc)) == [
        "tests/hidden: error: cannot read folder: Permission denied",
        "tests/test_unreadable.py: error: cannot read: Permission denied"], proc.stderr
    assert FIXED in proc.stdout, "the readable file was still fixed"
