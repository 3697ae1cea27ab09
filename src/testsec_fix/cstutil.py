"""Small LibCST helpers shared by codemods."""
from __future__ import annotations

import functools
from typing import Callable, Iterator, List, Optional, Set, Tuple

import libcst as cst

SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
# LibCST's node classes are ABCs, whose isinstance is slow: the walks below, which test
# every node, compare exact types (the concrete node classes are not subclassed).
_SCOPES = frozenset(SCOPES)
_NOT_ASSIGNING = frozenset({cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp,
                            cst.GeneratorExp})
_TARGETS = {cst.AugAssign: "target", cst.AnnAssign: "target", cst.For: "target",
            cst.AsName: "name", cst.NamedExpr: "target"}


def dotted(node: cst.CSTNode) -> str:
    """``a.b.c`` for a Name/Attribute chain, '' otherwise."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted(node.value)
        return f"{head}.{node.attr.value}" if head else ""
    return ""


@functools.lru_cache(maxsize=1 << 14)
def children(node: cst.CSTNode) -> Tuple[cst.CSTNode, ...]:
    """``node.children``, remembered: LibCST builds them anew (a copy of the node) at each
    call, and a rewrite walks the same function many times. (Nodes hash by identity.)"""
    return tuple(node.children)


def walk(node: cst.CSTNode, *, into_scopes: bool = False) -> Iterator[cst.CSTNode]:
    """Every node below ``node`` (itself included), not entering nested functions, classes and
    lambdas unless asked."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if current is not node and not into_scopes and type(current) in _SCOPES:
            continue
        stack.extend(reversed(children(current)))


def walk_all(nodes, **kw) -> Iterator[cst.CSTNode]:
    for node in nodes:
        yield from walk(node, **kw)


def names_read(nodes, *, into_scopes: bool = True) -> List[str]:
    """Identifiers used as names (not attribute names, keywords or parameter names)."""
    out: List[str] = []
    for node in nodes:
        _collect_names(node, out, into_scopes)
    return out


def _collect_names(node: cst.CSTNode, out: List[str], into_scopes: bool) -> None:
    kind = type(node)
    if kind is cst.Name:
        out.append(node.value)  # type: ignore[attr-defined]
        return
    if kind is cst.Attribute or kind is cst.Arg:
        _collect_names(node.value, out, into_scopes)  # type: ignore[attr-defined]
        return
    if kind in _SCOPES and not into_scopes:
        return
    for child in children(node):
        _collect_names(child, out, into_scopes)


def assigned_names(nodes) -> Set[str]:
    """Names bound in the scope ``nodes`` belong to (assignment and for targets, with/except
    ``as``, walrus, nested def and class names); not names bound inside nested functions,
    classes, lambdas or comprehensions."""
    out: Set[str] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is cst.FunctionDef or kind is cst.ClassDef:
            out.add(node.name.value)  # type: ignore[attr-defined]
            stack.extend(d.decorator for d in node.decorators)  # type: ignore[attr-defined]
            continue
        if kind in _NOT_ASSIGNING:
            continue
        if kind is cst.Assign:
            for target in node.targets:  # type: ignore[attr-defined]
                out.update(bound_by(target.target))
        elif kind in _TARGETS:
            out.update(bound_by(getattr(node, _TARGETS[kind])))
        stack.extend(children(node))
    return out


def bound_by(target: cst.CSTNode) -> Set[str]:
    """Names an assignment to ``target`` binds (``a.b = x`` and ``a[i] = x`` bind none)."""
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        return set().union(*(bound_by(e.value) for e in target.elements))
    if isinstance(target, cst.StarredElement):
        return bound_by(target.value)
    return set()


def comments(node: cst.CSTNode) -> List[str]:
    return [n.value for n in walk(node, into_scopes=True) if isinstance(n, cst.Comment)]


def is_string_literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.SimpleString):
        return True
    if isinstance(node, cst.ConcatenatedString):
        return is_string_literal(node.left) and is_string_literal(node.right)
    return False


def number(node: cst.CSTNode) -> Optional[float]:
    if isinstance(node, cst.Integer):
        return float(node.evaluated_value)
    if isinstance(node, cst.Float):
        return float(node.evaluated_value)
    return None


_FLIP = {
    cst.Equal: cst.NotEqual, cst.NotEqual: cst.Equal, cst.In: cst.NotIn, cst.NotIn: cst.In,
    cst.Is: cst.IsNot, cst.IsNot: cst.Is,
}


def negate(expr: cst.BaseExpression) -> cst.BaseExpression:
    """``not expr``, written the way a person would (``a != b`` -> ``a == b``)."""
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
        inner = expr.expression
        return inner.with_changes(lpar=(), rpar=()) if _is_atom(inner) else inner
    if isinstance(expr, cst.Comparison) and len(expr.comparisons) == 1:
        target = expr.comparisons[0]
        flip = _FLIP.get(type(target.operator))
        if flip is not None:
            op = target.operator
            new_op = flip(whitespace_before=op.whitespace_before,
                          whitespace_after=op.whitespace_after)
            return expr.with_changes(comparisons=[target.with_changes(operator=new_op)])
    if _is_atom(expr) or isinstance(expr, cst.Comparison):
        return cst.UnaryOperation(operator=cst.Not(), expression=expr)
    return cst.UnaryOperation(operator=cst.Not(),
                              expression=expr.with_changes(lpar=[cst.LeftParen()],
                                                           rpar=[cst.RightParen()]))


def _is_atom(expr: cst.CSTNode) -> bool:
    return isinstance(expr, (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.SimpleString,
                             cst.Integer, cst.Float)) or bool(getattr(expr, "lpar", ()))


def requote_new_strings(original: cst.Module, module: cst.Module,
                        quote: Callable[[], str]) -> cst.Module:
    """``module`` (a rewrite of ``original``) with the plain string literals the rewrite
    wrote (their text is nowhere in ``original``) in the quotes ``quote()`` gives (asked
    only when there is such a literal); the file's own literals are left as they are."""
    from .style import DOUBLE, SINGLE, requote

    old = {node.value for node in walk(original, into_scopes=True)
           if isinstance(node, cst.SimpleString)}
    new = {node.value for node in walk(module, into_scopes=True)
           if isinstance(node, cst.SimpleString) and node.value not in old}
    if not any(requote(v, q) != v for v in new for q in (SINGLE, DOUBLE)):
        return module
    wanted = quote()
    if not wanted:
        return module

    class Requote(cst.CSTTransformer):
        def leave_SimpleString(self, original_node: cst.SimpleString,
                               updated_node: cst.SimpleString) -> cst.SimpleString:
            if updated_node.value not in new:
                return updated_node
            return updated_node.with_changes(value=requote(updated_node.value, wanted))

    return module.visit(Requote())
