"""Give LibCST only the top-level statements a codemod must rewrite.

LibCST parses about ten times slower than ``ast``. A statement no codemod needs is replaced
by one marker comment for its whole run of lines; the marked text is what LibCST parses. After
the rewrite each marker is swapped back for the original lines it stands for, so the untouched
parts come back byte for byte. A line map turns line numbers of the marked text into the
original's.
"""
from __future__ import annotations

import ast
import re
import secrets
from dataclasses import dataclass
from typing import List, Optional, Set

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
# A marker names its run of original lines and carries a nonce drawn afresh for each process
# (and checked absent from the text), so no comment in a file can pass for one.
_NONCE = secrets.token_hex(6)
_MARK = "#`testsec-fix:" + _NONCE + ":{}-{}`"
_MARK_RE = re.compile(r"^[ \t]*#`testsec-fix:" + _NONCE + r":(\d+)-(\d+)`(\r\n|\r|\n)?$")


class SparseError(Exception):
    """Markers did not survive the rewrite; the caller falls back to a full parse."""


def split_lines(text: str) -> List[str]:
    """Lines with their endings, split where Python's tokenizer splits them."""
    lines = _LINE.findall(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def statement_lines(node: ast.stmt) -> range:
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return range(start, (node.end_lineno or node.lineno) + 1)


def units(tree: ast.Module) -> List[ast.stmt]:
    """The statements a codemod's ``regions`` may name: top-level statements, a top-level
    class standing for the statements of its body."""
    return [stmt for node in tree.body
            for stmt in (node.body if isinstance(node, ast.ClassDef) else [node])]


def make_sparse(lines: List[str], tree: ast.Module, keep: Set[ast.stmt]) -> Optional["Sparse"]:
    """The text with every statement a codemod does not need marked out.

    ``keep`` holds top-level statements, or statements directly in a top-level class body:
    a class with kept body statements keeps its header and those statements only. Imports
    and the module's docstring are always kept (an import added goes after the docstring).
    ``None`` when nothing would be marked (parse the text as it is).
    """
    kept: Set[int] = set()
    dropped: Set[int] = set()
    for node in tree.body:
        span = statement_lines(node)
        if node in keep or isinstance(node, (ast.Import, ast.ImportFrom)) or (
                node is tree.body[0] and isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            kept.update(span)
            continue
        inner = [s for s in getattr(node, "body", ()) if s in keep] \
            if isinstance(node, ast.ClassDef) else []
        if not inner or statement_lines(node.body[0]).start <= node.lineno:
            (kept if inner else dropped).update(span)
            continue
        first = statement_lines(node.body[0]).start
        kept.update(range(span.start, first))  # decorators and the class line
        for stmt in node.body:
            (kept if stmt in inner else dropped).update(statement_lines(stmt))
    dropped -= kept
    if not dropped or _NONCE in "".join(lines):
        return None
    out: List[str] = []
    line_map: List[int] = []
    number = 1
    while number <= len(lines):
        if number in dropped:
            end = number
            while end + 1 in dropped:
                end += 1
            last = lines[end - 1]
            indent = lines[number - 1][:len(lines[number - 1]) - len(lines[number - 1].lstrip())]
            out.append(indent + _MARK.format(number, end) + last[len(last.rstrip("\r\n")):])
            line_map.append(number)
            number = end + 1
        else:
            out.append(lines[number - 1])
            line_map.append(number)
            number += 1
    return Sparse("".join(out), line_map)


@dataclass(frozen=True)
class Sparse:
    text: str
    line_map: List[int]  # line number in ``text`` (from 1) -> original line number, at [n-1]


def restore(new_sparse: str, lines: List[str]) -> str:
    """Swap each marker of the rewritten text back for the original lines."""
    out = []
    last = 0
    for line in split_lines(new_sparse):
        match = _MARK_RE.match(line)
        if match:
            first, end = int(match.group(1)), int(match.group(2))
            if first <= last or end > len(lines) or end < first:
                raise SparseError("marker out of order")
            last = end
            out.extend(lines[first - 1:end])
        else:
            out.append(line)
    return "".join(out)


def is_marker(line: str) -> bool:
    """Whether ``line`` (a comment) stands for statements marked out of a sparse text."""
    return bool(_MARK_RE.match(line))


def count_markers(text: str) -> int:
    return sum(1 for line in split_lines(text) if _MARK_RE.match(line))
