"""Reports of a run: JSON records, SARIF 2.1.0, GitHub Actions workflow commands.

Pure functions from results to data or text; the CLI chooses one and writes it. Paths are
given relative to the run directory (``root``), with ``/`` separators.
"""
from __future__ import annotations

import difflib
import hashlib
import inspect
import os
from bisect import bisect_right
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import quote

from . import __version__
from .model import FileResult, Finding, common_ends, helpers_by_request
from .sparse import split_lines

SARIF_SCHEMA = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
                "sarif-schema-2.1.0.json")
SRCROOT = "%SRCROOT%"
FINGERPRINT = "testsecFinding/v1"
# GitHub code scanning cuts a rule's fullDescription at 1024 characters.
MAX_DESCRIPTION = 1024


def relpath(path: str, root: Optional[str] = None) -> str:
    """``path`` relative to ``root`` (default: the current folder) with ``/``; a path
    outside it stays as it is."""
    rel = os.path.relpath(path, root or os.curdir)
    return path if rel.startswith("..") else rel.replace(os.sep, "/")


def describe(finding: Finding, result: FileResult, applied: bool) -> str:
    """A finding in one sentence: what it is and what became of it. ``applied``: the run
    wrote its changes (not ``--dry-run``)."""
    if not finding.fixed or result.error:
        return f"{finding.message}: not fixed: {finding.reason or result.error}"
    return f"{finding.message} ({'fixed' if applied else 'fix available'})"


def reported(result: FileResult) -> List[Finding]:
    """The findings a report shows: those no ``# testsec: ignore`` comment covers."""
    return [f for f in result.findings if not f.suppressed]


# -- JSON -------------------------------------------------------------------------------------

def json_records(results: Iterable[FileResult], root: Optional[str] = None) -> List[dict]:
    """One record per finding, suppressed ones included (``"suppressed": true``), and one per
    file that could not be done (``"code": "error"``). The fields are in the README."""
    records = []
    for result in results:
        path = relpath(result.path, root)
        if result.error:
            records.append({"path": path, "line": 0, "column": 0, "code": "error",
                            "message": result.error, "fixed": False, "reason": result.error,
                            "suppressed": False})
        records.extend({"path": path, "line": f.line, "column": f.column + 1, "code": f.code,
                        "message": f.message, "fixed": f.fixed, "reason": f.reason,
                        "suppressed": f.suppressed} for f in result.findings)
    return records


# -- GitHub Actions workflow commands ---------------------------------------------------------

def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_lines(results: Iterable[FileResult], names: Dict[str, str], applied: bool,
                 root: Optional[str] = None) -> List[str]:
    """``::warning file=…,line=…,col=…,title=CODE name::message`` per reported finding and
    ``::error file=…::message`` per file that could not be done. ``names``: code -> name."""
    lines = []
    for result in results:
        path = _escape_property(relpath(result.path, root))
        if result.error:
            lines.append(f"::error file={path}::{_escape_data(result.error)}")
        for f in reported(result):
            title = _escape_property(f"{f.code} {names.get(f.code, '')}".strip())
            lines.append(f"::warning file={path},line={f.line},col={f.column + 1},"
                         f"title={title}::{_escape_data(describe(f, result, applied))}")
    return lines


# -- SARIF 2.1.0 ------------------------------------------------------------------------------

def sarif(results: Sequence[FileResult], codemods: Sequence[type], applied: bool,
          root: Optional[str] = None) -> dict:
    """One SARIF run: every codemod as a rule, one result per reported finding, and the files
    that could not be done as tool execution notifications. A fixable finding has the fix
    unless it was ``applied`` already (written: the regions would be of the old text)."""
    root = os.path.abspath(root or os.curdir)
    rules = [_rule(cls) for cls in codemods]
    index = {cls.code: k for k, cls in enumerate(codemods)}
    changes = {} if applied else _helper_changes(results, root)
    out, notifications = [], []
    for result in results:
        location = _artifact(result.path, root)
        if result.error:
            notifications.append({
                "level": "error", "message": {"text": result.error},
                "locations": [{"physicalLocation": {"artifactLocation": location}}]})
        fix = None
        seen: Counter = Counter()
        for finding in reported(result):
            seen[(finding.code, finding.message)] += 1
            item = {
                "ruleId": finding.code,
                "level": "warning",
                "message": {"text": describe(finding, result, applied)},
                "locations": [{"physicalLocation": {
                    "artifactLocation": location,
                    "region": {"startLine": max(finding.line, 1),
                               "startColumn": finding.column + 1}}}],
                "partialFingerprints": {FINGERPRINT: _fingerprint(
                    finding, location["uri"], seen[(finding.code, finding.message)])},
            }
            if finding.code in index:
                item["ruleIndex"] = index[finding.code]
            if finding.fixed and result.changed and not applied:
                fix = fix or _fix(result, root, changes)
                item["fixes"] = [fix]
            out.append(item)
    driver = {"name": "testsec-fix", "version": __version__, "semanticVersion": __version__,
              "rules": rules}
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "originalUriBaseIds": {SRCROOT: {"uri": Path(root).as_uri().rstrip("/") + "/"}},
            "columnKind": "unicodeCodePoints",
            "invocations": [{"executionSuccessful": not notifications,
                             "toolExecutionNotifications": notifications}],
            "results": out,
        }],
    }


def _rule(cls) -> dict:
    doc, summary = inspect.getdoc(cls) or cls.name, cls.summary()
    what = doc.split("## What it does", 1)[-1].split("\n## ", 1)[0].strip() or summary
    if len(what) > MAX_DESCRIPTION:
        what = what[:MAX_DESCRIPTION - 1].rsplit(" ", 1)[0] + "…"
    fix = cls.fix_safety()
    return {
        "id": cls.code,
        "name": cls.name,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": what},
        "help": {"text": doc, "markdown": doc},
        "defaultConfiguration": {"level": "warning"},
        "properties": {"fixSafety": fix, "tags": [cls.name]},
    }


def _artifact(path: str, root: str) -> dict:
    rel = relpath(os.path.abspath(path), root)  # (a path outside the root: absolute, a file URI)
    if os.path.isabs(rel):  # outside the run directory
        return {"uri": Path(rel).as_uri()}
    return {"uri": quote(rel), "uriBaseId": SRCROOT}


def _fingerprint(finding: Finding, uri: str, occurrence: int) -> str:
    """Stable while lines move: the rule, the file, the message and which of the file's
    findings with that message this is."""
    key = f"{finding.code}\0{uri}\0{finding.message}\0{occurrence}"
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _helper_changes(results: Sequence[FileResult], root: str) -> Dict[Tuple[str, str], dict]:
    """(file, module it asked for) -> the change of that helper module (created or extended
    in this run), each change worked out once."""
    by_path = {os.path.abspath(r.path): _artifact_change(r, root) for r in results
               if r.requested and r.changed}
    return {key: by_path[path] for key, path in
            ((k, os.path.abspath(r.path)) for k, r in helpers_by_request(results).items())
            if path in by_path}


def _fix(result: FileResult, root: str, helpers: Dict[Tuple[str, str], dict]) -> dict:
    """The file's whole rewrite (and the helper modules it needs): every fixed finding of
    a file carries the same fix, as the rewrite is made for the whole file at once."""
    changes = [_artifact_change(result, root)]
    for request in result.helpers:
        change = helpers.get((os.path.abspath(result.path), request.module))
        if change and change not in changes:
            changes.append(change)
    names = ", ".join(c["artifactLocation"]["uri"] for c in changes)
    return {"description": {"text": f"testsec-fix's rewrite of {names}"},
            "artifactChanges": changes}


def _artifact_change(result: FileResult, root: str) -> dict:
    return {"artifactLocation": _artifact(result.path, root),
            "replacements": replacements(result.before, result.after)}


def replacements(before: str, after: str) -> List[dict]:
    """SARIF replacements that turn ``before`` into ``after``, one per changed run of
    lines; each region is in ``before``'s lines and columns (characters, 1-based)."""
    old, new = split_lines(before), split_lines(after)
    starts = [0]
    for line in old:
        starts.append(starts[-1] + len(line))
    open_end = bool(before) and not before.endswith(("\n", "\r"))
    spans: List[Tuple[int, int, str]] = []  # (start, end, new text), offsets in ``before``
    # Only the part between the common head and tail is matched (as for the diff).
    head, tail = common_ends(old, new)
    matcher = difflib.SequenceMatcher(None, old[head:len(old) - tail],
                                      new[head:len(new) - tail])
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag != "equal":
            spans.append((starts[head + a1], starts[head + a2],
                          "".join(new[head + b1:head + b2])))
    if spans:
        start, end, text = _before_last_newline(before, *spans[-1])
        if len(spans) > 1 and start <= spans[-2][1]:
            # Moved onto the change before it: one change of both, then moved.
            first = spans.pop(-2)
            start, end, text = _before_last_newline(
                before, first[0], spans[-1][1],
                first[2] + before[first[1]:spans[-1][0]] + spans[-1][2])
        spans[-1] = (start, end, text)
    return [{"deletedRegion": {**_position(starts, start, "start", open_end),
                               **_position(starts, end, "end", open_end)},
             "insertedContent": {"text": text}} for start, end, text in spans]


def _before_last_newline(before: str, start: int, end: int, text: str) -> Tuple[int, int, str]:
    """A change at the very end of a file that ends with a newline would end after its last
    line, where no line is: the same change, made just before that newline."""
    newline = next((n for n in ("\r\n", "\n", "\r") if before.endswith(n)), "")
    n = len(newline)
    if not newline or end != len(before):
        return start, end, text
    if text.endswith(newline):
        if start == end:  # an insertion after the last line
            return start - n, end - n, newline + text[:-n]
        return start, end - n, text[:-n]
    if not text and start > 0 and before[:start].endswith(newline):
        return start - n, end - n, ""  # the last lines deleted: from the line before's end
    return start, end, text  # (the new text loses the last newline: not made by a rewrite)


def _position(starts: List[int], offset: int, which: str, open_end: bool) -> dict:
    """SARIF ``<which>Line`` and ``<which>Column`` of a character offset. ``starts``: where
    each line starts, and the text's length last; ``open_end``: the last line has no
    newline (its end is on it, not on a next line)."""
    k = bisect_right(starts, offset) - 1
    if open_end and offset == starts[-1]:
        k = len(starts) - 2
    return {f"{which}Line": k + 1, f"{which}Column": offset - starts[k] + 1}
