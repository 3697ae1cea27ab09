"""TSF101 sleep-polling-loop."""
from __future__ import annotations

import ast
import math
import re
import textwrap
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst
import libcst.matchers as m

from .. import catalog
from ..codemod import Codemod, Context
from ..cstutil import (assigned_names, bound_by, children, comments, dotted, is_string_literal,
                       names_read, negate, number, walk, walk_all)
from ..astutil import ast_bindings, ast_dotted, called_as, lines_naming
from ..imports import module_bindings
from ..model import HelperRequest, ImportRequest
from ..project import resolve_ast_expr
from ..sparse import split_lines, statement_lines, units
from ..suppress import SUPPRESSED

SLEEP_FUNCS = {"time.sleep", "eventlet.sleep", "eventlet.greenthread.sleep"}
# Builtins a probe may call under an assert-retry helper (none raises AssertionError).
# Standard modules whose functions never raise AssertionError.
NON_ASSERTING_MODULES = {"time", "os", "json", "re", "math", "datetime", "itertools",
                         "collections", "functools", "operator", "copy", "uuid", "random",
                         "string", "socket", "subprocess", "shutil", "glob", "errno"}
SAFE_BUILTINS = {"len", "any", "all", "str", "int", "float", "bool", "list", "dict", "set",
                 "tuple", "sorted", "min", "max", "sum", "isinstance", "getattr", "hasattr",
                 "repr", "enumerate", "zip", "range", "reversed", "abs", "round"}
EVENT_CLASSES = {"threading.Event", "eventlet.event.Event"}

WAIT_UNTIL = '''\
def wait_until(predicate, timeout, interval, message):
    """Call ``predicate`` until it returns a truthy value; return that value.

    Sleeps ``interval`` seconds between calls and gives up after sleeping
    ``timeout`` seconds in all: the budget is counted in sleeps, as in the loop
    this replaced, so a slow ``predicate`` never shortens the wait. Then it
    fails the test with ``message``, a string or a callable returning one
    (called only on failure).
    """
    attempts = int(round(timeout / interval)) + 1 if interval > 0 else 1
    for attempt in range(max(attempts, 1)):
        result = predicate()
        if result:
            return result
        if attempt + 1 < attempts:
            time.sleep(interval)
    raise AssertionError(message() if callable(message) else message)
'''


class Decline(Exception):
    """The loop cannot be rewritten with the same behaviour; the message says why."""


@dataclass(frozen=True)
class Count:
    """A number of polls or sleeps: a literal value, or source text (a parameter) plus offset."""

    value: Optional[float]
    text: str = ""
    offset: int = 0

    def plus(self, k: int) -> "Count":
        return Count(None if self.value is None else self.value + k, self.text, self.offset + k)

    def render(self) -> str:
        if self.value is not None:
            return _num(self.value)
        if self.offset:
            return f"{self.text} {'+' if self.offset > 0 else '-'} {abs(self.offset)}"
        return self.text

    def seconds(self, interval: float) -> str:
        if self.value is not None:
            return _num(self.value * interval)
        return f"({self.render()}) * {_num(interval)}" if self.offset else \
            f"{self.text} * {_num(interval)}"


def _num(value: float) -> str:
    value = round(value, 6)
    return str(int(value)) if value == int(value) and abs(value) >= 1 or value == 0 else repr(value)


@dataclass
class Plan:
    start: int  # first replaced statement of the block
    end: int  # one past the last
    probe: List[cst.BaseStatement]  # what the loop does each attempt (kept as written)
    style: str  # "exit": probe ends the wait by return/break; "cond": ``not_done`` turns false
    not_done: Optional[cst.BaseExpression]  # cond style: the loop's own condition
    polls: Count
    sleeps: Count
    interval: float
    interval_src: str
    message: Optional[cst.BaseExpression]  # the failure message, None: a new timeout
    loop: cst.BaseCompoundStatement
    removed: List[cst.CSTNode] = field(default_factory=list)  # skeleton, for its comments
    carried: Set[str] = field(default_factory=set)  # names whose value one round leaves the next
    event: str = ""  # threading.Event name for the event-wait rewrite


@dataclass
class Exits:
    """How a loop body ends the wait: ``return``/``break`` kinds, and returned values."""

    kinds: Set[str]
    values: List[cst.BaseExpression]
    bare: int = 0  # bare ``return`` statements


class SleepPollingLoop(Codemod):
    """Polling loops that sleep: ``while ...: time.sleep()`` and ``for i in range(N): ... sleep``.

    ## What it does
    Finds loops in test code whose body calls a sleep (``time.sleep``, ``sleep`` imported from
    ``time``, ``eventlet.sleep``, ``greenthread.sleep``, under any alias) to poll a condition,
    and rewrites each into a call of a wait helper, in this order of preference:

    1. the project's own helper for that wait, from a helper catalog (Nova's
       ``_wait_for_migration_status`` and friends): a local method that re-implements an
       inherited catalog helper is removed and its callers use the inherited one;
    2. the project's generic retry helper (Nova's ``_wait_for_assert``), where the class
       inherits it;
    3. ``threading.Event.wait(timeout)`` for a loop that only waits for an event;
    4. otherwise a small ``wait_until(predicate, timeout, interval, message)`` helper, which
       the fix adds to the project's test fixtures module and imports.

    The rewrite keeps the loop's budget (its number of sleeps times the interval) and its
    failure message; a loop with no bound gains a timeout (``default-timeout``, 60 s).

    ## Why is this bad?
    Each hand-rolled loop re-implements timing, counting and failure reporting, and each gets
    some of it wrong: float counters that drift, an extra or a missing last poll, a failure
    message that forgets the last state, and loops with no bound that hang a whole test run
    instead of failing one test.

    ## Example
    ```python
    import time

    from myapp import test


    class ServerTest(test.TestCase):

        def _wait_for_status(self, server_id, status):
            attempts = 0
            server = self.api.get_server(server_id)
            while server['status'] != status and attempts < 20:
                time.sleep(0.5)
                attempts += 1
                server = self.api.get_server(server_id)
            if server['status'] != status:
                self.fail('Timed out waiting for %s' % status)
            return server
    ```

    ## Use instead
    The helper module (here ``tests/fixtures/polling.py``) gains ``wait_until``.
    ```python
    from myapp import test

    from tests.fixtures import polling


    class ServerTest(test.TestCase):

        def _wait_for_status(self, server_id, status):
            def _poll():
                server = self.api.get_server(server_id)
                if server['status'] == status:
                    return server

            return polling.wait_until(
                _poll, timeout=10, interval=0.5,
                message=lambda: 'Timed out waiting for %s' % status)
    ```

    ## Fix safety
    Safe: the fix is made only when the new code waits at least as long as the loop did,
    counted in polls and sleeps as the loop counted them (a float counter such as
    ``timeout += .1`` up to ``10.0`` runs 101 rounds, so the budget is ``10.1`` s), fails
    with the same message (a catalog helper's own message where one is used), and returns
    what the loop returned. An assert-retry helper is used only where nothing in the loop
    can raise AssertionError itself and the message calls nothing. The fix declines, and
    says why, when the loop's body cannot move into a function unchanged (``continue``,
    ``yield``, ``super()``, ``del``, ``global``, a name declared global), when its counter
    or loop variable is used elsewhere, when statements stand between the counter and the
    loop, when the loop ends silently on timeout, when a returned value might be falsy for
    ``wait_until``, when it sleeps with eventlet (a green-thread yield) or through a name
    the file patches, when the file sets ``failureException``, when the loop is not at the
    top of a function body, or when the new code would exceed the line length. Comments of
    the removed loop lines are kept above the new code. The catalog's helper classes (the
    helpers themselves) are left alone.
    """

    code = "TSF101"
    name = "sleep-polling-loop"
    safe = True
    trigger = re.compile("sleep")  # a plain literal scans fastest

    def regions(self, tree: ast.Module, ctx: Context) -> Optional[Set[ast.stmt]]:
        sleepers = _sleepers(ast_bindings(tree))
        if not sleepers:
            return set()
        # Functions (top-level, or methods of top-level classes) holding a loop that sleeps;
        # only statements with a line that names a sleep function are walked.
        named = lines_naming(ctx.text, sleepers)
        keep: Set[ast.stmt] = set()
        for stmt in units(tree):
            if named.intersection(statement_lines(stmt)) and _sleep_in_loop(stmt, sleepers):
                keep.add(stmt)
        # A method shadowing a catalog helper needs every statement that names it.
        shadow_names = {h.name for h in catalog.of_kind(catalog.load(ctx.config), "shadow")}
        shadowing = {s.name for s in keep if isinstance(s, ast.FunctionDef)} & shadow_names
        if shadowing:
            for stmt in units(tree):
                if any(isinstance(n, ast.Attribute) and n.attr in shadowing
                       for n in ast.walk(stmt)):
                    keep.add(stmt)
        return keep

    def transform(self, module: cst.Module, ctx: Context) -> cst.Module:
        return module.visit(_Rewriter(module, ctx))


# -- the rewriter ------------------------------------------------------------------------------

class _Rewriter(cst.CSTTransformer):
    def __init__(self, module: cst.Module, ctx: Context) -> None:
        super().__init__()
        self.module = module
        self.ctx = ctx
        self.bindings = module_bindings(module)
        self.sleepers = _sleepers(self.bindings)
        self.local: Set[str] = set()  # sleep names the current function binds itself
        self.helpers = catalog.load(ctx.config)
        self.this_module = ctx.project.module_name(ctx.path) or "<this module>"
        self.classes: List[cst.ClassDef] = []
        self.functions: List[cst.FunctionDef] = []
        self.lines = [line.rstrip("\r\n") for line in split_lines(module.code)]
        self.shadows: Dict[str, Tuple[catalog.Helper, cst.FunctionDef, List[str]]] = {}
        self.kept: Set[cst.FunctionDef] = set()  # shadowing methods a suppression keeps
        self.string_hits: Dict[str, bool] = {}  # pattern: a string of the file matches it
        self.indent_unit = module.default_indent

    # sleep recognition
    def is_sleep(self, node: cst.CSTNode) -> bool:
        if not isinstance(node, cst.Call):
            return False
        name = dotted(node.func)
        return name in self.sleepers and name.split(".")[0] not in self.local

    def sleep_stmt(self, stmt: cst.CSTNode) -> Optional[cst.Call]:
        if m.matches(stmt, m.SimpleStatementLine(body=[m.Expr(value=m.Call())])):
            call = stmt.body[0].value  # type: ignore[attr-defined]
            if self.is_sleep(call):
                return call
        return None

    def has_sleep(self, node: cst.CSTNode) -> bool:
        return any(self.is_sleep(n) for n in walk(node))

    # scopes
    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.classes.append(node)
        self._find_shadows(node)
        return True

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self.classes.pop()
        removed = {name for name, (_, fn, _) in self.shadows.items()
                   if any(s is fn for s in original.body.body)}
        if not removed:
            return updated
        body = [s for s, o in zip(updated.body.body, original.body.body)
                if not (isinstance(o, cst.FunctionDef) and o.name.value in removed
                        and self.shadows[o.name.value][1] is o)]
        return updated.with_changes(body=updated.body.with_changes(body=body))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.functions.append(node)
        return True

    def leave_FunctionDef(self, original: cst.FunctionDef,
                          updated: cst.FunctionDef) -> cst.FunctionDef:
        try:
            if self._in_helper_class(original) or self._is_wait_until(original):
                return updated
            shadow = self.shadows.get(original.name.value)
            if (shadow and shadow[1] is original) or original in self.kept or \
                    not isinstance(updated.body, cst.IndentedBlock):
                return updated
            return self._rewrite_function(original, updated)
        finally:
            self.functions.pop()

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if m.matches(original, m.Call(func=m.Attribute(value=m.Name("self")))):
            name = original.func.attr.value  # type: ignore[attr-defined]
            if name in self.shadows:
                adapted = _adapt_call(updated, self.shadows[name][2], None)
                wrap = self._wrap_column(original, adapted)
                return adapted if wrap is None else \
                    _adapt_call(updated, self.shadows[name][2], wrap)
        return updated

    def _wrap_column(self, original: cst.Call, adapted: cst.Call) -> Optional[int]:
        """Where added arguments start a new line (after the call's parenthesis), when the
        adapted call would not fit on its line; None when it fits."""
        span, func = self.ctx.span(original), self.ctx.span(original.func)
        if span is None or func is None or span[0] != span[2]:
            return None
        line = self.lines[span[0] - 1]
        new = line[:span[1]] + self.module.code_for_node(adapted) + line[span[3]:]
        if len(new) <= self.ctx.config.max_line_length:
            return None
        return func[3] + 1

    def _in_helper_class(self, fn: cst.FunctionDef) -> bool:
        if not self.classes or len(self.functions) != 1:
            return False
        cls = self.classes[-1]
        if not any(s is fn for s in cls.body.body):
            return False
        dotted_name = f"{self.this_module}.{cls.name.value}"
        return any(h.owner == dotted_name for h in self.helpers)

    def _is_wait_until(self, fn: cst.FunctionDef) -> bool:
        """The generic helper this codemod adds is not a loop to rewrite."""
        if self.classes or len(self.functions) != 1 or fn.name.value != "wait_until":
            return False
        module = self.ctx.project.fixtures_module(self.ctx.path)
        return bool(module) and self.ctx.project.is_module(self.ctx.path, module) \
            or self.module.code_for_node(fn).strip() == WAIT_UNTIL.strip()

    # -- class reachability ----------------------------------------------------------------
    def class_reaches(self, cls: cst.ClassDef, owner: str) -> bool:
        bases = [resolve_ast_expr(ast.parse(self.module.code_for_node(b.value).strip(),
                                            mode="eval").body, self.ctx.tree, self.this_module)
                 for b in cls.bases]
        seen: Set[str] = set()
        todo = [b for b in bases if b]
        while todo:
            name = todo.pop()
            if name == owner:
                return True
            if name in seen or len(seen) > 200:
                continue
            seen.add(name)
            todo.extend(b for b in self._bases_of(name) if b)
        return False

    def _bases_of(self, name: str) -> Tuple[str, ...]:
        prefix = self.this_module + "."
        if name.startswith(prefix) and "." not in name[len(prefix):]:
            local = name[len(prefix):]
            for node in self.ctx.tree.body:
                if isinstance(node, ast.ClassDef) and node.name == local:
                    return tuple(resolve_ast_expr(b, self.ctx.tree, self.this_module)
                                 for b in node.bases)
            return ()
        return self.ctx.project.class_bases(name) or ()

    def assert_helper(self, fn: cst.FunctionDef) -> Optional[catalog.Helper]:
        """The assert-retry helper a method can call as ``self.<name>``, if its class
        inherits one (not from a static or class method)."""
        if not self.classes or len(self.functions) != 1:
            return None
        params = fn.params.posonly_params or fn.params.params
        if not params or params[0].name.value != "self" or any(
                dotted(d.decorator) in ("staticmethod", "classmethod") for d in fn.decorators):
            return None
        for helper in catalog.of_kind(self.helpers, "assert-retry"):
            if self.class_reaches(self.classes[-1], helper.owner):
                return helper
        return None

    # -- shadowing methods -----------------------------------------------------------------
    def _find_shadows(self, cls: cst.ClassDef) -> None:
        for stmt in cls.body.body:
            if not isinstance(stmt, cst.FunctionDef):
                continue
            for helper in catalog.of_kind(self.helpers, "shadow"):
                if helper.name != stmt.name.value or not self.class_reaches(cls, helper.owner):
                    continue
                try:
                    if self.ctx.suppressed(stmt):
                        # A comment on the method keeps it whole, its loops too; one on a
                        # line inside only stops the method being replaced (its loops are
                        # looked at on their own, and that comment holds for them).
                        if self.ctx.suppressed(self.ctx.line_of(stmt)[0]):
                            self.kept.add(stmt)
                        raise Decline(SUPPRESSED)
                    adapt = self._shadow_plan(cls, stmt, helper)
                except Decline as exc:
                    self.ctx.report(stmt, f"method {stmt.name.value} re-implements the "
                                    f"inherited {helper.name}", fixed=False, reason=str(exc))
                    continue
                self.shadows[helper.name] = (helper, stmt, adapt)
                self.ctx.report(stmt, f"method {stmt.name.value} re-implements the inherited "
                                f"catalog helper; removed, callers use "
                                f"self.{helper.name}", fixed=True)

    def _shadow_plan(self, cls: cst.ClassDef, fn: cst.FunctionDef,
                     helper: catalog.Helper) -> List[Tuple[str, str, bool]]:
        """How calls of the local method become calls of the inherited helper: (local
        parameter or ``+keyword``, helper parameter or value, wrap in a list)."""
        if not isinstance(fn.body, cst.IndentedBlock):
            raise Decline("its body is not a block")
        body = list(fn.body.body)
        first = 1 if body and _is_docstring(body[0]) else 0
        loops = [k for k, s in enumerate(body) if isinstance(s, (cst.For, cst.While))
                 and self.has_sleep(s)]
        if len(loops) != 1:
            raise Decline("its body is not a single polling loop")
        self.functions.append(fn)
        try:
            self._enter(fn)
            plan = self.analyze(fn, body, loops[0])
        finally:
            self.functions.pop()
        if plan.start != first or plan.end != len(body):
            raise Decline("its body does more than the polling loop")
        if plan.sleeps.value is None:
            raise Decline("its budget is not a number")
        params = fn.params
        if params.star_arg != cst.MaybeSentinel.DEFAULT or params.kwonly_params or \
                params.star_kwarg or params.posonly_params or \
                any(p.default for p in params.params):
            raise Decline("its signature has defaults or variable arguments")
        local = [p.name.value for p in params.params][1:]
        if helper.polls and not self._mentions(plan, helper.polls, set(local)):
            raise Decline(f"its loop does not poll {helper.polls}es/s as {helper.name} does")
        wanted = [p.split(":")[0] for p in helper.params]
        if len(local) != len(wanted):
            raise Decline("its parameters do not match the inherited helper's")
        adapt: List[Tuple[str, str, bool]] = []
        for mine, theirs, spec in zip(local, wanted, helper.params):
            if mine == theirs:
                adapt.append((mine, theirs, False))
            elif spec.endswith(":list") and theirs in (mine + "s", mine + "es"):
                adapt.append((mine, theirs, True))
            else:
                raise Decline(f"parameter {mine!r} does not match {theirs!r} of {helper.name}")
        budget = plan.sleeps.value * plan.interval
        if budget > helper.attempts * helper.interval + 1e-9:
            if not helper.retries_param:
                raise Decline(f"its budget ({_num(budget)} s) is longer than the inherited "
                              f"helper's ({_num(helper.attempts * helper.interval)} s)")
            retries = math.ceil(budget / helper.interval - 1e-9)
            adapt.append(("+" + helper.retries_param, str(retries), False))
        values = self._exits(plan.probe).values
        same_result = all(m.matches(v, m.Name(helper.returns)) for v in values) \
            if helper.returns else not values
        # Every reference in the file must be a call from this class that can be adapted.
        in_class = {id(n) for n in walk(cls, into_scopes=True)}
        statements = {id(n.body[0].value) for n in walk(cls, into_scopes=True)
                      if m.matches(n, m.SimpleStatementLine(body=[m.Expr(value=m.Call())]))}
        for node in walk(self.module, into_scopes=True):
            if isinstance(node, cst.Attribute) and node.attr.value == helper.name \
                    and id(node) not in in_class:
                raise Decline(f"{helper.name} is referenced outside class {cls.name.value}")
        for node in walk(cls, into_scopes=True):
            if isinstance(node, cst.Attribute) and node.attr.value == helper.name:
                calls = [c for c in walk(cls, into_scopes=True)
                         if isinstance(c, cst.Call) and c.func is node]
                if not calls:
                    raise Decline(f"self.{helper.name} is used other than by a call")
                reason = _not_adaptable(calls[0], adapt)
                if reason:
                    raise Decline(reason)
                if not same_result and id(calls[0]) not in statements:
                    raise Decline(f"it returns something else than {helper.name} does, and a "
                                  f"caller uses the result")
        return adapt

    def _mentions(self, plan: Plan, word: str, params: Set[str]) -> bool:
        """Does the loop (not counting parameter names) mention ``word``?"""
        for node in walk(plan.loop, into_scopes=True):
            if isinstance(node, cst.SimpleString) and word in node.value:
                return True
            if isinstance(node, cst.Name) and word in node.value and node.value not in params:
                return True
        return False

    # -- loops in a function -----------------------------------------------------------------
    def _enter(self, fn: cst.FunctionDef) -> None:
        """Names of sleep functions a function binds itself are not sleeps there."""
        self.taken: Set[str] = set()  # names of functions made in this one
        local = assigned_names([fn.body]) | {p.name.value for p in _all_params(fn)}
        self.local = {head for head in (s.split(".")[0] for s in self.sleepers) if head in local}

    def _rewrite_function(self, original: cst.FunctionDef,
                          updated: cst.FunctionDef) -> cst.FunctionDef:
        block = list(updated.body.body)  # type: ignore[union-attr]
        orig_block = list(original.body.body)  # type: ignore[union-attr]
        self._enter(original)
        # Loops nested below the top of the body are reported, not rewritten (loops in nested
        # functions are their own function's business).
        for stmt in orig_block:
            if isinstance(stmt, (cst.For, cst.While, cst.FunctionDef, cst.ClassDef)):
                continue
            for node in walk(stmt):
                if isinstance(node, (cst.For, cst.While)) and self.has_sleep(node):
                    self.ctx.report(node, "polling loop with sleep", fixed=False,
                                    reason="the loop is not at the top level of a function "
                                           "body")
        i = len(block) - 1
        changed = False
        while i >= 0:
            stmt = orig_block[i]
            if isinstance(stmt, (cst.For, cst.While)) and self.has_sleep(stmt):
                try:
                    if self.ctx.suppressed(stmt):
                        raise Decline(SUPPRESSED)
                    plan = self.analyze(original, orig_block, i)
                    new, helper_name, pending = self.render(original, orig_block, plan)
                except Decline as exc:
                    self.ctx.report(stmt, "polling loop with sleep", fixed=False,
                                    reason=str(exc))
                else:
                    for effect in pending:
                        effect()
                    block[plan.start:plan.end] = new
                    orig_block[plan.start:plan.end] = new
                    changed = True
                    self.ctx.report(stmt, f"polling loop rewritten to {helper_name}",
                                    fixed=True)
                    i = plan.start
            i -= 1
        if not changed:
            return updated
        return updated.with_changes(body=updated.body.with_changes(body=block))

    # -- analysis ----------------------------------------------------------------------------
    def analyze(self, fn: cst.FunctionDef, block: List[cst.BaseStatement], i: int) -> Plan:
        loop = block[i]
        self._check_sleeps(loop)
        if "failureException" in self.ctx.text:
            raise Decline("the file sets failureException; the helpers fail with "
                          "AssertionError")
        if isinstance(loop, cst.For):
            if loop.asynchronous:
                raise Decline("async for loop")
            plan = self._analyze_for(fn, block, i, loop)
        elif m.matches(loop.test, m.Name("True")):  # type: ignore[union-attr]
            plan = self._analyze_while_true(fn, block, i, loop)  # type: ignore[arg-type]
        else:
            plan = self._analyze_while(fn, block, i, loop)  # type: ignore[arg-type]
        plan.removed = list(block[plan.start:plan.end])
        if plan.message is not None and any(
                m.matches(n, m.Call(func=m.Name("locals") | m.Name("vars") | m.Name("dir")))
                for n in walk(plan.message)):
            raise Decline("the failure message reads the function's scope (locals() or vars())")
        # A patch of sleep that can reach this test: in its class (decorators, setUp) or its
        # own function.
        scope = self.classes[0] if self.classes else fn
        if plan.style == "event" and any(
                isinstance(n, cst.SimpleString) and "sleep" in n.value
                for n in walk(scope, into_scopes=True)):
            raise Decline("the test patches a sleep by name; Event.wait would not call it")
        for head in (h for h, p in self.bindings.items() if p == "time"):
            if self._in_strings(rf"\.{re.escape(head)}(\.|$)"):
                raise Decline(f"the file names its {head!r} module in a string (a mock.patch "
                              f"target?); removing the import could break it")
        carried = self._carried(plan.probe)
        outside = [s for k, s in enumerate(block) if not plan.start <= k < plan.end]
        bound = assigned_names(outside) | {p.name.value for p in _all_params(fn)}
        if carried - bound:
            raise Decline(f"the loop may read {sorted(carried - bound)[0]!r} before binding "
                          f"it in a round (a value carried from an earlier round)")
        plan.carried = carried
        return plan

    def _carried(self, probe: Sequence[cst.BaseStatement]) -> Set[str]:
        """Names the probe binds and may read before binding them in the same round: their
        values come from an earlier round, so they must stay the function's."""
        bound_here = assigned_names(probe)
        carried: Set[str] = set()

        def check(node: cst.CSTNode, definite: Set[str]) -> None:
            carried.update(n for n in _loads(node) if n in bound_here and n not in definite)

        def scan(stmts, definite: Set[str]) -> Set[str]:
            definite = set(definite)
            for stmt in stmts:
                if isinstance(stmt, cst.SimpleStatementLine):
                    for small in stmt.body:
                        check(small, definite)
                        definite |= assigned_names([small])
                elif isinstance(stmt, cst.For):
                    check(stmt.iter, definite)
                    scan(stmt.body.body, definite | bound_by(stmt.target))
                    if stmt.orelse:
                        scan(stmt.orelse.body.body, definite)
                elif isinstance(stmt, (cst.If, cst.While)):
                    check(stmt.test, definite)
                    scan(stmt.body.body, definite)
                    other = stmt.orelse
                    while isinstance(other, cst.If):
                        check(other.test, definite)
                        scan(other.body.body, definite)
                        other = other.orelse
                    if other is not None:
                        scan(other.body.body, definite)
                elif isinstance(stmt, cst.Try):
                    scan(stmt.body.body, definite)
                    for handler in stmt.handlers:
                        if handler.type is not None:
                            check(handler.type, definite)
                        names = bound_by(handler.name.name) if handler.name else set()
                        scan(handler.body.body, definite | names)
                    for extra in (stmt.orelse, stmt.finalbody):
                        if extra is not None:
                            scan(extra.body.body, definite)
                elif isinstance(stmt, cst.With):
                    # A context manager may swallow an exception (contextlib.suppress,
                    # assertRaises): what its block binds is not bound for sure after it.
                    for item in stmt.items:
                        check(item.item, definite)
                    scan(stmt.body.body, definite | assigned_names(
                        [i.asname for i in stmt.items if i.asname]))
                else:
                    check(stmt, definite)
                    definite |= assigned_names([stmt])
            return definite

        scan(list(probe), set())
        return carried

    def _sleep_interval(self, call: cst.Call) -> Tuple[float, str]:
        if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
            raise Decline("the sleep call does not take one interval argument")
        value = number(call.args[0].value)
        if value is None or value <= 0:
            raise Decline("the sleep interval is not a positive number literal")
        return value, self.module.code_for_node(call.args[0].value)

    def _check_sleeps(self, loop: cst.CSTNode) -> None:
        calls = [n for n in walk(loop) if self.is_sleep(n)]
        if len(calls) != 1:
            raise Decline(f"the loop sleeps in {len(calls)} places")
        name = dotted(calls[0].func)  # type: ignore[attr-defined]
        head, _, rest = name.partition(".")
        path = self.bindings.get(head, "") + ("." + rest if rest else "")
        if path != "time.sleep":
            raise Decline(f"the loop sleeps with {path} (a green-thread yield); the helpers "
                          f"sleep with time.sleep")
        if name != "time.sleep" and self._in_strings("sleep"):
            raise Decline(f"the file names sleep in a string (a mock.patch target?), and the "
                          f"helpers would not sleep through {name}")

    def _in_strings(self, pattern: str) -> bool:
        """Whether a string constant of the file holds a match of ``pattern`` (asked once
        per pattern, not per loop: a big file has thousands of strings)."""
        if pattern not in self.string_hits:
            search = re.compile(pattern).search
            self.string_hits[pattern] = any(search(text) for text in self.ctx.strings)
        return self.string_hits[pattern]

    def _private(self, fn: cst.FunctionDef, var: str, allowed: Sequence[cst.CSTNode]) -> bool:
        """Is ``var`` used in ``fn`` nowhere but at ``allowed`` (and where it is only bound
        anew, which cannot read it)?"""
        ok = {id(n) for n in allowed} | _rebinding_names(fn.body)
        return all(id(n) in ok for n in _name_nodes(fn.body, var))

    def _analyze_for(self, fn, block, i, loop: cst.For) -> Plan:
        if m.matches(loop.iter, m.Call(func=m.Name("range"), args=[m.Arg(keyword=None)])):
            count = self._count(loop.iter.args[0].value, fn)  # type: ignore[attr-defined]
        elif m.matches(loop.iter, m.Call(func=m.Name("range"), args=[
                m.Arg(value=m.Integer(), keyword=None), m.Arg(value=m.Integer(), keyword=None)])):
            low, high = (number(a.value) for a in loop.iter.args)  # type: ignore[attr-defined]
            count = Count(max(high - low, 0.0))  # type: ignore[operator]
        else:
            raise Decline("the loop does not iterate over range(N)")
        if count.value == 0:
            raise Decline("the loop never polls (range of nothing)")
        if not isinstance(loop.target, cst.Name):
            raise Decline("the loop variable is not a plain name")
        if not self._private(fn, loop.target.value, [loop.target]):
            raise Decline(f"the loop variable {loop.target.value!r} is used")
        probe, sleep, incs = self._strip_tail(list(loop.body.body))
        if incs:
            raise Decline("the loop also counts in a variable")
        interval, src = self._sleep_interval(sleep)
        exits = self._exits(probe)
        end = i + 1
        if loop.orelse is not None:
            message = self._fail_message(list(loop.orelse.body.body))
            if message is _NO:
                raise Decline("the loop's else clause is not a single self.fail(...)")
            exits_return = "return" in exits.kinds
        else:
            message = self._fail_message(block[i + 1:i + 2])
            if message is _NO:
                raise Decline("the loop is not followed by self.fail(...): it ends silently "
                              "on timeout")
            if "break" in exits.kinds:
                raise Decline("a break leads to the failure after the loop")
            end = i + 2
            exits_return = True
        if not exits.kinds:
            raise Decline("nothing in the loop ends the wait")
        if "break" in exits.kinds and exits.values:
            raise Decline("the loop both breaks and returns a value")
        if exits_return and end != len(block):
            raise Decline("code follows the loop's failure")
        return Plan(i, end, probe, "exit", None, count, count, interval, src, message, loop)

    def _analyze_while_true(self, fn, block, i, loop: cst.While) -> Plan:
        if loop.orelse is not None:
            raise Decline("while True loop with an else clause")
        body = list(loop.body.body)
        sleep = self.sleep_stmt(body[-1]) if body else None
        if sleep is None:
            raise Decline("the sleep is not the last step of the loop body")
        interval, src = self._sleep_interval(sleep)
        body = body[:-1]
        # The counter: ``c += 1`` and ``if c == MAX: self.fail(...)``, in either order.
        inc_at = [k for k, s in enumerate(body) if _counter_inc(s)]
        check_at = [k for k, s in enumerate(body) if self._counter_check(s)]
        if len(inc_at) != 1 or len(check_at) != 1:
            raise Decline("the loop has no retry counter checked with self.fail(...)")
        inc, check = body[inc_at[0]], body[check_at[0]]
        counter = _counter_inc(inc)
        var, limit = self._counter_check(check)  # type: ignore[misc]
        if counter is None or counter[0] != var or counter[1] != 1:
            raise Decline("the retry counter is not counted in ones")
        if sorted(inc_at + check_at) != [len(body) - 2, len(body) - 1]:
            raise Decline("the loop polls after counting")
        probe = body[:-2]
        c0 = self._init_value(block[i - 1], var) if i else None
        if c0 is None:
            raise Decline(f"the counter {var!r} is not set just before the loop")
        allowed = [block[i - 1].body[0].targets[0].target,  # type: ignore[attr-defined]
                   inc.body[0].target, check.test.left]  # type: ignore[attr-defined]
        if not self._private(fn, var, allowed):
            raise Decline(f"the counter {var!r} is used outside the loop's counting")
        polls = self._count(limit, fn).plus(-int(c0) + (1 if check_at[0] < inc_at[0] else 0))
        if polls.value is not None and polls.value < 1:
            raise Decline("the loop never polls")
        message = self._fail_message(list(check.body.body))  # type: ignore[attr-defined]
        exits = self._exits(probe)
        if not exits.kinds:
            raise Decline("nothing in the loop ends the wait")
        if "return" in exits.kinds and i + 1 != len(block):
            raise Decline("code follows the loop")
        return Plan(i - 1, i + 1, probe, "exit", None, polls, polls.plus(-1), interval, src,
                    message, loop)

    def _analyze_while(self, fn, block, i, loop: cst.While) -> Plan:
        if loop.orelse is not None:
            raise Decline("while loop with an else clause")
        not_done, counter = _split_condition(loop.test)
        body = list(loop.body.body)
        if not_done is None:
            # ``while counter < N:`` with a try/return body: it ends by its exits, as a for
            # loop does.
            var, limit, inclusive = counter  # type: ignore[misc]
            c0 = self._init_value(block[i - 1], var) if i else None
            limit_value = number(limit)
            if c0 is None or limit_value is None:
                raise Decline(f"the counter {var!r} is not set to a number just before the "
                              f"loop, or its limit is not a number")
            probe, sleep, incs = self._strip_tail(body)
            sleeps = self._sleeps(incs, var, c0, limit_value, inclusive)
            interval, src = self._sleep_interval(sleep)
            exits = self._exits(probe)
            if not exits.kinds or "break" in exits.kinds:
                raise Decline("the loop does not end the wait with return")
            message = self._fail_message(block[i + 1:i + 2])
            if message is _NO:
                raise Decline("the loop is not followed by self.fail(...)")
            if i + 2 != len(block):
                raise Decline("code follows the loop's failure")
            allowed = [block[i - 1].body[0].targets[0].target,  # type: ignore[attr-defined]
                       loop.test.left, incs[0].body[0].target]  # type: ignore[attr-defined]
            if not self._private(fn, var, allowed):
                raise Decline(f"the counter {var!r} is used outside the loop's counting")
            return Plan(i - 1, i + 2, probe, "exit", None, sleeps, sleeps, interval, src,
                        message, loop)
        # ``while not_done [and counter]``: sleep (and count), then poll again.
        incs = [s for s in body if _counter_inc(s)]
        rest = [s for s in body if not _counter_inc(s)]
        if counter is None and incs:
            raise Decline("the loop counts but its condition does not bound it")
        if not rest or not self.sleep_stmt(rest[0]):
            raise Decline("the loop does not sleep first and then poll")
        interval, src = self._sleep_interval(self.sleep_stmt(rest[0]))  # type: ignore[arg-type]
        refetch = rest[1:]
        if self._exits(refetch).kinds:
            raise Decline("the loop's poll exits early")
        # Just before the loop: the first poll (the same statements) and the counter's start,
        # and nothing else.
        need, start, c0, init = list(refetch), i, None, None
        while start > 0 and (need or (counter is not None and init is None)):
            stmt = block[start - 1]
            if counter is not None and init is None and \
                    self._init_value(stmt, counter[0]) is not None:
                c0, init = self._init_value(stmt, counter[0]), stmt
            elif need and stmt.deep_equals(need[-1]):
                need.pop()
            else:
                break
            start -= 1
        if need:
            raise Decline("the first poll before the loop is not the same as the poll in it")
        sleeps: Optional[Count] = None
        if counter is not None:
            var, limit, inclusive = counter
            if init is None or number(limit) is None:
                raise Decline(f"the counter {var!r} is not set just before the loop, or its "
                              f"limit is not a number")
            sleeps = self._sleeps(incs, var, c0, number(limit), inclusive)  # type: ignore
            allowed = [init.body[0].targets[0].target,  # type: ignore[attr-defined]
                       incs[0].body[0].target,  # type: ignore[attr-defined]
                       _counter_side(loop.test, var)]
            if not self._private(fn, var, allowed):
                raise Decline(f"the counter {var!r} is used outside the loop's counting")
        end = i + 1
        message: Union[None, cst.BaseExpression, object] = None
        if i + 1 < len(block) and m.matches(block[i + 1], m.If()):
            post = block[i + 1]
            if post.orelse is None and post.test.deep_equals(not_done):  # type: ignore
                message = self._fail_message(list(post.body.body))  # type: ignore
                if message is _NO:
                    message = None
                else:
                    end = i + 2
        if end == i + 1 and counter is not None:
            event = self._event_name(fn, not_done)
            if event and not refetch:
                return Plan(start, end, [], "event", not_done, sleeps.plus(1),  # type: ignore
                            sleeps, interval, src, None, loop, event=event)
            raise Decline("the loop ends silently on timeout (no self.fail after it)")
        if sleeps is None:  # no bound: it gains one
            timeout = self.ctx.config.default_timeout
            sleeps = Count(float(math.ceil(timeout / interval - 1e-9)))
        return Plan(start, end, refetch, "cond", not_done, sleeps.plus(1), sleeps, interval, src,
                    message, loop)  # type: ignore[arg-type]

    def _sleeps(self, incs, var: str, c0: float, limit: float, inclusive: bool) -> Count:
        """How many rounds ``var`` counts from ``c0`` to ``limit``, counted the way Python
        does it (``0.1`` added a hundred times stays below ``10.0``: 101 rounds)."""
        steps = [_counter_inc(s) for s in incs]
        if len(steps) != 1 or steps[0][0] != var:  # type: ignore[index]
            raise Decline(f"the counter {var!r} is not counted once per round")
        step, value, rounds = steps[0][1], c0, 0  # type: ignore[index]
        while (value <= limit) if inclusive else (value < limit):
            value += step
            rounds += 1
            if rounds > 100000:
                raise Decline("the loop counts more than 100000 rounds")
        if not rounds:
            raise Decline("the loop never runs")
        return Count(float(rounds))

    def _count(self, node: cst.BaseExpression, fn: cst.FunctionDef) -> Count:
        value = number(node)
        if value is not None:
            return Count(value)
        if isinstance(node, cst.Name) and node.value in [p.name.value for p in fn.params.params]:
            if node.value in assigned_names([fn.body]):
                raise Decline(f"the bound {node.value!r} is reassigned")
            return Count(None, node.value)
        raise Decline("the loop's bound is neither a number nor a parameter")

    def _strip_tail(self, stmts: List[cst.BaseStatement]):
        """Split a loop body into (probe, sleep call, counter increments after the probe)."""
        if not stmts:
            raise Decline("empty loop body")
        incs = []
        k = len(stmts)
        while k and _counter_inc(stmts[k - 1]):
            k -= 1
            incs.insert(0, stmts[k])
        if k and self.sleep_stmt(stmts[k - 1]):
            sleep = self.sleep_stmt(stmts[k - 1])
            k -= 1
            while k and _counter_inc(stmts[k - 1]):
                k -= 1
                incs.insert(0, stmts[k])
            return stmts[:k], sleep, incs
        last = stmts[-1]
        if isinstance(last, cst.Try) and last.finalbody is None and not incs:
            sleeping = [h for h in last.handlers if self.has_sleep(h)]
            if sleeping:  # "until it stops raising": the try body ends the wait
                if last.orelse is not None or not _ends_with_exit(last.body.body):
                    raise Decline("the loop's try neither sleeps nor ends the wait")
                if any(not _ends_with_exit(h.body.body) for h in last.handlers
                       if h is not sleeping[0]):
                    raise Decline("an except clause of the loop's try neither exits nor sleeps")
                handler = sleeping[0]
                body = list(handler.body.body)
                inner, sleep, incs = self._strip_tail(body)
                if not inner:  # ``pass`` keeps the comments that stood above the sleep
                    inner = [cst.SimpleStatementLine([cst.Pass()],
                                                     leading_lines=body[0].leading_lines)]
                handlers = [h.with_changes(body=h.body.with_changes(body=inner))
                            if h is handler else h for h in last.handlers]
                return stmts[:-1] + [last.with_changes(handlers=handlers)], sleep, incs
            for handler in last.handlers:
                if not _ends_with_exit(handler.body.body):
                    raise Decline("an except clause of the loop's try neither exits nor sleeps")
            if last.orelse is not None:
                inner, sleep, incs = self._strip_tail(list(last.orelse.body.body))
                new_else = last.orelse.with_changes(
                    body=last.orelse.body.with_changes(body=inner)) if inner else None
                new_try = last.with_changes(orelse=new_else)
            else:
                inner, sleep, incs = self._strip_tail(list(last.body.body))
                if not inner:
                    raise Decline("the loop's try holds only the sleep")
                new_try = last.with_changes(body=last.body.with_changes(body=inner))
            return stmts[:-1] + [new_try], sleep, incs
        raise Decline("the sleep is not the last step of the loop body")

    def _exits(self, probe: Sequence[cst.CSTNode]) -> "Exits":
        exits = Exits(set(), [])

        def visit(node: cst.CSTNode, in_loop: bool, in_else: bool) -> None:
            if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                return
            if isinstance(node, (cst.Yield, cst.Await)) or (
                    isinstance(node, (cst.With, cst.For)) and node.asynchronous):
                raise Decline("the loop yields or awaits")
            if isinstance(node, cst.Call) and m.matches(node.func, m.Name("locals") |
                                                        m.Name("vars") | m.Name("dir")):
                raise Decline("the loop reads its own scope (locals(), vars() or dir())")
            if isinstance(node, (cst.Global, cst.Nonlocal, cst.Del)):
                raise Decline("the loop uses global, nonlocal or del")
            if isinstance(node, cst.Call) and m.matches(node.func, m.Name("super")) and \
                    not node.args:
                raise Decline("the loop calls super() without arguments")
            if isinstance(node, (cst.Break, cst.Continue)) and not in_loop and in_else:
                raise Decline("a break or continue in an inner loop's else clause")
            if isinstance(node, cst.Return):
                exits.kinds.add("return")
                if node.value is not None:
                    exits.values.append(node.value)
                else:
                    exits.bare += 1
            elif isinstance(node, cst.Break) and not in_loop:
                exits.kinds.add("break")
            elif isinstance(node, cst.Continue) and not in_loop:
                raise Decline("the loop uses continue, which skips the sleep")
            for child in children(node):
                if isinstance(node, (cst.For, cst.While)):
                    # a loop's else clause runs outside that loop
                    visit(child, in_loop if child is node.orelse else True,
                          in_else or child is node.orelse)
                else:
                    visit(child, in_loop, in_else)

        for stmt in probe:
            visit(stmt, False, False)
        return exits

    def _counter_check(self, stmt: cst.CSTNode):
        """``if c == LIMIT: self.fail(...)`` (or ``>=``) -> (c, LIMIT)."""
        if not m.matches(stmt, m.If(test=m.Comparison(left=m.Name(), comparisons=[
                m.ComparisonTarget(operator=m.Equal() | m.GreaterThanEqual())]))):
            return None
        if stmt.orelse is not None or \
                self._fail_message(list(stmt.body.body)) is _NO:  # type: ignore
            return None
        test = stmt.test  # type: ignore[attr-defined]
        return test.left.value, test.comparisons[0].comparator

    def _init_value(self, stmt: cst.CSTNode, var: str) -> Optional[float]:
        """``var = <number>`` -> the number."""
        if m.matches(stmt, m.SimpleStatementLine(body=[m.Assign(
                targets=[m.AssignTarget(target=m.Name(var))])])):
            return number(_assign_value(stmt))
        return None

    def _fail_message(self, stmts):
        """The message of a lone ``self.fail(msg)`` statement; None for ``self.fail()``;
        ``_NO`` when the statements are something else."""
        if len(stmts) != 1 or not m.matches(stmts[0], m.SimpleStatementLine(body=[m.Expr(
                value=m.Call(func=m.Attribute(value=m.Name("self"), attr=m.Name("fail"))))])):
            return _NO
        call = stmts[0].body[0].value
        if not call.args:
            return None
        arg = call.args[0]
        if len(call.args) != 1 or arg.star or \
                (arg.keyword is not None and arg.keyword.value != "msg"):
            return _NO
        return arg.value

    def _event_name(self, fn: cst.FunctionDef, not_done) -> str:
        if not m.matches(not_done, m.UnaryOperation(operator=m.Not(), expression=m.Call(
                func=m.Attribute(value=m.Name(), attr=m.Name("is_set")), args=[]))):
            return ""
        name = not_done.expression.func.value.value  # type: ignore[union-attr]
        for node in walk(fn.body):
            if m.matches(node, m.Assign(targets=[m.AssignTarget(target=m.Name(name))],
                                        value=m.Call(args=[]))):
                func = dotted(node.value.func)  # type: ignore[attr-defined]
                head, _, rest = func.partition(".")
                full = self.bindings.get(head, head) + ("." + rest if rest else "")
                if full in EVENT_CLASSES:
                    return name
        return ""

    # -- rendering ---------------------------------------------------------------------------
    # Generated code is laid out as text relative to the replaced block's indentation, then
    # parsed; expressions kept from the loop keep their own line breaks.
    def render(self, fn: cst.FunctionDef, block, plan: Plan):
        """(new statements, the helper used, effects to apply if the rewrite is kept)."""
        indent = self._indent_of(block[plan.start])
        kept = set(comments(cst.Module(body=list(plan.probe))))
        if plan.message is not None:
            kept |= set(comments(plan.message))
        leading = block[plan.start].leading_lines
        # The first replaced statement's leading lines stay where they are.
        kept |= {line.comment.value for line in leading if line.comment is not None}
        moved = [c for node in plan.removed for c in comments(node) if c not in kept]
        if plan.style == "event":
            text = f"{plan.event}.wait({plan.sleeps.seconds(plan.interval)})\n"
            return self._finish(text, moved, leading, indent), f"{plan.event}.wait()", []
        helper = self.assert_helper(fn)
        if helper is not None and self._assert_safe(plan):
            text, name = self._render_assert(fn, block, plan, helper, indent)
            pending: list = []
        else:
            text, name, pending = self._render_wait_until(fn, block, plan, indent)
        return self._finish(text, moved, leading, indent), name, pending

    def _finish(self, text: str, moved: List[str], leading, indent: str):
        """Parse the new code; it takes the loop's leading lines and the comments of the
        removed loop lines, after a blank line the new code starts with (a nested def keeps
        its blank line before those comments, pycodestyle E306)."""
        blank = text.startswith("\n")
        text = text.lstrip("\n")
        limit = self.ctx.config.max_line_length
        for line in moved + text.splitlines():
            if line.strip() and len(indent) + len(line) > limit:
                raise Decline(f"the rewrite would make a line longer than {limit} characters")
        stmts = [s.visit(_Unindent()) for s in cst.parse_module(text).body]
        lines = list(leading) + [cst.EmptyLine(comment=cst.Comment(c)) for c in moved]
        if blank and (not lines or lines[0].comment is not None):
            lines.insert(0, cst.EmptyLine(indent=False))
        stmts[0] = stmts[0].with_changes(leading_lines=lines + list(stmts[0].leading_lines))
        return stmts

    def _assert_safe(self, plan: Plan) -> bool:
        """Can the probe run under an assert-retry helper, which retries on AssertionError
        and builds the failure message on every try? Not if anything in it may raise
        AssertionError (an assert, a raise, a call of the test's own methods or of a plain
        function) or if the message calls anything."""
        nodes = list(plan.probe) + ([plan.not_done] if plan.not_done is not None else [])
        for node in walk_all(nodes):
            if isinstance(node, (cst.Assert, cst.Raise)):
                return False
            if isinstance(node, cst.Call):
                func = node.func
                if m.matches(func, m.Attribute(value=m.Name("self"))):
                    return False
                if isinstance(func, cst.Attribute) and \
                        func.attr.value.lower().startswith(("assert", "fail")):
                    return False
                if isinstance(func, cst.Name) and func.value not in SAFE_BUILTINS:
                    return False
                if self._imported_function(func):
                    return False
        return plan.message is None or not any(isinstance(n, cst.Call)
                                               for n in walk(plan.message))

    def _imported_function(self, func: cst.BaseExpression) -> bool:
        """A function reached through an imported module (``checks.volume_swapped``): a
        plain function, which may assert. The standard library's plain modules do not."""
        head = func
        while isinstance(head, cst.Attribute):
            head = head.value
        if not isinstance(head, cst.Name) or head is func or head.value not in self.bindings:
            return False
        return self.bindings[head.value].split(".")[0] not in NON_ASSERTING_MODULES

    def _state(self, fn: cst.FunctionDef, block, plan: Plan) -> Tuple[List[str], List[str]]:
        """Names the probe binds that must stay the function's own (``nonlocal``): those
        code outside the probe reads or binds, and parameters. (after, in message)."""
        assigned = assigned_names(plan.probe)
        outside_nodes = [s for k, s in enumerate(block) if not plan.start <= k < plan.end]
        params = {p.name.value for p in _all_params(fn)}
        shared = set(names_read(outside_nodes)) | assigned_names(outside_nodes) | params
        if plan.not_done is not None and plan.style != "cond":
            shared |= set(names_read([plan.not_done]))
        declared = {n.value for node in walk(fn.body, into_scopes=False)
                    if isinstance(node, (cst.Global, cst.Nonlocal)) for n in
                    (x.name for x in node.names)}
        in_message = [n for n in dict.fromkeys(names_read([plan.message]) if plan.message
                                                 else []) if n in assigned]
        after = [n for n in sorted(assigned) if n in shared or n in plan.carried]
        if declared & set(after + in_message):
            raise Decline("the loop binds a name declared global or nonlocal")
        return after, in_message

    def _state_plan(self, fn, block, plan: Plan, after: List[str], in_message: List[str],
                    assert_style: bool) -> Tuple[List[str], str]:
        """Which probe names become ``nonlocal``, and which one (if any) the helper returns."""
        if plan.style == "cond" and len(after) == 1 and not in_message:
            var = after[0]
            outside = [s for k, s in enumerate(block) if not plan.start <= k < plan.end]
            params = {p.name.value for p in _all_params(fn)}
            subscripted = any(m.matches(n, m.Subscript(value=m.Name(var)))
                              for n in walk(plan.not_done))  # type: ignore[arg-type]
            if var not in assigned_names(outside) and var not in params and \
                    (assert_style or subscripted):
                return [], var
        return list(dict.fromkeys(after + in_message)), ""

    def _init_lines(self, fn, block, plan: Plan, names: List[str]) -> str:
        outside = [s for k, s in enumerate(block) if not plan.start <= k < plan.end]
        bound = assigned_names(outside) | {p.name.value for p in _all_params(fn)}
        return "".join(f"{n} = None\n" for n in names if n not in bound)

    def _nested_name(self, fn: cst.FunctionDef, base: str) -> str:
        used = set(names_read([fn])) | self.taken
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        return name

    def _def_text(self, block, plan: Plan, before: str, name: str, body: str) -> str:
        first = plan.start == 0 or _is_docstring(block[plan.start - 1])
        blank = "" if first and not before else "\n"
        return f"{before}{blank}def {name}():\n{body}\n"

    def _probe_text(self, plan: Plan, flag_value: str) -> str:
        """The probe as source, one indent unit deeper, with loop exits made returns."""
        for node in walk_all(plan.probe, into_scopes=True):
            if isinstance(node, (cst.SimpleString, cst.FormattedString)) and \
                    "\n" in self.module.code_for_node(node):
                raise Decline("the loop body holds a multi-line string")
        if not plan.probe:
            return ""
        body = cst.Module(body=list(plan.probe), default_indent=self.indent_unit)
        code = body.visit(_ExitsToReturns(flag_value)).code
        return textwrap.indent(code, self.indent_unit, lambda line: bool(line.strip()))

    def _joined(self, expr: cst.BaseExpression) -> str:
        """An expression on one line (a condition after ``if``): not one with comments."""
        if comments(expr):
            raise Decline("a comment inside the loop's condition would be lost")
        return " ".join(self._expr(expr))

    def _expr(self, expr: cst.BaseExpression, at: int = 0, line: int = 0) -> List[str]:
        """An expression's source lines, laid out to start at column ``at`` of a line that
        starts at column ``line`` (both relative to the first line's start, which is not
        indented). A continuation line keeps its place relative to the expression's start
        if it was at or right of it, else relative to the start of its statement's line."""
        for node in walk(expr, into_scopes=True):
            if isinstance(node, (cst.SimpleString, cst.FormattedString)) and \
                    "\n" in self.module.code_for_node(node):
                raise Decline("a multi-line string would move")
        span = self.ctx.span(expr)
        if span is None:
            code = self.module.code_for_node(expr).strip()
            if "\n" in code:
                raise Decline("a multi-line expression would move")
            return [code]
        line0, col0, line1, col1 = span
        source = self.lines[line0 - 1:line1]
        if line0 == line1:
            return [source[0][col0:col1]]
        stmt_indent = len(source[0]) - len(source[0].lstrip())
        out = [source[0][col0:].rstrip()]
        for k, text in enumerate(source[1:], start=1):
            if k == len(source) - 1:
                text = text[:col1]
            body = text.lstrip()
            lead = len(text) - len(body)
            column = at + lead - col0 if lead >= col0 else line + lead - stmt_indent
            out.append(" " * max(column, 0) + body.rstrip())
        return out

    def _message(self, plan: Plan, budget: str, room: int = 0, at: int = 0,
                 line: int = 0) -> List[str]:
        """The loop's failure message laid out as ``_expr`` does; a new one (naming the
        condition, if it fits in ``room`` characters) for a loop that had none."""
        if plan.message is not None:
            return self._expr(plan.message, at, line)
        short = f"Timed out after {budget} s"
        if plan.not_done is not None:
            what = " ".join(" ".join(self._expr(negate(plan.not_done))).split())
            full = repr(f"{short} waiting for: {what}")
            if len(full) <= room:
                return [full]
        return [repr(short)]

    def _fail(self, plan: Plan, col: int) -> str:
        """``self.fail(<message>)`` for a body at column ``col``."""
        if plan.message is None and plan.style != "cond":
            return "self.fail()"
        unit = len(self.indent_unit)
        budget = plan.sleeps.seconds(plan.interval)
        room = self.ctx.config.max_line_length - col - 11
        aligned = ["self.fail(" + line if k == 0 else line for k, line in
                   enumerate(self._message(plan, budget, room, at=10, line=0))]
        aligned[-1] += ")"
        if all(col + len(line) <= self.ctx.config.max_line_length for line in aligned):
            return "\n".join(aligned)
        msg = self._message(plan, budget, room, at=unit, line=unit)
        hanging = ["self.fail(", " " * unit + msg[0], *msg[1:]]
        hanging[-1] += ")"
        return "\n".join(hanging)

    def _render_assert(self, fn, block, plan: Plan, helper: catalog.Helper, indent: str):
        unit = self.indent_unit
        after, _ = self._state(fn, block, plan)
        nonlocal_names, result_var = self._state_plan(fn, block, plan, after, [],
                                                      assert_style=True)
        name = self._nested_name(fn, "_check")
        body = f"{unit}nonlocal {', '.join(nonlocal_names)}\n" if nonlocal_names else ""
        body += self._probe_text(plan, "")
        if plan.style == "cond":
            fail = self._fail(plan, len(indent) + 2 * len(unit))
            body += f"{unit}if {self._joined(plan.not_done)}:\n"  # type: ignore[arg-type]
            body += textwrap.indent(fail, unit * 2) + "\n"
        else:
            body += textwrap.indent(self._fail(plan, len(indent) + len(unit)), unit) + "\n"
        if result_var:
            body += f"{unit}return {result_var}\n"
        args = [[name]]
        if plan.polls.value is None or int(plan.polls.value) != helper.default_retries:
            args.append([f"{helper.retries_param}={plan.polls.render()}"])
        if abs(plan.interval - helper.default_interval) > 1e-9:
            args.append([f"{helper.interval_param}={plan.interval_src}"])
        before = self._init_lines(fn, block, plan, nonlocal_names)
        text = self._def_text(block, plan, before, name, body)
        prefix = self._prefix(block, plan, result_var,
                              plan.style == "exit" and bool(self._exits(plan.probe).values))
        text += self._call(prefix, f"self.{helper.name}", args, indent) + "\n"
        return text, f"self.{helper.name}"

    def _render_wait_until(self, fn, block, plan: Plan, indent: str):
        module = self.ctx.project.fixtures_module(self.ctx.path) or \
            self.ctx.config.fixtures_module or None
        if not module:
            raise Decline("no fixtures module for the wait_until helper (set fixtures-module "
                          "in [tool.testsec-fix])")
        exits = self._exits(plan.probe)
        values = exits.values
        if plan.style == "exit" and values and exits.bare:
            raise Decline("the loop returns a value on one path and nothing on another; "
                          "wait_until needs a true value to stop")
        if plan.style == "exit" and not all(self._truthy(v, plan) for v in values):
            raise Decline("the loop returns a value that may be falsy, which wait_until "
                          "would take for 'not yet'")
        after, in_message = self._state(fn, block, plan)
        nonlocal_names, result_var = self._state_plan(fn, block, plan, after, in_message,
                                                      assert_style=False)
        unit = self.indent_unit
        timeout = plan.sleeps.seconds(plan.interval)
        room = self.ctx.config.max_line_length - len(indent) - len(unit) - 10
        if plan.message is not None and not is_string_literal(plan.message):
            msg = self._lambda(plan, timeout, len(indent) + len(unit))
        else:
            msg = self._message(plan, timeout, room, at=8, line=0)
            msg = ["message=" + msg[0]] + msg[1:]
        func, pending = self._wait_until_ref(module)
        before = self._init_lines(fn, block, plan, nonlocal_names)
        predicate = None
        if plan.style == "cond" and not nonlocal_names and not result_var:
            predicate = self._inline_predicate(plan)
        text = before
        if predicate is None:
            predicate = self._nested_name(fn, "_poll")
            body = f"{unit}nonlocal {', '.join(nonlocal_names)}\n" if nonlocal_names else ""
            body += self._probe_text(plan, "True")
            if plan.style == "cond":
                done = self._joined(negate(plan.not_done))  # type: ignore[arg-type]
                if result_var:
                    body += f"{unit}if {done}:\n{unit * 2}return {result_var}\n"
                else:
                    body += f"{unit}return {done}\n"
            text = self._def_text(block, plan, before, predicate, body)
        args = [[predicate], [f"timeout={timeout}"], [f"interval={plan.interval_src}"], msg]
        prefix = self._prefix(block, plan, result_var, plan.style == "exit" and bool(values))
        text += self._call(prefix, func, args, indent) + "\n"
        return text, func, pending

    def _lambda(self, plan: Plan, budget: str, col: int) -> List[str]:
        """``message=lambda: <message>``, the message in parentheses on lines of its own
        when it does not fit on one (``col``: where the argument starts)."""
        msg = self._message(plan, budget, at=16, line=0)
        one = "message=lambda: " + msg[0]
        if len(msg) == 1 and col + len(one) + 1 <= self.ctx.config.max_line_length:
            return [one]
        unit = len(self.indent_unit)
        msg = self._message(plan, budget, at=unit, line=unit)
        lines = ["message=lambda: (", " " * unit + msg[0], *msg[1:]]
        lines[-1] += ")"
        return lines

    def _truthy(self, value: cst.BaseExpression, plan: Plan) -> bool:
        """A returned value wait_until can pass on: ``True``, or a name bound once in the
        probe and returned under an ``if`` that looks it up with a constant key (a dict or
        list that has the key is not empty)."""
        if m.matches(value, m.Name("True")):
            return True
        if not isinstance(value, cst.Name):
            return False
        name = value.value
        binds = [n for n in _name_nodes(cst.Module(body=list(plan.probe)), name)
                 if id(n) in _rebinding_names(cst.Module(body=list(plan.probe)))]
        augmented = [n for n in walk_all(plan.probe) if isinstance(n, (cst.AugAssign,
                                                                       cst.NamedExpr))]
        if len(binds) != 1 or any(name in assigned_names([n]) for n in augmented):
            return False
        lookup = m.Subscript(value=m.Name(name), slice=[m.SubscriptElement(
            slice=m.Index(value=m.SimpleString() | m.Integer()))])

        def guarded(node: cst.CSTNode, tests: Tuple[cst.CSTNode, ...]) -> Optional[bool]:
            if node is value:
                return any(m.findall(t, lookup) for t in tests)
            if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                return None
            inner = tests + ((node.test,) if isinstance(node, cst.If) else ())
            for child in children(node):
                found = guarded(child, inner if child is not getattr(node, "orelse", None)
                                else tests)
                if found is not None:
                    return found
            return None

        return any(guarded(stmt, ()) for stmt in plan.probe)

    def _prefix(self, block, plan: Plan, result_var: str, values: bool) -> str:
        """``return `` or ``name = `` before the helper call; ``x = helper(...)`` followed by
        ``return x`` becomes ``return helper(...)``."""
        if result_var:
            if plan.end < len(block) and m.matches(block[plan.end], m.SimpleStatementLine(
                    body=[m.Return(value=m.Name(result_var))])) and \
                    not comments(block[plan.end]):
                plan.end += 1
                return "return "
            return f"{result_var} = "
        return "return " if values else ""

    def _inline_predicate(self, plan: Plan) -> Optional[str]:
        """``lambda: <condition>`` when the poll is one assignment used once in it."""
        done = negate(plan.not_done)  # type: ignore[arg-type]
        if not plan.probe:
            return "lambda: " + self._joined(done)
        if len(plan.probe) != 1 or not m.matches(plan.probe[0], m.SimpleStatementLine(
                body=[m.Assign(targets=[m.AssignTarget(target=m.Name())])])) or \
                comments(plan.probe[0]):
            return None
        assign = plan.probe[0].body[0]  # type: ignore[attr-defined]
        var = assign.targets[0].target.value
        uses = [n for n in walk(done) if isinstance(n, cst.Name) and n.value == var]
        if len(uses) != 1:
            return None
        value = assign.value
        if not isinstance(value, (cst.Call, cst.Subscript, cst.Attribute, cst.Name)):
            return None
        inlined = done.visit(_Replace(uses[0], value))
        code = self.module.code_for_node(inlined)
        if "\n" in code:
            return None
        return "lambda: " + code.strip()

    def _wait_until_ref(self, module: str):
        """How the file calls wait_until, and what to do if the rewrite is kept (import the
        module, ask for the helper)."""
        effects = [lambda: self.ctx.require_helper(
            HelperRequest(module, "wait_until", WAIT_UNTIL, (ImportRequest("time"),)))]
        if self.ctx.project.is_module(self.ctx.path, module):
            return "wait_until", effects
        for bound, path in self.bindings.items():
            if path == module:
                return f"{bound}.wait_until", effects
        parent, _, leaf = module.rpartition(".")
        alias = leaf if leaf not in self.ctx.names else f"testsec_{leaf}"
        request = ImportRequest(parent, leaf, alias if alias != leaf else "") if parent else \
            ImportRequest(module, "", alias if alias != leaf else "")

        def add() -> None:
            self.ctx.add_import(request.module, request.name, request.asname)
            self.bindings[alias] = module

        return f"{alias}.wait_until", effects + [add]

    def _call(self, prefix: str, func: str, args: List[List[str]], indent: str) -> str:
        """``prefix func(args)`` within the line length: on one line if it fits, else broken
        after the parenthesis, arguments packed on lines one indent unit deeper."""
        width = self.ctx.config.max_line_length - len(indent)
        if all(len(a) == 1 for a in args):
            one = f"{prefix}{func}({', '.join(a[0] for a in args)})"
            if len(one) <= width:
                return one
        unit = self.indent_unit
        out = [f"{prefix}{func}("]
        current = ""
        for k, arg in enumerate(args):
            tail = "," if k < len(args) - 1 else ")"
            if len(arg) == 1:
                piece = arg[0] + tail
                joined = f"{current} {piece}" if current else piece
                if len(unit) + len(joined) <= width:
                    current = joined
                    continue
            if current:
                out.append(unit + current)
                current = ""
            if len(arg) == 1:
                current = arg[0] + tail
                continue
            out.extend(unit + line for line in arg[:-1])
            out.append(unit + arg[-1] + tail)
        if current:
            out.append(unit + current)
        return "\n".join(out)

    def _indent_of(self, stmt: cst.CSTNode) -> str:
        """The statement's indentation as written (a function may sit in an ``if``)."""
        span = self.ctx.span(stmt)
        if span is None:
            return self.indent_unit * (len(self.classes) + len(self.functions))
        line = self.lines[span[0] - 1]
        return line[:len(line) - len(line.lstrip())]


class _Unindent(cst.CSTTransformer):
    """Blank lines carry no indentation (pycodestyle W293)."""

    def leave_EmptyLine(self, original, updated):  # noqa: N802
        return updated.with_changes(indent=False) if updated.comment is None else updated


class _Replace(cst.CSTTransformer):
    def __init__(self, target: cst.CSTNode, value: cst.CSTNode) -> None:
        super().__init__()
        self.target, self.value = target, value

    def on_leave(self, original, updated):
        return self.value if original is self.target else updated


class _ExitsToReturns(cst.CSTTransformer):
    """Inside the new function, the loop's ``break`` and bare ``return`` end the wait: they
    become ``return <flag>`` (``return True`` for wait_until)."""

    def __init__(self, flag: str) -> None:
        super().__init__()
        self.flag = flag
        self.depth = 0

    def visit_FunctionDef(self, node) -> bool:  # noqa: N802
        return False

    def visit_ClassDef(self, node) -> bool:  # noqa: N802
        return False

    def visit_Lambda(self, node) -> bool:  # noqa: N802
        return False

    def visit_For(self, node) -> None:  # noqa: N802
        self.depth += 1

    def leave_For(self, original, updated):  # noqa: N802
        self.depth -= 1
        return updated

    def visit_While(self, node) -> None:  # noqa: N802
        self.depth += 1

    def leave_While(self, original, updated):  # noqa: N802
        self.depth -= 1
        return updated

    def leave_Break(self, original, updated):  # noqa: N802
        if self.depth:
            return updated
        return cst.Return(cst.parse_expression(self.flag) if self.flag else None)

    def leave_Return(self, original, updated):  # noqa: N802
        if updated.value is None and self.flag:
            return updated.with_changes(value=cst.parse_expression(self.flag),
                                        whitespace_after_return=cst.SimpleWhitespace(" "))
        return updated


_NO = object()


def _loads(root: cst.CSTNode) -> List[str]:
    """Names read below ``root`` (not attribute or keyword names, nor names only bound
    there), nested scopes included."""
    stores = _rebinding_names(root)
    return [n.value for n in _name_nodes(root, None) if id(n) not in stores]


def _all_params(fn: cst.FunctionDef) -> List[cst.Param]:
    p = fn.params
    star = [p.star_arg] if isinstance(p.star_arg, cst.Param) else []
    kw = [p.star_kwarg] if p.star_kwarg else []
    return [*p.posonly_params, *p.params, *star, *p.kwonly_params, *kw]


def _name_nodes(root: cst.CSTNode, var: Optional[str]) -> List[cst.Name]:
    """Every use of the name ``var`` (None: of any name) below ``root``, not attribute or
    keyword names."""
    out: List[cst.Name] = []

    def visit(node: cst.CSTNode) -> None:
        if isinstance(node, cst.Name):
            if node.value == var or (var is None and node.value not in ("True", "False",
                                                                        "None")):
                out.append(node)
            return
        if isinstance(node, cst.Attribute):
            visit(node.value)
            return
        if isinstance(node, cst.Arg):
            visit(node.value)
            return
        if isinstance(node, cst.Param):
            if node.default is not None:
                visit(node.default)
            return
        for child in children(node):
            visit(child)

    visit(root)
    return out


def _rebinding_names(root: cst.CSTNode) -> Set[int]:
    """ids of plain names that are only bound (``for x in``, ``x = ...``): such a use
    cannot read a value left by another statement."""
    out: Set[int] = set()
    for node in walk(root, into_scopes=True):
        if isinstance(node, cst.For) and isinstance(node.target, cst.Name):
            out.add(id(node.target))
        elif isinstance(node, (cst.AssignTarget, cst.NamedExpr)) and \
                isinstance(node.target, cst.Name):
            out.add(id(node.target))
        elif isinstance(node, cst.AsName) and isinstance(node.name, cst.Name):
            out.add(id(node.name))
    return out


def _counter_side(test: cst.BaseExpression, var: str) -> cst.CSTNode:
    """The ``var`` name of the ``var < N`` part of a loop condition."""
    for node in walk(test):
        if m.matches(node, m.Comparison(left=m.Name(var))):
            return node.left  # type: ignore[attr-defined]
    return test


def _is_docstring(stmt: cst.CSTNode) -> bool:
    return m.matches(stmt, m.SimpleStatementLine(body=[m.Expr(
        value=m.SimpleString() | m.ConcatenatedString())]))


def _assign_value(stmt: cst.CSTNode) -> cst.BaseExpression:
    return stmt.body[0].value  # type: ignore[attr-defined]


def _counter_inc(stmt: cst.CSTNode) -> Optional[Tuple[str, float]]:
    """``c += <number>`` -> (c, number)."""
    if m.matches(stmt, m.SimpleStatementLine(body=[m.AugAssign(target=m.Name(),
                                                               operator=m.AddAssign())])):
        aug = stmt.body[0]  # type: ignore[attr-defined]
        step = number(aug.value)
        if step is not None and step > 0:
            return aug.target.value, step
    return None


def _split_condition(test: cst.BaseExpression):
    """``A and c < N`` -> (A, (c, N, inclusive)); ``c < N`` -> (None, ...); ``A`` -> (A, None)."""
    def counter(expr):
        if m.matches(expr, m.Comparison(left=m.Name(), comparisons=[m.ComparisonTarget(
                operator=m.LessThan() | m.LessThanEqual())])):
            target = expr.comparisons[0]
            return expr.left.value, target.comparator, isinstance(target.operator,
                                                                  cst.LessThanEqual)
        return None

    if counter(test):
        return None, counter(test)
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And) \
            and not test.lpar:
        if counter(test.right):
            return test.left, counter(test.right)
        if counter(test.left):
            return test.right, counter(test.left)
    return test, None


def _ends_with_exit(stmts) -> bool:
    if not stmts:
        return False
    last = stmts[-1]
    return m.matches(last, m.SimpleStatementLine(body=[m.Return() | m.Break() | m.Raise()]))


def _not_adaptable(call: cst.Call, adapt: List[Tuple[str, str, bool]]) -> str:
    """Why a call of a shadowing method cannot become a call of the inherited helper ('' if
    it can)."""
    params = [a for a in adapt if not a[0].startswith("+")]
    if any(arg.star for arg in call.args) or len(call.args) != len(params):
        return "a call of it passes arguments that cannot be mapped"
    for k, arg in enumerate(call.args):
        local = arg.keyword.value if arg.keyword is not None else params[k][0]
        spec = next((p for p in params if p[0] == local), None)
        if spec is None:
            return f"a call of it passes an unknown argument {local!r}"
        if spec[2] and not is_string_literal(arg.value):
            return (f"a call of it passes {local!r} as something else than a string, which "
                    f"cannot be told apart from a list")
    return ""


def _adapt_call(call: cst.Call, adapt: List[Tuple[str, str, bool]],
                wrap: Optional[int]) -> cst.Call:
    """A call of a removed shadowing method, made a call of the inherited helper: keywords
    renamed, a string wrapped in a list, a retry budget added (on a new line starting at
    column ``wrap``, if given)."""
    params = [a for a in adapt if not a[0].startswith("+")]
    args = list(call.args)
    for k, arg in enumerate(args):
        local = arg.keyword.value if arg.keyword is not None else params[k][0]
        _, theirs, wrap_list = next(p for p in params if p[0] == local)
        value = cst.List([cst.Element(arg.value)]) if wrap_list else arg.value
        args[k] = arg.with_changes(
            value=value, keyword=cst.Name(theirs) if arg.keyword is not None else None)
    space: cst.BaseParenthesizableWhitespace = cst.SimpleWhitespace(" ")
    if wrap is not None:
        space = cst.ParenthesizedWhitespace(indent=False,
                                            last_line=cst.SimpleWhitespace(" " * wrap))
    for keyword, value, _ in adapt:
        if not keyword.startswith("+"):
            continue
        if args:
            args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=space))
        args.append(cst.Arg(cst.parse_expression(value), keyword=cst.Name(keyword[1:]),
                            equal=cst.AssignEqual(cst.SimpleWhitespace(""),
                                                  cst.SimpleWhitespace(""))))
    return call.with_changes(args=args)


def _sleepers(bindings: Dict[str, str]) -> Set[str]:
    """The dotted names a sleep function is called by, given the file's import bindings."""
    return called_as(bindings, SLEEP_FUNCS)


def _sleep_in_loop(node: ast.AST, sleepers: Set[str]) -> bool:
    """Does a loop in ``node`` call a sleep? One walk."""
    stack = [(node, False)]
    while stack:
        current, in_loop = stack.pop()
        if in_loop and isinstance(current, ast.Call) and ast_dotted(current.func) in sleepers:
            return True
        in_loop = in_loop or isinstance(current, (ast.For, ast.While, ast.AsyncFor))
        stack.extend((child, in_loop) for child in ast.iter_child_nodes(current))
    return False
