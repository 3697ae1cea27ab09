"""``--interactive``: the session over its API with a scripted terminal, and the installed
command through a real pseudo-terminal.

On fixtures/sample, ``--dry-run`` shows 4 fixes: test_events.py's loop (becomes
``done.wait(5)``, and ``import time`` goes), test_servers.py's three (two wait methods and an
unbounded loop, calling ``polling.wait_until``), and the new module fixtures/polling.py that
test_servers.py's rewrite calls (never asked: created when an accepted fix calls it).
tests/data/projects/twoloops has one test file with two polling loops: the first becomes
``polling.wait_until`` (a new helper module and its import), the second ``heard.wait(2)``.
"""
from __future__ import annotations

import itertools
import os
import select
import shutil
import signal
import subprocess
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest

import test_cli
from test_cli import SAMPLE, _entry_point, _snapshot, cli
from test_meta import _warnings
from testsec_fix import run
from testsec_fix.config import load_config
from testsec_fix.interactive import session
from testsec_fix.model import FileResult

EVENTS = "sampleapp/tests/test_events.py"
SERVERS = "sampleapp/tests/test_servers.py"
POLLING = "sampleapp/tests/fixtures/polling.py"
PROMPT = "Apply this fix [y,n,a,d,q,?]? "
TIMEOUT = 60  # seconds for any one step: a hang fails the test instead of blocking CI

TWOLOOPS = Path(__file__).parent / "data" / "projects" / "twoloops"
ORDERS = "shop/tests/test_orders.py"
ORDERS_POLLING = "shop/tests/fixtures/polling.py"
FIRST_LOOP = """\
        checks = 0
        while order.state() != 'shipped' and checks < 30:
            time.sleep(0.2)
            checks += 1
        if order.state() != 'shipped':
            self.fail('the teapot never shipped')
"""
FIRST_FIX = """\
        polling.wait_until(
            lambda: order.state() == 'shipped', timeout=6, interval=0.2,
            message='the teapot never shipped')
"""
POLLING_IMPORT = ("from shop import orders\n",
                  "from shop import orders\nfrom shop.tests.fixtures import polling\n")
SECOND_LOOP = """\
        rounds = 0
        while not heard.is_set() and rounds < 40:
            time.sleep(0.05)
            rounds += 1
"""
SECOND_FIX = "        heard.wait(2)\n"

sample = test_cli.sample  # the fixture: fixtures/sample copied to tmp_path
needs_pty = pytest.mark.skipif(not hasattr(os, "openpty"), reason="no pseudo-terminals here")


@pytest.fixture
def twoloops(tmp_path: Path) -> Path:
    dest = tmp_path / "twoloops"
    shutil.copytree(TWOLOOPS, dest)
    return dest


def _orders(first: bool, second: bool) -> str:
    """test_orders.py with the first and/or the second loop rewritten, and what follows."""
    text = (TWOLOOPS / ORDERS).read_text()
    assert FIRST_LOOP in text and SECOND_LOOP in text and "import time\n" in text
    if first:
        text = text.replace(FIRST_LOOP, FIRST_FIX).replace(*POLLING_IMPORT)
    if second:
        text = text.replace(SECOND_LOOP, SECOND_FIX)
    if first and second:
        text = text.replace("import time\n", "")  # no sleep is left
    return text


# -- the session, with a scripted terminal ----------------------------------------------------

class Script:
    """Answers from a list; records what was shown and said."""

    def __init__(self, answers: List[str]) -> None:
        self.answers: Iterator[str] = iter(answers)
        self.prompts: List[str] = []
        self.shown: List[str] = []
        self.said: List[str] = []

    def ask(self, prompt: str) -> Optional[str]:
        self.prompts.append(prompt)
        return next(self.answers, None)


def _session(root: Path, answers: List[str]) -> Tuple[Dict[str, FileResult], Script]:
    """A run over ``root`` without writing, then the session answering ``answers``; the
    results by path relative to ``root``."""
    config = load_config(str(root / "pyproject.toml") if (root / "pyproject.toml").exists()
                         else None)
    results = list(run([str(root)], config))
    script = Script(answers)
    out = session(results, config, show=script.shown.append, ask=script.ask,
                  say=script.said.append)
    return {os.path.relpath(r.path, root): r for r in out}, script


def test_each_fix_is_asked_with_the_diff_of_that_fix_alone(twoloops: Path) -> None:
    before = _snapshot(twoloops)
    out, script = _session(twoloops, ["n", "n"])
    assert [p.split(")")[0] for p in script.prompts] == ["(1/2", "(2/2"]
    assert _snapshot(twoloops) == before
    first, second = [s for s in script.shown if s.startswith("--- a/")]
    assert "-        while order.state() != 'shipped'" in first
    assert "+from shop.tests.fixtures import polling\n" in first
    assert "heard.wait" not in first and "-import time" not in first
    assert "+        heard.wait(2)\n" in second
    assert "order.state" not in second and "polling" not in second and "-import time" not in second
    assert any(s.endswith(":13:9: TSF101 polling loop rewritten to polling.wait_until\n")
               for s in script.shown)
    assert [(f.line, f.fixed, f.reason) for f in out[ORDERS].findings] == [
        (13, False, "not written (--interactive)"), (23, False, "not written (--interactive)")]


@pytest.mark.parametrize("answers", [["y", "n"], ["n", "y"], ["y", "y"]])
def test_a_file_is_written_with_exactly_the_fixes_accepted(twoloops: Path,
                                                           answers: List[str]) -> None:
    first, second = (a == "y" for a in answers)
    out, script = _session(twoloops, answers)
    assert (twoloops / ORDERS).read_text() == _orders(first, second)
    assert (twoloops / ORDERS_POLLING).exists() == first, "created only when a fix calls it"
    assert [f.fixed for f in out[ORDERS].findings] == [first, second]
    assert not any("error" in line for line in script.said)


def _write_tree(root: Path, files: Dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


# Two test files that move credentials into one module: one value used twice in
# test_login.py (two findings, one fix: every use of a value moves, or none), and one value
# that test_admin.py uses too.
VAULT = {
    "pyproject.toml": '[project]\nname = "vault"\n',
    "vault/__init__.py": "",
    "vault/tests/__init__.py": "",
    "vault/tests/fixtures/__init__.py": "",
    "vault/tests/test_admin.py": """\
        from vault import client


        def test_admin_login():
            client.login(user='root', password='correct-horse')
            client.login(user='root', admin_password='s3cret-admin')
        """,
    "vault/tests/test_login.py": """\
        import unittest

        from vault import client


        class LoginTest(unittest.TestCase):

            def test_login(self):
                session = client.login(user='ada', password='correct-horse')
                self.assertEqual('correct-horse', session.password)

            def test_token(self):
                session = client.connect(api_token='tok-4411')
                self.assertTrue(session.open)
        """,
}


def test_uses_of_one_credential_value_are_one_fix(tmp_path: Path) -> None:
    root = _write_tree(tmp_path / "vault", VAULT)
    # test_admin.py: refuse 'correct-horse', take 's3cret-admin'; test_login.py: take
    # 'correct-horse' (lines 9 and 10 together), refuse the token.
    out, script = _session(root, ["n", "y", "y", "n"])
    assert [p.split(")")[0] for p in script.prompts] == ["(1/2", "(2/2", "(1/2", "(2/2"]
    login = (root / "vault/tests/test_login.py").read_text()
    assert "password=credentials.PASSWORD)" in login
    assert "self.assertEqual(credentials.PASSWORD, session.password)" in login
    assert "api_token='tok-4411'" in login
    admin = (root / "vault/tests/test_admin.py").read_text()
    assert "password='correct-horse'" in admin and "credentials.ADMIN_PASSWORD" in admin
    module = (root / "vault/tests/fixtures/credentials.py").read_text()
    assert "PASSWORD = 'correct-horse'" in module and "ADMIN_PASSWORD = 's3cret-admin'" in module
    assert "tok-4411" not in module


def _copy(root: Path, dest: Path) -> Path:
    shutil.copytree(root, dest)
    return dest


def _suppressing(root: Path, refused: List[Tuple[str, int, str]]) -> Dict[str, bytes]:
    """The tree a plain run writes when a ``# testsec: ignore[CODE]`` comment is on the
    line of each refused finding (path, line, code), with the comments taken out again."""
    marks = []
    for path, line, code in refused:
        lines = (root / path).read_text().splitlines(keepends=True)
        mark = f"  # testsec: ignore[{code.lower()}]"  # (no comment of the file's own)
        lines[line - 1] = lines[line - 1].rstrip("\n") + mark + "\n"
        (root / path).write_text("".join(lines))
        marks.append(mark.encode())
    list(run([str(root)], load_config(str(root / "pyproject.toml")), write=True))
    tree = _snapshot(root)
    for mark in marks:
        tree = {path: data.replace(mark, b"") for path, data in tree.items()}
    return tree


@pytest.mark.parametrize("project", ["sample", "vault"])
def test_every_choice_of_fixes_gives_what_suppressing_the_others_would(
        project: str, tmp_path: Path) -> None:
    """For each choice of the fixes asked about: the tree is what a plain run writes when
    the refused findings are suppressed; every written file compiles and has no new
    pyflakes warning (no undefined name, no unused import); a second run proposes exactly
    the refused fixes."""
    original = _copy(SAMPLE, tmp_path / "original") if project == "sample" else \
        _write_tree(tmp_path / "original", VAULT)
    _, script = _session(_copy(original, tmp_path / "count"), ["n"] * 20)
    assert len(script.prompts) == 4
    before = _snapshot(original)
    for n, choice in enumerate(itertools.product("yn", repeat=len(script.prompts))):
        chosen = _copy(original, tmp_path / f"chosen{n}")
        out, script = _session(chosen, list(choice))
        assert not script.said or all(": created: " in s for s in script.said), script.said
        refused = [(path, f.line, f.code, f.message) for path, r in out.items()
                   for f in r.findings if f.reason == "not written (--interactive)"]
        assert len(refused) >= choice.count("n")
        after = _snapshot(chosen)
        assert after == _suppressing(_copy(original, tmp_path / f"marked{n}"),
                                     [r[:3] for r in refused]), choice
        for path, data in after.items():
            if path.endswith(".py") and data != before.get(path):
                compile(data, path, "exec", dont_inherit=True)
                assert not _warnings(data.decode()) - _warnings(
                    before.get(path, b"").decode()), (choice, path)
        config = load_config(str(chosen / "pyproject.toml"))
        again = Counter((os.path.relpath(r.path, chosen), f.code, f.message)
                        for r in run([str(chosen)], config) for f in r.findings if f.fixed)
        assert again == Counter((path, code, message) for path, _, code, message in refused)


def test_an_existing_helper_module_is_extended_not_asked(tmp_path: Path) -> None:
    """tests/fixtures.py exists without wait_until: the rewrite of test_servers.py calls
    fixtures.wait_until, which the fix appends to that module when a fix that calls it is
    accepted."""
    root = tmp_path / "proj"
    tests = root / "app" / "tests"
    tests.mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    (root / "app" / "__init__.py").write_text("")
    (tests / "__init__.py").write_text("")
    (tests / "fixtures.py").write_text('"""Fixtures."""\n\nFOO = 1\n')
    shutil.copy(SAMPLE / "sampleapp" / "tests" / "api.py", tests / "api.py")
    text = (SAMPLE / SERVERS).read_text().replace("sampleapp", "app")
    (tests / "test_servers.py").write_text(text)
    plain = _copy(root, tmp_path / "plain")
    list(run([str(plain)], load_config(None), write=True))

    out, script = _session(root, ["n", "n", "n"])
    assert len(script.prompts) == 3, "the helper module is not asked about"
    assert (tests / "fixtures.py").read_text() == '"""Fixtures."""\n\nFOO = 1\n'
    out, script = _session(root, ["y", "y", "y"])
    assert len(script.prompts) == 3 and script.said == [
        f"{os.path.relpath(tests / 'fixtures.py')}: changed: the accepted fixes of "
        f"{os.path.relpath(tests / 'test_servers.py')} call it"]
    for path in (plain / "app" / "tests").iterdir():
        if path.is_file():
            assert (tests / path.name).read_bytes() == path.read_bytes(), path.name
    assert out["app/tests/test_servers.py"].changed and out["app/tests/fixtures.py"].changed
    assert all(f.fixed for f in out["app/tests/test_servers.py"].findings)


def test_help_unknown_and_empty_answers_ask_again_and_eof_quits(sample: Path) -> None:
    before = _snapshot(sample)
    out, script = _session(sample, ["?", "", "what", "n", "y"])  # then EOF: quit
    assert [p.split(")")[0] for p in script.prompts] == ["(1/1"] * 4 + ["(1/3", "(2/3"]
    helps = [s for s in script.shown if s.startswith("y - apply this fix")]
    assert len(helps) == 2, "help for '?' and for an unknown answer, not for an empty one"
    after = _snapshot(sample)
    assert after[EVENTS] == before[EVENTS]
    assert after[SERVERS] != before[SERVERS] and POLLING in after, "the fix accepted first"
    assert [f.fixed for f in out[SERVERS].findings] == [True, False, False]


def test_a_file_changed_on_disk_while_asking_is_not_overwritten(sample: Path) -> None:
    events = sample / EVENTS

    def ask(prompt: str) -> Optional[str]:
        if not events.read_text().endswith("# edited meanwhile\n"):
            events.write_text(events.read_text() + "# edited meanwhile\n")
        return "y"

    config = load_config(str(sample / "pyproject.toml"))
    out = session(list(run([str(sample)], config)), config, show=lambda text: None, ask=ask,
                  say=lambda line: None)
    result = next(r for r in out if r.path.endswith(EVENTS))
    assert result.error == "not written: changed on disk since it was read; not overwritten"
    assert not result.changed and not any(f.fixed for f in result.findings)
    assert "time.sleep" in events.read_text()


def test_write_result_keeps_encoding_newlines_and_mode_and_refuses_a_changed_file(
        tmp_path: Path) -> None:
    from testsec_fix.engine import write_result
    from testsec_fix.source import read_source

    cases = {"latin1.py": b"# -*- coding: latin-1 -*-\r\nx = '\xe9'\r\n",
             "bom.py": b"\xef\xbb\xbfx = '\xc3\xa9'\n"}
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        path.chmod(0o751)
        source = read_source(str(path))
        result = FileResult(str(path), source.text, source.text, encoding=source.encoding)
        assert write_result(result, source.text.replace("x =", "y =")).error is None
        assert path.read_bytes() == data.replace(b"x =", b"y =")
        assert path.stat().st_mode & 0o777 == 0o751
        # The file no longer holds result.before: not overwritten.
        refused = write_result(result, source.text)
        assert refused.error == "not written: changed on disk since it was read; not overwritten"
        assert path.read_bytes() == data.replace(b"x =", b"y =")
    created = FileResult(str(tmp_path / "new.py"), "", "x = 1\n", created=True)
    assert write_result(created, created.after).error is None
    assert "exists already" in write_result(created, created.after).error


# -- the installed command, through a pseudo-terminal -----------------------------------------

class Terminal:
    """``testsec-fix`` with stdin, stdout and stderr on a pseudo-terminal."""

    def __init__(self, *args: str, cwd: Path) -> None:
        master, slave = os.openpty()
        env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "CLICOLOR_FORCE")}
        env["TERM"] = "dumb"
        self.proc = subprocess.Popen([_entry_point(), "--no-cache", *args], cwd=cwd,
                                     stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True)
        os.close(slave)
        self.master = master
        self.raw = b""
        self.seen = 0  # how much of the output ``expect`` has gone past
        self.eof = False

    @property
    def output(self) -> str:
        return self.raw.decode("utf-8", "replace").replace("\r\n", "\n")

    def _read(self, deadline: float) -> None:
        ready, _, _ = select.select([self.master], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the child has closed the terminal
            data = b""
        self.raw += data
        self.eof = not data

    def expect(self, text: str) -> str:
        """The output up to and with the next ``text``; fails after TIMEOUT seconds."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            at = self.output.find(text, self.seen)
            if at >= 0:
                chunk, self.seen = self.output[self.seen:at + len(text)], at + len(text)
                return chunk
            if self.eof or time.monotonic() > deadline:
                pytest.fail(f"never printed {text!r}; the output ends:\n{self.output[-3000:]}")
            self._read(deadline)

    def answer(self, line: str) -> str:
        """Wait for the next prompt, answer it; the output up to the prompt."""
        chunk = self.expect(PROMPT)
        os.write(self.master, line.encode() + b"\n")
        return chunk

    def finish(self) -> int:
        """Read to the end; the exit code. No prompt may come any more."""
        deadline = time.monotonic() + TIMEOUT
        while not self.eof and time.monotonic() < deadline:
            self._read(deadline)
        if not self.eof:
            pytest.fail(f"still running; the output ends:\n{self.output[-3000:]}")
        code = self.proc.wait(timeout=TIMEOUT)
        rest = self.output[self.seen:]
        assert PROMPT not in rest, f"asked again after the last answer:\n{rest}"
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        os.close(self.master)


@pytest.fixture
def fixed(tmp_path: Path) -> dict:
    """The sample as the non-interactive run leaves it."""
    dest = tmp_path / "fixed"
    shutil.copytree(SAMPLE, dest)
    assert cli("--no-cache", ".", cwd=dest).returncode == 1
    return _snapshot(dest)


def _drive(sample: Path, answers: List[str], *options: str) -> Tuple[int, str]:
    """Answer the prompts in turn; the exit code and the whole output."""
    term = Terminal("-i", *options, ".", cwd=sample)
    try:
        for line in answers:
            term.answer(line)
        return term.finish(), term.output
    finally:
        term.close()


@needs_pty
def test_yes_to_every_fix_writes_what_the_plain_run_writes(sample: Path, fixed: dict) -> None:
    code, output = _drive(sample, ["y"] * 4, "--no-color")
    assert code == 1, output
    assert _snapshot(sample) == fixed
    assert [line.split(")")[0] for line in output.splitlines() if PROMPT in line] == \
        ["(1/1", "(1/3", "(2/3", "(3/3"]
    assert f"{POLLING}: created: the accepted fixes of {SERVERS} call it" in output
    assert "+def wait_until(predicate, timeout, interval, message):" in output
    assert "8 files scanned, 3 changed, 0 errors" in output
    assert "TSF101: 4 fixed, 0 not fixed" in output


@needs_pty
def test_no_to_every_fix_leaves_every_byte(sample: Path) -> None:
    before = _snapshot(sample)
    code, output = _drive(sample, ["n"] * 4)
    assert code == 1, output  # the findings refused are still there
    assert _snapshot(sample) == before
    assert "\x1b[32m+" in output and "\x1b[31m-" in output, "colored on a terminal"
    assert "8 files scanned, 0 changed, 0 errors" in output
    assert "TSF101: 0 fixed, 4 not fixed" in output


@needs_pty
def test_a_applies_the_rest_of_a_file_and_d_skips_it(sample: Path, fixed: dict) -> None:
    before = _snapshot(sample)
    # test_events: a at its only fix; test_servers: d at its first.
    code, output = _drive(sample, ["a", "d"], "--no-color")
    assert code == 1, output
    after = _snapshot(sample)
    assert after[EVENTS] == fixed[EVENTS]
    assert after[SERVERS] == before[SERVERS]
    assert POLLING not in after, "no accepted fix calls the helper module"
    assert "(2/3)" not in output


@needs_pty
def test_d_then_a_creates_the_helper_module_the_accepted_file_calls(sample: Path,
                                                                    fixed: dict) -> None:
    before = _snapshot(sample)
    code, output = _drive(sample, ["d", "y", "a"], "--no-color")
    assert code == 1, output
    after = _snapshot(sample)
    assert after[EVENTS] == before[EVENTS]
    assert after[SERVERS] == fixed[SERVERS] and after[POLLING] == fixed[POLLING]


@needs_pty
def test_q_writes_the_fixes_accepted_before_it_and_nothing_more(sample: Path,
                                                                fixed: dict) -> None:
    before = _snapshot(sample)
    code, output = _drive(sample, ["y", "q"], "--no-color")
    assert code == 1, output
    after = _snapshot(sample)
    assert after[EVENTS] == fixed[EVENTS]
    assert after[SERVERS] == before[SERVERS] and POLLING not in after
    assert "(2/3)" not in output


@needs_pty
def test_question_mark_prints_help_and_asks_again(sample: Path) -> None:
    term = Terminal("-i", "--no-color", ".", cwd=sample)
    try:
        first = term.answer("?")
        assert "(1/1) " in first
        again = term.answer("n")
        assert "y - apply this fix\n" in again and "q - quit: write the fixes accepted so far" \
            in again
        assert again.endswith("? - print this help\n(1/1) " + PROMPT), "the same fix again"
        assert "@@" not in again
        for line in ["n", "n", "n"]:
            term.answer(line)
        assert term.finish() == 1  # quit: the findings are still there
    finally:
        term.close()


@needs_pty
@pytest.mark.parametrize("answers", [["y", "n"], ["n", "y"]])
def test_one_of_two_loops_in_a_file(twoloops: Path, answers: List[str]) -> None:
    """Accept one loop's fix, refuse the other's, in both orders: the file holds exactly the
    accepted rewrite, the refused loop stays as written, and so does ``import time``, which
    it still uses; the helper module comes with the fix that calls it."""
    first = answers[0] == "y"
    code, output = _drive(twoloops, answers, "--no-color")
    assert code == 1, output
    assert [line.split(")")[0] for line in output.splitlines() if PROMPT in line] == \
        ["(1/2", "(2/2"]
    text = (twoloops / ORDERS).read_text()
    compile(text, ORDERS, "exec", dont_inherit=True)
    assert text == _orders(first, not first)
    assert (FIRST_LOOP in text) != first and (SECOND_LOOP in text) == first
    assert text.startswith("import threading\nimport time\n")
    assert (twoloops / ORDERS_POLLING).exists() == first
    assert ": error:" not in output
    assert f"{2 if first else 1} changed, 0 errors" in output, "the helper module counts"
    assert "TSF101: 1 fixed, 1 not fixed" in output
    again = cli("--no-cache", "--dry-run", ".", cwd=twoloops)
    assert again.returncode == 1 and "TSF101: 1 fixed, 0 not fixed" in again.stderr, \
        "a second run proposes the refused fix, and only it"


@needs_pty
def test_a_file_changed_on_disk_while_asking_is_not_overwritten_on_a_terminal(
        sample: Path) -> None:
    term = Terminal("-i", "--no-color", ".", cwd=sample)
    events = sample / EVENTS
    try:
        term.answer("a")
        term.expect("(1/3) " + PROMPT)
        events.write_text(events.read_text() + "# edited meanwhile\n")
        os.write(term.master, b"a\n")
        assert term.finish() == 2
    finally:
        term.close()
    assert f"{EVENTS}: error: not written: changed on disk since it was read" in term.output
    assert events.read_text().endswith("# edited meanwhile\n") and "time.sleep" in \
        events.read_text()
    assert "wait_until" in (sample / SERVERS).read_text(), "the other file is written"


@needs_pty
def test_ctrl_c_writes_nothing(sample: Path) -> None:
    before = _snapshot(sample)
    term = Terminal("-i", "--no-color", ".", cwd=sample)
    try:
        term.answer("y")
        term.answer("y")
        term.expect(PROMPT)
        term.proc.send_signal(signal.SIGINT)
        code = term.proc.wait(timeout=TIMEOUT)
    finally:
        term.close()
    assert code != 0
    assert _snapshot(sample) == before


@needs_pty
@pytest.mark.parametrize("stdin,options", [(subprocess.DEVNULL, ()), ("y\n" * 4, ()),
                                           (None, ("--dry-run",))])
def test_interactive_needs_a_terminal_and_writing(sample: Path, stdin, options) -> None:
    before = _snapshot(sample)
    if stdin is None:  # a terminal, but --dry-run
        term = Terminal("-i", *options, ".", cwd=sample)
        try:
            code, output = term.finish(), term.output
        finally:
            term.close()
    else:
        proc = subprocess.run([_entry_point(), "-i", *options, "."], cwd=sample,
                              input=stdin if isinstance(stdin, str) else None,
                              stdin=stdin if not isinstance(stdin, str) else None,
                              capture_output=True, text=True, timeout=TIMEOUT)
        code, output = proc.returncode, proc.stderr
        assert proc.stdout == ""
    assert code == 2
    expected = "is not for --dry-run" if options else "needs a terminal on stdin"
    assert f"testsec-fix: --interactive {expected}" in output
    assert _snapshot(sample) == before


def test_help_shows_the_option_and_an_example() -> None:
    proc = cli("--help", cwd=SAMPLE)
    assert proc.returncode == 0
    assert "-i, --interactive" in proc.stdout and "testsec-fix -i tests/" in proc.stdout
