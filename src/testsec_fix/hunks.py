"""A change cut into hunks, the text made from a choice of them, and what such a text still
needs (``--interactive``). Pure: no click, no I/O.

The hunks are the unified diff's own (``FileResult.diff`` makes the same ones, so the hunks
asked about are the ones ``--dry-run`` prints).
"""
from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass
from typing import List, Optional, Sequence, Set, Tuple

from .astutil import ast_bindings
from .model import _HUNK, NO_EOL as _NO_EOL, _lines, _unified
from .sparse import split_lines


@dataclass(frozen=True)
class Hunk:
    start: int  # index of the first of ``old`` in the old text's lines
    old: Tuple[str, ...]  # the old lines it spans (context and removed), newlines kept
    new: Tuple[str, ...]  # what they become (context and added)
    text: str  # as the diff shows it: the ``@@`` line, then the lines

    def spans(self, line: int) -> bool:
        """Whether old line ``line`` (1-based) is one of the hunk's."""
        return self.start < line <= self.start + len(self.old)


def split(before: str, after: str, context: int = 3) -> List[Hunk]:
    """The hunks that turn ``before`` into ``after``."""
    rows = _unified(_lines(before), _lines(after), "a", "b", context)[2:]  # no ---/+++
    hunks: List[list] = []
    for row in rows:
        if row.startswith("@@"):
            match = _HUNK.match(row)
            assert match, row
            # difflib numbers from 1, but an empty range from the line before it.
            start = int(match.group(1)) - (match.group(2) != ",0")
            hunks.append([start, [], [], [row]])
            continue
        hunk = hunks[-1]
        hunk[3].append(row)
        line = _raw(row[1:])
        if row[0] in " -":
            hunk[1].append(line)
        if row[0] in " +":
            hunk[2].append(line)
    return [Hunk(start, tuple(old), tuple(new), "".join(text))
            for start, old, new, text in hunks]


def apply(before: str, hunks: Sequence[Hunk], accepted: Sequence[bool]) -> str:
    """``before`` with the accepted hunks applied (all of them give ``after``)."""
    lines = split_lines(before)
    out: List[str] = []
    at = 0
    for hunk, ok in zip(hunks, accepted):
        assert tuple(lines[hunk.start:hunk.start + len(hunk.old)]) == hunk.old
        out += lines[at:hunk.start]
        out += hunk.new if ok else hunk.old
        at = hunk.start + len(hunk.old)
    return "".join(out + lines[at:])


def _raw(line: str) -> str:
    """A line of ``model._lines`` without the no-newline marker."""
    return line[:-len(_NO_EOL)] if line.endswith(_NO_EOL) else line


def problem(text: str, before: str, after: str, path: str = "<file>") -> Optional[str]:
    """Why ``text`` (made from some of the hunks from ``before`` to ``after``) must not be
    written, or None: it does not compile, or it uses a name that ``before`` or ``after``
    binds and it no longer does (an import whose hunk was left out, a loop's rewrite left
    without the import it needs)."""
    try:
        compile(text, path, "exec", dont_inherit=True)
        tree = ast.parse(text)
    except (SyntaxError, ValueError) as exc:
        where = f"line {exc.lineno}: " if getattr(exc, "lineno", None) else ""
        return f"the accepted hunks do not compile ({where}{getattr(exc, 'msg', exc)})"
    known = _bound(ast.parse(before)) | _bound(ast.parse(after))
    missing = sorted((_read(tree) - _bound(tree) - set(dir(builtins))) & known)
    if missing:
        return f"with only the accepted hunks, {', '.join(missing)} would be used but not defined"
    return None


def needs(text: str, before: str, module: str, name: str) -> bool:
    """Whether ``text`` needs helper ``name`` of ``module`` where ``before`` did not: it
    mentions ``name`` more often, or imports the module (or from it) anew."""
    new, old = ast.parse(text), ast.parse(before)
    if _mentions(new, name) > _mentions(old, name):
        return True
    added = set(ast_bindings(new).values()) - set(ast_bindings(old).values())
    return any(path == module or path.startswith(module + ".") for path in added)


def defines(text: str, name: str) -> bool:
    """Whether module text ``text`` defines ``name`` at its top level."""
    tree = ast.parse(text)
    return name in ast_bindings(tree) or any(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and node.name == name for node in tree.body)


def _mentions(tree: ast.AST, name: str) -> int:
    return sum(1 for node in ast.walk(tree)
               if isinstance(node, ast.Name) and node.id == name
               or isinstance(node, ast.Attribute) and node.attr == name)


def _read(tree: ast.AST) -> Set[str]:
    return {node.id for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def _bound(tree: ast.AST) -> Set[str]:
    """Every name bound anywhere in ``tree``, whatever the scope (a use is checked against
    the whole file only: this finds what a left-out hunk took away, not every slip)."""
    out: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update(a.asname or a.name.split(".")[0] for a in node.names)
        else:  # except ... as name; match patterns' captures
            for attr in ("name", "rest"):
                value = getattr(node, attr, None)
                if isinstance(value, str) and not isinstance(node, ast.alias):
                    out.add(value)
    return out
