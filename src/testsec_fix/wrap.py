"""Break a line a rewrite made too long, the way a person would, or say it cannot be done.

A line is broken only inside brackets, after a comma or after an opening bracket whose
contents all sit on that line, so the break changes no token: Python joins lines inside
brackets. The new line is indented the way pycodestyle wants it: under the first item of a
bracket opened on its line with an item after it (a visual indent), at the indent of the
bracket's other lines (a hanging indent), or four columns in from the broken line when it
breaks after the opening bracket (eight in a ``def``, ``if``... header, so the break stands
out from the block below it). When the row has no such place but starts inside a bracket
whose items are lined up under its first one, that bracket is broken after and its rows
moved together to a hanging indent. The fewest breaks that make every piece fit win; among
as many, the outermost bracket first, then the rightmost place (the new line is then as
short as it can be).

Only ``tokenize`` is used (no LibCST): the same code answers "can this be wrapped?" while a
codemod plans its fix, on the text it would write, and then wraps the text it wrote.
"""
from __future__ import annotations

import ast
import difflib
import io
import keyword
import re
import tokenize
from collections import Counter
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Set, Tuple

from .model import common_ends
from .sparse import split_lines, statement_lines, units

_OPEN, _CLOSE = "([{", ")]}"
_SKIP = {tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT}
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)
# Keywords that open a block header which can hold a bracket.
_HEADERS = {"if", "elif", "while", "for", "with", "def", "class", "async", "except", "match",
            "case"}
_PRAGMA = re.compile(r"#.*\b(?:noqa|type:|pragma|pylint:|testsec:)")
_MAX_BREAKS = 6
_MAX_MOVED = 5  # rows of a bracket made hanging, at most
_BUDGET = 200  # tries (each tokenizes the statement) in one wrap_rows, at most


@dataclass
class _Bracket:
    row: int  # 1-based row of the opening bracket
    col: int  # its column
    end: int  # the column just after it
    line_indent: int  # indentation of its row
    subscript: bool  # ``x[...]``: not broken (a break there reads badly)
    item: Optional[int] = None  # column of the first item, when it is on the bracket's row
    indent: Optional[int] = None  # column a new line inside it starts at
    closed_on: Optional[int] = None
    closed_col: Optional[int] = None  # the column of its closing bracket


@dataclass
class _Break:
    cut: int  # the first part is ``line[:cut]``
    resume: int  # the new line holds ``line[resume:]``
    indent: int
    depth: int  # how many brackets it is inside
    opening: Optional[_Bracket] = None  # the bracket it breaks after, if it does


class _Budget:
    """How many more tries (each tokenizes the statement) one ``wrap_rows`` may make."""

    def __init__(self, tries: int) -> None:
        self.tries = tries

    def spend(self) -> bool:
        self.tries -= 1
        return self.tries >= 0


def wrap_rows(rows: Sequence[str], target: int, limit: int) -> Optional[List[str]]:
    """``rows`` (lines without their endings; ``rows[0]`` starts a statement) with row
    ``target`` (0-based) broken until every piece fits in ``limit`` characters, or ``None``
    when it cannot be."""
    budget = _Budget(_BUDGET)
    for breaks in range(1, _MAX_BREAKS + 1):  # the fewest breaks that do
        done = _wrap(list(rows), target, limit, breaks, budget)
        if done is not None or budget.tries <= 0:
            return done
    return None


def _wrap(rows: List[str], target: int, limit: int, depth: int,
          budget: _Budget) -> Optional[List[str]]:
    """A search: each place to break, best first (the outermost bracket, then the rightmost
    place), until the pieces fit; at most ``depth`` breaks, ``budget`` tries in all (shared
    by the searches of one ``wrap_rows``)."""
    line = rows[target]
    if len(line) <= limit:
        return rows
    if depth == 0 or "\t" in line[:_indent(line)] or not budget.spend():
        return None
    found, rehung = _breaks(rows, target, limit) or ([], None)
    fitting = [b for b in found if len(line[:b.cut].rstrip()) <= limit]
    for best in sorted(fitting, key=lambda b: (b.depth, -b.cut)):
        pieces = [line[:best.cut].rstrip(), " " * best.indent + line[best.resume:]]
        tried = rows[:target] + pieces + rows[target + 1:]
        done = _wrap(tried, target + 1, limit, depth - 1, budget)
        if done is not None:
            return done
    if rehung is not None:  # the row's bracket, lined up under its first item, made hanging
        return _wrap(rehung, target + 1, limit, depth - 1, budget)
    return None


def _breaks(rows: Sequence[str], target: int,
            limit: int) -> Optional[Tuple[List[_Break], Optional[List[str]]]]:
    """The places row ``target`` may be broken at, and the rows with the bracket the row
    starts in made a hanging one (``None`` when it cannot be)."""
    row_no = target + 1
    tokens = _tokens(rows, row_no)
    if tokens is None or _PRAGMA.search(rows[target]) and _comment_on(tokens, row_no):
        return None  # a pragma (noqa, type: ignore...) applies to its line: not moved
    strings = _string_rows(tokens)
    if row_no in strings:
        return None  # the row starts inside a string: its indentation is no guide
    logical = _logical_line(tokens, row_no)
    header = bool(logical) and logical[0].type == tokenize.NAME and \
        logical[0].string in _HEADERS and logical[-1].string == ":"
    block_indent = _indent(rows[logical[0].start[0] - 1]) + 4 if logical else -1

    def hanging(bracket: _Bracket) -> int:
        """Four in from the bracket's row; eight where that is the block's own indent."""
        hang = bracket.line_indent + 4
        return hang + 4 if header and hang == block_indent else hang

    brackets: List[_Bracket] = []  # every bracket of the statement, in order
    stack: List[_Bracket] = []
    found: List[_Break] = []
    home: Optional[_Bracket] = None  # the bracket the row starts in
    first: Optional[tokenize.TokenInfo] = None  # the first token of the row
    prev: Optional[tokenize.TokenInfo] = None
    pending: List[_Bracket] = []  # brackets waiting for their first item
    fstring = 0
    for i, tok in enumerate(tokens):
        if tok.type in _SKIP or tok.type == tokenize.NEWLINE:
            continue
        if not fstring:  # an f-string (3.12 tokens) is one item, seen at its start
            for bracket in pending:
                bracket.indent = tok.start[1]  # the first item: where its other lines start
                if tok.start[0] == bracket.row:
                    bracket.item = tok.start[1]
            pending = []
            if tok.start[0] == row_no and first is None:
                first = tok
                # The row starts inside this bracket: a new line in it lines up with the
                # row, whatever style its other lines follow.
                if stack and not (tok.type == tokenize.OP and tok.string in _CLOSE):
                    home = stack[-1]
        if _FSTRING_START is not None and tok.type == _FSTRING_START:
            fstring += 1
        elif _FSTRING_END is not None and tok.type == _FSTRING_END:
            fstring -= 1
        elif fstring:
            pass  # brackets and commas inside an f-string's fields are not broken
        elif tok.type == tokenize.OP and tok.string in _OPEN:
            line = rows[tok.start[0] - 1]
            subscript = tok.string == "[" and prev is not None and (
                prev.type in (tokenize.NAME, tokenize.STRING)
                and not keyword.iskeyword(prev.string) or prev.string in (")", "]"))
            bracket = _Bracket(tok.start[0], tok.start[1], tok.end[1], _indent(line), subscript)
            brackets.append(bracket)
            stack.append(bracket)
            pending.append(bracket)
            nxt = _next(tokens, i)
            if tok.start[0] == row_no and not subscript and nxt is not None and \
                    nxt.start[0] == row_no and not (nxt.type == tokenize.OP and
                                                    nxt.string in _CLOSE):
                found.append(_Break(tok.end[1], nxt.start[1], hanging(bracket), len(stack),
                                    bracket))
        elif tok.type == tokenize.OP and tok.string in _CLOSE:
            if stack:
                closed = stack.pop()
                closed.closed_on, closed.closed_col = tok.start
        elif tok.type == tokenize.OP and tok.string == "," and tok.start[0] == row_no and stack:
            nxt = _next(tokens, i)
            top = stack[-1]
            indent = first.start[1] if top is home and first is not None else top.indent
            if nxt is not None and nxt.start[0] == row_no and indent is not None and \
                    not top.subscript and not (nxt.type == tokenize.OP and nxt.string in _CLOSE):
                found.append(_Break(tok.end[1], nxt.start[1], indent, len(stack)))
        prev = tok
    # A break after an opening bracket turns its items into a hanging block: only when
    # they all sit on this line (no line below is lined up with the old first item). Nor
    # may a break move a bracket that the rows below are lined up with.
    found = [b for b in found if (b.opening is None or b.opening.closed_on == row_no)
             and not any(k.row == row_no and k.col >= b.resume and k.closed_on != row_no
                         for k in brackets)]
    rehung = None
    if home is not None and home.item is not None and home.closed_on is not None and \
            not home.subscript and not strings.intersection(range(home.row + 1,
                                                                  home.closed_on + 1)):
        # Every bracket opened from the first item on must close by the last row moved, or
        # the rows after it that line up with it would be left behind.
        if all(k.closed_on is not None and k.closed_on <= home.closed_on for k in brackets
               if (home.row, home.item) < (k.row, k.col) and k.row <= home.closed_on):
            rehung = _rehang(rows, home, hanging(home), limit)
    return found, rehung


def _comment_on(tokens: List[tokenize.TokenInfo], row_no: int) -> bool:
    return any(t.type == tokenize.COMMENT and t.start[0] == row_no and _PRAGMA.search(t.string)
               for t in tokens)


def _rehang(rows: Sequence[str], bracket: _Bracket, hang: int,
            limit: int) -> Optional[List[str]]:
    """The rows with ``bracket`` (whose first item is on its row) broken after the bracket
    and its rows moved to a hanging indent of ``hang``, keeping how they line up among
    themselves; ``None`` when it spans too many rows, or a row would not fit or would start
    left of the others. (The caller has checked no moved row starts inside a string and
    no bracket the rows line up with is left behind.)"""
    first, last = bracket.row, bracket.closed_on or bracket.row
    if last - first >= _MAX_MOVED:
        return None  # a diff that rewrites a whole call for one name is no small change
    delta = hang - (bracket.item or 0)
    opener = rows[first - 1]
    out = list(rows[:first - 1]) + [opener[:bracket.end].rstrip(),
                                     " " * hang + opener[bracket.item:]]
    for number, row in enumerate(rows[first:last], first + 1):
        if not row.strip():
            out.append(row)
            continue
        if number == last and _indent(row) == bracket.closed_col:
            # The bracket's own closing bracket, on a row of its own: under the start of the
            # opening row now, as pycodestyle wants it of a hanging bracket (E123).
            out.append(" " * bracket.line_indent + row.lstrip())
            continue
        if delta < 0 and row[:-delta].strip():
            return None
        moved = row[-delta:] if delta < 0 else " " * delta + row
        if len(moved) > max(limit, len(row)) or _indent(moved) < hang:
            return None  # too long, or left of the bracket's other rows
        out.append(moved)
    if len(out[first - 1]) > limit or len(out[first]) > limit:
        return None
    return out + list(rows[last:])


def _string_rows(tokens: List[tokenize.TokenInfo]) -> Set[int]:
    """The rows that start inside a string (or an f-string, from Python 3.12 on)."""
    out: Set[int] = set()
    opened: List[int] = []
    for tok in tokens:
        if tok.type == tokenize.STRING:
            out.update(range(tok.start[0] + 1, tok.end[0] + 1))
        elif _FSTRING_START is not None and tok.type == _FSTRING_START:
            opened.append(tok.start[0])
        elif _FSTRING_END is not None and tok.type == _FSTRING_END and opened:
            out.update(range(opened.pop() + 1, tok.end[0] + 1))
    return out


def _tokens(rows: Sequence[str], row_no: int) -> Optional[List[tokenize.TokenInfo]]:
    """The tokens of ``rows`` up to the end of the logical line holding row ``row_no``."""
    def readline() -> Iterator[str]:
        for row in rows:
            yield row + "\n"

    out = []
    try:
        for tok in tokenize.generate_tokens(readline().__next__):
            out.append(tok)
            if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER) and tok.start[0] >= row_no:
                return out
    except (tokenize.TokenError, SyntaxError, StopIteration):
        return None
    return None


def _next(tokens: List[tokenize.TokenInfo], i: int) -> Optional[tokenize.TokenInfo]:
    for tok in tokens[i + 1:]:
        if tok.type not in (tokenize.NL, tokenize.COMMENT):
            return None if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER) else tok
    return None


def _logical_line(tokens: List[tokenize.TokenInfo], row_no: int) -> List[tokenize.TokenInfo]:
    """The significant tokens of the logical line holding row ``row_no``."""
    start = 0
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.NEWLINE and tok.start[0] < row_no:
            start = i + 1
    return [t for t in tokens[start:]
            if t.type not in _SKIP and t.type not in (tokenize.NEWLINE, tokenize.ENDMARKER)]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def rewrap(code: str, old: str, limit: int, newline: str = "\n") -> str:
    """``code`` (a rewrite of ``old``) with each line the rewrite made or changed that is
    longer than ``limit`` broken where it can be (new line breaks are ``newline``); a line
    that cannot be is left as it is. The tokens of the result are checked to be those of
    ``code``, or ``code`` is given back."""
    lines = split_lines(code)
    bare = [line.rstrip("\r\n") for line in lines]
    if all(len(line) <= limit for line in bare):
        return code
    fresh = _fresh([line.rstrip("\r\n") for line in split_lines(old)], bare, limit)
    try:
        starts = sorted(statement_lines(u).start for u in units(ast.parse(code)))
    except SyntaxError:
        return code
    while True:
        long_rows = [n for n, line in enumerate(bare) if fresh[n] and len(line) > limit]
        if not long_rows:
            break
        n = long_rows[-1]
        fresh[n] = False  # tried once
        start = max((s for s in starts if s <= n + 1), default=None)
        wrapped = wrap_rows(bare[start - 1:], n - start + 1, limit) if start else None
        if wrapped is None:
            continue
        same, tail = common_ends(bare[start - 1:], wrapped)
        first, last = start - 1 + same, len(lines) - tail  # the old rows [first, last)
        ending = lines[last - 1][len(bare[last - 1]):]
        pieces = wrapped[same:len(wrapped) - tail]
        lines[first:last] = [piece + newline for piece in pieces[:-1]] + [pieces[-1] + ending]
        bare[first:last] = pieces
        fresh[first:last] = [False] * len(pieces)  # (each piece fits; moved rows were tried)
        added = len(pieces) - (last - first)
        starts = [s if s <= first + 1 else s + added for s in starts]
    new = "".join(lines)
    return new if new == code or _same_tokens(code, new) else code


def _fresh(before: List[str], after: List[str], limit: int) -> List[bool]:
    """Which lines of ``after`` the rewrite made or changed. A line whose text ``before``
    lacks is; a long line ``before`` has fewer copies of is told by place (difflib, on the
    part between the common head and tail: slow on a big file, so only then)."""
    had = Counter(before)
    fresh = [line not in had for line in after]
    now = Counter(after)
    if any(len(line) > limit and 0 < had[line] < now[line] for line in now):
        head, tail = common_ends(before, after)
        matcher = difflib.SequenceMatcher(None, before[head:len(before) - tail],
                                          after[head:len(after) - tail], autojunk=False)
        for tag, _, _, j1, j2 in matcher.get_opcodes():
            if tag in ("replace", "insert"):
                fresh[head + j1:head + j2] = [True] * (j2 - j1)
    return fresh


def _same_tokens(a: str, b: str) -> bool:
    """Whether two texts hold the same tokens (line breaks inside brackets aside)."""
    skip = {tokenize.NL}

    def stream(text: str):
        return [(t.type, t.string) for t in
                tokenize.generate_tokens(io.StringIO(text).readline) if t.type not in skip]
    try:
        return stream(a) == stream(b)
    except (tokenize.TokenError, SyntaxError):
        return False
