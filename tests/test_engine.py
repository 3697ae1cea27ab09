"""The engine over real trees: project catalogs, other modules, helper modules, config."""
from __future__ import annotations

import ast
import random
import textwrap
from pathlib import Path

import pytest

from fixture_cases import FIXTURES
from testsec_fix import Config, load_config, run
from testsec_fix.config import ConfigError
from testsec_fix.sparse import make_sparse, restore, split_lines


def write(root: Path, files: dict) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


LOOP = """
    import time

    from {base_module} import {base_name}


    class T({base_name}):

        def _wait(self):
            for i in range(10):
                if self.api.ready():
                    return
                time.sleep(0.5)
            self.fail('not ready')
"""


def _results(root: Path, config: Config = None):
    return {r.path.replace(str(root) + "/", ""): r
            for r in run([str(root)], config or load_config(str(root / "pyproject.toml")))}


def test_project_catalog_in_pyproject_and_a_base_in_another_module(tmp_path: Path) -> None:
    write(tmp_path, {
        "pyproject.toml": """
            [tool.testsec-fix]
            catalogs = []

            [[tool.testsec-fix.helpers]]
            name = "wait_for"
            owner = "app.tests.helpers.WaitMixin"
            kind = "assert-retry"
            retries-param = "tries"
            interval-param = "delay"
            default-retries = 5
            default-interval = 1.0
        """,
        "app/__init__.py": "",
        "app/tests/__init__.py": "",
        "app/tests/helpers.py": """
            class WaitMixin:
                def wait_for(self, fn, tries=5, delay=1.0):
                    pass
        """,
        "app/tests/base.py": """
            import unittest

            from app.tests import helpers


            class Base(unittest.TestCase, helpers.WaitMixin):
                pass
        """,
        "app/tests/test_x.py": LOOP.format(base_module="app.tests.base", base_name="Base"),
    })
    result = _results(tmp_path)["app/tests/test_x.py"]
    assert result.error is None
    assert "self.wait_for(_check, tries=10, delay=0.5)" in result.after
    assert "import time" not in result.after


def test_without_a_reachable_helper_wait_until_goes_to_the_fixtures_package(
        tmp_path: Path) -> None:
    write(tmp_path, {
        "setup.cfg": "",
        "app/__init__.py": "",
        "app/tests/__init__.py": "",
        "app/tests/fixtures/__init__.py": "# Licence header of app.\n\n\"\"\"Fixtures.\"\"\"\n",
        "app/tests/unit/__init__.py": "",
        "app/tests/unit/test_x.py": LOOP.format(base_module="unittest", base_name="TestCase"),
    })
    results = _results(tmp_path, Config())
    test = results["app/tests/unit/test_x.py"]
    assert "from app.tests.fixtures import polling" in test.after
    assert "polling.wait_until(" in test.after
    helper = results["app/tests/fixtures/polling.py"]
    assert helper.created and helper.changed
    assert helper.after.startswith("# Licence header of app.\n")
    ast.parse(helper.after)
    assert "def wait_until(predicate, timeout, interval, message):" in helper.after


def test_written_helper_module_is_not_added_twice(tmp_path: Path) -> None:
    write(tmp_path, {
        "setup.cfg": "",
        "app/__init__.py": "",
        "app/tests/__init__.py": "",
        "app/tests/fixtures.py": "import os\n\nHOME = os.environ.get('HOME')\n",
        "app/tests/test_a.py": LOOP.format(base_module="unittest", base_name="TestCase"),
        "app/tests/test_b.py": LOOP.format(base_module="unittest", base_name="TestCase"),
    })
    results = list(run([str(tmp_path)], Config(), write=True))
    assert not [r for r in results if r.error]
    fixtures = (tmp_path / "app/tests/fixtures.py").read_text()
    assert fixtures.count("def wait_until(") == 1
    assert fixtures.startswith("import os\nimport time\n")
    assert "from app.tests import fixtures" in (tmp_path / "app/tests/test_a.py").read_text()
    again = list(run([str(tmp_path)], Config(), write=True))
    assert not [r for r in again if r.changed]


def test_the_catalog_helpers_own_bodies_are_left_alone(tmp_path: Path) -> None:
    write(tmp_path, {
        "setup.cfg": "",
        "nova/__init__.py": "",
        "nova/tests/__init__.py": "",
        "nova/tests/functional/__init__.py": "",
        "nova/tests/functional/integrated_helpers.py": """
            import time


            class InstanceHelperMixin:

                def _wait_for_log(self, regex):
                    for i in range(10):
                        if regex in self.log:
                            return
                        time.sleep(0.5)
                    self.fail('no log line')
        """,
    })
    result = _results(tmp_path, Config())["nova/tests/functional/integrated_helpers.py"]
    assert not result.changed and not result.findings


def test_bad_config_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.testsec-fix]\nfixtures_modul = 'x'\n")
    with pytest.raises(ConfigError, match="fixtures_modul"):
        load_config(str(tmp_path / "pyproject.toml"))


def test_sparse_text_restores_byte_for_byte() -> None:
    """Any choice of kept statements: the marked text, restored, is the original."""
    rng = random.Random(7)
    for path in sorted(FIXTURES.rglob("*.py")):
        text = path.read_text()
        text_crlf = text.replace("\n", "\r\n")
        for source in (text, text_crlf):
            tree = ast.parse(source)
            units = list(tree.body) + [s for n in tree.body if isinstance(n, ast.ClassDef)
                                       for s in n.body]
            for _ in range(5):
                keep = {u for u in units if rng.random() < 0.3}
                lines = split_lines(source)
                sparse = make_sparse(lines, tree, keep)
                if sparse is None:
                    continue
                ast.parse(sparse.text)
                assert restore(sparse.text, lines) == source
                assert len(sparse.line_map) == len(split_lines(sparse.text))


def test_columns_count_characters_for_ast_findings_too() -> None:
    """``ast`` gives UTF-8 byte offsets; a finding's column is in characters, as LibCST's."""
    from testsec_fix import fix_source
    line = "    label = 'café€'; password = 'hunter2'"
    result = fix_source(f"def test_login(self):\n{line}\n", path="tests/test_login.py")
    [finding] = result.findings
    assert line[finding.column:] == "'hunter2'"
