"""The report formats (json, sarif, github), --output and suppressions, through the installed
entry point; SARIF is validated against the official 2.1.0 schema (tests/data)."""
from __future__ import annotations

import json
import os
import shutil
import textwrap
from pathlib import Path
from urllib.parse import unquote

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixture_cases import FIXTURES
from test_cli import SAMPLE, _snapshot, cli
from testsec_fix.registry import all_codemods
from testsec_fix.report import replacements
from testsec_fix.sparse import split_lines

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
CODES = [cls.code for cls in all_codemods()]


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SAMPLE, tmp_path / "sample"))


def validate(doc: dict) -> None:
    jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(doc)


def sarif(*args: str, cwd: Path):
    proc = cli("--no-cache", "--format", "sarif", *args, cwd=cwd)
    doc = json.loads(proc.stdout)
    validate(doc)
    return proc, doc


def apply(text: str, change: dict) -> str:
    """Apply one SARIF artifactChange (regions in the original's lines and characters)."""
    starts = [0]
    for line in split_lines(text):
        starts.append(starts[-1] + len(line))
    spans = []
    for rep in change["replacements"]:
        region = rep["deletedRegion"]
        assert region["startLine"] <= len(starts) - 1 or region["startLine"] == 1
        assert region["endLine"] <= len(starts) - 1 or region["endLine"] == 1
        start = starts[region["startLine"] - 1] + region["startColumn"] - 1
        end = starts[region["endLine"] - 1] + region["endColumn"] - 1
        spans.append((start, end, rep["insertedContent"]["text"]))
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def write_tree(root: Path, files: dict) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


# -- SARIF ------------------------------------------------------------------------------------

def test_sarif_on_the_sample_validates_and_its_fixes_are_the_rewrite(sample: Path,
                                                                     tmp_path: Path) -> None:
    before = _snapshot(sample)
    proc, doc = sarif("--dry-run", ".", cwd=sample)
    assert proc.returncode == 1, proc.stderr
    assert "files scanned" in proc.stderr, "the summary still goes to stderr"
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "testsec-fix" and driver["version"]
    assert [r["id"] for r in driver["rules"]] == CODES
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and "\n" not in rule["shortDescription"]["text"]
        assert "## Fix safety" in rule["help"]["markdown"]
        assert len(rule["fullDescription"]["text"]) <= 1024
    safety = {r["id"]: r["properties"]["fixSafety"] for r in driver["rules"]}
    assert safety["TSF101"] == safety["TSF102"] == "safe"
    assert all(safety[c.code] == "report-only" for c in all_codemods() if not c.fixable)
    assert run["invocations"][0]["executionSuccessful"] is True
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/sample/")

    results = run["results"]
    assert len(results) == 4 and {r["ruleId"] for r in results} == {"TSF101"}
    for result in results:
        assert result["level"] == "warning"
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        uri = location["artifactLocation"]["uri"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not uri.startswith(("/", "file:", "..")) and uri.startswith("sampleapp/tests/")
        region = location["region"]
        line = (sample / uri).read_text().splitlines()[region["startLine"] - 1]
        assert line[region["startColumn"] - 1:].startswith(("while ", "for ")), line
        assert result["fixes"], "every finding of the sample is fixed"
    fingerprints = [r["partialFingerprints"]["testsecFinding/v1"] for r in results]
    assert len(set(fingerprints)) == len(fingerprints)

    # The fixes, applied to the files, give what an in-place run writes.
    changes = {}
    for result in results:
        for change in result["fixes"][0]["artifactChanges"]:
            changes.setdefault(change["artifactLocation"]["uri"], change)
    assert set(changes) == {"sampleapp/tests/test_events.py", "sampleapp/tests/test_servers.py",
                            "sampleapp/tests/fixtures/polling.py"}
    fixed = {uri: apply((sample / uri).read_text() if (sample / uri).exists() else "", change)
             for uri, change in changes.items()}
    assert _snapshot(sample) == before, "--dry-run wrote nothing"
    assert [r["message"]["text"].endswith("(fix available)") for r in results] == [True] * 4
    written, doc = sarif(".", cwd=sample)  # in place: the fixes are made, none is offered
    assert written.returncode == 1
    assert [("fixes" in r, r["message"]["text"].endswith("(fixed)"))
            for r in doc["runs"][0]["results"]] == [(False, True)] * 4
    for uri, text in fixed.items():
        assert text == (sample / unquote(uri)).read_text(), uri


def test_sarif_with_unreadable_files_reports_them_as_notifications(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "tests/test_syntax.py": "import time\nwhile True:\n  time.sleep(\n",
        "tests/test_good.py": (FIXTURES / "sleep-polling-loop" / "event_wait.py").read_text(),
    })
    (tmp_path / "tests" / "test_binary.py").write_bytes(b"sleep\x00\x01")
    proc, doc = sarif("--dry-run", "tests", cwd=tmp_path)
    assert proc.returncode == 2
    invocation = doc["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notes = invocation["toolExecutionNotifications"]
    assert [n["level"] for n in notes] == ["error", "error"]
    where = {n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: n["message"]["text"]
             for n in notes}
    assert where["tests/test_syntax.py"].startswith("syntax error")
    assert where["tests/test_binary.py"].startswith("binary file")
    assert [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in doc["runs"][0]["results"]] == ["tests/test_good.py"]


def test_sarif_columns_count_characters_and_uris_are_escaped(tmp_path: Path) -> None:
    write_tree(tmp_path, {"tests/my tests/test_é.py": """\
        def test_login(self):
            label = 'café€'; password = 'hunter2'
        """})
    proc, doc = sarif("--dry-run", ".", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    [result] = doc["runs"][0]["results"]
    assert result["ruleId"] == "TSF102"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "tests/my%20tests/test_%C3%A9.py"
    line = "    label = 'café€'; password = 'hunter2'"
    assert line[location["region"]["startColumn"] - 1:] == "'hunter2'"
    assert location["region"]["startLine"] == 2


# -- GitHub annotations -----------------------------------------------------------------------

def test_github_format_gives_one_escaped_line_per_finding_and_error(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "tests/test_a,b:c.py": "def test_it(self):\n    self.password = '100%'\n",
        "tests/test_loop.py": (FIXTURES / "sleep-polling-loop" / "decline_continue.py"
                               ).read_text(),
        "tests/test_syntax.py": "password = 'x'\nwhile True:\n  sleep(\n",
    })
    proc = cli("--dry-run", "--no-cache", "--format", "github", "tests", cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stdout.splitlines()
    assert lines == [
        "::warning file=tests/test_a%2Cb%3Ac.py,line=2,col=21,"
        "title=TSF102 credential-literal::literal credential in test code (password) "
        "(fix available)",
        "::warning file=tests/test_loop.py,line=10,col=9,title=TSF101 sleep-polling-loop::"
        "polling loop with sleep: not fixed: " + lines[1].split("not fixed: ", 1)[1],
        "::error file=tests/test_syntax.py::syntax error: line 3: '(' was never closed",
    ]
    assert "continue" in lines[1]
    assert "files scanned" in proc.stderr and "::" not in proc.stderr


def test_github_message_escapes_percent_and_newlines(tmp_path: Path) -> None:
    from testsec_fix.model import FileResult, Finding
    from testsec_fix.report import github_lines
    finding = Finding("TSF102", 3, 4, "50% of\r\nit", False, "a, b: c")
    [line] = github_lines([FileResult("t/x.py", findings=(finding,))], {"TSF102": "n"},
                          applied=False, root=".")
    assert line == "::warning file=t/x.py,line=3,col=5,title=TSF102 n::50%25 of%0D%0Ait: " \
                   "not fixed: a, b: c"


# -- --output ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["diff", "json", "sarif", "github"])
def test_output_writes_the_report_to_a_file_and_nothing_to_stdout(sample: Path,
                                                                  fmt: str) -> None:
    shown = cli("--dry-run", "--no-cache", "--format", fmt, ".", cwd=sample)
    report = sample.parent / f"report.{fmt}"
    report.write_text("old contents")
    proc = cli("--dry-run", "--no-cache", "--format", fmt, "-o", str(report), ".", cwd=sample)
    assert proc.returncode == shown.returncode == 1
    assert proc.stdout == ""
    assert "files scanned" in proc.stderr
    assert report.read_text() == shown.stdout
    assert not list(sample.parent.glob(".testsec-*.tmp"))


def test_output_diff_keeps_the_file_encoding(tmp_path: Path) -> None:
    source = (FIXTURES / "sleep-polling-loop" / "event_wait.py").read_text()
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_l1.py").write_bytes(
        ("# -*- coding: latin-1 -*-\n# caf\xe9\n" + source).encode("latin-1"))
    out = tmp_path / "changes.diff"
    proc = cli("--dry-run", "--no-cache", "--output", str(out), "tests", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    data = out.read_bytes()
    assert b"+        done.wait(1)\n" in data and b"# caf\xe9\n" in data


def test_output_into_a_missing_folder_is_an_error_before_anything_is_done(sample: Path) -> None:
    before = _snapshot(sample)
    proc = cli("--no-cache", "-o", "no/such/dir/report.diff", ".", cwd=sample)
    assert proc.returncode == 2 and "no such folder" in proc.stderr
    assert _snapshot(sample) == before, "nothing was rewritten"


# -- suppressions through the CLI -------------------------------------------------------------

SUPPRESSED_TREE = {
    "tests/test_creds.py": """\
        class T(object):

            def setUp(self):
                self.adminPass = 'ABC123'  # testsec: ignore[TSF102]
                # testsec: ignore[TSF102]
                self.root_password = 'r00t'
                self.auth_token = 'tok'  # testsec: ignore
                self.token = 'tok2'  # testsec: ignore[TSF101]
                self.api_key = 'k3y'
        """,
}


def test_suppressed_findings_are_counted_not_reported(tmp_path: Path) -> None:
    write_tree(tmp_path, SUPPRESSED_TREE)
    shutil.copy(FIXTURES / "sleep-polling-loop" / "suppressed.py",
                tmp_path / "tests" / "test_loops.py")
    loops = (tmp_path / "tests" / "test_loops.py").read_text()

    diff = cli("--dry-run", "--no-cache", "tests", cwd=tmp_path)
    assert diff.returncode == 1
    assert "0 errors, 6 suppressed" in diff.stderr
    assert "TSF101: 3 fixed, 0 not fixed, 3 suppressed" in diff.stderr
    # (tests/ is no package: the file holds its own constants)
    assert "TSF102: 2 fixed, 0 not fixed, 3 suppressed" in diff.stderr
    assert ": not fixed: " not in diff.stderr
    assert diff.stdout.count("-    while not done.is_set()") == 0
    assert diff.stdout.count("+        done.wait(1)") == 3

    records = json.loads(cli("--dry-run", "--no-cache", "--format", "json", "tests",
                             cwd=tmp_path).stdout)
    hidden = sorted((r["path"], r["line"]) for r in records if r["suppressed"])
    assert hidden == [("tests/test_creds.py", 4), ("tests/test_creds.py", 6),
                      ("tests/test_creds.py", 7), ("tests/test_loops.py", 15),
                      ("tests/test_loops.py", 24), ("tests/test_loops.py", 34)]
    assert all(not r["fixed"] for r in records if r["suppressed"])

    _, doc = sarif("--dry-run", "tests", cwd=tmp_path)
    shown = sorted((r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                    r["locations"][0]["physicalLocation"]["region"]["startLine"])
                   for r in doc["runs"][0]["results"])
    assert shown == [("tests/test_creds.py", 8), ("tests/test_creds.py", 9),
                     ("tests/test_loops.py", 44), ("tests/test_loops.py", 54),
                     ("tests/test_loops.py", 63)]
    github = cli("--dry-run", "--no-cache", "--format", "github", "tests", cwd=tmp_path).stdout
    assert len(github.splitlines()) == 5 and "line=4," not in github

    # Written in place: the suppressed loops are still there, the others are not.
    assert cli("--no-cache", "tests", cwd=tmp_path).returncode == 1
    after = (tmp_path / "tests" / "test_loops.py").read_text()
    assert after.count("while not done.is_set()") == 3 == loops.count("# suppressed: TSF101")
    assert after.count("done.wait(1)") == 3
    again = cli("--no-cache", "tests", cwd=tmp_path)
    # Suppressed findings are not findings: nothing is left, exit 0.
    assert again.returncode == 0 and "TSF101: 0 fixed, 0 not fixed, 3 suppressed" in \
        again.stderr


def test_help_shows_the_formats_output_and_suppressions() -> None:
    proc = cli("--help", cwd=FIXTURES)
    assert proc.returncode == 0
    for text in ("--format [diff|json|sarif|github]", "-o, --output", "--format sarif -o",
                 "--format github", "# testsec: ignore[CODE]"):
        assert text in proc.stdout, text


# -- the SARIF fix regions --------------------------------------------------------------------

LINES = st.lists(st.sampled_from(["a", "b", "c", "", "d d"]), max_size=8)


@settings(max_examples=300, deadline=None)
@given(LINES, LINES, st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_replacements_turn_before_into_after(old, new, newline, open_end) -> None:
    before = "".join(line + newline for line in old)
    after = "".join(line + newline for line in new)
    if open_end and old and new and old[-1] and new[-1]:  # neither ends with a newline
        before, after = before[:-len(newline)], after[:-len(newline)]
    if before and not after:
        return  # a rewrite never empties a file
    assert apply(before, {"replacements": replacements(before, after)}) == after


def test_sarif_location_outside_the_root_is_a_file_uri(tmp_path: Path) -> None:
    """A path given relative but outside the run's folder (``../other/x.py``) is no URI
    under %SRCROOT%: it is written as an absolute file URI."""
    from testsec_fix.report import _artifact
    root = tmp_path / "run"
    root.mkdir()
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert _artifact("../other/x.py", str(root)) == \
            {"uri": (tmp_path / "other" / "x.py").as_uri()}
        assert _artifact("pkg/x.py", str(root)) == {"uri": "pkg/x.py", "uriBaseId": "%SRCROOT%"}
    finally:
        os.chdir(cwd)
