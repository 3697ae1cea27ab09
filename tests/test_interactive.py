"""``--interactive`` through a real pseudo-terminal, with the installed entry point.

On fixtures/sample, ``--dry-run`` shows: test_events.py in 2 hunks (``-import time``; the loop
becomes ``done.wait(5)``), test_servers.py in 3 (the imports: ``-import time``, ``+from
sampleapp.tests.fixtures import polling``; two wait methods; an unbounded loop), and the new
module fixtures/polling.py that test_servers.py's rewrite calls (never asked: created when an
accepted change calls it).
"""
from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import List, Tuple

import pytest

import test_cli
from test_cli import SAMPLE, _entry_point, _snapshot, cli

EVENTS = "sampleapp/tests/test_events.py"
SERVERS = "sampleapp/tests/test_servers.py"
POLLING = "sampleapp/tests/fixtures/polling.py"
PROMPT = "Apply this hunk [y,n,a,d,q,?]? "
TIMEOUT = 60  # seconds for any one step: a hang fails the test instead of blocking CI

sample = test_cli.sample  # the fixture: fixtures/sample copied to tmp_path
pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="no pseudo-terminals here")


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


def test_yes_to_every_hunk_writes_what_the_plain_run_writes(sample: Path, fixed: dict) -> None:
    code, output = _drive(sample, ["y"] * 5, "--no-color")
    assert code == 1, output
    assert _snapshot(sample) == fixed
    assert [line.split(")")[0] for line in output.splitlines() if PROMPT in line] == \
        ["(1/2", "(2/2", "(1/3", "(2/3", "(3/3"]
    assert f"{POLLING}: created: the accepted changes of {SERVERS} call it" in output
    assert "+def wait_until(predicate, timeout, interval, message):" in output
    assert "8 files scanned, 3 changed, 0 errors" in output
    assert "TSF101: 4 fixed, 0 not fixed" in output


def test_no_to_every_hunk_leaves_every_byte(sample: Path) -> None:
    before = _snapshot(sample)
    code, output = _drive(sample, ["n"] * 5)
    assert code == 1, output  # the findings refused are still there
    assert _snapshot(sample) == before
    assert "\x1b[32m+" in output and "\x1b[31m-" in output, "colored on a terminal"
    assert "8 files scanned, 0 changed, 0 errors" in output
    assert "TSF101: 0 fixed, 4 not fixed" in output


def test_a_applies_the_rest_of_a_file_and_d_skips_it(sample: Path, fixed: dict) -> None:
    before = _snapshot(sample)
    # test_events: a at its first hunk; test_servers: d at its first.
    code, output = _drive(sample, ["a", "d"], "--no-color")
    assert code == 1, output
    after = _snapshot(sample)
    assert after[EVENTS] == fixed[EVENTS]
    assert after[SERVERS] == before[SERVERS]
    assert POLLING not in after, "no accepted change calls the helper module"
    assert "(2/2)" not in output and "(2/3)" not in output


def test_d_then_a_creates_the_helper_module_the_accepted_file_calls(sample: Path,
                                                                    fixed: dict) -> None:
    before = _snapshot(sample)
    code, output = _drive(sample, ["d", "y", "a"], "--no-color")
    assert code == 1, output
    after = _snapshot(sample)
    assert after[EVENTS] == before[EVENTS]
    assert after[SERVERS] == fixed[SERVERS] and after[POLLING] == fixed[POLLING]


def test_q_writes_the_hunks_accepted_before_it_and_nothing_more(sample: Path) -> None:
    before = _snapshot(sample)
    # test_events: keep the import, rewrite the loop; then quit at test_servers.
    code, output = _drive(sample, ["n", "y", "q"], "--no-color")
    assert code == 1, output
    after = _snapshot(sample)
    old = before[EVENTS].decode()
    loop = ("        tries = 0\n        while not done.is_set() and tries < 50:\n"
            "            time.sleep(0.1)\n            tries += 1\n")
    assert loop in old
    assert after[EVENTS].decode() == old.replace(loop, "        done.wait(5)\n")
    assert after[SERVERS] == before[SERVERS] and POLLING not in after
    assert "(2/3)" not in output


def test_question_mark_prints_help_and_asks_again(sample: Path) -> None:
    term = Terminal("-i", "--no-color", ".", cwd=sample)
    try:
        first = term.answer("?")
        assert "(1/2) " in first
        again = term.answer("n")
        assert "y - apply this hunk\n" in again and "q - quit: write the hunks accepted so far" \
            in again
        assert again.endswith("? - print this help\n(1/2) " + PROMPT), "the same hunk again"
        assert "@@" not in again
        for line in ["n", "n", "n", "n"]:
            term.answer(line)
        assert term.finish() == 1  # quit: the findings are still there
    finally:
        term.close()


def test_a_partial_file_that_would_break_is_not_written(sample: Path) -> None:
    before = _snapshot(sample)
    # test_events: drop `import time` but keep the loop that sleeps; test_servers: rewrite
    # the loops but leave out the import of polling.
    code, output = _drive(sample, ["y", "n", "n", "y", "y"], "--no-color")
    assert code == 2, output
    assert _snapshot(sample) == before, "neither file written, and no helper module created"
    assert (f"{EVENTS}: error: not written: with only the accepted hunks, time would be used "
            "but not defined") in output
    assert f"{SERVERS}: error: not written: with only the accepted hunks, polling would be" \
        in output


def test_a_file_changed_on_disk_while_asking_is_not_overwritten(sample: Path) -> None:
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


@pytest.mark.parametrize("stdin,options", [(subprocess.DEVNULL, ()), ("y\n" * 5, ()),
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
