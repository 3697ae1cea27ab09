"""TSF103's fix: which blind sleeps are followed by checks of the state they waited for.

A plan is made from the ``ast`` (``plan``) and applied with LibCST (``Settle``): the sleep
and the assertions after it become a local function of those assertions, retried by an
assert-retry helper until it stops raising AssertionError.
"""
from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Set

import libcst as cst

from . import catalog
from .astutil import ast_dotted
from .codemod import Context
from .model import HelperRequest, ImportRequest
from .project import resolve_ast_expr

# The retry budget: this many times the sleep, and never less than FLOOR seconds. A passing
# test pays only until its checks pass; the budget is what a slow CI node may take.
MULTIPLE = 5
FLOOR = 5.0
INTERVAL = 0.1  # seconds between tries of the generic helper (the sleep's own, if shorter)

EVENTUALLY = '''\
def eventually(check, timeout, interval):
    """Call ``check`` until it stops raising AssertionError; return its value.

    Tries again every ``interval`` seconds until ``timeout`` seconds have
    passed since the first call, then raises the last AssertionError (the
    assertion's own message).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(interval)
'''

# Checks that something came to be: an eventually-true state.
POSITIVE = {
    "assertEqual", "assertEquals", "assertIn", "assertTrue", "assertIsNotNone",
    "assertIsInstance", "assertGreater", "assertGreaterEqual", "assertCountEqual",
    "assertItemsEqual", "assertDictEqual", "assertListEqual", "assertSetEqual",
    "assertTupleEqual", "assertSequenceEqual", "assertMultiLineEqual", "assertAlmostEqual",
    "assertIs", "assertRegex", "assertDictContainsSubset",
    "assert_called", "assert_called_once", "assert_called_with", "assert_called_once_with",
    "assert_any_call", "assert_has_calls",
}
# Checks that something did not happen (or stayed small): a sleep before them guards an
# absence, and retrying them would pass at once.
ABSENT = {
    "assertFalse", "assertNotIn", "assertIsNone", "assertNotEqual", "assertNotEquals",
    "assertIsNot", "assertNotIsInstance", "assertNotRegex", "assertLess", "assertLessEqual",
    "assertNoLogs", "assert_not_called", "assert_not_awaited", "assertNotAlmostEqual",
}
# Calls whose result is a copy of the state at the time (``len(x)``), not a live reference.
SNAPSHOTS = {"len", "str", "int", "float", "bool", "list", "dict", "set", "tuple", "sorted",
             "repr", "sum", "min", "max", "frozenset", "copy.copy", "copy.deepcopy"}
SETTLED = "_settled"
# A call in an assertion that may change state: a retry would make it again.
MUTATING = re.compile(r"^_?(set|put|post|patch|delete|del|send|write|append|extend|pop|create|"
                      r"update|insert|remove|publish|push|incr|decr|add|execute|run|start|"
                      r"stop|close|kill|submit|enqueue|reset|clear|flush|acquire|release|"
                      r"next)(_|$)", re.I)
CHANGING_WORDS = ("set", "put", "write", "send", "delete", "remove", "insert", "update",
                  "create", "publish", "push", "incr", "decr", "append", "execute", "flush",
                  "clear", "consume", "read_response", "expire", "kill", "submit", "enqueue",
                  "getdel", "evict", "drain")


def changes_state(func: str) -> bool:
    """Might a call of ``func`` (a dotted name) change state, by its name?"""
    last = func.rsplit(".", 1)[-1]
    if func in SNAPSHOTS:
        return False
    return bool(MUTATING.search(last)) or any(w in last.lower() for w in CHANGING_WORDS)


# A test named for something that must not happen (``test_no_renewal_after_close``): the
# sleep before its checks gives that something its chance, whatever the checks look like.
NEGATIONS = {"no", "not", "never", "without", "dont", "doesnt", "nothing", "none", "stays",
             "remains", "ignored", "ignores", "skips", "skipped", "only"}


# A check that a thread is still there after the sleep is a check that it did not finish.
STILL = {"is_alive", "isAlive"}


class Decline(Exception):
    """The sleep stays; the message says why."""


@dataclass
class Plan:
    count: int  # statements after the sleep that go into the retried function
    seconds: float  # the sleep
    call: str  # how the helper is called (``eventually``, ``self._wait_for_assert``)
    args: str  # its arguments after the function
    budget: float
    effects: List[Callable[[], None]] = field(default_factory=list)


def _empty(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return node.value is None or node.value is False or (
            type(node.value) in (int, float, str, bytes) and not node.value)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return not node.elts
    if isinstance(node, ast.Dict):
        return not node.keys
    return isinstance(node, ast.Call) and not node.args and not node.keywords and \
        ast_dotted(node.func) in ("list", "dict", "set", "tuple", "frozenset")


def _absent_test(test: ast.expr) -> bool:
    """``assert`` conditions that check an absence."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return True
    if isinstance(test, ast.BoolOp):
        return any(_absent_test(v) for v in test.values)
    if isinstance(test, ast.Compare):
        if any(isinstance(op, (ast.NotIn, ast.NotEq, ast.Lt, ast.LtE)) for op in test.ops):
            return True
        for op, right in zip(test.ops, test.comparators):
            if isinstance(op, (ast.Is, ast.Eq)) and (_empty(right) or _empty(test.left)):
                return True
    return False


def kind(stmt: ast.stmt) -> str:
    """'positive', 'absent' or '' (not an assertion)."""
    if any(isinstance(n, ast.Call) and ast_dotted(n.func).rsplit(".", 1)[-1] in STILL
           for n in ast.walk(stmt)):
        return "absent"
    if isinstance(stmt, ast.Assert):
        return "absent" if _absent_test(stmt.test) else "positive"
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Attribute)):
        return ""
    call = stmt.value
    name = call.func.attr
    if name in ABSENT:
        return "absent"
    if name not in POSITIVE:
        return ""
    if name.startswith("assert") and not name.startswith("assert_") and \
            ast_dotted(call.func.value) not in ("self", "cls"):
        return ""
    args = call.args[:2]
    if name in ("assertTrue",) and args and _absent_test(args[0]):
        return "absent"
    if name in ("assertEqual", "assertEquals", "assertIs", "assertCountEqual",
                "assertItemsEqual", "assertListEqual", "assertDictEqual", "assertSetEqual",
                "assertTupleEqual", "assertSequenceEqual") and any(_empty(a) for a in args):
        return "absent"
    return "positive"


def _pure(node: ast.AST) -> bool:
    """Reads only: names, attributes, subscripts, literals, operators, snapshot builtins."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and ast_dotted(sub.func) not in SNAPSHOTS:
            return False
        if isinstance(sub, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr, ast.Lambda)):
            return False
    return True


def _snapshot(value: ast.expr) -> bool:
    """A value that copies state as it was (a number, a string, ``len(x)``, ``d['k']``)
    rather than a live object whose state a retry would see change."""
    if isinstance(value, ast.Call):
        return ast_dotted(value.func) in SNAPSHOTS
    return not isinstance(value, (ast.Name, ast.List, ast.Dict, ast.Set, ast.ListComp,
                                  ast.DictComp, ast.SetComp, ast.Await))


def _stores(stmt: ast.stmt) -> Set[str]:
    return {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _reads(nodes: Sequence[ast.AST]) -> Set[str]:
    return {n.id for node in nodes for n in ast.walk(node)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _seconds(call: ast.Call) -> float:
    arg = call.args[0] if call.args else next(
        (k.value for k in call.keywords if k.arg in ("seconds", "secs", "delay")), None)
    if isinstance(arg, ast.Constant) and isinstance(arg.value, (int, float)) and \
            not isinstance(arg.value, bool):
        return float(arg.value)
    raise Decline("the sleep's length is not a number in the code, so no retry budget "
                  "can be derived from it")


def _block_of(fn: ast.AST, stmt: ast.stmt) -> Optional[List[ast.stmt]]:
    for node in ast.walk(fn):
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and any(s is stmt for s in block):
                return block
        for handler in getattr(node, "handlers", []) or []:
            if any(s is stmt for s in handler.body):
                return handler.body
    return None


def _fmt(seconds: float) -> str:
    return repr(int(seconds)) if seconds == int(seconds) else repr(round(seconds, 3))


def plan(call: ast.Call, chain: List[ast.AST], cls: Optional[ast.ClassDef], ctx: Context,
         sleep_name: str, reach: Callable[[ast.ClassDef, str], bool],
         helpers: Sequence[catalog.Helper]) -> Plan:
    """How the blind sleep ``call`` becomes a retry of the assertions after it, or
    ``Decline``."""
    fn = chain[0]
    if len(chain) > 1:
        raise Decline("the sleep is in a function the test defines (a thread body or a "
                      "stand-in): it paces that function, not the test's checks")
    if isinstance(fn, ast.AsyncFunctionDef) or sleep_name == "asyncio.sleep":
        raise Decline("in a coroutine: a blocking retry would stop the event loop the "
                      "awaited work runs on")
    stmt = next((s for s in ast.walk(fn) if isinstance(s, ast.Expr) and s.value is call), None)
    block = _block_of(fn, stmt) if stmt is not None else None
    if block is None:
        raise Decline("the sleep is part of a larger statement")
    if ctx.lines[stmt.lineno - 1].rstrip().endswith(";") or any(
            s is not stmt and s.lineno == stmt.lineno for s in block):
        raise Decline("the sleep shares its line with another statement")
    negation = NEGATIONS.intersection(fn.name.lower().split("_"))
    if negation:
        raise Decline(f"the test's name says something must not happen "
                      f"({sorted(negation)[0]!r}): the sleep gives it its chance")
    seconds = _seconds(call)
    after = block[block.index(stmt) + 1:]
    reads: List[ast.stmt] = []
    checks: List[ast.stmt] = []
    for s in after:
        k = kind(s)
        if k == "absent":
            # A check of an absence right after the positive ones is guarded by the sleep too:
            # after a retry that returns early it would look too soon.
            raise Decline("the assertions after the sleep check that something did not "
                          "happen: a retry would pass at once and the test would stop "
                          "testing anything")
        if k == "positive":
            checks.append(s)
            continue
        if checks:
            break
        if isinstance(s, ast.Assign) and all(isinstance(t, ast.Name) for t in s.targets) \
                and _pure(s.value):
            reads.append(s)
            continue
        raise Decline("no assertion directly follows the sleep (what it waits for is not "
                      "in the code), or a statement before the assertions has side effects")
    if not checks:
        raise Decline("no assertion follows the sleep: what it waits for is not in the code")
    for s in checks:
        if any(isinstance(n, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr))
               for n in ast.walk(s)):
            raise Decline("an assertion awaits, yields or binds a name")
        calls = [n for n in ast.walk(s) if isinstance(n, ast.Call) and n is not
                 getattr(s, "value", None)]
        changing = next((ast_dotted(c.func) for c in calls if changes_state(ast_dotted(c.func))),
                        None)
        if changing:
            raise Decline(f"an assertion calls {changing}, which may change state: a retry "
                          "would call it again")
    moved = reads + checks
    bound_here = set().union(*(_stores(s) for s in reads)) if reads else set()
    rest = block[block.index(stmt) + 1 + len(moved):]
    if bound_here & _reads(rest):
        raise Decline("a name read between the sleep and the assertions is used after them")
    # values captured before the sleep that the retry would not read again
    captured: Dict[str, ast.expr] = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and node.lineno < stmt.lineno and node is not stmt:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    if node.end_lineno is not None and node.end_lineno < stmt.lineno:
                        captured[target.id] = node.value
    rebound = sorted(_reads(moved) & {name for n in ast.walk(fn)
                                      if isinstance(n, (ast.Nonlocal, ast.Global))
                                      for name in n.names})
    if rebound:
        raise Decline(f"an assertion reads {rebound[0]!r}, which another function rebinds "
                      "(nonlocal): until it does, the assertion may fail with another error "
                      "than AssertionError, which a retry does not catch")
    stale = sorted(n for n in _reads(moved) - bound_here
                   if n in captured and _snapshot(captured[n]))
    if stale:
        raise Decline(f"an assertion reads {stale[0]!r}, a value captured before the sleep "
                      "that a retry would not read again")
    names = ctx.names
    if SETTLED in names and not any(
            isinstance(n, ast.FunctionDef) and n.name == SETTLED for n in ast.walk(ctx.tree)):
        raise Decline(f"the file already uses the name {SETTLED}")
    budget = max(seconds * MULTIPLE, FLOOR)
    helper = _assert_helper(fn, cls, reach, helpers)
    if helper is not None:
        interval = helper.default_interval
        retries = math.ceil(budget / interval) + 1
        args = f", {helper.retries_param}={retries}" if helper.retries_param else ""
        if not helper.retries_param and helper.default_retries * interval < budget:
            raise Decline(f"{helper.name} takes no retry budget and its own is shorter "
                          f"than the sleep's")
        return Plan(len(moved), seconds, f"self.{helper.name}", args,
                    retries * interval if helper.retries_param else budget)
    if sleep_name != "time.sleep":
        raise Decline(f"{sleep_name} yields to green threads, which a time.sleep retry "
                      "may not do")
    interval = min(INTERVAL, seconds)
    ref, effects = _eventually_ref(ctx, names)
    return Plan(len(moved), seconds, ref,
                f", timeout={_fmt(budget)}, interval={_fmt(interval)}", budget, effects)


def _assert_helper(fn, cls, reach, helpers) -> Optional[catalog.Helper]:
    if cls is None or not fn.args.args or fn.args.args[0].arg != "self":
        return None
    if any(ast_dotted(d) in ("staticmethod", "classmethod") for d in fn.decorator_list):
        return None
    for helper in catalog.of_kind(helpers, "assert-retry"):
        if reach(cls, helper.owner):
            return helper
    return None


def class_reaches(ctx: Context, this_module: str) -> Callable[[ast.ClassDef, str], bool]:
    """Does a class of this file inherit from ``owner`` (a dotted name)?"""
    local = {n.name: n for n in ctx.tree.body if isinstance(n, ast.ClassDef)}

    def bases_of(name: str):
        prefix = this_module + "."
        if name.startswith(prefix) and name[len(prefix):] in local:
            return [resolve_ast_expr(b, ctx.tree, this_module)
                    for b in local[name[len(prefix):]].bases]
        return list(ctx.project.class_bases(name) or ())

    def reach(cls: ast.ClassDef, owner: str) -> bool:
        todo = [resolve_ast_expr(b, ctx.tree, this_module) for b in cls.bases]
        seen: Set[str] = set()
        while todo:
            name = todo.pop()
            if not name or name in seen or len(seen) > 200:
                continue
            if name == owner:
                return True
            seen.add(name)
            todo.extend(bases_of(name))
        return False

    return reach


def _eventually_ref(ctx: Context, names: Set[str]):
    """How the file calls ``eventually`` and what to do when the rewrite is kept (ask for the
    helper in the fixtures module, import that module)."""
    module = ctx.project.fixtures_module(ctx.path) or ctx.config.fixtures_module or None
    if not module:
        raise Decline("no fixtures module for the eventually helper (set fixtures-module in "
                      "[tool.testsec-fix])")
    effects = [lambda: ctx.require_helper(
        HelperRequest(module, "eventually", EVENTUALLY, (ImportRequest("time"),)))]
    if ctx.project.is_module(ctx.path, module):
        return "eventually", effects
    from .astutil import ast_bindings
    for bound, path in ast_bindings(ctx.tree).items():
        if path == module:
            return f"{bound}.eventually", effects
    parent, _, leaf = module.rpartition(".")
    alias = leaf if leaf not in names else f"testsec_{leaf}"
    if parent:
        request = ImportRequest(parent, leaf, alias if alias != leaf else "")
    else:
        request = ImportRequest(module, "", alias if alias != leaf else "")
    effects.append(lambda: ctx.add_import(request.module, request.name, request.asname))
    return f"{alias}.eventually", effects


class Settle(cst.CSTTransformer):
    """Replace each planned sleep and the statements after it."""

    def __init__(self, ctx: Context, plans: Dict[int, Plan], code: str) -> None:
        super().__init__()
        self.ctx = ctx
        self.plans = plans
        self.code = code

    def leave_IndentedBlock(self, original, updated):
        body = list(updated.body)
        out = []
        i = 0
        changed = False
        while i < len(body):
            stmt = body[i]
            line = self.ctx.line_of(original.body[i])[0] if i < len(original.body) else 0
            plan = self.plans.get(line) if isinstance(stmt, cst.SimpleStatementLine) else None
            if plan is None or i + plan.count >= len(body):
                out.append(stmt)
                i += 1
                continue
            moved = body[i + 1:i + 1 + plan.count]
            first = moved[0]
            inner = [first.with_changes(leading_lines=[
                ln for ln in first.leading_lines if ln.comment is not None])] + moved[1:]
            header = cst.TrailingWhitespace()
            if stmt.trailing_whitespace.comment is not None:
                header = stmt.trailing_whitespace
            define = cst.FunctionDef(
                name=cst.Name(SETTLED), params=cst.Parameters(),
                body=cst.IndentedBlock(body=inner, header=header),
                leading_lines=stmt.leading_lines)
            call = cst.parse_statement(f"{plan.call}({SETTLED}{plan.args})\n")
            out.extend([define, call])
            for effect in plan.effects:
                effect()
            self.ctx.report(original.body[i],
                            f"blind sleep ({_fmt(plan.seconds)} s) before assertions: they "
                            f"are retried until they pass (up to {_fmt(plan.budget)} s) "
                            "instead", fixed=True)
            changed = True
            i += 1 + plan.count
        return updated.with_changes(body=out) if changed else updated
