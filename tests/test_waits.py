"""The wait helpers TSF101 adds (``testsec_fix.waits``), run as the code they are, and a
project whose deadline and async loops are rewritten into them, run by pytest."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_cli import _snapshot, cli
from testsec_fix import waits


def _helper(source: str):
    space: dict = {}
    exec("import asyncio, inspect, time\n" + source, space)
    return next(v for k, v in space.items() if k.startswith("wait_until"))


class Probe:
    """Falsy until its ``ready``-th call; each call takes ``cost`` seconds."""

    def __init__(self, ready: int = 10 ** 9, cost: float = 0.0) -> None:
        self.calls, self.ready, self.cost = 0, ready, cost

    def __call__(self):
        self.calls += 1
        time.sleep(self.cost)
        return self.calls if self.calls >= self.ready else []


def test_deadline_helper_measures_wall_clock_time() -> None:
    """A slow probe eats the budget: wait_until_deadline gives up after ``timeout`` seconds
    (one last call after them), where wait_until, counting sleeps, would call 11 times."""
    wait = _helper(waits.WAIT_UNTIL_DEADLINE)
    probe = Probe(cost=0.05)
    started = time.monotonic()
    with pytest.raises(AssertionError, match="^never$"):
        wait(probe, timeout=0.1, interval=0.001, message="never")
    assert 0.1 <= time.monotonic() - started < 0.5
    assert 2 <= probe.calls <= 4


def test_deadline_helper_returns_the_value_and_keeps_the_failure() -> None:
    wait = _helper(waits.WAIT_UNTIL_DEADLINE)
    assert wait(Probe(ready=3), timeout=5, interval=0.001, message="x") == 3
    with pytest.raises(TimeoutError, match="^late 7$"):
        wait(Probe(), timeout=0.01, interval=0.001, message=lambda: "late %d" % 7,
             error=TimeoutError)
    with pytest.raises(pytest.fail.Exception, match="gone"):
        wait(Probe(), timeout=0.01, interval=0.001, message=lambda: pytest.fail("gone"))
    probe = Probe()
    assert wait(probe, timeout=0.01, interval=0.001, message=None) == []
    assert probe.calls >= 2, "it polled until the deadline, then handed back the last value"


def test_count_helper_counts_sleeps() -> None:
    """wait_until_async keeps wait_until's budget: timeout / interval sleeps, one more poll."""
    wait = _helper(waits.WAIT_UNTIL_ASYNC)
    probe = Probe()
    with pytest.raises(AssertionError, match="^no$"):
        asyncio.run(wait(probe, timeout=0.05, interval=0.01, message="no"))
    assert probe.calls == 6
    assert asyncio.run(wait(Probe(ready=2), 1, 0.001, None)) == 2


@pytest.mark.parametrize("source", [waits.WAIT_UNTIL_ASYNC, waits.WAIT_UNTIL_DEADLINE_ASYNC])
def test_async_helpers_await_a_coroutine_probe(source: str) -> None:
    wait = _helper(source)
    seen = []

    async def probe():
        await asyncio.sleep(0)
        seen.append(1)
        return len(seen) >= 3 and "done"

    assert asyncio.run(wait(probe, timeout=5, interval=0.001, message="x")) == "done"
    assert len(seen) == 3
    with pytest.raises(KeyError):
        asyncio.run(wait(lambda: False, 0.01, 0.001, "x", KeyError))


SUITE = '''\
import asyncio
import threading
import time


class Flag:
    def __init__(self, after):
        self.value = False
        timer = threading.Timer(after, self.set)
        timer.daemon = True
        timer.start()

    def set(self):
        self.value = True


def test_deadline_loop():
    flag = Flag(0.05)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if flag.value:
            break
        time.sleep(0.01)
    else:
        raise AssertionError("the flag never went up")


def wait_for(flag):
    start = time.time()
    while True:
        if flag.value:
            return
        if time.time() - start >= 0.05:
            raise TimeoutError("too slow")
        time.sleep(0.01)


def test_deadline_loop_that_times_out():
    try:
        wait_for(Flag(60))
    except TimeoutError as exc:
        assert str(exc) == "too slow"
    else:
        raise AssertionError("no timeout")


def test_async_loop():
    async def scenario():
        flag = Flag(0.05)
        for _ in range(500):
            if flag.value:
                break
            await asyncio.sleep(0.01)
        assert flag.value, "the flag never went up"
    asyncio.run(scenario())
'''


@pytest.mark.parametrize("packaged", [True, False], ids=["package", "rootdir"])
def test_rewritten_deadline_and_async_loops_still_pass(tmp_path: Path, packaged: bool) -> None:
    """In a tests package the helpers go to tests/polling.py (the async one once, though two
    files ask for it, and a second run finds it there); outside a package, into the module."""
    tests = tmp_path / "tests"
    tests.mkdir()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'pkg'\n")
    if packaged:
        (tests / "__init__.py").write_text("")
    (tests / "test_waits.py").write_text(SUITE)
    (tests / "test_again.py").write_text(SUITE.replace("def test_", "def test_2_"))
    first = cli(".", cwd=tmp_path)
    assert first.returncode == 1 and "TSF101: 6 fixed, 0 not fixed" in first.stderr, \
        first.stderr
    text = (tests / "test_waits.py").read_text()
    tests_only = text.split("\ndef wait_until")[0]  # (outside a package the helpers follow)
    assert "time.sleep(" not in tests_only and "asyncio.sleep(" not in tests_only
    helpers = (tests / "polling.py").read_text() if packaged else text
    for name in ("wait_until_deadline", "wait_until_async"):
        assert helpers.count(f"def {name}(") == 1, helpers
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "tests"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "6 passed" in run.stdout, run.stdout + run.stderr
    before = _snapshot(tmp_path)
    again = cli(".", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert _snapshot(tmp_path) == before
