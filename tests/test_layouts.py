"""Out of the box (issue 13): with no configuration, on each common project layout, the
first run rewrites the polling loop and moves the credential, the project's own tests still
pass after (under pytest's default import mode and, where it applies, importlib), and a
second run changes nothing."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from test_cli import _snapshot, cli

SUITE = '''\
import time
import unittest


class Service:
    def __init__(self):
        self.calls = 0

    def ready(self):
        self.calls += 1
        return self.calls > 2

    def login(self, user, password):
        return bool(user and password)


class ServiceTest(unittest.TestCase):

    def test_becomes_ready(self):
        service = Service()
        for _ in range(30):
            if service.ready():
                return
            time.sleep(0.01)
        self.fail("the service never became ready")

    def test_login(self):
        self.assertTrue(Service().login("admin", password="open-sesame"))
'''

# layout -> (files, folder the tests are in, where the helpers must end up)
LAYOUTS: Dict[str, tuple] = {
    "package-with-fixtures-package": (
        {"pkg/__init__.py": "", "pkg/tests/__init__.py": "",
         "pkg/tests/fixtures/__init__.py": ""},
        "pkg/tests", ["pkg/tests/fixtures/polling.py", "pkg/tests/fixtures/credentials.py"]),
    "package-with-fixtures-module": (
        {"pkg/__init__.py": "", "pkg/tests/__init__.py": "",
         "pkg/tests/fixtures.py": '"""Helpers of the tests."""\n'},
        "pkg/tests", ["pkg/tests/fixtures.py"]),
    "package-without-fixtures": (
        {"pkg/__init__.py": "", "pkg/tests/__init__.py": ""},
        "pkg/tests", ["pkg/tests/polling.py", "pkg/tests/credentials.py"]),
    "top-level-tests-package": (
        {"tests/__init__.py": ""}, "tests", ["tests/polling.py", "tests/credentials.py"]),
    "rootdir-tests-with-conftest": (
        {"tests/conftest.py": ""}, "tests", []),
    "src-layout": (
        {"src/pkg/__init__.py": "", "tests/conftest.py": ""}, "tests", []),
    "tests-folder-named-t": (
        {"t/__init__.py": "", "pytest.ini": "[pytest]\ntestpaths = t\n"},
        "t", ["t/polling.py", "t/credentials.py"]),
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_no_config_first_run_does_the_job(name: str, tmp_path: Path) -> None:
    files, folder, helpers = LAYOUTS[name]
    root = tmp_path / name
    for rel, text in {**files, "pyproject.toml": "[project]\nname = 'pkg'\n",
                      f"{folder}/test_service.py": SUITE}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    before = _snapshot(root)
    first = cli(".", cwd=root)
    assert first.returncode == 1, first.stderr
    test_file = (root / folder / "test_service.py").read_text()
    assert "time.sleep(0.01)\n" not in test_file and "wait_until(" in test_file, first.stderr
    assert test_file.count("open-sesame") == (0 if helpers else 1)  # (its own constant)
    created = sorted(set(_snapshot(root)) - set(before) - {folder + "/test_service.py"})
    assert created == sorted(h for h in helpers if h not in before), created
    for helper in helpers:  # one kind of helper per module, each saying what it holds
        text = (root / helper).read_text()
        assert ("def wait_until" in text) + ("open-sesame" in text) == \
            (2 if helper.endswith("fixtures.py") else 1), helper
    if not helpers:  # nothing importable: the test module holds its own helpers
        # (in the file's own double quotes)
        assert "def wait_until(" in test_file and '= "open-sesame"' in test_file
    again = cli(".", cwd=root)
    assert again.returncode == 0 and again.stdout == "", again.stderr
    modes = [[]] + ([["--import-mode=importlib"]] if "conftest" in str(files) else [])
    for mode in modes:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               *mode], cwd=root, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "2 passed" in proc.stdout


def test_a_run_that_finds_no_test_files_says_so(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "service.py").write_text(SUITE)
    proc = cli(".", cwd=tmp_path)
    assert proc.returncode == 0 and "no test files found under ." in proc.stderr
