"""What is read and what is written: regular files only, every path that cannot be walked or
read is an error line (exit 2), and a rewrite keeps the file's permissions and ownership or
is refused. Run through the installed command."""
from __future__ import annotations

import os
import shutil
import stat
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


def test_a_read_only_file_is_not_replaced(tests: Path) -> None:
    """A rename replaces any file of a writable folder; a file marked read-only (no write
    bit: root's access would pass over it) is refused, with one line, and stays as it was."""
    path = tests / "test_read_only.py"
    path.write_text(LOOP)
    path.chmod(0o444)
    proc = run("tests", cwd=tests.parent)
    assert proc.returncode == 2
    assert errors(proc) == ["tests/test_read_only.py: error: not written: read-only (mode "
                            "0444); not replaced"], proc.stderr
    assert path.read_text() == LOOP and stat.S_IMODE(path.stat().st_mode) == 0o444
    assert FIXED in (tests / "test_good.py").read_text(), "the other file was written"


@pytest.mark.skipif(not ROOT, reason="needs root to give the file to another user")
def test_a_file_of_another_user_that_this_one_may_not_write_is_not_replaced(
        tests: Path) -> None:
    path = tests / "test_theirs.py"
    path.write_text(LOOP)
    os.chown(path, 1234, 1234)  # rw-r--r-- and not ours: the folder is, the file is not
    path.chmod(0o644)
    proc = run("tests/test_theirs.py", cwd=tests.parent, prefix=unprivileged())
    assert proc.returncode == 2
    assert errors(proc) == ["tests/test_theirs.py: error: not written: read-only (mode "
                            "0644); not replaced"], proc.stderr
    assert path.read_text() == LOOP and path.stat().st_uid == 1234


@pytest.mark.skipif(not ROOT, reason="needs root to give the file to another user")
def test_owner_group_and_mode_are_kept(tests: Path) -> None:
    """The temporary file renamed over the original was the runner's: a root-owned (or any
    other user's) file changed hands. Root keeps owner and group; a user who may not set the
    owner keeps the group when it is one of theirs."""
    path = tests / "test_good.py"
    os.chown(path, 1234, 4321)
    path.chmod(0o640)
    assert run("tests", cwd=tests.parent).returncode == 1
    st = path.stat()
    assert FIXED in path.read_text()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 4321, 0o640)

    shared = tests / "test_shared.py"
    shared.write_text(LOOP)
    os.chown(shared, 1234, 4321)
    shared.chmod(0o664)  # group-writable; this user is in the group, not the owner
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is missing")
    user = NO_DAC[:-1] + [NO_DAC[-1] + ",-chown,-fowner", "--groups", "4321"]
    proc = run("tests/test_shared.py", cwd=tests.parent, prefix=user)
    assert proc.returncode == 1, proc.stderr
    st = shared.stat()
    assert FIXED in shared.read_text()
    assert (st.st_gid, stat.S_IMODE(st.st_mode)) == (4321, 0o664)


@pytest.mark.skipif(os.name != "posix", reason="process ids are checked on POSIX only")
def test_temporary_files_of_a_killed_run_are_removed_by_the_next(tests: Path) -> None:
    dead = subprocess.Popen(["true"])  # its process id is no process's once it is reaped
    dead.wait()
    stale = tests / f".testsec-{dead.pid}-abc123.tmp"
    live = tests / f".testsec-{os.getpid()}-def456.tmp"  # a writer still at work
    other = tests / ".testsec-cache.tmp"
    for path in (stale, live, other):
        path.write_text("half a file")
    assert run("tests", cwd=tests.parent).returncode == 1
    assert not stale.exists()
    assert live.exists() and other.exists()
