"""The command line, run through the installed ``testsec-fix`` entry point."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from fixture_cases import FIXTURES

SAMPLE = FIXTURES / "sample"


def _entry_point() -> str:
    here = Path(sys.executable).parent / "testsec-fix"
    found = str(here) if here.exists() else shutil.which("testsec-fix")
    assert found, "testsec-fix is not installed: pip install -e '.[test]'"
    return found


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "CLICOLOR_FORCE")}
    return subprocess.run([_entry_point(), *args], cwd=cwd, capture_output=True, text=True,
                          errors="replace",
                          env=env, timeout=120)


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    dest = tmp_path / "sample"
    shutil.copytree(SAMPLE, dest)
    return dest


def _snapshot(root: Path) -> dict:
    """The tree's files, but the result cache."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".testsec-cache" not in p.parts}


def test_dry_run_prints_diffs_and_writes_nothing(sample: Path) -> None:
    before = _snapshot(sample)
    proc = cli("--dry-run", ".", cwd=sample)
    assert proc.returncode == 1, proc.stderr
    assert "--- a/sampleapp/tests/test_servers.py" in proc.stdout
    assert "+++ b/sampleapp/tests/test_servers.py" in proc.stdout
    assert "--- /dev/null\n+++ b/sampleapp/tests/fixtures/polling.py" in proc.stdout
    assert "\x1b[" not in proc.stdout, "no color when piped"
    assert "files scanned" in proc.stderr and "TSF101: 4 fixed" in proc.stderr
    assert _snapshot(sample) == before


def test_dry_run_diff_applies_with_git_and_matches_apply_in_place(sample: Path,
                                                                  tmp_path: Path) -> None:
    if not shutil.which("git"):
        pytest.skip("git not installed")
    diff = cli("--dry-run", ".", cwd=sample).stdout
    other = tmp_path / "other"
    shutil.copytree(sample, other)
    subprocess.run(["git", "init", "-q", "."], cwd=other, check=True)
    patch = tmp_path / "changes.diff"
    patch.write_text(diff)
    subprocess.run(["git", "apply", str(patch)], cwd=other, check=True)
    applied = cli(".", cwd=sample)
    assert applied.returncode == 1
    assert {k: v for k, v in _snapshot(other).items() if not k.startswith(".git")} == \
        _snapshot(sample)


def test_apply_in_place_then_nothing_left_and_tests_still_pass(sample: Path) -> None:
    compute = (sample / "sampleapp" / "compute.py").read_bytes()
    assert cli(".", cwd=sample).returncode == 1
    assert (sample / "sampleapp/tests/fixtures/polling.py").exists()
    assert b"time.sleep" not in (sample / "sampleapp/tests/test_servers.py").read_bytes()
    assert (sample / "sampleapp" / "compute.py").read_bytes() == compute, \
        "production code is not test code"
    again = cli(".", cwd=sample)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout == ""
    # The rewritten sample tests still pass under their own runner.
    run = subprocess.run([sys.executable, "-m", "unittest", "discover", "-s", ".", "-t", ".",
                          "-p", "test_*.py"], cwd=sample, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert "Ran 3 tests" in run.stderr


def test_bad_files_get_one_line_each_and_the_batch_goes_on(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_syntax.py").write_text("import time\nwhile True:\n  time.sleep(\n")
    (tests / "test_latin1.py").write_bytes(b"import time\nx = '\xe9'\ntime.sleep(1)\n")
    (tests / "test_binary.py").write_bytes(b"sleep\x00\x01\x02")
    good = tests / "test_good.py"
    good.write_text((FIXTURES / "sleep-polling-loop" / "event_wait.py").read_text())
    proc = cli("--dry-run", "tests", cwd=tmp_path)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 3, proc.stderr
    assert any(e.startswith("tests/test_syntax.py: error: syntax error") for e in errors)
    assert any(e.startswith("tests/test_latin1.py: error: not valid utf-8") for e in errors)
    assert any(e.startswith("tests/test_binary.py: error: binary file") for e in errors)
    assert "done.wait(1)" in proc.stdout, "the good file was still fixed"


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    proc = cli("--dry-run", "no/such/file.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert "no/such/file.py: error: cannot read" in proc.stderr


def test_format_json_gives_one_record_per_finding(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    for name in ("event_wait.py", "decline_continue.py"):
        shutil.copy(FIXTURES / "sleep-polling-loop" / name, tests / f"test_{name}")
    proc = cli("--dry-run", "--format", "json", "tests", cwd=tmp_path)
    records = json.loads(proc.stdout)
    assert {r["fixed"] for r in records} == {True, False}
    for record in records:
        assert set(record) == {"path", "line", "column", "code", "message", "fixed", "reason",
                               "suppressed"}
        assert record["suppressed"] is False
        assert record["code"] == "TSF101" and record["line"] > 0
    declined = [r for r in records if not r["fixed"]][0]
    assert declined["path"] == "tests/test_decline_continue.py"
    assert "continue" in declined["reason"]


def test_output_is_never_a_source_file_nor_with_interactive(sample: Path) -> None:
    """A report does not overwrite a Python file; --interactive shows its fixes on the
    terminal, so an --output file would be emptied."""
    before = _snapshot(sample)
    target = next(p for p in sorted(sample.rglob("test_*.py")))
    proc = cli("--dry-run", "-o", str(target), ".", cwd=sample)
    assert proc.returncode == 2 and "not over a Python file" in proc.stderr
    (sample / "report.diff").write_text("kept\n")
    proc = cli("-i", "-o", "report.diff", ".", cwd=sample)
    assert proc.returncode == 2 and "--interactive is not for --output" in proc.stderr
    assert (sample / "report.diff").read_text() == "kept\n"
    (sample / "report.diff").unlink()
    assert _snapshot(sample) == before


def test_select_and_ignore(sample: Path) -> None:
    assert cli("--dry-run", "--select", "TSF9", ".", cwd=sample).returncode == 2
    assert cli("--dry-run", "--ignore", "TSF101", ".", cwd=sample).returncode == 0
    assert cli("--dry-run", "--select", "TSF101", ".", cwd=sample).returncode == 1


def test_only_test_code_is_rewritten(tmp_path: Path) -> None:
    pkg = tmp_path / "app"
    pkg.mkdir()
    source = (FIXTURES / "sleep-polling-loop" / "event_wait.py").read_text()
    (pkg / "worker.py").write_text(source)
    proc = cli("--dry-run", ".", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == ""


def test_write_keeps_crlf_encoding_and_mode(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    source = (FIXTURES / "sleep-polling-loop" / "event_wait.py").read_text()
    path = tests / "test_crlf.py"
    text = "# -*- coding: latin-1 -*-\n# caf\xe9\n" + source
    path.write_bytes(text.replace("\n", "\r\n").encode("latin-1"))
    path.chmod(0o751)
    assert cli("tests", cwd=tmp_path).returncode == 1
    data = path.read_bytes()
    assert b"done.wait(1)\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"# caf\xe9\r\n" in data
    assert stat.S_IMODE(path.stat().st_mode) == 0o751


def test_list_and_explain() -> None:
    listed = cli("list", cwd=FIXTURES)
    assert listed.returncode == 0 and "TSF101  sleep-polling-loop" in listed.stdout
    explained = cli("explain", "TSF101", cwd=FIXTURES)
    assert explained.returncode == 0
    assert "## Fix safety" in explained.stdout and "## Example" in explained.stdout
    unknown = cli("explain", "TSF999", cwd=FIXTURES)
    assert unknown.returncode == 2 and "unknown codemod" in unknown.stderr


def test_help_has_examples() -> None:
    proc = cli("--help", cwd=FIXTURES)
    assert proc.returncode == 0
    assert "testsec-fix --dry-run tests/" in proc.stdout and "Exit codes" in proc.stdout


def test_color_when_forced(sample: Path) -> None:
    proc = cli("--dry-run", "--color", ".", cwd=sample)
    assert "\x1b[32m+" in proc.stdout
