"""A property over generated projects: whatever sequence of runs a user makes (dry-run,
apply, apply again, with and without the cache, any spelling of the path), the tree ends as
one clean run leaves it, a second apply changes nothing, every file compiles, and no module
the tool created stops defining its names."""
from __future__ import annotations

import ast
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, List

from hypothesis import HealthCheck, given, settings, strategies as st

from testsec_fix import run
from testsec_fix.config import find_config, load_config

POLL = '''
    def {name}(self):
        for _ in range({tries}):
            if self.ready():
                return
            time.sleep({interval})
        self.fail("not ready in time")
'''
CREDENTIAL = '''
    def {name}(self):
        self.assertTrue(self.login(user="admin", {kw}="{value}"))
'''
BLIND = '''
    def {name}(self):
        time.sleep(0.5)
        self.assertTrue(self.ready())
'''
PLAIN = '''
    def {name}(self):
        self.assertEqual(1 + 1, 2)
'''
HEAD = '''import time
import unittest


class {cls}(unittest.TestCase):

    def ready(self):
        return True

    def login(self, user, **kwargs):
        return bool(kwargs)
'''

block = st.one_of(
    st.builds(lambda t, i: POLL.format(name="{name}", tries=t, interval=i),
              st.integers(2, 40), st.sampled_from(["0.1", "0.5", "1"])),
    st.builds(lambda k, v: CREDENTIAL.format(name="{name}", kw=k, value=v),
              st.sampled_from(["password", "token", "secret"]),
              st.sampled_from(["hunter2", "s3cret-value", "hunter2"])),
    st.just(BLIND), st.just(PLAIN))
module = st.lists(block, min_size=1, max_size=4)
layout = st.sampled_from(["rootdir", "package", "inside"])
step = st.tuples(st.sampled_from(["dry-run", "apply", "apply-no-cache"]),
                 st.sampled_from([".", "tests", "./tests/", "absolute"]))


def _project(root: Path, kind: str, modules: List[List[str]], separate: bool) -> None:
    tests = root / ("pkg/tests" if kind == "inside" else "tests")
    tests.mkdir(parents=True)
    dotted = "pkg.tests" if kind == "inside" else "tests"
    config = f'[tool.testsec-fix]\nfixtures-module = "{dotted}.fixtures"\n'
    if separate:
        config += f'credentials-module = "{dotted}.creds"\n'
    (root / "pyproject.toml").write_text(config)
    if kind == "rootdir":
        (tests / "conftest.py").write_text("")
    else:
        (tests / "__init__.py").write_text("")
    if kind == "inside":
        (root / "pkg" / "__init__.py").write_text("")
    for n, blocks in enumerate(modules):
        body = "".join(b.format(name=f"test_{n}_{i}") for i, b in enumerate(blocks))
        (tests / f"test_m{n}.py").write_text(HEAD.format(cls=f"Case{n}") + body)


def _tree(root: Path) -> Dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".testsec-cache" not in p.parts}


@contextmanager
def _inside(folder: Path):
    here = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(here)


def _run(root: Path, spelling: str, write: bool, cache: bool) -> list:
    target = {"absolute": str(root / "tests"), "tests": "tests"}.get(spelling, spelling)
    if not (root / "tests").exists() and target != ".":
        target = target.replace("tests", "pkg/tests")
    with _inside(root):
        config = load_config(find_config(target))
        return list(run([target], config, write=write, jobs=1,
                        cache_dir=str(root / ".testsec-cache") if cache else None))


def _names(text: bytes) -> set:
    tree = ast.parse(text)
    return {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
            if isinstance(t, ast.Name)} | {n.name for n in tree.body
                                           if isinstance(n, ast.FunctionDef)}


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(kind=layout, modules=st.lists(module, min_size=1, max_size=3), separate=st.booleans(),
       steps=st.lists(step, min_size=1, max_size=4))
def test_any_sequence_of_runs_ends_as_one_clean_run(kind, modules, separate, steps) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        _project(base, kind, modules, separate)
        original = _tree(base)
        clean = Path(tmp) / "clean"
        shutil.copytree(base, clean)
        _run(clean, ".", write=True, cache=False)
        expected = _tree(clean)
        assert not [r for r in _run(clean, ".", write=True, cache=False) if r.changed], \
            "a second apply changed something"

        work = Path(tmp) / "work"
        shutil.copytree(base, work)
        created: Dict[str, set] = {}
        applied = False
        for kind_of_run, spelling in steps:
            write = kind_of_run != "dry-run"
            results = _run(work, spelling, write=write, cache=kind_of_run != "apply-no-cache")
            assert not [r.error for r in results if r.error]
            tree = _tree(work)
            for name, data in tree.items():
                if name.endswith(".py"):
                    compile(data, name, "exec")
                if name not in original and name.endswith(".py"):
                    names = _names(data)
                    assert created.setdefault(name, names) <= names, \
                        f"{name} no longer defines {created[name] - names}"
            if write:
                applied = True
                assert tree == expected, "one apply is not one clean run"
                again = _run(work, spelling, write=True, cache=True)
                assert not [r.path for r in again if r.changed], "a second apply changed files"
        assert _tree(work) == (expected if applied else original)
