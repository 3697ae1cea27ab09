"""``# testsec: ignore`` comments: parsing, and the engine's part (the CLI's is in
test_report.py)."""
from __future__ import annotations

import textwrap

import pytest

from fixture_cases import CONFIG, FIXTURES
from testsec_fix import fix_source
from testsec_fix.codemod import Context
from testsec_fix.suppress import parse


def test_parse_lines_and_codes() -> None:
    text = textwrap.dedent("""\
        x = 1  # testsec: ignore[tsf101, TSF102]
        y = 2
        # testsec: ignore
        z = 3
        w = (2,  # noqa: E501  # testsec:ignore[TSF104]
             3)
        # testsec: ignore[TSF105
        # testsec: ignore[]
        # testsec: ignored
        v = 4
        """)
    found = parse(text)
    assert found.covers("TSF101", 1) and found.covers("TSF102", 1)
    assert not found.covers("TSF103", 1), "only the codes listed"
    assert not found.covers("TSF101", 2), "a trailing comment covers its own line only"
    assert found.covers("TSF999", 3) and found.covers("TSF999", 4), "bare: every code"
    assert not found.covers("TSF999", 5)
    assert found.covers("TSF104", 5) and not found.covers("TSF104", 6)
    assert not any(found.covers(code, n) for n in range(7, 11)
                   for code in ("TSF101", "TSF105")), "malformed, empty, other word"


def test_text_in_a_string_is_not_a_suppression() -> None:
    assert not parse("x = '# testsec: ignore'\ny = 1\n").lines


def test_no_comment_no_tokenizing() -> None:
    assert not parse("while True:\n    time.sleep(1)\n")


LOOPS = (FIXTURES / "sleep-polling-loop" / "suppressed.py").read_text()


def test_a_codemod_that_ignores_a_suppression_has_no_fix_applied(monkeypatch) -> None:
    """The engine's safety net: a codemod that rewrites a covered node (it does not ask
    ``ctx.suppressed``) has none of its fixes in that file applied."""
    honoured = fix_source(LOOPS, path="tests/test_loops.py", config=CONFIG)
    assert honoured.changed and [f for f in honoured.findings if f.suppressed]
    monkeypatch.setattr(Context, "suppressed", lambda self, where: False)
    result = fix_source(LOOPS, path="tests/test_loops.py", config=CONFIG)
    assert result.error is None
    assert result.after == LOOPS
    assert not any(f.fixed for f in result.findings)
    reasons = {f.reason for f in result.findings if not f.suppressed}
    assert reasons == {"not applied: TSF101 rewrote line 15, which a '# testsec: ignore' "
                       "comment covers"}
    assert {f.line for f in result.findings if f.suppressed} == {15, 24, 34}


@pytest.mark.parametrize("comment", ["# testsec: ignore[TSF101]", "# testsec: ignore"])
def test_suppressed_loop_is_reported_as_suppressed(comment: str) -> None:
    text = LOOPS.replace("# testsec: ignore[TSF102]\n", comment + "\n")
    result = fix_source(text, path="tests/test_loops.py", config=CONFIG)
    assert [f.line for f in result.findings if f.suppressed] == [15, 24, 34, 44]
    assert all(not f.fixed and "testsec: ignore" in f.reason
               for f in result.findings if f.suppressed)


def test_findings_left_alone_on_request_are_fixed_as_if_suppressed() -> None:
    """``fix_source(leave=...)`` (what ``--interactive`` builds a file with): the findings
    named are left as a comment on their line would leave them, but are not suppressed."""
    left = fix_source(LOOPS, path="tests/test_loops.py", config=CONFIG,
                      leave=frozenset({("TSF101", 54), ("TSF102", 63)}))
    assert [(f.line, f.fixed, f.suppressed, f.reason) for f in left.findings][3:] == [
        (44, True, False, None), (54, False, False, "left alone on request"),
        (63, True, False, None)], "only the code named is left alone on that line"
    assert sum(f.suppressed for f in left.findings) == 3, "the comments' own"
    lines = LOOPS.splitlines(keepends=True)
    mark = "  # testsec: ignore[tsf101]"  # in lower case: unlike the file's own comments
    lines[53] = lines[53].rstrip("\n") + mark + "\n"
    commented = fix_source("".join(lines), path="tests/test_loops.py", config=CONFIG)
    assert left.after == commented.after.replace(mark, "")
    assert left.after != LOOPS and "import time\n" in left.after
