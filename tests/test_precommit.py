""".pre-commit-hooks.yaml: well-formed, naming the installed entry point, and each hook run
the way pre-commit runs it (its entry, then the staged file names) does what it says.

PyYAML is there without a dependency of ours: LibCST requires it."""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from fixture_cases import ROOT
import test_cli
from test_cli import _entry_point, _snapshot

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

sample = test_cli.sample  # the fixture: fixtures/sample copied to tmp_path


def test_the_hooks_are_well_formed_and_name_our_entry_point() -> None:
    assert isinstance(HOOKS, list) and [h["id"] for h in HOOKS] == \
        ["testsec-fix", "testsec-fix-check"]
    for hook in HOOKS:
        assert {"id", "name", "entry", "language"} <= set(hook), hook
        assert hook["language"] == "python" and hook["types"] == ["python"]
        assert shlex.split(hook["entry"])[0] in PROJECT["scripts"]
    fix, check = HOOKS
    assert fix["require_serial"] is True, "parallel runs would race to create helper modules"
    assert "--dry-run" in shlex.split(check["entry"])


def test_the_readme_snippet_uses_these_hooks_at_this_version() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"### pre-commit\n\n```yaml\n(.*?)```", readme, re.S).group(1)
    assert len(block.splitlines()) == 3
    repos = yaml.safe_load("repos:\n" + block)["repos"]
    assert repos[0]["rev"] == "v" + PROJECT["version"]
    assert {h["id"] for h in repos[0]["hooks"]} <= {h["id"] for h in HOOKS}


def _hook(hook: dict, files: list, cwd: Path) -> subprocess.CompletedProcess:
    """As pre-commit runs a hook: its entry, then the file names (our installed command)."""
    args = shlex.split(hook["entry"])
    return subprocess.run([_entry_point(), *args[1:], "--no-cache", *files], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_the_hooks_on_staged_files(sample: Path) -> None:
    fix, check = HOOKS
    files = sorted(str(p.relative_to(sample)) for p in sample.rglob("*.py"))
    before = _snapshot(sample)
    checked = _hook(check, files, sample)
    assert checked.returncode == 1 and "+++ b/sampleapp/tests/test_servers.py" in checked.stdout
    assert _snapshot(sample) == before, "the check hook writes nothing"
    fixed = _hook(fix, files, sample)
    assert fixed.returncode == 1, fixed.stderr
    assert _snapshot(sample) != before
    assert (sample / "sampleapp/tests/fixtures/polling.py").exists()
    assert _hook(check, files, sample).returncode == 0, "nothing left: the commit passes"
