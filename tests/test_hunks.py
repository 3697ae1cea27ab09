"""Hunks (``testsec_fix.hunks``) and the ``--interactive`` session with a scripted terminal.

The session through a real terminal is in ``test_interactive.py``."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator, List, Optional

from hypothesis import given, settings
from hypothesis import strategies as st

from fixture_cases import FIXTURES
from testsec_fix import run
from testsec_fix.config import load_config
from testsec_fix.hunks import apply, defines, needs, problem, split
from testsec_fix.interactive import session
from testsec_fix.model import FileResult

EVENTS = FIXTURES / "sample" / "sampleapp" / "tests" / "test_events.py"
EVENTS_LOOP = """\
        tries = 0
        while not done.is_set() and tries < 50:
            time.sleep(0.1)
            tries += 1
"""

LINES = st.lists(st.sampled_from(["a\n", "b\n", "c\r\n", "d\r", "e\n", "\n", "  f\n"]),
                 max_size=40)


@settings(max_examples=200, deadline=None)
@given(old=LINES, new=LINES, last=st.sampled_from(["", "z", "y"]), mask=st.data())
def test_all_hunks_give_after_none_give_before_and_they_are_the_diffs(old, new, last,
                                                                      mask) -> None:
    before, after = "".join(old) + last, "".join(new) + ("z" if last else "")
    hunks = split(before, after)
    assert apply(before, hunks, [True] * len(hunks)) == after
    assert apply(before, hunks, [False] * len(hunks)) == before
    diff = FileResult("x", before, after).diff("x")
    assert "".join(h.text for h in hunks) == "".join(diff.splitlines(keepends=True)[2:])
    chosen = mask.draw(st.lists(st.booleans(), min_size=len(hunks), max_size=len(hunks)))
    text = apply(before, hunks, chosen)
    grown = sum(len(h.new) - len(h.old) for h, ok in zip(hunks, chosen) if ok)
    assert len(text.splitlines()) == len(before.splitlines()) + grown


def _events() -> FileResult:
    return next(r for r in run([str(EVENTS)], load_config(None)) if r.changed)


def test_some_hunks_of_a_real_rewrite() -> None:
    result = _events()
    hunks = split(result.before, result.after)
    assert [h.start for h in hunks] == [0, 8]
    assert hunks[0].text.startswith("@@ -1,5 +1,4 @@\n") and "-import time\n" in hunks[0].text
    only_loop = apply(result.before, hunks, [False, True])
    assert only_loop == result.before.replace(EVENTS_LOOP, "        done.wait(5)\n")
    assert problem(only_loop, result.before, result.after) is None  # time stays imported
    only_import = apply(result.before, hunks, [True, False])
    assert "import time" not in only_import and "time.sleep" in only_import
    assert problem(only_import, result.before, result.after) == (
        "with only the accepted hunks, time would be used but not defined")


def test_a_selection_that_does_not_compile_is_refused() -> None:
    filler = "     0,\n" * 8  # far enough apart for two hunks
    before = "x = (1,\n" + filler + "     2)\n"
    after = "x = [1,\n" + filler + "     2]\n"
    hunks = split(before, after)
    assert len(hunks) == 2
    assert problem(apply(before, hunks, [True, True]), before, after) is None
    half = apply(before, hunks, [True, False])
    assert half == "x = [1,\n" + filler + "     2)\n"
    assert problem(half, before, after).startswith("the accepted hunks do not compile (line ")
    assert problem("for x in y:\n    pass\nbreak\n", "", "").startswith(
        "the accepted hunks do not compile ("), "the compiler's checks too, not only the parser's"


def test_only_names_a_left_out_hunk_took_away_are_missing() -> None:
    before = "from os import *\nimport time\n\ndef f():\n    time.sleep(1)\n    getcwd()\n"
    # getcwd comes from the star import, len is a builtin, undefined_elsewhere was never
    # bound: none of them is this selection's doing.
    text = "from os import *\n\ndef f():\n    time.sleep(len(undefined_elsewhere))\n"
    assert problem(text, before, before) == (
        "with only the accepted hunks, time would be used but not defined")
    fine = "from os import *\nimport time\n\ndef f():\n    time.sleep(len(undefined_else))\n"
    assert problem(fine, before, before) is None
    after = "import polling\n\ndef f(x):\n    polling.wait_until(x)\n"
    assert problem("\ndef f(x):\n    polling.wait_until(x)\n", "", after) == (
        "with only the accepted hunks, polling would be used but not defined")


def test_what_needs_a_helper() -> None:
    before = "import time\n\ndef f():\n    time.sleep(1)\n"
    call = "from app.tests.fixtures import polling\n\ndef f():\n    polling.wait_until(g)\n"
    module = "app.tests.fixtures.polling"
    assert needs(call, before, module, "wait_until")
    assert needs("from app.tests.fixtures import polling\n" + before, before, module,
                 "wait_until"), "an import of a module that is not there fails too"
    assert needs("def f():\n    wait_until(g)\n", before, module, "wait_until")
    assert not needs(before, before, module, "wait_until")
    assert not needs("import app.tests.other\n" + before, before, module, "wait_until")
    assert defines("def wait_until(a):\n    pass\n", "wait_until")
    assert defines("from x import wait_until\n", "wait_until")
    assert not defines("def wait(a):\n    pass\n", "wait_until")


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


def _existing_fixtures_module(root: Path) -> Path:
    """A project whose tests/fixtures.py exists without wait_until: the rewrite of
    test_servers.py calls fixtures.wait_until, which the fix appends to that module."""
    tests = root / "app" / "tests"
    tests.mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    (root / "app" / "__init__.py").write_text("")
    (tests / "__init__.py").write_text("")
    (tests / "fixtures.py").write_text('"""Fixtures."""\n\nFOO = 1\n')
    sample = FIXTURES / "sample" / "sampleapp" / "tests"
    shutil.copy(sample / "api.py", tests / "api.py")
    text = (sample / "test_servers.py").read_text().replace("sampleapp", "app")
    (tests / "test_servers.py").write_text(text)
    return tests


def _session(root: Path, answers: List[str]):
    config = load_config(None)
    results = list(run([str(root)], config))
    script = Script(answers)
    out = session(results, config, show=script.shown.append, ask=script.ask,
                  say=script.said.append)
    return {Path(r.path).name: r for r in out}, script


def test_a_file_calling_a_helper_whose_hunk_was_not_accepted_is_not_written(
        tmp_path: Path) -> None:
    tests = _existing_fixtures_module(tmp_path / "proj")
    before = {p.name: p.read_bytes() for p in tests.iterdir()}
    # test_servers.py: 3 hunks, all yes; fixtures.py (asked last, like any file): no.
    out, script = _session(tmp_path / "proj", ["a", "n"])
    assert [p.split(")")[0] for p in script.prompts] == ["(1/3", "(1/1"]
    assert {p.name: p.read_bytes() for p in tests.iterdir()} == before
    assert out["test_servers.py"].error.startswith("not written: it calls wait_until, which ")
    assert out["test_servers.py"].error.endswith("fixtures.py gets only from a hunk not accepted")
    assert not out["test_servers.py"].changed and not out["fixtures.py"].changed
    assert all(not f.fixed for f in out["test_servers.py"].findings)
    assert any("test_servers.py: error: not written: it calls wait_until" in line
               for line in script.said)


def test_yes_to_every_hunk_writes_what_a_plain_run_writes(tmp_path: Path) -> None:
    tests = _existing_fixtures_module(tmp_path / "proj")
    plain = tmp_path / "plain"
    shutil.copytree(tmp_path / "proj", plain)
    list(run([str(plain)], load_config(None), write=True))
    out, script = _session(tmp_path / "proj", ["y", "y", "y", "y"])
    assert len(script.prompts) == 4 and not script.said
    for path in (plain / "app" / "tests").iterdir():
        assert (tests / path.name).read_bytes() == path.read_bytes(), path.name
    assert out["test_servers.py"].changed and out["fixtures.py"].changed
    assert all(f.fixed for f in out["test_servers.py"].findings)


def test_help_unknown_and_empty_answers_ask_again_and_eof_quits(tmp_path: Path) -> None:
    _existing_fixtures_module(tmp_path / "proj")
    out, script = _session(tmp_path / "proj", ["?", "", "what", "n", "d"])  # then EOF: quit
    assert [p.split(")")[0] for p in script.prompts] == ["(1/3"] * 4 + ["(2/3", "(1/1"]
    helps = [s for s in script.shown if s.startswith("y - apply this hunk")]
    assert len(helps) == 2, "help for '?' and for an unknown answer, not for an empty one"
    assert not any(r.changed for r in out.values())


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
