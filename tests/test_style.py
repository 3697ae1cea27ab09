"""The project's own style (issue 13, item 5): line length, quotes and import order read from
its linters' and formatters' config, so that a rewritten file stays clean under them.

The ``style_*`` projects in ``tests/data/projects`` are run in place through the installed
command and compared with ``tests/data/style-expected/<project>/`` (every file the run
changed or created, but the ``polling.py`` helper, the same everywhere);
``TESTSEC_UPDATE=1`` rewrites the expected files (read the diff). Where ruff, flake8 or isort
are installed, the rewritten files are also checked with them under the project's config.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from test_cli import cli
from testsec_fix.style import DOUBLE, SINGLE, Style, read_project_style

DATA = Path(__file__).parent / "data"
PROJECTS = sorted(p.name for p in (DATA / "projects").iterdir() if p.name.startswith("style_"))


def _files(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*"))
            if p.is_file() and ".testsec-cache" not in p.parts}


@pytest.mark.parametrize("name", PROJECTS)
def test_style_project(name: str, tmp_path: Path) -> None:
    root = tmp_path / name
    shutil.copytree(DATA / "projects" / name, root)
    before = _files(root)
    proc = cli("--no-cache", "-q", "pkg" if (root / "pkg").exists() else ".", cwd=root)
    assert proc.returncode == 1, proc.stderr
    after = _files(root)
    changed = {k: v for k, v in after.items()
               if before.get(k) != v and os.path.basename(k) != "polling.py"}
    expected_root = DATA / "style-expected" / name
    if os.environ.get("TESTSEC_UPDATE"):
        shutil.rmtree(expected_root, ignore_errors=True)
        for rel, text in changed.items():
            (expected_root / rel).parent.mkdir(parents=True, exist_ok=True)
            (expected_root / rel).write_text(text)
    assert changed == _files(expected_root)
    _lint(root, sorted(changed))


def _lint(root: Path, files) -> None:
    """The project's own linter, where it is installed, finds nothing in the files."""
    config = (root / "pyproject.toml").read_text() if (root / "pyproject.toml").exists() else ""
    if "[tool.ruff" in config and shutil.which("ruff"):
        proc = subprocess.run(["ruff", "check", "--no-cache", *files], cwd=root,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout
    if "[tool.isort]" in config and shutil.which("isort"):
        proc = subprocess.run(["isort", "--check-only", "--diff", *files], cwd=root,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout
    if (root / "tox.ini").exists() and shutil.which("flake8"):
        proc = subprocess.run(["flake8", *files], cwd=root, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout


# -- what is read from which file ------------------------------------------------------------

CONFIGS = {
    "nothing": ({}, Style(), None),
    "ruff-line-length": ({"pyproject.toml": "[tool.ruff]\nline-length = 100\n"},
                         Style(), 100),
    "the-strictest-length": (
        {"pyproject.toml": "[tool.ruff]\nline-length = 100\n",
         "setup.cfg": "[flake8]\nmax-line-length = 90\n"}, Style(), 90),
    "flake8-in-dot-flake8": ({".flake8": "[flake8]\nmax-line-length = 120\n"}, Style(), 120),
    "pycodestyle-in-tox-ini": ({"tox.ini": "[pycodestyle]\nmax-line-length = 99\n"},
                               Style(), 99),
    "black": ({"pyproject.toml": "[tool.black]\nline-length = 88\n"},
              Style(quote=DOUBLE), 88),
    "black-keeping-strings": (
        {"pyproject.toml": "[tool.black]\nskip-string-normalization = true\n"}, Style(), None),
    "black-hook": ({".pre-commit-config.yaml": "repos:\n- repo: x\n  hooks:\n  - id: black\n"},
                   Style(quote=DOUBLE), None),
    "ruff-format-single": (
        {"pyproject.toml": "[tool.ruff]\nformat.quote-style = 'single'\n"},
        Style(quote=SINGLE), None),
    "ruff-quote-rule": (
        {"pyproject.toml": "[tool.ruff.lint]\nselect = ['Q']\n"
                           "[tool.ruff.lint.flake8-quotes]\ninline-quotes = 'single'\n"},
        Style(quote=SINGLE), None),
    "flake8-quotes": ({"tox.ini": "[flake8]\ninline-quotes = double\n"},
                      Style(quote=DOUBLE), None),
    "ruff-isort": (
        {"ruff.toml": "line-length = 110\n[lint]\nselect = ['E', 'I']\n"
                      "[lint.isort]\nforce-single-line = true\nknown-first-party = ['app']\n"},
        Style(sorter="isort", import_line_length=110, force_single_line=True,
              known_first_party=("app",)), 110),
    "ruff-without-isort-rules": ({"pyproject.toml": "[tool.ruff.lint]\nselect = ['E', 'INP']\n"},
                                 Style(), None),
    "isort-profile": ({"setup.cfg": "[isort]\nprofile = google\n"},
                      Style(sorter="isort", import_line_length=1000, force_single_line=True,
                            force_sort_within_sections=True, order_by_type=False), None),
    "isort-open-stack-profile": (  # isort then sorts modules case-sensitively
        {".isort.cfg": "[settings]\nprofile = open_stack\n"},
        Style(sorter="isort", import_line_length=79, force_single_line=True,
              force_sort_within_sections=True, lexicographical=True, case_sensitive=True),
        None),
    "isort-black-profile": ({"pyproject.toml": "[tool.isort]\nprofile = 'black'\n"},
                            Style(sorter="isort", import_line_length=88), None),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_read_project_style(name: str, tmp_path: Path) -> None:
    files, style, length = CONFIGS[name]
    for rel, text in files.items():
        (tmp_path / rel).write_text(text)
    found = read_project_style(str(tmp_path))
    assert found.style == style
    assert found.max_line_length == length


def test_own_folders_are_first_party(tmp_path: Path) -> None:
    (tmp_path / "test").mkdir()
    (tmp_path / "src" / "app").mkdir(parents=True)
    (tmp_path / "tool.py").write_text("")
    (tmp_path / "docs-src").mkdir()
    assert read_project_style(str(tmp_path)).style.own_names == ("app", "src", "test", "tool")


LONG_TEST = '''\
import unittest


class T(unittest.TestCase):
    def test_login(self):
        self.assertTrue(self.client.login_with("admin", password="open-sesame"))
'''


@pytest.mark.parametrize("table, wrapped", [
    ("", False),  # ruff's 100 holds
    ("[tool.testsec-fix]\nmax-line-length = 79\n", True),  # set for testsec-fix: it wins
])
def test_line_length_from_the_project(tmp_path: Path, table: str, wrapped: bool) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n" + table)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "__init__.py").write_text("")
    (tmp_path / "tests" / "test_login.py").write_text(LONG_TEST)
    proc = cli("--no-cache", "-q", "tests", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    text = (tmp_path / "tests" / "test_login.py").read_text()
    assert ('self.assertTrue(self.client.login_with(' in text) is not wrapped
    assert max(len(line) for line in text.splitlines()) <= (79 if wrapped else 100)
