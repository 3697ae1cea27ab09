"""In-source suppressions: ``# testsec: ignore[CODE1,CODE2]`` or a bare ``# testsec: ignore``.

A suppression comment covers its own line; a comment alone on its line also covers the next
line. Only real comments count (not text in a string), so the file is tokenized, and only
when the text names ``testsec:`` at all.
"""
from __future__ import annotations

import io
import re
import tokenize
from typing import Dict, FrozenSet, Iterable, Optional, Tuple

# ``ignore`` with a list of codes, or bare (then followed by the end, a space or another
# comment). A malformed or empty list (``ignore[TSF101``, ``ignore[]``) suppresses nothing.
_COMMENT = re.compile(r"testsec:\s*ignore(?:\[(?P<codes>[\w\s,]*)\]|(?=\s|#|$))")

ALL: FrozenSet[str] = frozenset({"*"})  # a bare ``ignore``: every code
# The reason a codemod gives for a finding it leaves alone because a comment covers a line of
# it (not always the finding's own line: any line the fix would rewrite).
SUPPRESSED = "suppressed by a '# testsec: ignore' comment"


class Suppressions:
    """Which codes are suppressed on which line (1-based, of the original file)."""

    def __init__(self, lines: Optional[Dict[int, FrozenSet[str]]] = None) -> None:
        self.lines: Dict[int, FrozenSet[str]] = lines or {}

    def __bool__(self) -> bool:
        return bool(self.lines)

    def covers(self, code: str, line: int) -> bool:
        codes = self.lines.get(line)
        return codes is not None and ("*" in codes or code in codes)

    def plus(self, pairs: Iterable[Tuple[str, int]]) -> "Suppressions":
        """These suppressions and one for each (code, line) pair."""
        lines = dict(self.lines)
        for code, line in pairs:
            lines[line] = lines.get(line, frozenset()) | {code}
        return Suppressions(lines)


NONE = Suppressions()


def parse(text: str) -> Suppressions:
    """The suppressions of a file's text (empty when it has none, or cannot be tokenized)."""
    if "testsec:" not in text:
        return NONE
    found: Dict[int, FrozenSet[str]] = {}
    code_lines = set()  # lines holding something other than a comment
    comments = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                match = _COMMENT.search(tok.string)
                if match:
                    comments.append((tok.start[0], _codes(match.group("codes"))))
            elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                                  tokenize.DEDENT, tokenize.ENDMARKER):
                code_lines.update(range(tok.start[0], tok.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):
        return NONE
    for line, codes in comments:
        # A comment on a line of its own covers the next line too.
        for covered in (line,) if line in code_lines else (line, line + 1):
            found[covered] = codes | found.get(covered, frozenset())
    return Suppressions(found)


def _codes(listed: Optional[str]) -> FrozenSet[str]:
    if listed is None:
        return ALL
    return frozenset(c.strip().upper() for c in listed.split(",") if c.strip())
