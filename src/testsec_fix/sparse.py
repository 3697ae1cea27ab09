"""Give LibCST only the top-level statements a codemod must rewrite.

LibCST parses about ten times slower than ``ast``. A top-level statement no codemod needs is
replaced, line for line, by a marker comment; the marked text is what LibCST parses. After the
rewrite each marker line is swapped back for the original line it stands for, so the untouched
parts come back byte for byte, and line numbers are the same throughout.
"""
from __future__ import annotations

import ast
import re
from typing import List, Optional, Set

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
_MARK = "#\x60testsec-fix:{}\x60"
_MARK_RE = re.compile(r"^#`testsec-fix:(\d+)`(\r\n|\r|\n)?$")


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


def make_sparse(lines: List[str], tree: ast.Module, keep: Set[int]) -> Optional[str]:
    """The text with every top-level statement not in ``keep`` (and not an import) marked.

    ``None`` when nothing would be marked (parse the text as it is).
    """
    kept: Set[int] = set()
    dropped: Set[int] = set()
    for index, node in enumerate(tree.body):
        span = statement_lines(node)
        if index in keep or isinstance(node, (ast.Import, ast.ImportFrom)):
            kept.update(span)
        else:
            dropped.update(span)
    dropped -= kept
    if not dropped:
        return None
    out = []
    for number, line in enumerate(lines, start=1):
        if number in dropped:
            ending = line[len(line.rstrip("\r\n")):]
            out.append(_MARK.format(number) + ending)
        else:
            out.append(line)
    return "".join(out)


def restore(new_sparse: str, lines: List[str]) -> str:
    """Swap each marker line of the rewritten text back for the original line."""
    out = []
    last = 0
    for line in split_lines(new_sparse):
        match = _MARK_RE.match(line)
        if match:
            number = int(match.group(1))
            if number <= last or number > len(lines):
                raise SparseError("marker out of order")
            last = number
            out.append(lines[number - 1])
        else:
            out.append(line)
    return "".join(out)


def count_markers(text: str) -> int:
    return sum(1 for line in split_lines(text) if _MARK_RE.match(line))
