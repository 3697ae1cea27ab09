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
import io
import keyword
import tokenize
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Set, Tuple

from .sparse import split_lines, statement_lines, units

_OPEN, _CLOSE = "([{", ")]}"
_SKIP = {tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT}
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)
_HEADERS = {"if", "elif", "while", "for", "with", "def", "class", "async", "except", "try",
            "else", "finally", "match", "case"}
_MAX_BREAKS = 6
_MAX_MOVED = 5  # rows of a bracket made hanging, at most
_BUDGET = 200  # tries (each tokenizes the statement) in one wrap_rows, at most


@dataclass
class _Bracket:
    row: int  # 1-based row of the opening bracket
    line_indent: int  # indentation of that row
    subscript: bool  # ``x[...]``: not broken (a break there reads badly)
    indent: Optional[int] = None  # column a new line inside it starts at
    closed_on: Optional[int] = None
    end: int = 0  # column just after the bracket
    item: Optional[int] = None  # column of the first item, when it is on the bracket's row


@dataclass
class _Break:
    row: int
    cut: int  # the first part is ``line[:cut]``
    resume: int  # the new line holds ``line[resume:]``
    indent: int
    depth: int  # how many brackets it is inside
    opening: Optional[_Bracket] = None  # the bracket it breaks after, if it does


def wrap_rows(rows: Sequence[str], target: int, limit: int) -> Optional[List[str]]:
    """``rows`` (lines without their endings; ``rows[0]`` starts a statement) with row
    ``target`` (0-based) broken until every piece fits in ``limit`` characters, or ``None``
    when it cannot be."""
    budget = [_BUDGET]
    for breaks in range(1, _MAX_BREAKS + 1):  # the fewest breaks that do
        done = _wrap(list(rows), target, limit, breaks, budget)
        if done is not None or budget[0] <= 0:
            return done
    return None


def _wrap(rows: List[str], target: int, limit: int, depth: int,
          budget: List[int]) -> Optional[List[str]]:
    """A search: each place to break, best first (the outermost bracket, then the rightmost
    place), until the pieces fit; at most ``depth`` breaks, ``budget`` tries in all (shared
    by the searches of one ``wrap_rows``)."""
    line = rows[target]
    if len(line) <= limit:
        return rows
    if depth == 0 or budget[0] <= 0 or "\t" in line[:_indent(line)]:
        return None
    budget[0] -= 1
    found, rehung = _breaks(rows, target, limit) or ([], None)
    fitting = [b for b in found if len(line[:b.cut].rstrip()) <= limit]
    for best in sorted(fitting, key=lambda b: (b.depth, -b.cut)):
        tried = rows[:target] + [line[:best.cut].rstrip(), " " * best.indent + line[best.resume:]] \
            + rows[target + 1:]
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
    if tokens is None:
        return None
    stack: List[_Bracket] = []
    found: List[_Break] = []
    logical = _logical_line(tokens, row_no)
    header = bool(logical) and logical[0].type == tokenize.NAME and \
        logical[0].string in _HEADERS and logical[-1].string == ":"
    block_indent = _indent(rows[logical[0].start[0] - 1]) + 4 if logical else -1
    fstring = 0
    first: Optional[tokenize.TokenInfo] = None  # the first token of the row
    home: Optional[_Bracket] = None  # the bracket the row starts in
    on_row: List[Tuple[int, _Bracket]] = []  # brackets opened on the row, by column
    prev: Optional[tokenize.TokenInfo] = None
    pending: List[_Bracket] = []  # brackets waiting for their first item
    for i, tok in enumerate(tokens):
        if tok.type in _SKIP or tok.type == tokenize.NEWLINE:
            continue
        if _FSTRING_START is not None and tok.type == _FSTRING_START:
            fstring += 1
        elif _FSTRING_END is not None and tok.type == _FSTRING_END:
            fstring -= 1
            prev = tok
            continue
        if fstring:
            prev = tok
            continue
        for bracket in pending:
            bracket.indent = tok.start[1]  # the first item: where its other lines start
            if tok.start[0] == bracket.row:
                bracket.item = tok.start[1]
        pending = []
        if tok.start[0] == row_no and first is None:
            first = tok
            # The row starts inside this bracket: a new line in it lines up with the row,
            # whatever style its other lines follow.
            if stack and not (tok.type == tokenize.OP and tok.string in _CLOSE):
                home = stack[-1]
                home.indent = tok.start[1]
        if tok.type == tokenize.OP and tok.string in _OPEN:
            line = rows[tok.start[0] - 1]
            subscript = tok.string == "[" and prev is not None and (
                prev.type in (tokenize.NAME, tokenize.STRING) and not _keyword(prev)
                or prev.string in (")", "]"))
            bracket = _Bracket(tok.start[0], len(line) - len(line.lstrip()), subscript,
                               end=tok.end[1])
            stack.append(bracket)
            pending.append(bracket)
            if tok.start[0] == row_no:
                on_row.append((tok.start[1], bracket))
            if tok.start[0] == row_no:
                nxt = _next(tokens, i)
                if nxt is not None and nxt.start[0] == row_no and not (
                        nxt.type == tokenize.OP and nxt.string in _CLOSE) and not subscript:
                    hang = bracket.line_indent + 4
                    if header and hang == block_indent:
                        hang += 4
                    found.append(_Break(row_no, tok.end[1], nxt.start[1], hang, len(stack),
                                        bracket))
        elif tok.type == tokenize.OP and tok.string in _CLOSE:
            if stack:
                stack.pop().closed_on = tok.start[0]
        elif tok.type == tokenize.OP and tok.string == "," and tok.start[0] == row_no and stack:
            nxt = _next(tokens, i)
            top = stack[-1]
            if nxt is not None and nxt.start[0] == row_no and top.indent is not None and \
                    not top.subscript and not (nxt.type == tokenize.OP and nxt.string in _CLOSE):
                found.append(_Break(row_no, tok.end[1], nxt.start[1], top.indent,
                                    len(stack)))
        prev = tok
    # A break after an opening bracket turns its items into a hanging block: only when
    # they all sit on this line (no line below is lined up with the old first item).
    found = [b for b in found if b.opening is None or b.opening.closed_on == row_no]
    # Nor may a break move a bracket that the rows below are lined up with.
    found = [b for b in found if not any(bracket.closed_on != row_no
                                         for col, bracket in on_row if col >= b.resume)]
    rehung = None
    if home is not None and home.item is not None and home.closed_on is not None and \
            not home.subscript:
        hang = home.line_indent + 4
        if header and hang == block_indent:
            hang += 4
        rehung = _rehang(rows, tokens, home, hang, limit)
    return found, rehung


def _rehang(rows: Sequence[str], tokens: List[tokenize.TokenInfo], bracket: _Bracket,
            hang: int, limit: int) -> Optional[List[str]]:
    """The rows with ``bracket`` (its items lined up under the first, on the bracket's row)
    broken after the bracket and its rows moved to a hanging indent of ``hang``, keeping
    how they line up among themselves; ``None`` when a row starts inside a string or would
    not fit (or lose more than its indentation)."""
    first, last = bracket.row, bracket.closed_on or bracket.row
    if last - first >= _MAX_MOVED:
        return None  # a diff that rewrites a whole call for one name is no small change
    if _string_rows(tokens).intersection(range(first + 1, last + 1)):
        return None
    delta = hang - (bracket.item or 0)
    opener = rows[first - 1]
    out = list(rows[:first - 1]) + [opener[:bracket.end].rstrip(),
                                     " " * hang + opener[bracket.item:]]
    for row in rows[first:last]:
        if not row.strip():
            out.append(row)
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


def _keyword(tok: tokenize.TokenInfo) -> bool:
    return keyword.iskeyword(tok.string)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def rewrap(code: str, old: Set[str], limit: int, newline: str = "\n") -> str:
    """``code`` with each line that is new (not one of ``old``) and longer than ``limit``
    broken where it can be (new line breaks are ``newline``); a line that cannot be is left
    as it is. The tokens of the result are checked to be those of ``code``, or ``code`` is
    given back."""
    lines = split_lines(code)
    failed: Set[str] = set()
    while True:
        bare = [line.rstrip("\r\n") for line in lines]
        long_rows = [n for n, line in enumerate(bare)
                     if len(line) > limit and line not in old and line not in failed]
        if not long_rows:
            break
        n = long_rows[-1]
        try:
            tree = ast.parse("".join(lines))
        except SyntaxError:
            return code
        start = max((s for s in (statement_lines(u).start for u in units(tree)) if s <= n + 1),
                    default=None)
        wrapped = wrap_rows(bare[start - 1:], n - start + 1, limit) if start else None
        if wrapped is None:
            failed.add(bare[n])
            continue
        before = bare[start - 1:]
        same = 0  # rows alike at the start, then at the end
        while same < min(len(before), len(wrapped)) and before[same] == wrapped[same]:
            same += 1
        tail = 0
        while tail < min(len(before), len(wrapped)) - same and \
                before[-1 - tail] == wrapped[-1 - tail]:
            tail += 1
        first, last = start - 1 + same, len(lines) - tail  # the old rows [first, last)
        ending = lines[last - 1][len(bare[last - 1]):]
        pieces = wrapped[same:len(wrapped) - tail]
        lines[first:last] = [piece + newline for piece in pieces[:-1]] + [pieces[-1] + ending]
    new = "".join(lines)
    return new if new == code or _same_tokens(code, new) else code


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
