"""Result values: what a run found and did, one frozen value per file.

Failures are values too (``FileResult.error``), so one bad file never stops a batch, and
results cross process boundaries (they are picklable).
"""
from __future__ import annotations

import difflib
import hashlib
import os
import re
from dataclasses import dataclass, field, replace
from typing import Dict, Optional, Tuple


@dataclass(frozen=True)
class Finding:
    """One thing a codemod saw: fixed (``fixed=True``) or left alone with a ``reason``.
    ``line`` is 1-based, ``column`` 0-based (in characters); ``suppressed``: a
    ``# testsec: ignore`` comment covers it (never fixed then)."""

    code: str
    line: int
    column: int
    message: str
    fixed: bool
    reason: Optional[str] = None
    suppressed: bool = False


@dataclass(frozen=True)
class ImportRequest:
    """``from module import name [as asname]``, or ``import module`` when ``name`` is empty."""

    module: str
    name: str = ""
    asname: str = ""


@dataclass(frozen=True)
class HelperRequest:
    """A helper function a rewrite calls, which must exist in ``module`` (dotted name)."""

    module: str
    name: str
    source: str  # the function's source, defined at module level
    imports: Tuple[ImportRequest, ...] = ()  # module-level imports the function needs
    # A constant (``NAME = 'value'``) rather than a function: its value, which a module that
    # binds the name already must bind it to.
    value: Optional[str] = None
    doc: str = ""  # the docstring of the module, if the module has to be created


@dataclass(frozen=True)
class FileResult:
    """What happened to one file. ``after`` equals ``before`` when nothing changed."""

    path: str
    before: str = ""
    after: str = ""
    findings: Tuple[Finding, ...] = ()
    error: Optional[str] = None
    helpers: Tuple[HelperRequest, ...] = field(default=())
    created: bool = False  # the file did not exist before (a helper module)
    skipped: bool = False  # no codemod's trigger matched: never parsed
    encoding: str = "utf-8"  # of the file on disk; "utf-8-sig" has a BOM
    digest: str = ""  # sha256 of the file's bytes as read (what a later write checks)
    # A helper module: the (file, dotted module name) requests it answers, set by the run.
    requested: Tuple[Tuple[str, str], ...] = ()
    # The diff's hunks as worked out already (by a worker, or read from the cache): (the
    # fingerprint of the texts they were made from, the hunks). Used for those texts only.
    hunks: Tuple[str, str] = field(default=("", ""), compare=False, repr=False)

    @property
    def changed(self) -> bool:
        return self.error is None and self.after != self.before

    def diff(self, relpath: Optional[str] = None) -> str:
        """A unified diff with ``a/`` and ``b/`` prefixes, as ``git apply`` takes it. Its
        text is the file's own: write it out with ``diff_bytes``."""
        if not self.changed:
            return ""
        name = relpath or self.path
        old = "/dev/null" if self.created else f"a/{name}"
        texts = self._texts()
        known, hunks = self.hunks
        if known != _fingerprint(*texts):
            hunks = "".join(_unified(*map(_lines, texts)))
        return f"--- {old}\n+++ b/{name}\n{hunks}"

    def with_hunks(self) -> "FileResult":
        """This result with its diff's hunks worked out, for ``diff`` to use (a worker
        works them out, the cache keeps them)."""
        if not self.changed:
            return self
        texts = self._texts()
        return replace(self, hunks=(_fingerprint(*texts),
                                    "".join(_unified(*map(_lines, texts)))))

    def _texts(self) -> Tuple[str, str]:
        """The texts the diff compares: a file with a BOM shows it."""
        bom = "\ufeff" if self.encoding == "utf-8-sig" else ""
        return (bom + self.before if self.before else "", bom + self.after)

    def diff_bytes(self, relpath: Optional[str] = None) -> bytes:
        """The diff in the file's encoding (a latin-1 file's patch holds latin-1 bytes)."""
        encoding = "utf-8" if self.encoding == "utf-8-sig" else self.encoding
        return self.diff(relpath).encode(encoding, "surrogateescape")


def helpers_by_request(results) -> Dict[Tuple[str, str], "FileResult"]:
    """(absolute path of a file, module it asked for) -> that helper module's result."""
    return {(os.path.abspath(path), module): r for r in results for path, module in r.requested}


def common_ends(a: list, b: list) -> Tuple[int, int]:
    """How many items ``a`` and ``b`` share at the start, and then at the end."""
    head = 0
    while head < len(a) and head < len(b) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < len(a) - head and tail < len(b) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    return head, tail


_HUNK = re.compile(r"^@@ -(\d+)((?:,\d+)?) \+(\d+)((?:,\d+)?) @@")


def _fingerprint(before: str, after: str) -> str:
    """Tells the texts a diff was made from."""
    digest = hashlib.sha256(f"{len(before)}:".encode())
    for text in (before, after):
        digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _unified(a: list, b: list, n: int = 3) -> list:
    """The hunks of ``difflib.unified_diff`` (not its two header lines), matching only the
    part between the common head and tail (a rewrite changes a few places in a long file;
    matching all of it is the slow part)."""
    head, tail = common_ends(a, b)
    low = max(0, head - n)
    keep = max(0, tail - n)
    out = []
    for line in _hunks(a[low:len(a) - keep], b[low:len(b) - keep], n, low == 0, keep == 0):
        match = _HUNK.match(line)
        if match and low:
            line = (f"@@ -{int(match.group(1)) + low}{match.group(2)} "
                    f"+{int(match.group(3)) + low}{match.group(4)} @@" + line[match.end():])
        out.append(line)
    return out


_GIT_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


def _hunks(a: list, b: list, n: int, at_start: bool = True, at_end: bool = True):
    """The hunks of ``difflib.unified_diff`` (no header lines), each with its ``n`` lines of
    context where the file goes on (``at_start``/``at_end``: whether ``a`` and ``b`` begin
    and end the file). difflib's "popular line" heuristic (autojunk) can leave lines such as
    ``)`` unmatched in a long part, and a hunk then ends without the context ``git apply``
    needs to place it: such a diff is made again without the heuristic (slower, so only
    then)."""
    groups = list(difflib.SequenceMatcher(None, a, b).get_grouped_opcodes(n))
    if not all(_placed(g, len(a), len(b), n, at_start, at_end) for g in groups):
        groups = list(difflib.SequenceMatcher(None, a, b, autojunk=False)
                      .get_grouped_opcodes(n))
    for group in groups:
        first, last = group[0], group[-1]
        yield (f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield from (" " + line for line in a[i1:i2])
                continue
            if tag in ("replace", "delete"):
                yield from ("-" + line for line in a[i1:i2])
            if tag in ("replace", "insert"):
                yield from ("+" + line for line in b[j1:j2])


def _placed(group: list, len_a: int, len_b: int, n: int, at_start: bool,
            at_end: bool) -> bool:
    """Whether a hunk has ``n`` lines of context before and after it, or is at the file's
    start or end."""
    first, last = group[0], group[-1]
    start = first[0] == "equal" and first[2] - first[1] >= n or \
        at_start and first[1] == 0 and first[3] == 0
    end = last[0] == "equal" and last[2] - last[1] >= n or \
        at_end and last[2] == len_a and last[4] == len_b
    return start and end


def _range(start: int, stop: int) -> str:
    """A hunk's range as ``difflib`` writes it."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


NO_EOL = "\n\\ No newline at end of file\n"  # git's marker after a last line without one


def _lines(text: str) -> list:
    """Lines split where git splits them: at LF only (a file with CR-only newlines is one
    line to git, and a patch must say so for ``git apply`` to take it); a last line without
    newline gets git's marker."""
    lines = _GIT_LINE.findall(text)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += NO_EOL
    return lines
