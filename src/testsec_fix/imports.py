"""Adding and removing module-level imports the way the file already writes them.

A new import joins the group of imports from the same top-level package, in the alphabetical
place (the order OpenStack's hacking H306 and isort's force-sort-within-sections agree on);
a removed one hands its comments to the next statement.
"""
from __future__ import annotations

import sys
from typing import Dict, Iterable, List, Optional, Set, Tuple

import libcst as cst

from .astutil import join_import as _join
from .cstutil import comments
from .model import ImportRequest
from .sparse import is_marker

STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) or frozenset(
    {"abc", "asyncio", "collections", "contextlib", "datetime", "functools", "io", "itertools",
     "json", "logging", "os", "re", "shutil", "subprocess", "sys", "tempfile", "threading",
     "time", "typing", "unittest", "uuid"})


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _import_of(stmt: cst.CSTNode) -> Optional[cst.BaseSmallStatement]:
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        small = stmt.body[0]
        if isinstance(small, (cst.Import, cst.ImportFrom)):
            return small
    return None


def bindings(stmt: cst.BaseSmallStatement) -> List[Tuple[str, str]]:
    """(bound name, what it binds as a dotted path) for each alias of an import."""
    out = []
    if isinstance(stmt, cst.Import):
        for alias in stmt.names:
            dotted = _dotted(alias.name)
            bound = alias.asname.name.value if alias.asname else dotted.split(".")[0]  # type: ignore[union-attr]
            out.append((bound, dotted if alias.asname else bound))
    elif isinstance(stmt, cst.ImportFrom) and not isinstance(stmt.names, cst.ImportStar):
        base = "." * len(stmt.relative) + (_dotted(stmt.module) if stmt.module else "")
        for alias in stmt.names:
            name = _dotted(alias.name)
            bound = alias.asname.name.value if alias.asname else name  # type: ignore[union-attr]
            out.append((bound, _join(base, name)))
    return out


def module_bindings(module: cst.Module) -> Dict[str, str]:
    """Names bound by the module's top-level imports -> the dotted path they stand for."""
    out: Dict[str, str] = {}
    for stmt in module.body:
        small = _import_of(stmt)
        if small is not None:
            out.update(bindings(small))
    return out


def _sort_key(small: cst.BaseSmallStatement) -> str:
    if isinstance(small, cst.Import):
        return _dotted(small.names[0].name).lower()
    assert isinstance(small, cst.ImportFrom)
    base = "." * len(small.relative) + (_dotted(small.module) if small.module else "")
    names = small.names
    first = "" if isinstance(names, cst.ImportStar) else _dotted(names[0].name)
    return f"{base}.{first}".lower()


def _render(request: ImportRequest) -> str:
    alias = f" as {request.asname}" if request.asname else ""
    if request.name:
        return f"from {request.module} import {request.name}{alias}"
    return f"import {request.module}{alias}"


def _blank(lines: Iterable[cst.EmptyLine]) -> bool:
    return any(line.comment is None for line in lines)


def add_import(module: cst.Module, request: ImportRequest) -> cst.Module:
    rendered = _render(request)
    body = list(module.body)
    positions = [i for i, stmt in enumerate(body) if _import_of(stmt) is not None]
    for i in positions:
        if module.code_for_node(body[i].body[0]).strip() == rendered:  # type: ignore[attr-defined]
            return module
    new = cst.parse_statement(rendered + "\n")
    assert isinstance(new, cst.SimpleStatementLine)
    key = _sort_key(new.body[0])
    top = request.module.split(".")[0]
    # Groups: runs of consecutive import statements, split by blank lines.
    groups: List[List[int]] = []
    for i in positions:
        if groups and groups[-1][-1] == i - 1 and not _blank(body[i].leading_lines):
            groups[-1].append(i)
        else:
            groups.append([i])
    def top_of(i: int) -> str:
        return _sort_key(_import_of(body[i])).lstrip(".").split(".")[0]  # type: ignore[arg-type]

    same = [g for g in groups if any(top_of(i) == top for i in g)]
    if not same and top in STDLIB:
        same = [g for g in groups if all(top_of(i) in STDLIB for i in g)]
    if same:
        group = same[-1]
        at = next((i for i in group if _sort_key(_import_of(body[i])) > key), None)  # type: ignore[arg-type]
        if at is None:
            body.insert(group[-1] + 1, new)
        elif at == group[0]:
            first = body[at]
            body[at] = first.with_changes(leading_lines=())
            body.insert(at, new.with_changes(leading_lines=first.leading_lines))
        else:
            body.insert(at, new)
    elif positions:
        body.insert(positions[-1] + 1, new.with_changes(leading_lines=(cst.EmptyLine(),)))
    else:
        at = _after_docstring(body)
        if at == 0:
            # Statements marked out of a sparse text sit in the header as comments: they
            # come after the import, with the first statement.
            marks = [i for i, line in enumerate(module.header)
                     if line.comment is not None and is_marker(line.comment.value)]
            if marks and body:
                moved = module.header[marks[0]:]
                module = module.with_changes(header=module.header[:marks[0]])
                body[0] = body[0].with_changes(leading_lines=(
                    cst.EmptyLine(), cst.EmptyLine(), *moved, *body[0].leading_lines))
        body.insert(at, new.with_changes(leading_lines=(cst.EmptyLine(),)) if at else new)
        if at < len(body) - 1:
            nxt = body[at + 1]
            if not _blank(nxt.leading_lines):
                body[at + 1] = nxt.with_changes(
                    leading_lines=(cst.EmptyLine(), cst.EmptyLine(), *nxt.leading_lines))
    return module.with_changes(body=body)


def _after_docstring(body: List[cst.BaseStatement]) -> int:
    at = 0
    if body and isinstance(body[0], cst.SimpleStatementLine) and isinstance(
            body[0].body[0], cst.Expr) and isinstance(body[0].body[0].value, (cst.SimpleString,
                                                                              cst.ConcatenatedString)):
        at = 1
    while at < len(body) and isinstance(_import_of(body[at]), cst.ImportFrom) and _dotted(
            body[at].body[0].module or cst.Name("x")) == "__future__":  # type: ignore[attr-defined]
        at += 1
    return at


def remove_bindings(module: cst.Module, names: Set[str]) -> cst.Module:
    """Drop the top-level import aliases that bind ``names``."""
    if not names:
        return module
    body = list(module.body)
    out: List[cst.BaseStatement] = []
    carry: Optional[Tuple[cst.EmptyLine, ...]] = None  # lines of removed statements
    # A blank line that ends the header separates it from the first statement already.
    header_blank = bool(module.header) and module.header[-1].comment is None
    for stmt in body:
        small = _import_of(stmt)
        if small is not None and not isinstance(getattr(small, "names", None), cst.ImportStar):
            keep = [a for a, (bound, _) in zip(small.names, bindings(small))  # type: ignore[union-attr]
                    if bound not in names]
            if not keep:
                carry = _merge(carry or (), stmt.leading_lines)
                continue
            if len(keep) != len(small.names):  # type: ignore[union-attr]
                comma = keep[-1].comma
                has_comment = isinstance(comma, cst.Comma) and bool(comments(comma))
                if not (has_comment and getattr(small, "lpar", None)):
                    # a trailing comma stays only where it holds a comment and parentheses
                    # allow it
                    keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                stmt = stmt.with_changes(body=[small.with_changes(names=keep)])  # type: ignore[attr-defined]
        if carry is not None:
            merged = _merge(carry, stmt.leading_lines)
            if not out and (header_blank or not module.header):
                while merged and merged[0].comment is None:
                    merged = merged[1:]
            stmt = stmt.with_changes(leading_lines=merged)
            carry = None
        out.append(stmt)
    footer = tuple(module.footer)
    if carry and any(line.comment is not None for line in carry):
        footer = carry + footer  # nothing follows to hold them
    return module.with_changes(body=out, footer=footer)


def _merge(first: Tuple[cst.EmptyLine, ...], second) -> Tuple[cst.EmptyLine, ...]:
    """Leading lines of a removed statement followed by the next one's, without doubling the
    blank separation between groups."""
    merged = tuple(first) + tuple(second)
    out: List[cst.EmptyLine] = []
    longest = max(_longest_blank_run(first), _longest_blank_run(second))
    run = 0
    for line in merged:
        run = run + 1 if line.comment is None else 0
        if line.comment is None and run > longest:
            continue
        out.append(line)
    return tuple(out)


def _longest_blank_run(lines) -> int:
    best = run = 0
    for line in lines:
        run = run + 1 if line.comment is None else 0
        best = max(best, run)
    return best


def apply(module: cst.Module, requests: Iterable[ImportRequest]) -> cst.Module:
    for request in requests:
        module = add_import(module, request)
    return module
