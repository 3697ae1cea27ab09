"""Issue-10 reliability cases: runs over small projects that must never lose a file nor
hide one."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from test_cli import _entry_point, _snapshot, cli
from testsec_fix import Config, fix_source
from testsec_fix.model import FileResult
from testsec_fix.project import FileProject

LOGIN = '''\
def connect(user, password):
    return (user, password)


def test_login():
    assert connect("admin", password="hunter2")[1]
'''


def _pytest_project(root: Path, config: str) -> Path:
    """A pytest rootdir-style project: tests/ without __init__.py, a conftest.py."""
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text(f"[tool.testsec-fix]\n{config}\n")
    (root / "tests" / "conftest.py").write_text("")
    (root / "tests" / "test_login.py").write_text(LOGIN)
    return root


@pytest.mark.parametrize("config, module", [
    ('fixtures-module = "tests.fixtures"', "tests/fixtures.py"),
    ('credentials-module = "tests.creds"', "tests/creds.py"),
])
def test_second_run_leaves_the_module_the_first_created(tmp_path: Path, config: str,
                                                         module: str) -> None:
    root = _pytest_project(tmp_path, config)
    assert cli(".", cwd=root).returncode == 1
    created = (root / module).read_text()
    assert 'PASSWORD = "hunter2"' in created  # (the quotes of the literal moved there)
    after_first = _snapshot(root)
    for args in (["--dry-run", "."], ["."], ["--no-cache", "."], [module]):
        proc = cli(*args, cwd=root)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        assert proc.stdout == ""
    assert _snapshot(root) == after_first
    compile(created, module, "exec")


def test_a_fix_that_would_import_its_own_module_is_not_applied(tmp_path: Path,
                                                               monkeypatch) -> None:
    """The engine's own net, for a codemod that forgot to check: a definition never becomes
    a reference to itself."""
    root = _pytest_project(tmp_path, 'fixtures-module = "tests.fixtures"')
    target = root / "tests" / "fixtures.py"
    target.write_text(LOGIN)
    project = FileProject(str(root), Config(fixtures_module="tests.fixtures"))
    honest = FileProject.is_module

    def forgetful(self, path, dotted):  # the codemod's own check says "not this file"
        if sys._getframe(1).f_globals["__name__"] != "testsec_fix.engine":
            return False
        return honest(self, path, dotted)

    monkeypatch.setattr(FileProject, "is_module", forgetful)
    result = fix_source(LOGIN, path=str(target), config=project.config, project=project)
    assert not result.changed
    [finding] = result.findings
    assert not finding.fixed and "would make this module import itself" in finding.reason


def test_every_spelling_of_a_path_gives_the_same_result_with_the_cache(tmp_path: Path) -> None:
    root = _pytest_project(tmp_path, 'fixtures-module = "tests.fixtures"')
    first = cli("--dry-run", ".", cwd=root)
    assert first.returncode == 1 and "PASSWORD" in first.stdout
    for spelling in ("tests/", "./tests", "tests", str(root / "tests"), "."):
        proc = cli("--dry-run", spelling, cwd=root)
        assert proc.returncode == 1, (spelling, proc.stderr)
        assert proc.stdout == first.stdout, spelling
    assert "2 would change" in proc.stderr
    assert cli("tests/", cwd=root).returncode == 1
    assert "fixtures.PASSWORD" in (root / "tests" / "test_login.py").read_text()


def test_a_re_run_shows_the_diffs_a_run_without_the_cache_shows(tmp_path: Path) -> None:
    """A result's diff is worked out once and kept in the cache; a file with a BOM or in
    latin-1 gets the same diff from there."""
    root = _pytest_project(tmp_path, 'fixtures-module = "tests.fixtures"')
    (root / "tests" / "test_bom.py").write_bytes(b"\xef\xbb\xbf" + LOGIN.encode())
    (root / "tests" / "test_latin.py").write_bytes(
        b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + LOGIN.encode())
    fresh = subprocess.run([_entry_point(), "--dry-run", "--no-cache", "."], cwd=root,
                           capture_output=True)
    assert fresh.returncode == 1 and b"\xef\xbb\xbf" in fresh.stdout
    for _ in range(2):  # the run that fills the cache, then one that reads it
        again = subprocess.run([_entry_point(), "--dry-run", "."], cwd=root,
                               capture_output=True)
        assert again.stdout == fresh.stdout


def test_a_kept_diff_serves_only_the_texts_it_was_made_from() -> None:
    result = FileResult("t.py", "a = 1\n", "a = 2\n").with_hunks()
    assert result.diff() == FileResult("t.py", "a = 1\n", "a = 2\n").diff()
    for other in (replace(result, after="a = 3\n"), replace(result, encoding="utf-8-sig")):
        assert other.diff() == replace(other, hunks=("", "")).diff() != result.diff()


# -- exit codes, as ruff's ---------------------------------------------------------------------

BLIND = '''\
import time


def test_slow():
    time.sleep(2)
    assert True
'''


@pytest.mark.parametrize("fmt", ["diff", "json", "sarif", "github"])
def test_findings_left_in_place_fail_the_run_in_every_format(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_slow.py").write_text(BLIND)  # TSF103: reported, not fixed
    for args in (["--dry-run"], []):
        proc = cli(*args, "--format", fmt, "--no-cache", ".", cwd=tmp_path)
        assert proc.returncode == 1, (args, proc.stderr)
        assert cli(*args, "--format", fmt, "--exit-zero", ".", cwd=tmp_path).returncode == 0
    (tmp_path / "tests" / "test_slow.py").write_text(
        BLIND.replace("sleep(2)", "sleep(2)  # testsec: ignore[TSF103]"))
    assert cli("--format", fmt, "--no-cache", ".", cwd=tmp_path).returncode == 0


def test_errors_exit_2_even_with_exit_zero(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_bad.py").write_text("def test(:\n    password = 'pw'\n")
    assert cli("--exit-zero", ".", cwd=tmp_path).returncode == 2


# -- the command line --------------------------------------------------------------------------

def test_version_and_usage_name_no_hidden_subcommand(tmp_path: Path) -> None:
    from testsec_fix import __version__
    proc = cli("--version", cwd=tmp_path)
    assert proc.returncode == 0 and __version__ in proc.stdout
    usage = cli(cwd=tmp_path)
    assert usage.returncode == 2
    assert "Usage: testsec-fix [OPTIONS] PATH..." in usage.stderr and " fix " not in usage.stderr
    assert "testsec-fix fix" not in cli("--help", cwd=tmp_path).stdout
    assert cli("-h", cwd=tmp_path).stdout == cli("--help", cwd=tmp_path).stdout
    assert cli("explain", "-h", cwd=tmp_path).returncode == 0


def test_stdin_prints_the_fixed_text_or_the_diff(tmp_path: Path) -> None:
    root = _pytest_project(tmp_path, 'fixtures-module = "tests.fixtures"')
    (root / "tests" / "fixtures.py").write_text("PASSWORD = 'hunter2'\n")
    path = str(Path("tests") / "test_login.py")

    def piped(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([_entry_point(), *args, "--stdin-filename", path, "-"], cwd=root,
                              input=LOGIN, capture_output=True, text=True, timeout=120)

    fixed = piped()
    assert fixed.returncode == 1, fixed.stderr
    assert fixed.stdout.startswith("from tests import fixtures\n\n\ndef connect(")
    assert "password=fixtures.PASSWORD" in fixed.stdout
    compile(fixed.stdout, path, "exec")
    diff = piped("--dry-run")
    assert diff.returncode == 1 and diff.stdout.startswith(f"--- a/{path}\n")
    assert (root / "tests" / "test_login.py").read_text() == LOGIN  # nothing written
    # A fix that needs another file changed cannot be printed: the text comes back as it was.
    (root / "tests" / "fixtures.py").write_text("OTHER = 1\n")
    needs = piped()
    assert needs.returncode == 1 and needs.stdout == LOGIN  # a finding left, with its reason
    assert "not fixed: the fix needs tests/fixtures.py changed too" in needs.stderr
    # With no configuration a file outside any package holds its own constants: printed.
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    own = piped()
    assert own.returncode == 1 and 'PASSWORD = "hunter2"' in own.stdout, own.stderr
    assert "password=PASSWORD" in own.stdout and "1 files scanned" in own.stderr
    alone = subprocess.run([_entry_point(), "-"], cwd=root, input=LOGIN, capture_output=True,
                           text=True, timeout=120)
    assert alone.returncode == 2 and "--stdin-filename" in alone.stderr


def test_no_color_is_honoured_on_a_terminal(tmp_path: Path) -> None:
    import pty
    root = _pytest_project(tmp_path, 'fixtures-module = "tests.fixtures"')

    def on_terminal(env: dict) -> bytes:
        main, other = pty.openpty()
        proc = subprocess.Popen([_entry_point(), "--dry-run", "--no-cache", "-q", "."],
                                cwd=root, stdout=other, stderr=subprocess.DEVNULL,
                                env={**os.environ, **env})
        os.close(other)
        out = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        proc.wait(timeout=120)
        os.close(main)
        return out

    assert b"\x1b[" in on_terminal({})
    out = on_terminal({"NO_COLOR": "1"})
    assert b"PASSWORD" in out and b"\x1b[" not in out


def test_force_exclude_applies_exclude_to_named_files(tmp_path: Path) -> None:
    root = _pytest_project(tmp_path, 'fixtures-module = "tests.fixtures"\n'
                                     'exclude = ["tests/test_login.py"]')
    named = str(Path("tests") / "test_login.py")
    assert cli("--dry-run", "--no-cache", ".", cwd=root).returncode == 0
    assert cli("--dry-run", "--no-cache", named, cwd=root).returncode == 1  # named: done
    proc = cli("--dry-run", "--no-cache", "--force-exclude", named, cwd=root)
    assert proc.returncode == 0 and proc.stdout == ""
    hooks = (Path(__file__).parent.parent / ".pre-commit-hooks.yaml").read_text()
    assert hooks.count("--force-exclude") == 2


def test_cr_only_newlines_give_a_diff_git_applies(tmp_path: Path) -> None:
    if not shutil.which("git"):
        pytest.skip("git not installed")
    root = _pytest_project(tmp_path, 'fixtures-module = "tests.fixtures"')
    target = root / "tests" / "test_login.py"
    target.write_bytes(LOGIN.replace("\n", "\r").encode())
    (root / "tests" / "fixtures.py").write_text("PASSWORD = 'hunter2'\n")
    subprocess.run(["git", "init", "-q", "."], cwd=root, check=True)
    diff = subprocess.run([_entry_point(), "--dry-run", "--no-cache", "."], cwd=root,
                          capture_output=True, timeout=120)
    assert diff.returncode == 1 and b"hunter2" in diff.stdout
    check = subprocess.run(["git", "apply", "--check", "-"], cwd=root, input=diff.stdout,
                           capture_output=True)
    assert check.returncode == 0, check.stderr
    subprocess.run(["git", "apply", "-"], cwd=root, input=diff.stdout, check=True)
    patched = target.read_bytes()
    target.write_bytes(LOGIN.replace("\n", "\r").encode())
    assert cli("--no-cache", ".", cwd=root).returncode == 1
    assert target.read_bytes() == patched and b"\n" not in patched


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="needs a Python older than 3.12")
def test_newer_syntax_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_new.py").write_text(
        "type Pair = tuple[int, int]\n\n\ndef test():\n    password = 'hunter2'\n")
    (tmp_path / "tests" / "test_bad.py").write_text("def test(:\n    password = 'hunter2'\n")
    proc = cli("--dry-run", "--no-cache", ".", cwd=tmp_path)
    assert proc.returncode == 2
    lines = {line.split(":")[0]: line for line in proc.stderr.splitlines() if "error" in line}
    assert "newer than the running Python 3." in lines[str(Path("tests/test_new.py"))]
    assert "newer" not in lines[str(Path("tests/test_bad.py"))]


def test_a_named_file_that_is_not_test_code_gets_a_word(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(LOGIN)
    proc = cli("--dry-run", "--no-cache", "app.py", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == ""
    assert "not test code, left alone: app.py" in proc.stderr


# -- Ctrl-C ------------------------------------------------------------------------------------

def test_ctrl_c_exits_130_and_leaves_every_file_whole(tmp_path: Path) -> None:
    root = _pytest_project(tmp_path, 'fixtures-module = "tests.fixtures"')
    for i in range(600):
        (root / "tests" / f"test_{i:03}.py").write_text(LOGIN.replace("hunter2", f"pw{i}"))
    before = _snapshot(root)
    proc = subprocess.Popen([_entry_point(), "--no-cache", "-j", "2", "."], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    signalled = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert time.monotonic() - signalled < 15, "it waited for the workers' batches"
    assert "interrupted" in err and "Traceback" not in err and "Aborted" not in err
    after = _snapshot(root)
    assert all(after.get(name) == old or b"fixtures." in after.get(name, b"")
               for name, old in before.items())
    assert not [p for p in root.rglob("*") if p.name.startswith(".") and p.suffix == ".tmp"]


def test_every_hunk_has_its_context_in_a_long_repetitive_file() -> None:
    """difflib's autojunk left frequent lines (``)``, ``celery,``) unmatched in long parts:
    a hunk then ended without trailing context and ``git apply`` refused it."""
    from testsec_fix.model import FileResult
    block = ["    res = runner.invoke(\n", "        cli,\n", "        ['-A', 'app', 'report'],\n",
             "        catch_exceptions=False,\n", "    )\n", "    assert res.exit_code == 0\n"]
    before = ["def test_report(runner, app):\n"] + block * 60
    before = ["import os\n", "\n"] + before
    after = ["import os\n", "\n", "from t import credentials\n"] + before[2:]  # a change
    at = len(before) - 40  # and another, far below it: one long part to match
    after[at + 1] = "    app.conf.result_backend = credentials.REDIS_URL\n"
    diff = FileResult("t.py", "".join(before), "".join(after)).diff()
    hunks: list = []
    for line in diff.splitlines()[2:]:
        if line.startswith("@@"):
            hunks.append([])
        else:
            hunks[-1].append(line)
    assert len(hunks) == 2
    for hunk in hunks:
        assert all(line.startswith(" ") for line in hunk[:2] + hunk[-3:]), hunk
    assert [line for line in hunks[1] if not line.startswith(" ")] == [
        "-" + before[at].rstrip("\n"), "+" + after[at + 1].rstrip("\n")]


def test_a_fix_that_could_not_be_written_is_not_counted_as_fixed(tmp_path: Path) -> None:
    root = _pytest_project(tmp_path, 'fixtures-module = "tests.fixtures"')
    target = root / "tests" / "test_login.py"
    target.chmod(0o444)
    proc = cli("--no-cache", "--format", "json", ".", cwd=root)
    assert proc.returncode == 2
    [record] = [r for r in json.loads(proc.stdout) if r["code"] == "TSF102"]
    assert not record["fixed"] and "not written" in record["reason"]
    assert cli("--no-cache", ".", cwd=root).stderr.count("TSF102: 0 fixed, 1 not fixed") == 1
    assert target.read_text() == LOGIN
