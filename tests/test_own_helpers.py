"""Where a test file holds its own helpers (no package to import them from), and where the
tool must not put helpers at all: cases a review found, each in a small project."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Dict

from testsec_fix import run
from testsec_fix.config import Config, load_config, with_test_folders

LOOP = '''
def test_ready(server):
    for _ in range(20):
        if server.ready():
            break
        time.sleep(0.01)
    else:
        raise AssertionError("server never ready")
'''


def _tree(root: Path, files: Dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="latin-1" if "latin-1" in text else "utf-8")
    return root


def _run(root: Path, target: str = "."):
    config = with_test_folders(load_config(str(root / "pyproject.toml"))
                               if (root / "pyproject.toml").exists() else Config(), str(root))
    return {str(Path(r.path).resolve().relative_to(root.resolve())): r
            for r in run([str(root / target)], config)}


def test_an_existing_constant_of_the_value_is_not_rewritten_into_itself(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"tests/conftest.py": "", "tests/test_a.py": '''\
import pytest

PASSWORD = "hunter2"


@pytest.mark.parametrize("PASSWORD", ["x"])
def test_param(client, PASSWORD):
    client.login(password="hunter2")
'''})
    result = _run(root)["tests/test_a.py"]
    assert not result.changed
    [finding] = [f for f in result.findings if f.code == "TSF102"]
    assert "binds PASSWORD to this value already" in finding.reason


def test_a_module_level_credential_in_a_test_module_is_still_found(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"tests/conftest.py": "", "tests/test_a.py": '''\
import os

password = "hunter2"


def test_env():
    assert os.environ.get("X", password)
'''})
    result = _run(root)["tests/test_a.py"]
    assert result.changed and "password = PASSWORD\n" in result.after
    # (in the file's own quotes)
    assert result.after.index('PASSWORD = "hunter2"') < result.after.index("password = ")


def test_a_test_module_among_production_code_never_touches_that_code(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"pyproject.toml": "[project]\nname = 'authlib'\n",
                            "authlib/__init__.py": "", "authlib/credentials.py": "KEY = 1\n",
                            "authlib/test_client.py": '''\
def test_token(client):
    client.auth(token="abcdef123456")
'''})
    results = _run(root)
    assert "authlib/credentials.py" not in [p for p, r in results.items() if r.changed]
    after = results["authlib/test_client.py"].after
    assert 'TOKEN = "abcdef123456"' in after and "import" not in after


def test_src_layout_tests_inside_the_package_hold_their_own_helpers(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"pyproject.toml": "[project]\nname = 'pkg'\n",
                            "src/pkg/__init__.py": "", "src/pkg/tests/__init__.py": "",
                            "src/pkg/tests/test_x.py": "import time\n" + LOOP})
    results = _run(root)
    assert [p for p, r in results.items() if r.changed] == ["src/pkg/tests/test_x.py"]
    after = results["src/pkg/tests/test_x.py"].after
    assert "def wait_until(" in after and "from pkg" not in after


def test_testpaths_naming_src_or_the_package_do_not_make_them_test_code(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "pyproject.toml": "[project]\nname = 'my-pkg'\n[tool.pytest.ini_options]\n"
                          "testpaths = ['src', 'my_pkg', 'checks']\n",
        "src/client.py": "def login(c):\n    c.auth(password='hunter2')\n",
        "my_pkg/__init__.py": "", "my_pkg/client.py": "def login(c):\n    c.auth(password='x1')\n",
        "checks/test_a.py": "def test_login(c):\n    c.auth(password='hunter2')\n"})
    changed = [p for p, r in _run(root).items() if r.changed]
    assert changed == ["checks/test_a.py"]


def test_own_helpers_come_before_code_that_runs_at_import(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"tests/conftest.py": "", "tests/test_main.py": '''\
# -*- coding: latin-1 -*-
# Café tests
import time
import unittest


class Server:
    def ready(self):
        return True


class T(unittest.TestCase):
    def test_ready(self):
        server = Server()
        for _ in range(5):
            if server.ready():
                return
            time.sleep(0.01)
        self.fail("never")

    def test_login(self):
        self.assertTrue(dict(password="hunter2"))


if __name__ == "__main__":
    unittest.main()
'''})
    result = _run(root)["tests/test_main.py"]
    path = root / "tests" / "test_main.py"
    path.write_bytes(result.after.encode("latin-1"))
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and "OK" in proc.stderr, proc.stderr
    lines = result.after.splitlines()
    assert lines[:2] == ["# -*- coding: latin-1 -*-", "# Café tests"]
    assert lines.index('PASSWORD = "hunter2"') < lines.index(
        "def wait_until(predicate, timeout, interval, message):") < lines.index("class Server:")


def test_no_imports_constants_go_below_the_coding_cookie(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"tests/conftest.py": "", "tests/test_b.py":
                            "# -*- coding: latin-1 -*-\n# é\n\n\ndef test_login(c):\n"
                            "    c.auth(password='hunter2')\n"})
    after = _run(root)["tests/test_b.py"].after
    assert after.startswith("# -*- coding: latin-1 -*-\n# é\n")
    compile(after.encode("latin-1"), "t", "exec")


def test_a_name_wait_until_bound_otherwise_declines_the_loop_only(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"tests/conftest.py": "", "tests/test_f.py": "import time\n" + LOOP
                            .replace("(server)", "(server, wait_until)") + '''

def test_login(c):
    c.auth(password="hunter2")
'''})
    result = _run(root)["tests/test_f.py"]
    assert result.error is None and result.changed  # the credential still moves
    [loop] = [f for f in result.findings if f.code == "TSF101"]
    assert not loop.fixed and "binds the name wait_until" in loop.reason


def test_the_docstring_stays_first_when_an_import_is_added(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"pkg/__init__.py": "", "pkg/tests/__init__.py": "",
                            "pyproject.toml": "[project]\nname = 'pkg'\n",
                            "pkg/tests/test_doc.py": '''\
"""Module doc."""


def helper():
    return 1


def test_login(client):
    client.login(user="admin", password="hunter2")
'''})
    after = _run(root)["pkg/tests/test_doc.py"].after
    assert ast.get_docstring(ast.parse(after)) == "Module doc."
    assert after.startswith('"""Module doc."""\n\nfrom pkg.tests import credentials\n')


def test_a_use_on_the_line_of_the_last_import_is_declined(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"tests/conftest.py": "", "tests/test_s.py":
                            'import os; os.environ["DB_PASSWORD"] = "hunter2"\n'})
    result = _run(root)["tests/test_s.py"]
    assert not result.changed
    assert "before the imports end" in result.findings[0].reason
