"""Small LibCST helpers shared by codemods."""
from __future__ import annotations

from typing import Callable, Iterator, List, Optional, Set

import libcst as cst

SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


def dotted(node: cst.CSTNode) -> str:
    """``a.b.c`` for a Name/Attribute chain, '' otherwise."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted(node.value)
        return f"{head}.{node.attr.value}" if head else ""
    return ""


def walk(node: cst.CSTNode, *, into_scopes: bool = False) -> Iterator[cst.CSTNode]:
    """Every node below ``node`` (itself included), not entering nested functions, classes and
    lambdas unless asked."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if current is not node and not into_scopes and isinstance(current, SCOPES):
            continue
        stack.extend(reversed(current.children))


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
    if isinstance(node, cst.Name):
        out.append(node.value)
        return
    if isinstance(node, cst.Attribute):
        _collect_names(node.value, out, into_scopes)
        return
    if isinstance(node, cst.Arg):
        _collect_names(node.value, out, into_scopes)
        return
    if isinstance(node, SCOPES) and not into_scopes:
        return
    for child in node.children:
        _collect_names(child, out, into_scopes)


def assigned_names(nodes) -> Set[str]:
    """Names bound in the scope ``nodes`` belong to (assignment and for targets, with/except
    ``as``, walrus, nested def and class names); not names bound inside nested functions,
    classes, lambdas or comprehensions."""
    out: Set[str] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        targets: List[cst.CSTNode] = []
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            out.add(node.name.value)
            stack.extend(d.decorator for d in node.decorators)
            continue
        if isinstance(node, (cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp,
                             cst.GeneratorExp)):
            continue
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, cst.For):
            targets = [node.target]
        elif isinstance(node, cst.AsName):
            targets = [node.name]
        elif isinstance(node, cst.NamedExpr):
            targets = [node.target]
        for target in targets:
            out.update(bound_by(target))
        stack.extend(node.children)
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
