"""Breaking a line a rewrite made too long (``testsec_fix.wrap``)."""
from __future__ import annotations

import ast
import io
import sys
import textwrap
import tokenize

import pycodestyle
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testsec_fix.wrap import rewrap, wrap_rows

LIMIT = 79


def tokens(text: str):
    skip = {tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT}
    return [(t.type, t.string) for t in tokenize.generate_tokens(io.StringIO(text).readline)
            if t.type not in skip]


def style_errors(text: str) -> dict:
    """pycodestyle's continuation-line, indentation and length checks on ``text`` (but
    those it leaves out by default: E121, E123, E126...)."""
    checker = pycodestyle.Checker(lines=text.splitlines(keepends=True), quiet=True,
                                  select=["E1", "E5", "W6"], max_line_length=LIMIT)
    checker.check_all()
    ignored = tuple(pycodestyle.DEFAULT_IGNORE.split(","))  # as pycodestyle does by default
    return {k: v for k, v in checker.report.counters.items()
            if k[0] in "EW" and not k.startswith(ignored)}


def parse(text: str) -> str:
    """The dump of the tree of ``text``, a piece of a function body."""
    return ast.dump(ast.parse("if 1:\n" + text if text.startswith(" ") else text))


def wrap(source: str) -> str:
    rows = textwrap.dedent(source).strip("\n").split("\n")
    target = next(i for i, row in enumerate(rows) if len(row) > LIMIT)
    out = wrap_rows(rows, target, LIMIT)
    return "\n".join(out) + "\n" if out is not None else None


CASES = {
    "visual": ("""
        def test(self):
            self.compute_api.set_admin_password(self.context, instance, credentials.ADMIN_PASS)
        """, """
        def test(self):
            self.compute_api.set_admin_password(self.context, instance,
                                                credentials.ADMIN_PASS)
        """),
    "after_opening_bracket": ("""
        def test(self):
            injection_info = get_injection_info(admin_pass=credentials.ADMIN_PASS_FOOBAR)
        """, """
        def test(self):
            injection_info = get_injection_info(
                admin_pass=credentials.ADMIN_PASS_FOOBAR)
        """),
    "hanging_block_keeps_its_indent": ("""
        def test(self):
            self.assertRaises(
                webob.exc.HTTPBadRequest,
                {'host': 'foo', 'onSharedStorage': 'False', 'adminPass': credentials.ADMIN_PASS})
        """, """
        def test(self):
            self.assertRaises(
                webob.exc.HTTPBadRequest,
                {'host': 'foo', 'onSharedStorage': 'False',
                 'adminPass': credentials.ADMIN_PASS})
        """),
    "outer_bracket_first": ("""
        def test(self):
            self.assertEqual(
                6547, c.get_connection_info(credentials.CONSOLE_TOKEN, 'an-url')['tlsPort'])
        """, """
        def test(self):
            self.assertEqual(
                6547,
                c.get_connection_info(credentials.CONSOLE_TOKEN, 'an-url')['tlsPort'])
        """),
    "twice": ("""
        class Test:
            def test(self):
                self.compute.rescue_instance(self.context, instance, rescue_password=credentials.RESCUE_PASSWORD)
        """, """
        class Test:
            def test(self):
                self.compute.rescue_instance(
                    self.context, instance,
                    rescue_password=credentials.RESCUE_PASSWORD)
        """),
    "block_header_indents_eight": ("""
        def test(self):
            with mock.patch.object(self.compute.driver_for_tests, rescue_password=credentials.X):
                pass
        """, """
        def test(self):
            with mock.patch.object(self.compute.driver_for_tests,
                                   rescue_password=credentials.X):
                pass
        """),
    "bracket_made_hanging": ("""
        def setUp(self):
            self.context = context.RequestContext('userid', uuids.my_tenant,
                                                  auth_token=credentials.AUTH_TOKEN_OF_NEUTRON)
        """, """
        def setUp(self):
            self.context = context.RequestContext(
                'userid', uuids.my_tenant,
                auth_token=credentials.AUTH_TOKEN_OF_NEUTRON)
        """),
    "bracket_made_hanging_keeps_inner_alignment": ("""
        def test(self):
            self.compute._do_rebuild_instance_with_claim(self.context, instance,
                                                         {'a': 1,
                                                          'b': 2},
                                                         admin_password=credentials.PASS,
                                                         bdms=[])
        """, """
        def test(self):
            self.compute._do_rebuild_instance_with_claim(
                self.context, instance,
                {'a': 1,
                 'b': 2},
                admin_password=credentials.PASS,
                bdms=[])
        """),
    "comment_stays_at_the_end": ("""
        def test(self):
            self.assertEqual(credentials.ADMIN_PASS, resp['admin'], 'p')  # the admin's password
        """, """
        def test(self):
            self.assertEqual(credentials.ADMIN_PASS, resp['admin'],
                             'p')  # the admin's password
        """),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrap(name: str) -> None:
    source, expected = CASES[name]
    out = wrap(source)
    if expected is None:
        assert out is None
        return
    assert out == textwrap.dedent(expected).lstrip("\n")
    assert tokens(out) == tokens(textwrap.dedent(source).lstrip("\n"))
    assert style_errors(out) == {}


def test_break_after_opening_bracket_in_a_block_header() -> None:
    rows = ["def test(self):",
            "    with mock.patch.object(credentials.ADMIN_PASS_LONGER_THAN_THE_REST_OF_IT_XX):",
            "        pass"]
    out = wrap_rows(rows, 1, LIMIT)
    assert out[1:3] == ["    with mock.patch.object(",
                        "            credentials.ADMIN_PASS_LONGER_THAN_THE_REST_OF_IT_XX):"]


@pytest.mark.parametrize("row", [
    # no bracket to break in
    "    self.compute_manager.rescue_options.default_rescue_password = credentials.DEFAULT_X",
    # a subscript is not broken
    "    value = response_headers[credentials.HEADER_NAME_FOR_THE_AUTH_TOKEN_OF_THE_TEST_X]",
    # the first part alone is too long
    "    self.compute_manager_with_a_very_long_name.rescue_options.set_password_of_it(a, b)",
    # inside a string
    "    msg = 'a string with a, comma (and brackets) that is much too long for the line ok'",
])
def test_no_place_to_break(row: str) -> None:
    assert wrap_rows(["def test(self):", row], 1, LIMIT) is None


def test_tab_indent_is_left_alone() -> None:
    assert wrap_rows(["def f():",
                      "\tcall(aaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, cccc, dddd)"],
                     1, LIMIT) is None


@pytest.mark.skipif(sys.version_info < (3, 12), reason="f-string tokens from Python 3.12")
def test_not_inside_an_fstring() -> None:
    row = "    x = f'{call(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb)}'"
    assert wrap_rows(["def f():", row], 1, LIMIT) is None


def test_rewrap_only_new_long_lines() -> None:
    old_long = "    old(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, cccccccccc)"
    new_long = "    new(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, cccccccccc)"
    code = f"def f():\r\n{old_long}\r\n{new_long}\r\n"
    out = rewrap(code, f"def f():\r\n{old_long}\r\n    new(a)\r\n", LIMIT, "\r\n")
    assert out == (f"def f():\r\n{old_long}\r\n"
                   "    new(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,\r\n"
                   "        cccccccccc)\r\n")


names = st.from_regex(r"[a-z][a-z_]{0,14}", fullmatch=True).filter(
    lambda n: n not in {"if", "in", "is", "or", "as", "def", "for", "and", "not", "del",
                        "try", "else", "elif", "from", "with", "pass", "while", "class",
                        "break", "yield", "raise", "async", "await", "lambda", "global",
                        "return", "assert", "import", "except", "finally", "continue",
                        "nonlocal"})


@st.composite
def calls(draw, depth=0):
    """A call of names, strings, keyword arguments and (shallow) nested calls and lists."""
    parts = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.integers(0, 4 if depth < 2 else 2))
        if kind == 0:
            parts.append(draw(names))
        elif kind == 1:
            parts.append(repr(draw(st.text("abc ,()#", max_size=12))))
        elif kind == 2:
            parts.append(f"{draw(names)}={draw(names)}")
        elif kind == 3:
            parts.append(draw(calls(depth + 1)))
        else:
            parts.append("[" + ", ".join(draw(st.lists(names, min_size=1, max_size=3))) + "]")
    parts.sort(key=lambda part: "=" in part.split("(")[0])  # keyword arguments last
    return f"{draw(names)}({', '.join(parts)})"


@settings(max_examples=300, deadline=None)
@given(call=calls(), indent=st.integers(0, 3), assign=st.booleans())
def test_wrapping_keeps_every_token(call: str, indent: int, assign: bool) -> None:
    """Whatever is broken, the tokens (and so the program) stay the same and every piece
    fits; a line that cannot be broken is given back as ``None``."""
    pad = "    " * indent
    row = pad + ("result = " if assign else "") + call
    rows = [f"{pad}x = 1", row]
    out = wrap_rows(rows, 1, LIMIT)
    if out is None:
        return
    before, text = "\n".join(rows) + "\n", "\n".join(out) + "\n"
    assert tokens(text) == tokens(before)
    assert all(len(line) <= LIMIT for line in out[1:])
    # no style error the line did not have (and its E501 is gone)
    assert not set(style_errors(text)) - set(style_errors(before))
    assert parse(text) == parse(before)


def test_a_row_inside_a_string_is_never_moved() -> None:
    """Made hanging, the bracket's rows would move left, the string's second row with them
    (and its value would change): not done."""
    rows = ["def test(self):",
            "    self.context = context.RequestContext('userid', '''two",
            "                                          lines''', other_arguments_here,",
            "                                          auth_token=credentials.AUTH_TOKEN_OF_NEUTRON)"]
    assert wrap_rows(rows, 3, LIMIT) is None


@settings(max_examples=200, deadline=None)
@given(call=calls(), first=st.integers(30, 70), less=st.integers(4, 24))
def test_wrapping_again_keeps_every_token(call: str, first: int, less: int) -> None:
    """A call already over several lines (wrapped at ``first`` columns), wrapped again at
    fewer: brackets made hanging move their rows together, and the program stays the same."""
    rows = ["    x = 1", "    result = " + call]
    laid = wrap_rows(rows, 1, first)
    if laid is None:
        return
    limit = first - less
    target = max(range(1, len(laid)), key=lambda i: len(laid[i]))
    if len(laid[target]) <= limit:
        return
    out = wrap_rows(laid, target, limit)
    if out is None:
        return
    before, text = "\n".join(laid) + "\n", "\n".join(out) + "\n"
    assert tokens(text) == tokens(before)
    assert parse(text) == parse(before)
    others = max((len(r) for i, r in enumerate(laid) if i != target), default=0)
    assert all(len(r) <= max(limit, others) for r in out)
    assert not set(style_errors(text)) - set(style_errors(before))


def test_rewrap_moves_the_rows_of_a_bracket_made_hanging() -> None:
    """The rows above the long one change too (the bracket's row, the rows between), and
    the rows after it stay: what the file gets is exactly what wrap_rows planned."""
    code = ("class T:\n"
            "    def setUp(self):\n"
            "        self.context = context.RequestContext('username',\n"
            "                                              'project_id',\n"
            "                                              auth_token=credentials.AUTH_TOKEN,\n"
            "                                              service_catalog=self.CATALOG)\n"
            "        self.other = 1\n")
    old = code.replace("credentials.AUTH_TOKEN", "'token'")
    assert rewrap(code, old, LIMIT) == (
        "class T:\n"
        "    def setUp(self):\n"
        "        self.context = context.RequestContext(\n"
        "            'username',\n"
        "            'project_id',\n"
        "            auth_token=credentials.AUTH_TOKEN,\n"
        "            service_catalog=self.CATALOG)\n"
        "        self.other = 1\n")


def test_rewrap_gives_back_the_code_when_a_token_would_change(monkeypatch) -> None:
    import testsec_fix.wrap as wrap

    def lossy(rows, target, limit):
        return rows[:target] + ["        x = (1,", "             3)"] + rows[target + 1:]
    monkeypatch.setattr(wrap, "wrap_rows", lossy)
    code = "def f():\n        x = (1, " + "2, " * 30 + "3)\n"
    assert wrap.rewrap(code, "", LIMIT) == code


def test_a_closing_bracket_on_its_own_row_goes_under_the_opening_row() -> None:
    """Made hanging, a bracket's rows move together, but its closing bracket on a row of
    its own goes under the start of the opening row (pycodestyle E123, which a project
    that sets its own ``ignore`` list checks)."""
    rows = ["    def test(self):",
            "        req = self._make_request('/v1/BLAH_account',",
            "                                 headers={'X-Auth-Token': credentials.X_AUTH_TOKEN_6},",
            "                                 environ={'swift.authorize': fake_authorize}",
            "                                 )"]
    out = wrap_rows(rows, 2, LIMIT)
    assert out == ["    def test(self):",
                   "        req = self._make_request(",
                   "            '/v1/BLAH_account',",
                   "            headers={'X-Auth-Token': credentials.X_AUTH_TOKEN_6},",
                   "            environ={'swift.authorize': fake_authorize}",
                   "        )"]
    text = "class T:\n" + "\n".join(out) + "\n"
    checker = pycodestyle.Checker(lines=text.splitlines(keepends=True), quiet=True,
                                  select=["E1"])
    assert checker.check_all() == 0, checker.report.counters


def test_a_long_bracket_is_not_made_hanging() -> None:
    """Moving every row of a long call for one name is not the small diff a reviewer
    expects: left alone (the codemod then declines)."""
    rows = ["def test(self):",
            "    self.compute._rebuild_default_impl(self.context,"]
    rows += ["                                       argument_%d," % k for k in range(6)]
    rows += ["                                       admin_password=credentials.ADMIN_PASSWORD_X)"]
    assert wrap_rows(rows, len(rows) - 1, LIMIT) is None
    assert wrap_rows(rows[:3] + rows[-1:], 3, LIMIT) is not None


def test_rewrap_knows_new_lines_by_place_not_text() -> None:
    """The file already had the very line the fix writes (long, by hand): the fix's own copy
    is still broken, the old one left as it was."""
    long = "    f(self.context, instance, rescue_password=credentials.RESCUE_PASSWORD_OF_AB)"
    old = f"def t():\n{long}\n    f(self.context, instance, rescue_password='bad')\n"
    code = f"def t():\n{long}\n{long}\n"
    assert rewrap(code, old, LIMIT) == (
        f"def t():\n{long}\n"
        "    f(self.context, instance,\n"
        "      rescue_password=credentials.RESCUE_PASSWORD_OF_AB)\n")


@pytest.mark.parametrize("rows, target", [
    # a bracket opened on the moved rows that the rows below line up with
    (["class T:",
      "    def t(self):",
      "        x = self.compute.rescue_instance(self.context,",
      "                                         rescue_password=credentials.RESCUE_PASSWORD).bar(c,",
      "                                                                    d)"], 3),
    # a pragma at the end of the row belongs to its line
    (["def t():",
      "    self.compute.rescue_instance(self.context, instance, password=credentials.PASSWORD)  # noqa: E501"],
     1),
])
def test_left_alone(rows, target) -> None:
    assert wrap_rows(rows, target, LIMIT) is None


@pytest.mark.parametrize("rows, target, expected", [
    # a row that starts inside a string gives no indentation to follow
    (["def t():",
      '    self.compute.rescue_instance("""some text',
      'with more lines""", self.context, instance, rescue_password=credentials.RESCUE_PASSWORD)'],
     2, None),
    (["def t():",
      '    self.assertEqual(run("""line one',
      'line two"""), self.compute.rescue_instance(ctx, rescue_password=credentials.RESCUE_PW))'],
     2, None),
])
def test_row_starting_in_a_string(rows, target, expected) -> None:
    assert wrap_rows(rows, target, LIMIT) == expected
