"""The searches that keep a big file's cost linear give what the plain searches give: one walk
of the tree for every codemod, statements found by line, strings found by word, constant
names, screened lines. Each plain search is the specification, written out here."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from hypothesis import given, settings
from hypothesis import strategies as st

from fixture_cases import FIXTURES, ROOT
from testsec_fix.astutil import walk
from testsec_fix.codemods.credential_literal import (CredentialLiteral, Screen, _bounded,
                                                     _Larger, _Units, _Use, constant_name)
from testsec_fix.sparse import split_lines, statement_lines

SOURCES = sorted(FIXTURES.rglob("*.py")) + sorted((ROOT / "src").rglob("*.py"))
TRICKY = '''\
import os; import re
x = 'a'; y = 'b'


@decorator(
    'arg')
class A:
    p = 'q'; r = 's'

    @property
    def f(self):
        return 'v'
    g = 1
'''


def _trees():
    for path in SOURCES:
        yield ast.parse(path.read_text(encoding="utf-8"))
    yield ast.parse(TRICKY)


def test_one_walk_lists_what_ast_walk_gives() -> None:
    for tree in _trees():
        assert [id(n) for n in walk(tree)] == [id(n) for n in ast.walk(tree)]


def _unit_of(tree: ast.Module, node: ast.AST, top: bool) -> ast.stmt:
    line = node.lineno  # type: ignore[attr-defined]
    for stmt in tree.body:
        if line in statement_lines(stmt):
            if isinstance(stmt, ast.ClassDef) and not top:
                for inner in stmt.body:
                    if line in statement_lines(inner):
                        return inner
            return stmt
    raise LookupError(line)


def test_statements_found_by_line_are_the_first_holding_it() -> None:
    for tree in _trees():
        units = _Units(tree)
        for node in ast.walk(tree):
            if hasattr(node, "lineno") and not isinstance(node, ast.Module):
                for top in (False, True):
                    assert units.of(node, top) is _unit_of(tree, node, top), ast.dump(node)


def _constant(value: str, line: int) -> ast.Constant:
    node = ast.Constant(value=value)
    node.lineno = line
    return node


def _holding(hidden: List[Tuple[ast.AST, str]], uses: List[_Use],
             value: str) -> Optional[ast.AST]:
    pattern = _bounded(value)
    for node, text in hidden + [(u.node, u.node.value) for u in uses
                                if u.node.value != value]:
        if pattern.search(text):
            return node
    return None


TEXT = st.text(alphabet="ab1-_ é.", max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXT, max_size=12), st.lists(TEXT, max_size=4), st.lists(TEXT, max_size=6))
def test_strings_found_by_word_are_the_first_holding_the_value(
        strings: List[str], larger: List[str], values: List[str]) -> None:
    uses = [_Use(_constant(s, k + 10), "value") for k, s in enumerate(strings)]
    hidden = [(_constant(s, k + 1), s) for k, s in enumerate(larger)]
    index = _Larger(hidden, uses)
    for value in values + strings:
        if value:
            assert index.holding(value) is _holding(hidden, uses, value), value


def _names(kept: Dict[str, list], existing: Dict[str, str], alias: str) -> Dict[str, str]:
    taken = dict(existing)
    plan = {}
    for value, sites in kept.items():
        name = next((n for n, v in sorted(taken.items()) if v == value), None)
        if name is None:
            base = constant_name(sites[0][1], value)
            name, k = base, 1
            while name in taken:
                k += 1
                name = f"{base}_{k}"
            taken[name] = value
        plan[value] = f"{alias}.{name}"
    return plan


NAME = st.sampled_from(["password", "admin_pass", "token", "password2", "password_2"])
CONSTANT = st.sampled_from(["PASSWORD", "PASSWORD_2", "PASSWORD_3", "PASSWORD_2_2", "TOKEN",
                            "TOKEN_3", "ADMIN_PASS", "OTHER"])
VALUE = st.sampled_from(["v1", "v2", "v3", "v4", "v5", "v6", ""])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(VALUE, NAME, max_size=6), st.dictionaries(CONSTANT, VALUE, max_size=6))
def test_constant_names_are_those_of_the_plain_search(kept: Dict[str, str],
                                                      existing: Dict[str, str]) -> None:
    sites = {value: [(None, name)] for value, name in kept.items()}
    assert CredentialLiteral._names(sites, existing, "c") == _names(sites, existing, "c")


PIECE = st.sampled_from(["password", "Token", " = ", "'x'", "==", ":", " ", "key", "api_key",
                         "\n", "\r\n", "\r", "http://u:p@h", "PRIVATE KEY-----", "secret",
                         "x", "(", "["])


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECE, max_size=30), st.sampled_from([(), ("pin",)]))
def test_screened_lines_are_the_lines_the_screen_passes(pieces: List[str],
                                                        words: Tuple[str, ...]) -> None:
    text = "".join(pieces)
    screen = Screen(words)
    lines = split_lines(text)
    assert screen.lines(text, lines) == {n for n, line in enumerate(lines, start=1)
                                         if screen.search(line)}


def test_the_screen_sees_what_is_in_the_fixtures() -> None:
    screen = Screen()
    seen = 0
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        lines = split_lines(text)
        found = screen.lines(text, lines)
        assert found == {n for n, line in enumerate(lines, start=1) if screen.search(line)}
        seen += len(found)
    assert seen > 100
