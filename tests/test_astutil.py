"""The ``ast`` helpers the checks share: line numbers as Python counts them, import names,
definitions by name, and patches read from a test."""
from __future__ import annotations

import ast
import re
import textwrap

import pytest

from testsec_fix.astutil import Definitions, ast_bindings, called_as, match_lines
from testsec_fix.mocks import mock_names, mock_use, patches_in
from testsec_fix.sparse import split_lines


@pytest.mark.parametrize("text", ["a\nsleep\n", "a\r\nsleep\r\nb", "a\rsleep\rsleep",
                                  "sleep\r\n\rb\nsleep"])
def test_match_lines_counts_lines_as_python_splits_them(text: str) -> None:
    word = re.compile(r"\bsleep\b")
    expected = {n for n, line in enumerate(split_lines(text), start=1) if word.search(line)}
    assert match_lines(word, text) == expected


def test_called_as_follows_aliases() -> None:
    tree = ast.parse("import time as t\nfrom time import sleep as nap\n"
                     "from eventlet import greenthread\n")
    names = called_as(ast_bindings(tree), {"time.sleep", "eventlet.greenthread.sleep"})
    assert names == {"t.sleep", "nap", "greenthread.sleep"}


def test_definitions_found_at_any_depth_only_if_defined() -> None:
    text = "class A:\n    class Verifier:\n        pass\n\ndef f():\n    pass\n"
    defs = Definitions(ast.parse(text), text)
    assert defs.get("missing") == [] and defs.get("Verif") == []
    assert defs._index is None  # nothing defined by those names: the tree was not walked
    assert [type(n).__name__ for n in defs.get("Verifier")] == ["ClassDef"]
    assert [type(n).__name__ for n in defs.get("f")] == ["FunctionDef"]


def test_patches_their_mocks_and_what_the_test_makes_of_them() -> None:
    text = textwrap.dedent("""
        from unittest import mock
        from myapp import policy

        class T:
            @mock.patch.object(policy, 'authorize')
            @mock.patch('myapp.verify', new=lambda *a: True)
            @mock.patch('time.sleep')
            def test(self, mock_sleep, mock_authorize):
                patcher = mock.patch('myapp.key_manager.API')
                self.km = patcher.start()
                self.km.return_value.get.side_effect = KeyError
                mock_authorize.assert_called_once_with('rule')
                self.api.patch('/servers/1', {'name': 'x'})  # HTTP, not mock
    """)
    tree = ast.parse(text)
    fn = tree.body[2].body[0]
    bindings = ast_bindings(tree)
    targets = {p.call: p.target for p in patches_in(fn, bindings)}
    assert sorted(targets.values()) == ["myapp.key_manager.API", "myapp.policy.authorize",
                                        "myapp.verify", "time.sleep"]
    names = {targets[call]: name for call, name in mock_names(fn, bindings).items()}
    assert names == {"time.sleep": "mock_sleep", "myapp.policy.authorize": "mock_authorize",
                     "myapp.key_manager.API": "self.km"}
    assert mock_use(fn, "mock_authorize").checks_calls
    km = mock_use(fn, "self.km")
    assert not km.checks_calls and [ast.unparse(e) for e in km.side_effects] == ["KeyError"]
