"""Helpers over ``ast`` (no LibCST, so the warm path never imports it)."""
from __future__ import annotations

import ast
import re
from collections import Counter
from typing import Dict, Iterable, List, Optional, Set

from .sparse import split_lines, statement_lines


def ast_dotted(node: ast.AST) -> str:
    """``a.b.c`` for a Name/Attribute chain, '' otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = ast_dotted(node.value)
        return f"{head}.{node.attr}" if head else ""
    return ""


def join_import(base: str, name: str) -> str:
    """``from <base> import <name>`` as one dotted path (``from . import x`` is ``.x``)."""
    if not base:
        return name
    return base + name if base.endswith(".") else f"{base}.{name}"


def ast_bindings(tree: ast.Module) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            for a in node.names:
                if a.name != "*":
                    out[a.asname or a.name] = join_import(base, a.name)
    return out


def called_as(bindings: Dict[str, str], funcs: Iterable[str]) -> Set[str]:
    """The dotted names a file calls the functions ``funcs`` (dotted paths such as
    ``time.sleep``) by, given its import bindings: ``time.sleep``, ``sleep``, ``t.sleep``."""
    out = set()
    for bound, path in bindings.items():
        for func in funcs:
            if path == func:
                out.add(bound)
            elif func.startswith(path + "."):
                out.add(bound + func[len(path):])
    return out


def match_lines(pattern: "re.Pattern[str]", text: str) -> Set[int]:
    """Numbers of the lines of ``text`` (split as Python splits them) that hold a match of
    ``pattern`` (one that stays on its line and does not start at a line break): one scan
    of the text, counting on from the previous match."""
    out = set()
    line, done = 1, 0  # the line number at offset ``done``
    for match in pattern.finditer(text):
        at = match.start()
        line += text.count("\n", done, at) + text.count("\r", done, at) \
            - text.count("\r\n", done, at)
        done = at  # (a match never starts at a line break, so no \r\n is split here)
        out.add(line)
    return out


def lines_naming(text: str, names: Iterable[str]) -> Set[int]:
    """Numbers of the lines of ``text`` where the last part of one of the dotted ``names``
    appears as a word (``time.sleep`` and ``sleep`` are found on ``sleep(1)`` lines)."""
    word = re.compile(r"\b(%s)\b" % "|".join(sorted({re.escape(n.rsplit(".", 1)[-1])
                                                      for n in names})))
    return match_lines(word, text)


class Definitions:
    """The functions and classes of a file by name, at any depth. The tree is walked once,
    and only when the text defines a name asked for (a big test module costs a walk)."""

    def __init__(self, tree: ast.AST, text: str) -> None:
        self.tree, self.text = tree, text
        self._index: Optional[Dict[str, List[ast.AST]]] = None

    def get(self, name: str) -> List[ast.AST]:
        if self._index is not None:
            return self._index.get(name, [])
        pattern = rf"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+{re.escape(name)}\b"
        if not name or not re.search(pattern, self.text, re.M):
            return []
        if self._index is None:
            self._index = {}
            for node in ast.walk(self.tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    self._index.setdefault(node.name, []).append(node)
        return self._index.get(name, [])


def walk(tree: ast.AST) -> List[ast.AST]:
    """The nodes ``ast.walk(tree)`` gives, in its order, as a list (built without its
    generators, about twice as fast)."""
    out = [tree]
    for node in out:  # (a list iterated while it grows: breadth first, as ast.walk)
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                out.extend([v for v in value if isinstance(v, ast.AST)])
            elif isinstance(value, ast.AST):
                out.append(value)
    return out


def file_names(nodes: Iterable[ast.AST]) -> Set[str]:
    """Every name the code (all of its ``nodes``) binds or reads anywhere, in any scope:
    names, parameters, function and class names, imports (nested ones too), ``except ...
    as``, match captures, ``global`` and ``nonlocal``. A name a rewrite adds must not be one
    of them."""
    return _names(nodes, reads=True)


def bound_names(nodes: Iterable[ast.AST]) -> Set[str]:
    """Every name the code (all of its ``nodes``) binds, in any scope (``file_names``
    without the names it only reads)."""
    return _names(nodes, reads=False)


def _names(nodes: Iterable[ast.AST], reads: bool) -> Set[str]:
    names: Set[str] = set()
    for node in nodes:
        if type(node) not in _NAMING:
            continue  # (most nodes: attributes, calls, constants, contexts)
        if isinstance(node, ast.Name):
            if reads or not isinstance(node.ctx, ast.Load):
                names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(a.asname or a.name.split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, ast.ExceptHandler):
            if node.name:
                names.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return names


# The kinds of node ``file_names`` reads (trees from ``ast.parse``: exact types).
_NAMING = frozenset(getattr(ast, kind) for kind in (
    "Name", "arg", "FunctionDef", "AsyncFunctionDef", "ClassDef", "Import", "ImportFrom",
    "Global", "Nonlocal", "ExceptHandler", "MatchAs", "MatchStar", "MatchMapping")
    if hasattr(ast, kind))  # (match statements: Python 3.10)


def name_counts(tree: ast.AST) -> Counter:
    """How often each name is read or written anywhere (imports do not count)."""
    return Counter(node.id for node in ast.walk(tree) if isinstance(node, ast.Name))


def _string_annotation_names(stmt: ast.stmt) -> Set[str]:
    """Names read by annotations written as strings (``-> "time.struct_time"``)."""
    out: Set[str] = set()
    for node in ast.walk(stmt):
        notes = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            notes = [a.annotation for a in node.args.args + node.args.kwonlyargs
                     + node.args.posonlyargs] + [node.returns]
        elif isinstance(node, ast.AnnAssign):
            notes = [node.annotation]
        for note in notes:
            if isinstance(note, ast.Constant) and isinstance(note.value, str):
                try:
                    out |= {n.id for n in ast.walk(ast.parse(note.value, mode="eval"))
                            if isinstance(n, ast.Name)}
                except SyntaxError:
                    continue
    return out


def unused_after(after: ast.Module, after_text: str, old_part: str, new_part: str) -> Set[str]:
    """Import-bound names the rewrite left unused.

    Candidates are the names used less in ``new_part`` than in ``old_part`` (the rewritten
    text, before and after); a candidate is unused if no statement of ``after`` that mentions
    it as a word reads it as a name.
    """
    bound = ast_bindings(after)
    was, now = name_counts(ast.parse(old_part)), name_counts(ast.parse(new_part))
    candidates = {name for name in bound if was[name] > now[name]}
    if not candidates:
        return set()
    lines = split_lines(after_text)
    unused = set()
    for name in candidates:
        word = re.compile(rf"\b{re.escape(name)}\b")
        mentioned = {n for n, line in enumerate(lines, start=1) if word.search(line)}
        used = False
        for stmt in after.body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                continue
            if not mentioned.intersection(statement_lines(stmt)):
                continue
            if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(stmt)) or \
                    name in _string_annotation_names(stmt):
                used = True
                break
        if not used:
            unused.add(name)
    return unused


def string_constants(tree: ast.Module) -> Dict[str, str]:
    """``NAME = 'value'`` statements at the top of a module: name -> value."""
    return {node.targets[0].id: node.value.value for node in tree.body
            if isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)}


def top_level_names(tree: ast.Module) -> Set[str]:
    """Every name the top of a module binds: imports, functions (async too), classes, and
    assignment targets (annotated too)."""
    found = set(ast_bindings(tree))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) else []
        found.update(t.id for t in targets if isinstance(t, ast.Name))
    return found


def depth(tree: ast.AST) -> int:
    """How deep ``tree`` nests (a module holding one name is 3 deep), without recursing."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(node))
    return deepest
