"""One parametrized runner over every fixture pair."""
from __future__ import annotations

import ast

import pytest

from fixture_cases import UPDATE, Case, cases
from testsec_fix.registry import all_codemods

REPORT_ONLY = [cls for cls in all_codemods() if not cls.fixable]


@pytest.mark.parametrize("case", cases(), ids=str)
def test_fixture(case: Case) -> None:
    result = case.run()
    assert result.error is None, result.error
    reported = [f for f in result.findings if not f.suppressed]
    declined = [f.reason or "" for f in reported if not f.fixed]
    codes = {f.code for f in reported}
    marks = case.expected_lines
    for code in {c for found in marks.values() for c in found} | codes:
        if any(c == code for found in marks.values() for c in found) or \
                code in [cls.code for cls in REPORT_ONLY]:
            flagged = sorted({f.line for f in reported if f.code == code})
            wanted = sorted(n for n, found in marks.items() if code in found)
            assert flagged == wanted, f"{code} flagged lines {flagged}, marked {wanted}"
    suppressed = {(f.line, f.code) for f in result.findings if f.suppressed}
    assert suppressed == {(n, c) for n, found in case.suppressed_lines.items() for c in found}
    assert not any(f.fixed for f in result.findings if f.suppressed)
    if case.decline is not None:
        assert any(case.decline in r for r in declined), \
            f"expected a finding not fixed because {case.decline!r}, got {declined}"
    else:
        assert not declined, f"unexpected findings not fixed: {declined}"
    if UPDATE and result.changed:
        case.expected_path.write_text(result.after, encoding="utf-8")
    expected = case.expected
    if expected is None:
        assert result.after == result.before, "no expected file: must stay unchanged"
        return
    assert result.after == expected
    assert any(f.fixed for f in result.findings), result.findings
    ast.parse(result.after)
