"""TSF103's unsafe fix through the installed command, and the rewritten test run for real."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

from test_cli import cli

TEST = '''\
import threading
import time


class Box:
    value = None
    spam = None


def test_value_arrives():
    box = Box()
    threading.Timer(0.2, lambda: setattr(box, 'value', 42)).start()
    time.sleep(3)  # the timer sets the value
    assert box.value == 42, box.value


def test_spam_filtered():
    box = Box()
    time.sleep(0.3)
    assert box.spam is None
'''


def _project(tmp_path: Path) -> Path:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_box.py").write_text(TEST, encoding="utf-8")
    return tmp_path


def test_dry_run_shows_the_fix_as_unsafe_and_writes_nothing(tmp_path: Path) -> None:
    root = _project(tmp_path)
    done = cli("--no-cache", "-q", "--dry-run", "--select", "TSF103", "--format", "json",
               "tests", cwd=root)
    assert done.returncode == 1, done.stderr
    reasons = {f["line"]: f["reason"] for f in json.loads(done.stdout)}
    assert "--unsafe-fixes" in reasons[13]
    assert "did not happen" in reasons[19]
    assert (root / "tests" / "test_box.py").read_text(encoding="utf-8") == TEST


def test_unsafe_fix_retries_the_assertion_and_the_test_still_passes_faster(
        tmp_path: Path) -> None:
    root = _project(tmp_path)
    done = cli("--no-cache", "-q", "--unsafe-fixes", "--select", "TSF103", "tests", cwd=root)
    assert done.returncode == 1, done.stderr
    after = (root / "tests" / "test_box.py").read_text(encoding="utf-8")
    # a file outside any package holds its own helper
    assert "def eventually(check, timeout, interval):" in after
    assert "        assert box.value == 42, box.value\n" \
           "    eventually(_settled, timeout=15, interval=0.1)\n" in after
    assert "    time.sleep(0.3)\n    assert box.spam is None\n" in after  # an absence stays
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "--junitxml=report.xml", "tests/test_box.py"], cwd=root,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    times = {case.get("name"): float(case.get("time"))
             for case in ElementTree.parse(root / "report.xml").iter("testcase")}
    assert times["test_value_arrives"] < 2.5  # it no longer sleeps 3 s
