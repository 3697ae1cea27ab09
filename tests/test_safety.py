"""Nothing is ever lost: interrupted runs, files changed under our feet, codemods that crash,
and properties of the pure seam over generated programs."""
from __future__ import annotations

import ast
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

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


CREDENTIAL = """from myapp import test


class LoginTest(test.TestCase):

    def test_login_{k}(self):
        resp = self.api.login(user='admin{k}', password='hunter2')
        self.assertEqual(200, resp.status)
"""


def _project(root: Path, count: int) -> Dict[str, bytes]:
    """A project of ``count`` test files in eight packages, each with something to fix: a
    literal password (cheap to rewrite), or in one file of ten a polling loop; one in
    seven with CRLF newlines. Returns the files' bytes by path."""
    (root / "tests" / "fixtures").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[tool.testsec-fix]\nfixtures-module = "tests.fixtures"\n')
    for init in ("tests/__init__.py", "tests/fixtures/__init__.py"):
        (root / init).write_text("")
    for k in range(count):
        folder = root / "tests" / f"group{k % 8}"
        folder.mkdir(exist_ok=True)
        (folder / "__init__.py").touch()
        text = LOOP if k % 10 == 0 else CREDENTIAL.format(k=k)
        newline = "\r\n" if k % 7 == 0 else "\n"
        (folder / f"test_{k:04d}.py").write_bytes(text.replace("\n", newline).encode())
    return _tree(root)


def _tree(root: Path) -> Dict[str, bytes]:
    """Every file under ``root`` by relative path, but the result cache and temporary
    files (``_temporaries``)."""
    skip = set(_temporaries(root))
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".testsec-cache" not in p.parts and str(p) not in skip}


def _temporaries(root: Path) -> List[str]:
    """The temporary files a write leaves beside its file if it is killed before the
    rename (the cache's are not counted: nothing reads them but the cache)."""
    return [str(p) for p in root.rglob(".testsec-*.tmp") if ".testsec-cache" not in p.parts]


KILLS = 12


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_nothing_and_the_next_run_finishes(
        tmp_path: Path) -> None:
    """Runs over 500 files (default jobs and cache), each killed with SIGKILL at a random
    moment: half at any time, half once writing has begun; a tree the runs have finished
    is put back as it was. After each kill, every file is its old bytes or its new ones
    (those of a clean run on a copy), and the helper modules are whole or absent. Then one
    run finishes the job: the tree is the clean run's, and no temporary file is left.
    About 30 s; TESTSEC_SEED=N replays a sequence of moments."""
    seed = int(os.environ.get("TESTSEC_SEED") or time.time_ns() % 1_000_000)
    rng = random.Random(seed)
    work, clean = tmp_path / "work", tmp_path / "clean"
    old = _project(work, 500)
    shutil.copytree(work, clean)
    tool = [_entry_point(), "-q", "tests"]
    assert subprocess.run(tool + ["--no-cache"], cwd=clean, stdout=subprocess.DEVNULL,
                          timeout=120).returncode == 1
    new = _tree(clean)
    assert len(new) > len(old) and all(new[p] != old[p] for p in old if "test_" in p)
    order = [p for p in old if "test_" in p]  # the order files are written in
    killed = restored = 0
    now = old
    for kill in range(KILLS):
        if now == new:  # all done: start again, so that every kill has work to stop
            for path in set(new) - set(old):
                (work / path).unlink()
            for path, data in old.items():
                (work / path).write_bytes(data)
            restored += 1
        proc = subprocess.Popen(tool, cwd=work, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        if kill % 2:  # once the first file still old has been written
            waiting = work / next(p for p in order if (work / p).read_bytes() == old[p])
            before = waiting.stat().st_mtime_ns
            deadline = time.monotonic() + 30
            while proc.poll() is None and time.monotonic() < deadline and \
                    waiting.stat().st_mtime_ns == before:
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.2))
        else:
            time.sleep(rng.uniform(0.05, 1.5))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait(timeout=30)
        try:  # its workers, orphaned: they write nothing but the cache
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        now = _tree(work)
        mixed = [p for p, data in now.items() if data not in (old.get(p), new.get(p))]
        assert not mixed, f"seed {seed}, kill {kill}: neither old nor new: {mixed[:5]}"
        assert set(now) <= set(new), f"seed {seed}: files that should not be there"
    assert killed >= KILLS - 3, f"seed {seed}: {KILLS - killed} runs ended before the kill"
    finish = subprocess.run(tool, cwd=work, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, timeout=120)
    assert finish.returncode in (0, 1), finish.stderr
    assert _tree(work) == new, f"seed {seed}: the next run did not finish the job"
    assert not _temporaries(work), f"seed {seed}: temporary files left"


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
    assert results["test_loop.py"].error == "TSF999 crashed: ValueError: boom"
    assert results["test_other.py"].error is None


class _Node:
    """Stands for a LibCST node: a repr of hundreds of lines."""

    def __repr__(self) -> str:
        return "IndentedBlock(\n" + "    body=[],\n" * 500 + ")"


class _KeyCrash(_Crash):
    def transform(self, module, ctx):
        raise KeyError(_Node())


def test_a_crash_is_one_short_line_and_outlives_no_run(tmp_path: Path, monkeypatch) -> None:
    """A KeyError's message is its key's repr: a crash printed the node, ~550 lines. Nor
    is a crash kept in the cache, to come back in a run where nothing crashes."""
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_loop.py").write_text(LOOP)
    real = engine.selected_codemods
    cache = str(tmp_path / "cache")
    monkeypatch.setattr(engine, "selected_codemods", lambda config: real(config) + [_KeyCrash])
    crashed, = run([str(tests)], CONFIG, cache_dir=cache)
    assert crashed.error.startswith("TSF999 crashed: KeyError: IndentedBlock( body=[], ")
    assert "\n" not in crashed.error and len(crashed.error) < 120
    monkeypatch.setattr(engine, "selected_codemods", real)
    again = next(r for r in run([str(tests)], CONFIG, cache_dir=cache)
                 if r.path.endswith("test_loop.py"))
    assert again.error is None and again.after == FIXED


def _interrupt_while_libcst_finds_positions(monkeypatch, exc: type) -> None:
    """``exc`` raised as LibCST works out a ``while`` loop's position, inside its test."""
    from libcst.metadata import position_provider

    state = position_provider.PositionProvidingCodegenState
    add_token = state.add_token

    def interrupted(self, value):
        if value == "while":
            raise exc()
        return add_token(self, value)

    monkeypatch.setattr(state, "add_token", interrupted)


def test_ctrl_c_inside_libcst_is_no_crash(monkeypatch) -> None:
    """LibCST computes positions in ``finally`` blocks: a KeyboardInterrupt there came out
    as ``KeyError(IndentedBlock(...))``, reported as a TSF101 crash (and cached): the
    'crash after interrupted runs'. It is an interruption."""
    _interrupt_while_libcst_finds_positions(monkeypatch, KeyboardInterrupt)
    with pytest.raises(KeyboardInterrupt):
        fix_source(LOOP, path="tests/test_x.py", config=CONFIG)


# -- deep trees -------------------------------------------------------------------------------

def _terms(n: int, indent: str) -> str:
    """``1 + 1 + ...``, ``n`` terms, in parentheses over lines of twenty."""
    rows = ["1 + " * 19 + "1"] * (n // 20)
    return "(" + (" +\n" + indent + " ").join(rows) + ")"


def test_a_deeply_nested_expression_is_done(tmp_path: Path) -> None:
    """A valid 2,000-term expression: TSF103 and TSF101 crashed with a RecursionError."""
    tests = tmp_path / "tests"
    tests.mkdir()
    sleeps = tests / "test_sleeps.py"
    sleeps.write_text("import time\n\n\ndef test_total():\n    time.sleep(1)\n"
                      f"    total = {_terms(2000, '            ')}\n    assert total\n")
    event = (FIXTURES / "sleep-polling-loop" / "event_wait.py").read_text()
    deep = f"        total = {_terms(2000, ' ' * 16)}\n"
    loop = tests / "test_loop.py"
    loop.write_text(event.replace("        tries = 0\n", deep + "        tries = 0\n"))
    proc = subprocess.run([_entry_point(), "--no-cache", "--dry-run", "--format", "json",
                           "tests"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    records = {(r["path"], r["code"]): r for r in json.loads(proc.stdout)}
    assert set(records) == {("tests/test_loop.py", "TSF101"),
                            ("tests/test_sleeps.py", "TSF103")}, proc.stderr
    assert records["tests/test_loop.py", "TSF101"]["fixed"]
    assert records["tests/test_sleeps.py", "TSF103"]["line"] == 5
    expected = (FIXTURES / "sleep-polling-loop" / "event_wait.expected.py").read_text()
    assert f"+{deep}".replace("\n", "\n+") not in proc.stdout, "the expression is kept"
    result = fix_source(loop.read_text(), path="tests/test_loop.py", config=CONFIG)
    assert result.after == expected.replace("        done.wait(1)\n",
                                            deep + "        done.wait(1)\n")


def test_a_file_too_deep_to_rewrite_is_declined_in_one_line(monkeypatch) -> None:
    monkeypatch.setattr(engine, "DEEP_LEVELS", 500)
    text = f"import time\n\n\ndef test_total():\n    time.sleep(1)\n" \
           f"    return {_terms(2000, '     ')}\n"
    result = fix_source(text, path="tests/test_deep.py", config=CONFIG)
    assert result.error == "too deeply nested to rewrite safely (2003 levels); file left alone"
    assert result.after == text


def test_a_recursion_error_inside_libcst_is_retried_then_named(monkeypatch) -> None:
    """A RecursionError inside LibCST's positions came out as a KeyError too. The file is
    tried again with a deep stack; a recursion that has no end then is a crash, one line."""
    _interrupt_while_libcst_finds_positions(monkeypatch, RecursionError)
    result = fix_source(LOOP, path="tests/test_x.py", config=CONFIG)
    assert result.error == "TSF101 crashed: RecursionError"


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


def test_the_cache_removes_what_a_killed_run_left_in_it(tmp_path: Path) -> None:
    from testsec_fix.cache import Cache
    from testsec_fix.config import Config
    from testsec_fix.model import FileResult
    cache = Cache(str(tmp_path / "cache"), Config())
    key = cache.key("tests/test_a.py", b"x = 1\n")
    folder = tmp_path / "cache" / key[:2]
    folder.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = folder / f".testsec-{dead.pid}-abc123.tmp"
    stale.write_text("{")
    mine = folder / f".testsec-{os.getpid()}-def456.tmp"
    mine.write_text("{")
    cache.put(key, FileResult("tests/test_a.py", "x = 1\n", "x = 1\n"), {})
    assert not stale.exists() and mine.exists()
    assert [p.name for p in folder.iterdir() if p.suffix == ".json"] == [key[2:] + ".json"]
