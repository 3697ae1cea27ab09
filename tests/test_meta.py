"""Checks every codemod must pass, whatever it does."""
from __future__ import annotations

import ast
import inspect
import re
from collections import Counter
from typing import List

import pyflakes.api
import pyflakes.reporter
import pytest

from fixture_cases import CONFIG, FIXTURES, Case, cases, strip_marks
from testsec_fix import fix_source
from testsec_fix.registry import all_codemods

SECTIONS = ["## What it does", "## Why is this bad?", "## Example", "## Use instead",
            "## Fix safety"]
CODEMODS = all_codemods()


def test_codemods_are_found() -> None:
    assert CODEMODS, "no codemod discovered in testsec_fix.codemods"


def test_codes_read_without_import_are_the_codemods() -> None:
    from testsec_fix.registry import known_names
    assert known_names() == {cls.code: cls.name for cls in CODEMODS}


@pytest.mark.parametrize("cls", CODEMODS, ids=lambda c: c.code)
def test_identity(cls) -> None:
    assert re.fullmatch(r"TSF\d{3}", cls.code)
    assert re.fullmatch(r"[a-z]+(-[a-z]+)*", cls.name)
    assert isinstance(cls.safe, bool)
    assert [c.code for c in CODEMODS].count(cls.code) == 1
    assert [c.name for c in CODEMODS].count(cls.name) == 1


@pytest.mark.parametrize("cls", CODEMODS, ids=lambda c: c.code)
def test_documented_in_fixed_sections(cls) -> None:
    doc = inspect.getdoc(cls) or ""
    positions = [doc.find(s) for s in SECTIONS]
    assert all(p >= 0 for p in positions), f"missing sections in {cls.code}'s docstring"
    assert positions == sorted(positions), "sections out of order"
    assert doc.splitlines()[0].strip(), "first line is the summary"


def _blocks(doc: str) -> List[str]:
    return re.findall(r"```python\n(.*?)```", doc, re.S)


@pytest.mark.parametrize("cls", CODEMODS, ids=lambda c: c.code)
def test_docstring_example_is_what_the_fix_does(cls) -> None:
    """The docs cannot drift: the Example, rewritten, is the Use instead block."""
    example, use_instead = _blocks(inspect.getdoc(cls))[:2]
    ast.parse(example)
    ast.parse(use_instead)
    config = CONFIG.with_options(unsafe_fixes=not cls.safe)
    result = fix_source(example, path="tests/test_example.py", config=config)
    assert result.error is None
    if not cls.fixable:  # a report-only check: the example is flagged, the fix is not
        assert any(f.code == cls.code for f in result.findings)
        after = fix_source(use_instead, path="tests/test_example.py", config=CONFIG)
        assert not [f for f in after.findings if f.code == cls.code]
        return
    assert result.after == use_instead


@pytest.mark.parametrize("cls", CODEMODS, ids=lambda c: c.code)
def test_has_rewrite_and_noop_fixtures(cls) -> None:
    mine = [c for c in cases() if c.codemod == cls.name]
    assert (FIXTURES / cls.name).is_dir(), f"fixtures/{cls.name}/ is missing"
    if not cls.fixable:
        assert any(c.expected_lines for c in mine), "no fixture with flagged lines"
        assert any(not c.expected_lines for c in mine), "no fixture with nothing flagged"
        return
    assert any(c.expected is not None for c in mine), "no rewriting fixture"
    assert any(c.expected is None for c in mine), "no fixture that must stay unchanged"


def _warnings(text: str) -> Counter:
    class Collect(pyflakes.reporter.Reporter):
        def __init__(self) -> None:
            self.found: List[str] = []

        def flake(self, message) -> None:  # noqa: D401
            self.found.append(message.message % message.message_args)

        def syntaxError(self, *args) -> None:  # noqa: N802
            self.found.append("syntax error")

        def unexpectedError(self, *args) -> None:  # noqa: N802
            self.found.append("unexpected error")

    reporter = Collect()
    pyflakes.api.check(text, "fixture.py", reporter)
    return Counter(reporter.found)


def _comments(text: str) -> Counter:
    import io
    import tokenize
    return Counter(tok.string for tok in tokenize.generate_tokens(io.StringIO(text).readline)
                   if tok.type == tokenize.COMMENT)


REWRITES = [c for c in cases() if c.expected is not None]


@pytest.mark.parametrize("case", REWRITES, ids=str)
def test_output_parses_and_second_run_changes_nothing(case: Case) -> None:
    after = case.run().after
    ast.parse(after)
    again = case.run(after)
    assert again.error is None
    assert again.after == after, "not idempotent"


@pytest.mark.parametrize("case", REWRITES, ids=str)
def test_no_new_pyflakes_warning(case: Case) -> None:
    result = case.run()
    new = _warnings(result.after) - _warnings(result.before)
    assert not new, f"new pyflakes warnings: {sorted(new)}"


@pytest.mark.parametrize("case", REWRITES, ids=str)
def test_no_comment_is_lost_or_doubled(case: Case) -> None:
    result = case.run()
    assert _comments(result.after) == _comments(result.before)


@pytest.mark.parametrize("case", REWRITES, ids=str)
def test_no_new_line_is_too_long(case: Case) -> None:
    result = case.run()
    old = set(result.before.splitlines())
    long = [line for line in result.after.splitlines()
            if line not in old and len(line) > CONFIG.max_line_length]
    assert not long, long


def _suppress_lines(text: str, lines, comment: str) -> str:
    """``comment`` on a line of its own before each of ``lines`` (1-based), indented alike."""
    out = []
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        if number in lines:
            out.append(line[:len(line) - len(line.lstrip())] + comment + "\n")
        out.append(line)
    return "".join(out)


@pytest.mark.parametrize("case", REWRITES, ids=str)
def test_suppressed_fixes_are_not_applied(case: Case) -> None:
    """A codemod honours ``# testsec: ignore`` itself (``ctx.suppressed``): with every fixed
    finding's line covered, the file stays as it is, and no fix is thrown away afterwards
    by the engine's safety net."""
    fixed = {(f.line, f.code) for f in case.run().findings if f.fixed}
    assert fixed
    text = case.before.read_text(encoding="utf-8")
    covered = _suppress_lines(text, {line for line, _ in fixed}, "# testsec: ignore")
    result = case.run(covered)
    assert result.error is None, result.error
    assert result.after == strip_marks(covered)
    lines = sorted({line for line, _ in fixed})
    moved = {(line + lines.index(line) + 1, code) for line, code in fixed}
    assert {(f.line, f.code) for f in result.findings if f.suppressed} >= moved
    assert not [f for f in result.findings if "not applied" in (f.reason or "")]


class _ReadBack(ast.NodeTransformer):
    """``credentials.ADMIN_PASS`` read back as the value the fix gave that constant."""

    def __init__(self, values) -> None:
        self.values = values

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if isinstance(node.value, ast.Name) and node.attr in self.values:
            return ast.Constant(self.values[node.attr])
        return self.generic_visit(node)


def _program(tree: ast.Module) -> str:
    """The tree without its imports, ``u''`` prefixes forgotten."""
    tree.body = [s for s in tree.body if not isinstance(s, (ast.Import, ast.ImportFrom))]
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            node.kind = None
    return ast.dump(tree)


CONSTANT_CASES = [c for c in REWRITES
                  if any(h.value is not None for h in c.run().helpers)]


@pytest.mark.parametrize("case", CONSTANT_CASES, ids=str)
def test_moved_values_leave_the_program_as_it_was(case: Case) -> None:
    """A fix that moves literals into constants (TSF102) changes nothing else: with every
    constant read back as its value, the file is the program it was, line breaks aside."""
    result = case.run()
    values = {h.name: h.value for h in result.helpers if h.value is not None}
    after = _ReadBack(values).visit(ast.parse(result.after))
    assert _program(after) == _program(ast.parse(result.before))
