"""Adding and removing module-level imports the way the file already writes them.

A new import joins the group of imports from the same top-level package, in the alphabetical
place (the order OpenStack's hacking H306 and isort's force-sort-within-sections agree on);
a removed one hands its comments to the next statement.
"""
from __future__ import annotations

import ast
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import libcst as cst

from .astutil import join_import as _join
from .cstutil import comments
from .model import ImportRequest
from .sparse import is_marker, split_lines
from .style import STDLIB_NAMES as STDLIB
from .style import Style, member_key, module_key, section


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


def _split_leading(lines: Sequence[cst.EmptyLine]) -> Tuple[Tuple[cst.EmptyLine, ...],
                                                            Tuple[cst.EmptyLine, ...]]:
    """A statement's leading lines cut after their last blank line: the comments right
    above the statement belong to it (isort and ruff keep them with it); what comes before
    them separates it from what precedes."""
    last_blank = max((i for i, line in enumerate(lines) if line.comment is None), default=-1)
    return tuple(lines[:last_blank + 1]), tuple(lines[last_blank + 1:])


def _first_block(body: Sequence[cst.BaseStatement]) -> List[int]:
    """The positions of the module's first run of import statements: an import added after
    code that precedes it (``pytest.importorskip(...)``) would not be at the top of the
    file (pycodestyle E402), and each later run is sorted apart (isort, ruff)."""
    out: List[int] = []
    for i, stmt in enumerate(body):
        if _import_of(stmt) is None or out and _marked(stmt.leading_lines):
            if out:
                break
        else:
            out.append(i)
    return out


def _marked(lines: Iterable[cst.EmptyLine]) -> bool:
    """Whether ``lines`` hold a marker: statements of a sparse text stand there."""
    return any(line.comment is not None and is_marker(line.comment.value) for line in lines)


def _binds(body: Sequence[cst.BaseStatement], request: ImportRequest) -> bool:
    """Whether an import of the module already binds what ``request`` would."""
    name = request.asname or (request.name if request.name else request.module.split(".")[0])
    path = _join(request.module, request.name) if request.name else \
        (request.module if request.asname else name)
    for stmt in body:
        small = _import_of(stmt)
        if small is not None and (name, path) in bindings(small):
            return True
    return False


def add_import(module: cst.Module, request: ImportRequest,
               style: Optional[Style] = None) -> cst.Module:
    style = style or Style()
    rendered = _render(request)
    body = list(module.body)
    if _binds(body, request):
        return module
    new = cst.parse_statement(rendered + "\n")
    assert isinstance(new, cst.SimpleStatementLine)
    positions = _first_block(body)
    if not positions:
        return _first_import(module, body, new)
    if style.sorter == "isort":
        body = _add_sorted(module, body, positions, new, style)
    else:
        body = _add_grouped(body, positions, new, request, style)
    return module.with_changes(body=body)


def _add_grouped(body: List[cst.BaseStatement], positions: List[int],
                 new: cst.SimpleStatementLine, request: ImportRequest,
                 style: Style) -> List[cst.BaseStatement]:
    """The new import joins the group (a run of imports between blank lines) of imports from
    its top-level package, in the alphabetical place among them (H306 order); else a group
    of the standard library's, for one of it; else it starts a group after the last."""
    key = _sort_key(new.body[0])
    top = request.module.split(".")[0]
    groups: List[List[int]] = []
    for i in positions:
        if groups and groups[-1][-1] == i - 1 and not _blank(body[i].leading_lines) and \
                not _marked(body[i].leading_lines):
            groups[-1].append(i)
        else:
            groups.append([i])

    def top_of(i: int) -> str:
        return _sort_key(_import_of(body[i])).lstrip(".").split(".")[0]  # type: ignore[arg-type]

    same = [g for g in groups if any(top_of(i) == top for i in g)]
    if same:
        # Among the imports of its package (the rest of the group may be in any order).
        group = [i for i in same[-1] if top_of(i) == top]
    elif top in STDLIB and top not in style.own_names:
        same = [g for g in groups if all(top_of(i) in STDLIB for i in g)]
        group = same[-1] if same else []
    else:
        group = []
    if group:
        at = next((i for i in group if _sort_key(_import_of(body[i])) > key), None)  # type: ignore[arg-type]
        if at is None:
            body.insert(group[-1] + 1, new)
        else:
            _insert_before(body, at, new)
    else:
        body.insert(positions[-1] + 1, new.with_changes(leading_lines=(cst.EmptyLine(),)))
    return body


def _insert_before(body: List[cst.BaseStatement], at: int,
                   new: cst.SimpleStatementLine) -> None:
    """``new`` right before ``body[at]``, taking the blank lines that separated that one
    from what precedes it (the comments right above it stay with it)."""
    before, own = _split_leading(body[at].leading_lines)
    body[at] = body[at].with_changes(leading_lines=own)
    body.insert(at, new.with_changes(leading_lines=before))


def _add_sorted(module: cst.Module, body: List[cst.BaseStatement], positions: List[int],
                new: cst.SimpleStatementLine, style: Style) -> List[cst.BaseStatement]:
    """The new import where isort (and ruff's I rules) would put it in an already sorted
    block: merged into a ``from`` import of the same module, or in its section, straight
    imports before ``from`` imports (or all by module with force-sort-within-sections)."""
    small = new.body[0]
    if isinstance(small, cst.ImportFrom) and not style.force_single_line and \
            not any(a.asname for a in small.names):  # type: ignore[union-attr]
        for i in positions:
            merged = _merged(module, body[i], small, style)
            if merged is not None:
                body[i] = merged
                return body
    mine = _isort_key(small, style)
    at = next((i for i in positions if _isort_key(_import_of(body[i]), style) > mine), None)  # type: ignore[arg-type]
    if at is None:
        last = positions[-1]
        same = _isort_key(_import_of(body[last]), style)[0] == mine[0]  # type: ignore[arg-type]
        body.insert(last + 1, new if same else new.with_changes(leading_lines=(cst.EmptyLine(),)))
    elif _isort_key(_import_of(body[at]), style)[0] == mine[0]:  # type: ignore[arg-type]
        _insert_before(body, at, new)  # in its section
    elif at != positions[0] and \
            _isort_key(_import_of(body[at - 1]), style)[0] == mine[0]:  # type: ignore[arg-type]
        body.insert(at, new)  # the last of its section
    elif at == positions[0]:
        _insert_before(body, at, new)  # a section before the first
        body[at + 1] = body[at + 1].with_changes(
            leading_lines=(cst.EmptyLine(), *body[at + 1].leading_lines))
    else:
        body.insert(at, new.with_changes(leading_lines=(cst.EmptyLine(),)))  # a new section
    return body


def _isort_key(small: cst.BaseSmallStatement, style: Style) -> Tuple:
    """Where isort sorts an import: its section, then (unless force-sort-within-sections)
    straight imports first, then the module, then the first name."""
    if isinstance(small, cst.Import):
        name = _dotted(small.names[0].name)
        level, straight, first = 0, 0, ()
    else:
        assert isinstance(small, cst.ImportFrom)
        name = _dotted(small.module) if small.module else ""
        level, straight = len(small.relative), 1
        names = small.names
        first = () if isinstance(names, cst.ImportStar) else \
            member_key(_dotted(names[0].name), style)
    where = section(name, level, style)
    if style.lexicographical and straight and not isinstance(small.names, cst.ImportStar):  # type: ignore[union-attr]
        name = f"{name}.{_dotted(small.names[0].name)}"  # type: ignore[union-attr]
    order = (-level, module_key(name, style))  # ``..`` before ``.`` (furthest first)
    if style.force_sort_within_sections:
        return where, order, straight, first
    return where, straight, order, first


def _merged(module: cst.Module, stmt: cst.BaseStatement, small: cst.ImportFrom,
            style: Style) -> Optional[cst.BaseStatement]:
    """``stmt`` with the name of ``small`` added, if it is a ``from`` import of the same
    module without aliases or comments inside, written as isort writes it: on one line when
    it fits, else one name a line in parentheses with a trailing comma (so too when the
    import ended in a trailing comma)."""
    theirs = _import_of(stmt)
    if not isinstance(theirs, cst.ImportFrom) or isinstance(theirs.names, cst.ImportStar) or \
            len(theirs.relative) != len(small.relative) or \
            _dotted(theirs.module or cst.Name("x")) != _dotted(small.module or cst.Name("x")) or \
            any(a.asname for a in theirs.names) or comments(theirs):
        return None
    assert isinstance(stmt, cst.SimpleStatementLine) and not isinstance(small.names,
                                                                        cst.ImportStar)
    names = [_dotted(a.name) for a in theirs.names]
    name = _dotted(small.names[0].name)
    key = member_key(name, style)
    at = next((i for i, n in enumerate(names) if member_key(n, style) > key), len(names))
    names.insert(at, name)
    head = module.code_for_node(theirs)
    head = head[:head.index(" import") + len(" import")]
    comment = stmt.trailing_whitespace.comment
    tail = f"  {comment.value}" if comment is not None else ""
    magic = theirs.lpar is not None and isinstance(theirs.names[-1].comma, cst.Comma) and \
        style.split_on_trailing_comma
    one = f"{head} {', '.join(names)}"
    if not magic and len(one) <= style.import_line_length:
        text = one + tail
    else:
        text = f"{head} ({tail}\n" + "".join(f"    {n},\n" for n in names) + ")"
    out = cst.parse_statement(text + "\n")
    return out.with_changes(leading_lines=stmt.leading_lines)


def _first_import(module: cst.Module, body: List[cst.BaseStatement],
                  new: cst.SimpleStatementLine) -> cst.Module:
    """The file's first import: after its docstring and ``__future__`` imports, two blank
    lines before what follows (``space_after_imports`` makes them isort's number)."""
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


def space_after_imports(text: str, style: Style) -> str:
    """``text`` (whose first imports the tool added) with as many blank lines after its
    first run of imports as isort puts there: ``lines-after-imports``, or (-1) two before a
    def or a class and one before anything else; unchanged unless imports are isort's."""
    if style.sorter != "isort":
        return text
    try:
        body = ast.parse(text).body
    except SyntaxError:
        return text
    run = [i for i in _first_block_ast(body)]
    if not run or run[-1] + 1 >= len(body):
        return text
    nxt = body[run[-1] + 1]
    count = style.lines_after_imports if style.lines_after_imports >= 0 else \
        2 if isinstance(nxt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else 1
    lines = split_lines(text)
    end = body[run[-1]].end_lineno or body[run[-1]].lineno  # the import's last line
    blank = end
    while blank < len(lines) and not lines[blank].strip():
        blank += 1
    if blank - end == count or blank >= len(lines):
        return text
    newline = lines[end - 1][len(lines[end - 1].rstrip("\r\n")):] or "\n"
    return "".join(lines[:end]) + newline * count + "".join(lines[blank:])


def _first_block_ast(body: List[ast.stmt]) -> List[int]:
    out: List[int] = []
    for i, stmt in enumerate(body):
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            out.append(i)
        elif out:
            break
    return out


def apply(module: cst.Module, requests: Iterable[ImportRequest],
          style: Optional[Style] = None) -> cst.Module:
    for request in requests:
        module = add_import(module, request, style)
    return module
