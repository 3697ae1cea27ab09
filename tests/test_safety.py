"""Nothing is ever lost: interrupted runs, files changed under our feet, codemods that crash,
and properties of the pure seam over generated programs."""
from __future__ import annotations

import ast
import signal
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixture_cases import CONFIG, FIXTURES
from test_cli import _entry_point
from testsec_fix import engine, fix_source, run
from testsec_fix.codemod import Codemod
from testsec_fix.source import SourceError, read_source, write_source

LOOP = (FIXTURES / "sleep-polling-loop" / "while_counter_returns_server.py").read_text()
FIXED = (FIXTURES / "sleep-polling-loop" /
         "while_counter_returns_server.expected.py").read_text()


def _many(root: Path, count: int) -> list:
    tests = root / "tests"
    tests.mkdir()
    paths = []
    for k in range(count):
        path = tests / f"test_{k:04d}.py"
        path.write_text(LOOP)
        paths.append(path)
    return paths


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_a_killed_run_leaves_every_file_old_or_new(tmp_path: Path, sig) -> None:
    paths = _many(tmp_path, 400)
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.testsec-fix]\nfixtures-module = "tests.fixtures.polling"\n')
    proc = subprocess.Popen([_entry_point(), "--no-cache", "-j", "1", "-q", "tests"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Kill it once it has started writing.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.read_text() != LOOP for p in paths[:50]):
            break
        time.sleep(0.01)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    contents = {p.read_text() for p in paths}
    assert contents <= {LOOP, FIXED}, "a file is neither the old text nor the new one"
    if sig == signal.SIGINT:
        assert not list(tmp_path.rglob(".testsec-*.tmp")), "Ctrl-C left a temporary file"


def test_a_file_changed_since_it_was_read_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "test_x.py"
    path.write_text("x = 1\n")
    source = read_source(str(path))
    path.write_text("x = 2\n")
    with pytest.raises(SourceError, match="changed on disk"):
        write_source(str(path), "x = 3\n", source.encoding, source.digest)
    assert path.read_text() == "x = 2\n"


def test_a_symlink_is_never_written_through(tmp_path: Path) -> None:
    target = tmp_path / "real.py"
    target.write_text(LOOP)
    link = tmp_path / "tests"
    link.mkdir()
    (link / "test_link.py").symlink_to(target)
    results = list(run([str(link / "test_link.py")], CONFIG, write=True))
    assert results[0].error and "symbolic link" in results[0].error
    assert target.read_text() == LOOP


class _Crash(Codemod):
    """Raises on every file.

    ## What it does
    ## Why is this bad?
    ## Example
    ## Use instead
    ## Fix safety
    """

    code = "TSF999"
    name = "crash"
    safe = True
    trigger = __import__("re").compile("sleep")

    def transform(self, module, ctx):
        raise ValueError("boom")


def test_a_crashing_codemod_is_reported_with_its_code_and_the_batch_goes_on(
        tmp_path: Path, monkeypatch) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_loop.py").write_text(LOOP)
    (tests / "test_other.py").write_text("def test():\n    assert 1\n")
    real = engine.selected_codemods
    monkeypatch.setattr(engine, "selected_codemods", lambda config: real(config) + [_Crash])
    results = {Path(r.path).name: r for r in run([str(tests)], CONFIG)}
    assert "TSF999 crashed: ValueError('boom')" in results["test_loop.py"].error
    assert results["test_other.py"].error is None


def test_an_unsafe_fix_is_only_shown_unless_asked_for(monkeypatch) -> None:
    from testsec_fix.codemods.sleep_polling_loop import SleepPollingLoop

    class Unsafe(SleepPollingLoop):
        code = "TSF998"
        name = "unsafe-polling-loop"
        safe = False

    monkeypatch.setattr(engine, "selected_codemods", lambda config: [Unsafe])
    shown = fix_source(LOOP, path="tests/test_x.py", config=CONFIG)
    assert not shown.changed
    assert shown.findings and all("--unsafe-fixes" in (f.reason or "") for f in shown.findings)
    applied = fix_source(LOOP, path="tests/test_x.py",
                         config=CONFIG.with_options(unsafe_fixes=True))
    assert applied.after == FIXED


# -- properties of the pure seam ------------------------------------------------------------

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _check(source: str) -> None:
    result = fix_source(source, path="tests/test_gen.py", config=CONFIG)
    assert isinstance(result.after, str)
    if result.error is None and result.changed:
        ast.parse(result.after)
        compile(result.after, "gen", "exec")
        again = fix_source(result.after, path="tests/test_gen.py", config=CONFIG)
        assert again.after == result.after, "a second run changed something"


@settings(SETTINGS, max_examples=12)
@given(st.data())
def test_generated_programs_never_break_the_seam(data) -> None:
    """hypothesmith programs (with a sleep loop spliced in, so a codemod really runs)."""
    hypothesmith = pytest.importorskip("hypothesmith")
    program = data.draw(hypothesmith.from_grammar())
    try:
        ast.parse(program)
    except (SyntaxError, ValueError):  # the grammar allows a few things the compiler refuses
        return
    _check(program)
    _check("import time\n" + program + "\n\ndef f(self):\n    for i in range(3):\n"
           "        if self.x():\n            return True\n        time.sleep(1)\n"
           "    self.fail('x')\n")


PIECES = {
    "head": st.sampled_from(["for _ in range(N):", "while not self.ready() and n < N:",
                             "while True:", "while not self.ready():"]),
    "n": st.integers(min_value=0, max_value=30),
    "interval": st.sampled_from(["0.1", ".5", "1", "0"]),
    "exit": st.sampled_from(["return", "return True", "break", "return self.x['a']", "pass"]),
    "after": st.sampled_from(["self.fail('t')", "", "return None", "self.fail()"]),
}


@SETTINGS
@given(**PIECES)
def test_generated_polling_loops(head, n, interval, exit, after) -> None:
    """Polling loops of many shapes, some valid rewrites, most not."""
    counter = "n = 0\n    " if "n <" in head else ""
    bump = "\n        n += 1" if "n <" in head else ""
    source = (f"import time\n\n\ndef wait(self):\n    {counter}{head.replace('N', str(n))}\n"
              f"        if self.ready():\n            {exit}\n"
              f"        time.sleep({interval}){bump}\n    {after}\n")
    try:
        ast.parse(source)
    except SyntaxError:
        return
    _check(source)
