"""TSF101 sleep-polling-loop."""
from __future__ import annotations

import ast
import builtins
import math
import re
import textwrap
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple

import libcst as cst
import libcst.matchers as m

from .. import catalog
from ..codemod import Codemod, Context
from ..cstutil import (assigned_names, bound_by, children, comments, dotted, is_string_literal,
                       names_read, negate, number, walk, walk_all)
from ..astutil import (ast_bindings, ast_dotted, bound_names, called_as, lines_naming,
                       walk as ast_walk)
from ..imports import module_bindings
from ..model import HelperRequest, ImportRequest
from ..project import resolve_ast_expr
from ..sparse import split_lines, statement_lines, units
from ..suppress import SUPPRESSED
from ..waits import HELPERS

SLEEP_FUNCS = {"time.sleep", "eventlet.sleep", "eventlet.greenthread.sleep",
               "asyncio.sleep", "trio.sleep", "anyio.sleep"}
ASYNC_SLEEP = "asyncio.sleep"  # what the async helpers sleep with
# Clocks a loop may measure its deadline with (the helpers measure with time.monotonic).
CLOCKS = {"time.time", "time.monotonic", "time.perf_counter"}
LOOP_GETTERS = {"asyncio.get_running_loop", "asyncio.get_event_loop"}  # loop.time(): monotonic
# Builtins a budget or interval expression may call (they have no side effects).
PURE_CALLS = {"min", "max", "int", "float", "abs", "round"}
# Words of a call's name that say it acts rather than looks: a loop whose every round calls
# one retries an action (a request that changes state), it does not wait for a condition.
ACTION_WORDS = {"post", "put", "patch", "delete", "create", "update", "set", "send",
                "publish", "write", "upload", "submit", "enqueue", "kill", "trigger",
                "incr", "incrby", "decr", "decrby"}
QUERY_WORDS = {"is", "has", "get", "list", "show", "find", "check", "read", "fetch", "wait",
               "poll", "count", "head", "describe", "lookup", "query"}
# Builtins a probe may call under an assert-retry helper (none raises AssertionError).
# Standard modules whose functions never raise AssertionError.
NON_ASSERTING_MODULES = {"time", "os", "json", "re", "math", "datetime", "itertools",
                         "collections", "functools", "operator", "copy", "uuid", "random",
                         "string", "socket", "subprocess", "shutil", "glob", "errno"}
SAFE_BUILTINS = {"len", "any", "all", "str", "int", "float", "bool", "list", "dict", "set",
                 "tuple", "sorted", "min", "max", "sum", "isinstance", "getattr", "hasattr",
                 "repr", "enumerate", "zip", "range", "reversed", "abs", "round"}
EVENT_CLASSES = {"threading.Event", "eventlet.event.Event"}



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
    timeout: str = ""  # a wall-clock budget (a deadline loop's), as written; '': count sleeps
    asynchronous: bool = False  # the loop awaits asyncio.sleep
    silent: bool = False  # on timeout the loop ends without failing (the code after checks)
    error: str = ""  # the exception class the loop raises on timeout (not AssertionError)
    fail_call: bool = False  # ``message`` is a call that fails (pytest.fail(...)), kept as is
    drop: Tuple[int, ...] = ()  # statements before ``start`` it replaces too (the deadline's)

    @property
    def first(self) -> int:
        """The first of the statements the new code takes the place of (``start``, or a
        deadline right before it)."""
        first = self.start
        while first - 1 in self.drop:
            first -= 1
        return first

    def inside(self, k: int) -> bool:
        """Is the block's statement ``k`` one the rewrite replaces?"""
        return self.start <= k < self.end or k in self.drop

    def take(self, failure: "Failure") -> "Plan":
        """The plan failing as ``failure`` says."""
        self.message, self.error, self.fail_call = failure.message, failure.error, \
            failure.call
        return self


@dataclass(frozen=True)
class Failure:
    """What a loop does on timeout: fail with ``message`` (None: a message of the helper's),
    raising AssertionError or ``error``; or, ``call``, run the failing call ``message``."""

    message: Optional[cst.BaseExpression]
    error: str = ""
    call: bool = False


@dataclass(frozen=True)
class Bound:
    """The clock compared with a deadline: ``before`` (time is not up yet) or after it; the
    deadline's name, or a start time's name and the timeout it is compared with."""

    before: bool
    deadline: str = ""
    start: str = ""
    timeout: Optional[cst.BaseExpression] = None


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
    ``time``, ``eventlet.sleep``, ``greenthread.sleep``, ``await asyncio.sleep``, under any
    alias) to poll a condition, and rewrites each into a call of a wait helper, in this order
    of preference:

    1. the project's own helper for that wait, from a helper catalog (Nova's
       ``_wait_for_migration_status`` and friends): a local method that re-implements an
       inherited catalog helper is removed and its callers use the inherited one;
    2. the project's generic retry helper (Nova's ``_wait_for_assert``), where the class
       inherits it;
    3. ``threading.Event.wait(timeout)`` for a loop that only waits for an event;
    4. otherwise a small helper which the fix adds to the project's test helpers
       (``tests/fixtures/polling.py``, ``tests/polling.py``; a test module outside any
       package gets its own copy) and imports: ``wait_until(predicate, timeout, interval,
       message)`` for a loop that counts its rounds, ``wait_until_deadline`` for a loop
       bounded by the clock (``deadline = time.monotonic() + 20`` / ``while
       time.monotonic() < deadline``, ``time.time() - start >= timeout``: it measures
       wall-clock time as the loop did), and ``await wait_until_async`` /
       ``wait_until_deadline_async`` for a loop that awaits ``asyncio.sleep``.

    Loops at the top of a function body and in its ``if``, ``with`` and ``try`` blocks are
    looked at; the probe may check, then sleep (also ``if not ready: sleep`` / ``else:
    break``). The rewrite keeps the loop's budget (its number of sleeps times the interval,
    or its deadline's timeout as written, ``timeout=max_sec``) and its failure:
    ``self.fail(msg)``, ``raise AssertionError(msg)``, ``assert ready, msg`` after a loop
    that waits for ``ready`` (all AssertionError, what the helpers raise), ``pytest.fail(...)``
    (run as written on timeout: ``message=lambda: pytest.fail(...)``), ``raise
    SomeError(msg)`` (``error=SomeError``; not with ``wait_until``), in the loop's ``else``,
    after it or checked in it. A deadline or async loop that ends silently on timeout keeps
    the code after it (``message=None``: the helper returns the falsy value; one that returned
    when ready becomes ``if ready: return ready``). A loop with no bound at all gains a
    timeout (``default-timeout``, 60 s).

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
    ``timeout += .1`` up to ``10.0`` runs 101 rounds, so the budget is ``10.1`` s), or for a
    deadline loop in wall-clock time from where the loop starts (``wait_until_deadline``
    polls once more after the deadline), fails with the same exception and message (a
    catalog helper's own message where one is used), and returns what the loop returned. An
    assert-retry helper is used only where nothing in the loop can raise AssertionError
    itself and the message calls nothing. The fix declines, and says why, when the loop's
    body cannot move into a function unchanged (``continue``, ``yield``, ``super()``,
    ``del``, ``global``, a name declared global), when its counter or loop variable is used
    elsewhere, when statements stand between the counter and the loop, or code that calls
    something between the deadline and the loop, when the timeout or interval calls something
    or changes in the loop, when a count loop ends silently on timeout or raises another
    exception than AssertionError, when a returned value might be falsy, when it sleeps with
    eventlet (a green-thread yield), trio or anyio, or through a name the file patches, when
    the file sets ``failureException``, when the loop is inside another loop, when a pragma
    comment (``# noqa``) is on a line it removes, or when the new code would exceed the line
    length. It declines loops that are not waits: a loop nothing ends early (a workload run
    for a set time), one that only sleeps until a moment, an unbounded ``while True`` (it may
    be a worker reading until its input ends), a function that polls the callable it is given
    (a wait helper itself), and a loop whose every round calls an action (``post``,
    ``publish``, ``set``...: a retry, not a wait). Comments of the removed loop lines are kept
    above the new code. The catalog's helper classes (the helpers themselves) are left alone.
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
        self._bound_names: Optional[Set[str]] = None
        self.helpers = catalog.load(ctx.config)
        self.this_module = ctx.project.module_name(ctx.path) or "<this module>"
        self.classes: List[cst.ClassDef] = []
        self.functions: List[cst.FunctionDef] = []
        self.lines = [line.rstrip("\r\n") for line in split_lines(module.code)]
        self.shadows: Dict[str, Tuple[catalog.Helper, cst.FunctionDef, List[str]]] = {}
        self.kept: Set[cst.FunctionDef] = set()  # shadowing methods a suppression keeps
        self.string_hits: Dict[str, bool] = {}  # pattern: a string of the file matches it
        self.indent_unit = module.default_indent
        self.awaiting = False  # the loop being looked at awaits its sleep
        self.bound_here: Set[str] = set()  # names the current function binds
        self.loop_names: Set[str] = set()
        # The rest of the function, around the block being looked at (none at its top).
        self.enclosing: List[cst.CSTNode] = []

    # sleep recognition
    def is_sleep(self, node: cst.CSTNode) -> bool:
        if not isinstance(node, cst.Call):
            return False
        name = dotted(node.func)
        return name in self.sleepers and name.split(".")[0] not in self.local

    def sleep_stmt(self, stmt: cst.CSTNode) -> Optional[cst.Call]:
        if m.matches(stmt, m.SimpleStatementLine(body=[m.Expr(value=m.Call() | m.Await(
                expression=m.Call()))])):
            call = stmt.body[0].value  # type: ignore[attr-defined]
            call = call.expression if isinstance(call, cst.Await) else call
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
        """The helpers this codemod adds are not loops to rewrite."""
        sources = {name: source for name, source, _ in HELPERS.values()}
        name = fn.name.value
        if self.classes or len(self.functions) != 1 or name not in sources:
            return False
        module = self.ctx.project.fixtures_module(self.ctx.path)
        return bool(module) and self.ctx.project.is_module(self.ctx.path, module) \
            or self.module.code_for_node(fn).strip() == sources[name].strip()

    def _own_helper(self, name: str, source: str) -> bool:
        """Whether this file may hold the generic helper ``name``: it binds the name
        nowhere, or only as that very helper (a copy added by an earlier loop or run)."""
        if name not in self.bound():
            return True
        helper = ast.dump(ast.parse(source).body[0])
        found = [n for n in self.ctx.nodes if isinstance(n, (ast.FunctionDef,
                                                             ast.AsyncFunctionDef))
                 and n.name == name]
        return len(found) == 1 and found[0] in self.ctx.tree.body and \
            ast.dump(found[0]) == helper and name not in bound_names(
                ast_walk(ast.Module([n for n in self.ctx.tree.body if n is not found[0]], [])))

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
        self.bound_here = local
        self.loop_names = set()  # names bound (once) to the running event loop
        assigns = [n for n in walk(fn.body) if isinstance(n, (cst.Assign, cst.AugAssign,
                                                                cst.AnnAssign, cst.NamedExpr))]
        for node in assigns:
            name, value = _single_assign(cst.SimpleStatementLine(body=[node])) \
                if isinstance(node, cst.Assign) else ("", None)
            if name and self._is_loop_getter(value) and sum(
                    name in assigned_names([a]) for a in assigns) == 1:
                self.loop_names.add(name)
        self.local = {head for head in (s.split(".")[0] for s in self.sleepers) if head in local}

    def _rewrite_function(self, original: cst.FunctionDef,
                          updated: cst.FunctionDef) -> cst.FunctionDef:
        self._enter(original)
        self.enclosing = []
        block = self._rewrite_block(original, list(updated.body.body),  # type: ignore
                                    list(original.body.body))  # type: ignore[union-attr]
        if block is None:
            return updated
        return updated.with_changes(body=updated.body.with_changes(body=block))

    def _rewrite_block(self, fn: cst.FunctionDef, block: List[cst.BaseStatement],
                       orig_block: List[cst.BaseStatement]) -> Optional[List[cst.BaseStatement]]:
        """The statements of one block with their polling loops rewritten (None: none
        was), the blocks of ``if``, ``with`` and ``try`` statements in it too. Loops in
        other loops are reported, not rewritten (loops in nested functions are their own
        function's business)."""
        changed = False
        for k, stmt in enumerate(orig_block):
            if isinstance(stmt, (cst.For, cst.While, cst.FunctionDef, cst.ClassDef)):
                continue
            if isinstance(stmt, (cst.If, cst.With, cst.Try)):
                new = self._rewrite_compound(fn, block, orig_block, k)
                if new is not None:
                    block[k] = orig_block[k] = new
                    changed = True
                continue
            for node in walk(stmt):
                if isinstance(node, (cst.For, cst.While)) and self.has_sleep(node):
                    self.ctx.report(node, "polling loop with sleep", fixed=False,
                                    reason="the loop is inside a statement the rewrite does "
                                           "not enter (only if, with and try blocks)")
        i = len(block) - 1
        while i >= 0:
            stmt = orig_block[i]
            if isinstance(stmt, (cst.For, cst.While)) and self.has_sleep(stmt):
                try:
                    if self.ctx.suppressed(stmt):
                        raise Decline(SUPPRESSED)
                    plan = self.analyze(fn, orig_block, i)
                    new, helper_name, pending = self.render(fn, orig_block, plan)
                except Decline as exc:
                    self.ctx.report(stmt, "polling loop with sleep", fixed=False,
                                    reason=str(exc))
                else:
                    for effect in pending:
                        effect()
                    block[plan.start:plan.end] = new
                    orig_block[plan.start:plan.end] = new
                    for k in sorted(plan.drop, reverse=True):  # (all before plan.start)
                        if k < plan.first:  # its blank lines and comments go to the next one
                            lines = [*block[k].leading_lines, *block[k + 1].leading_lines]
                            block[k + 1] = block[k + 1].with_changes(leading_lines=lines)
                            orig_block[k + 1] = block[k + 1]
                        del block[k], orig_block[k]
                    changed = True
                    self.ctx.report(stmt, f"polling loop rewritten to {helper_name}",
                                    fixed=True)
                    i = plan.start - len(plan.drop)
            i -= 1
        return block if changed else None

    def _rewrite_compound(self, fn: cst.FunctionDef, block, orig_block,
                          k: int) -> Optional[cst.BaseStatement]:
        """``block[k]`` (an if, with or try statement) with the loops of its blocks
        rewritten; None if none was. Each block is looked at knowing the rest of the
        function (``self.enclosing``): what it reads or binds decides what stays shared."""
        updated, original = block[k], orig_block[k]
        empty = cst.IndentedBlock(body=[cst.SimpleStatementLine(body=[cst.Pass()])])
        outer = self.enclosing
        done: Dict[cst.IndentedBlock, List[cst.BaseStatement]] = {}
        try:
            for mine, theirs in zip(_blocks(updated), _blocks(original)):
                self.enclosing = outer + [s for j, s in enumerate(orig_block) if j != k] + \
                    [original.deep_replace(theirs, empty)]
                new = self._rewrite_block(fn, list(mine.body), list(theirs.body))
                if new is not None:
                    done[mine] = new
        finally:
            self.enclosing = outer
        return updated.visit(_Bodies(done)) if done else None  # type: ignore[return-value]

    # -- analysis ----------------------------------------------------------------------------
    def analyze(self, fn: cst.FunctionDef, block: List[cst.BaseStatement], i: int) -> Plan:
        loop = block[i]
        self.awaiting = False
        inner = [n for s in loop.body.body for n in walk(s)  # type: ignore[attr-defined]
                 if isinstance(n, (cst.For, cst.While)) and self.has_sleep(n)]
        if inner:
            raise Decline("it sleeps in a loop inside it: a polling loop inside another loop "
                          "is not rewritten")
        self._check_sleeps(fn, loop)
        if "failureException" in self.ctx.text:
            raise Decline("the file sets failureException; the helpers fail with "
                          "AssertionError")
        clock = None if isinstance(loop, cst.For) else \
            self._analyze_clock(fn, block, i, loop)  # type: ignore[arg-type]
        if clock is not None:
            plan = clock
        elif isinstance(loop, cst.For):
            if loop.asynchronous:
                raise Decline("async for loop")
            plan = self._analyze_for(fn, block, i, loop)
        elif m.matches(loop.test, m.Name("True")):  # type: ignore[union-attr]
            plan = self._analyze_while_true(fn, block, i, loop)  # type: ignore[arg-type]
        else:
            plan = self._analyze_while(fn, block, i, loop)  # type: ignore[arg-type]
        plan.asynchronous = self.awaiting
        self._check_polls(fn, plan)
        plan.removed = [block[k] for k in plan.drop] + list(block[plan.start:plan.end])
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
        outside = [s for k, s in enumerate(block) if not plan.inside(k)] + self.enclosing
        bound = assigned_names(outside) | {p.name.value for p in _all_params(fn)}
        if carried - bound:
            raise Decline(f"the loop may read {sorted(carried - bound)[0]!r} before binding "
                          f"it in a round (a value carried from an earlier round)")
        plan.carried = carried
        return plan

    def _check_polls(self, fn: cst.FunctionDef, plan: Plan) -> None:
        """A loop that waits looks at something each round; one that calls the function's own
        callable parameter is a wait helper itself, and one that calls an action (a post, a
        publish, a set) retries that action."""
        looked = list(plan.probe) + ([plan.not_done] if plan.not_done is not None else [])
        # (a test's parameters are its fixtures: calling one is the test's business)
        params = set() if fn.name.value.startswith("test") else \
            {p.name.value for p in _all_params(fn)}
        for node in walk_all(looked):
            if not isinstance(node, cst.Call):
                continue
            if isinstance(node.func, cst.Name) and node.func.value in params:
                raise Decline(f"the function is a wait helper itself: it polls the callable "
                              f"{node.func.value!r} it is given")
            name = dotted(node.func).rpartition(".")[2]
            words = re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower().split("_")
            if words[0] not in QUERY_WORDS and set(words) & ACTION_WORDS:
                raise Decline(f"each round calls {name}, which acts rather than looks: the "
                              f"loop retries an action, it does not wait for a condition")

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
        if value == 0:
            raise Decline("the loop sleeps 0 s (it yields to other tasks or threads): its "
                          "budget is a number of rounds, not a time")
        if value is None or value < 0:
            raise Decline("the sleep interval is not a positive number literal")
        return value, self.module.code_for_node(call.args[0].value)

    def _check_sleeps(self, fn: cst.FunctionDef, loop: cst.CSTNode) -> None:
        """The loop sleeps once, with a sleep the helpers can take over; sets
        ``self.awaiting`` for a loop that awaits asyncio.sleep."""
        calls = [n for n in walk(loop) if self.is_sleep(n)]
        if len(calls) != 1:
            raise Decline(f"the loop sleeps in {len(calls)} places")
        name = dotted(calls[0].func)  # type: ignore[attr-defined]
        head, _, rest = name.partition(".")
        path = self.bindings.get(head, "") + ("." + rest if rest else "")
        awaited = any(isinstance(n, cst.Await) and n.expression is calls[0] for n in walk(loop))
        if path in ("trio.sleep", "anyio.sleep"):
            raise Decline(f"the loop sleeps with {path}; the async helpers sleep with "
                          f"asyncio.sleep")
        if path == ASYNC_SLEEP:
            if not awaited or not fn.asynchronous:
                raise Decline("the loop calls asyncio.sleep without awaiting it")
            self.awaiting = True
        elif path != "time.sleep":
            raise Decline(f"the loop sleeps with {path} (a green-thread yield); the helpers "
                          f"sleep with time.sleep")
        if name != path and self._in_strings("sleep"):
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
        failure, end, final = self._after_exits(block, i, loop, probe, exits)
        if failure is None and not self.awaiting:  # (wait_until_async can end silently)
            raise Decline(f"the loop is not followed by a failure ({FAILURES}): it ends "
                          f"silently on timeout")
        plan = Plan(i, end, probe, "exit", None, count, count, interval, src, None, loop)
        return self._exit_plan(plan, block, exits, failure, final)

    def _after_exits(self, block, i, loop, probe, exits: Exits):
        """How a loop that ends the wait by ``return`` or ``break`` fails on timeout: by its
        else clause, by the statement after it, or not at all (None: the code after it goes
        on). -> (failure, one past the last statement the rewrite replaces, whether the
        failure is a statement after the loop that only a return gets past)."""
        if loop.orelse is not None:
            failure = self._failure(list(loop.orelse.body.body))
            if failure is _NO:
                raise Decline(f"the loop's else clause is not a single failure ({FAILURES})")
            return failure, i + 1, False
        after = block[i + 1:i + 2]
        ready = self._break_condition(probe, exits)
        failure = self._post_assert(after, ready) if ready is not None else None
        if failure is not None:  # ``if ready: break`` then ``assert ready``
            return failure, i + 2, False
        failure = self._failure(after)
        if failure is _NO:
            return None, i + 1, False
        if "break" in exits.kinds:
            raise Decline("a break leads to the failure after the loop")
        return failure, i + 2, True

    def _exit_plan(self, plan: Plan, block, exits: Exits, failure: Optional[Failure],
                   final: bool) -> Plan:
        """``plan`` (of a loop ended by its exits) checked and given its failure (``final``:
        a statement after the loop, which only a return gets past)."""
        if not exits.kinds:
            raise Decline(NO_EXIT)
        if "break" in exits.kinds and exits.values:
            raise Decline("the loop both breaks and returns a value")
        if failure is None:  # (a return ends the function; the code after runs on timeout)
            plan.silent = True
        elif ("return" in exits.kinds or final) and plan.end != len(block):
            raise Decline("code follows the loop's failure")
        return plan.take(failure) if failure is not None else plan

    def _break_condition(self, probe, exits: Exits) -> Optional[cst.BaseExpression]:
        """``ready`` when the probe ends with ``if ready: break`` and nothing else exits."""
        last = probe[-1] if probe else None
        if m.matches(last, m.If(body=m.IndentedBlock(body=[m.SimpleStatementLine(
                body=[m.Break()])]), orelse=None)) and exits.kinds == {"break"} and \
                not self._exits(probe[:-1]).kinds:
            return last.test  # type: ignore[union-attr]
        return None

    def _post_assert(self, stmts, ready: cst.BaseExpression) -> Optional[Failure]:
        """``assert ready[, msg]`` (the wait's own condition checked again) as a failure."""
        if len(stmts) == 1 and m.matches(stmts[0], m.SimpleStatementLine(body=[m.Assert()])):
            check = stmts[0].body[0]
            if check.test.deep_equals(ready):
                return Failure(check.msg)
        return None

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
        if not inc_at and not check_at:
            # (it might be a worker, reading until its input ends: no bound to keep)
            raise Decline("the loop has no bound: it runs until something in it breaks out, "
                          "which may be work (reading a stream) rather than a wait")
        if len(inc_at) != 1 or len(check_at) != 1:
            raise Decline(f"the loop has no retry counter checked with a failure ({FAILURES})")
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
        failure = self._failure(list(check.body.body))  # type: ignore[attr-defined]
        exits = self._exits(probe)
        if not exits.kinds:
            raise Decline(NO_EXIT)
        if "return" in exits.kinds and i + 1 != len(block):
            raise Decline("code follows the loop")
        return Plan(i - 1, i + 1, probe, "exit", None, polls, polls.plus(-1), interval, src,
                    None, loop).take(failure)

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
            failure = self._failure(block[i + 1:i + 2])
            if failure is _NO:
                raise Decline(f"the loop is not followed by a failure ({FAILURES})")
            if i + 2 != len(block):
                raise Decline("code follows the loop's failure")
            allowed = [block[i - 1].body[0].targets[0].target,  # type: ignore[attr-defined]
                       loop.test.left, incs[0].body[0].target]  # type: ignore[attr-defined]
            if not self._private(fn, var, allowed):
                raise Decline(f"the counter {var!r} is used outside the loop's counting")
            return Plan(i - 1, i + 2, probe, "exit", None, sleeps, sleeps, interval, src,
                        None, loop).take(failure)
        # ``while not_done [and counter]``: sleep (and count), then poll again.
        incs = [s for s in body if _counter_inc(s)]
        rest = [s for s in body if not _counter_inc(s)]
        if counter is None and incs:
            raise Decline("the loop counts but its condition does not bound it")
        if not rest or not self.sleep_stmt(rest[0]):
            raise Decline(WORKS_WHILE)
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
        failure = self._cond_failure(block[i + 1:i + 2], not_done)
        end = i + 1 if failure is None else i + 2
        plan = Plan(start, end, refetch, "cond", not_done, Count(0), Count(0), interval, src,
                    None, loop)
        if failure is None and counter is not None:
            event = self._event_name(fn, not_done)
            if event and not refetch:
                plan.style, plan.event, plan.probe = "event", event, []
                plan.polls, plan.sleeps = sleeps.plus(1), sleeps  # type: ignore[union-attr]
                return plan
            if not self.awaiting:  # (wait_until_async can end silently)
                raise Decline("the loop ends silently on timeout (no failure after it)")
            plan.silent = True
        if sleeps is None:  # no bound: it gains one
            timeout = self.ctx.config.default_timeout
            sleeps = Count(float(math.ceil(timeout / interval - 1e-9)))
        plan.polls, plan.sleeps = sleeps.plus(1), sleeps
        return plan.take(failure) if failure is not None else plan

    def _cond_failure(self, after, not_done: cst.BaseExpression) -> Optional[Failure]:
        """The failure after a loop that waits while ``not_done``: ``if not_done: <failure>``
        or ``assert <ready>[, msg]``; None if the statement after it is neither."""
        if after and m.matches(after[0], m.If(orelse=None)) and \
                after[0].test.deep_equals(not_done):  # type: ignore[attr-defined]
            failure = self._failure(list(after[0].body.body))  # type: ignore[attr-defined]
            return None if failure is _NO else failure
        return self._post_assert(after, negate(not_done))

    # -- wall-clock deadlines ------------------------------------------------------------------
    def is_clock(self, node: cst.CSTNode) -> bool:
        """``time.monotonic()`` (or ``time.time()``, ``perf_counter()``), under any alias."""
        if not m.matches(node, m.Call(args=[])):
            return False
        func = node.func  # type: ignore[attr-defined]
        if m.matches(func, m.Attribute(attr=m.Name("time"))) and (
                m.matches(func.value, m.Name()) and func.value.value in self.loop_names or
                self._is_loop_getter(func.value)):
            return True  # the event loop's clock (time.monotonic)
        return self._resolve(func) in CLOCKS

    def _is_loop_getter(self, node: cst.CSTNode) -> bool:
        """``asyncio.get_running_loop()`` (or ``get_event_loop()``)."""
        return m.matches(node, m.Call(args=[])) and self._resolve(
            node.func) in LOOP_GETTERS  # type: ignore[attr-defined]

    def _bound(self, expr: cst.CSTNode) -> Optional[Bound]:
        """The clock compared with a deadline: ``clock() < deadline``, ``clock() - start <
        timeout``, ``clock() < start + timeout``, either way round (``>``: time is up)."""
        if not isinstance(expr, cst.Comparison) or len(expr.comparisons) != 1:
            return None
        op = type(expr.comparisons[0].operator)
        left, right = expr.left, expr.comparisons[0].comparator
        if self._clock_side(left) is None:
            left, right, op = right, left, _MIRROR.get(op)  # type: ignore[assignment]
        side = self._clock_side(left)
        if side is None or op not in _ORDER:
            return None
        before = _ORDER[op]
        if side:
            return Bound(before, start=side, timeout=right)
        if isinstance(right, cst.Name):
            return Bound(before, deadline=right.value)
        if m.matches(right, m.BinaryOperation(operator=m.Add(), left=m.Name())):
            return Bound(before, start=right.left.value,  # type: ignore[attr-defined]
                         timeout=right.right)  # type: ignore[attr-defined]
        return None

    def _clock_side(self, expr: cst.CSTNode) -> Optional[str]:
        """``clock()`` -> ''; ``clock() - start`` -> 'start'; None for anything else."""
        if self.is_clock(expr):
            return ""
        if m.matches(expr, m.BinaryOperation(operator=m.Subtract(), right=m.Name())) and \
                self.is_clock(expr.left):  # type: ignore[attr-defined]
            return expr.right.value  # type: ignore[attr-defined]
        return None

    def _clock_check(self, stmt: cst.CSTNode) -> Optional[Tuple[Bound, Failure]]:
        """``if <time is up>: <failure>`` or ``assert <time is not up>[, msg]``."""
        if m.matches(stmt, m.If(orelse=None)):
            bound = self._bound(stmt.test)  # type: ignore[attr-defined]
            failure = self._failure(list(stmt.body.body))  # type: ignore[attr-defined]
            if bound is not None and not bound.before and failure is not _NO:
                return bound, failure
        elif m.matches(stmt, m.SimpleStatementLine(body=[m.Assert()])):
            check = stmt.body[0]  # type: ignore[attr-defined]
            bound = self._bound(check.test)
            if bound is not None and bound.before:
                return bound, Failure(check.msg)
        return None

    def _analyze_clock(self, fn, block, i, loop: cst.While) -> Optional[Plan]:
        """A loop bounded by a wall-clock deadline, in its condition or checked in its body;
        None for a loop that does not read the clock that way."""
        test, body = loop.test, list(loop.body.body)
        parts = [loop.test]
        if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And) \
                and not test.lpar:
            parts = [test.left, test.right]
        bounds = [(p, self._bound(p)) for p in parts if self._bound(p)]
        checks = [(k, self._clock_check(s)) for k, s in enumerate(body) if self._clock_check(s)]
        if not bounds and not checks:
            return None
        if len(bounds) + len(checks) != 1:
            raise Decline("the loop checks its deadline in more than one place")
        if loop.orelse is not None and not (bounds and len(parts) == 1):
            raise Decline("the loop has an else clause")
        if bounds:
            part, bound = bounds[0]
            if not bound.before:  # type: ignore[union-attr]
                raise Decline("the loop runs while its deadline has passed")
            if len(parts) == 1:  # ``while clock() < deadline:``, ended by return or break
                probe, sleep, incs = self._strip_tail(body)
                if incs:
                    raise Decline("the loop also counts in a variable")
                if not probe:
                    raise Decline("the loop only sleeps until a moment in time: there is no "
                                  "condition to wait for")
                exits = self._exits(probe)
                failure, end, final = self._after_exits(block, i, loop, probe, exits)
                plan = Plan(i, end, probe, "exit", None, Count(0), Count(0), 0.0, "", None, loop)
                plan = self._exit_plan(plan, block, exits, failure, final)
            else:  # ``while not_done and clock() < deadline:``, sleep, poll again
                not_done = parts[1] if part is parts[0] else parts[0]
                if not body or not self.sleep_stmt(body[0]):
                    raise Decline(WORKS_WHILE)
                sleep, refetch = self.sleep_stmt(body[0]), body[1:]
                if self._exits(refetch).kinds:
                    raise Decline("the loop's poll exits early")
                start = i
                for stmt in reversed(refetch):  # the first poll, just before the loop
                    if start == 0 or not block[start - 1].deep_equals(stmt):
                        raise Decline("the first poll before the loop is not the same as "
                                      "the poll in it")
                    start -= 1
                failure = self._cond_failure(block[i + 1:i + 2], not_done)
                plan = Plan(start, i + 1 if failure is None else i + 2, refetch, "cond",
                            not_done, Count(0), Count(0), 0.0, "", None, loop)
                plan = plan.take(failure) if failure is not None else plan
                plan.silent = failure is None
        else:
            k, (bound, failure) = checks[0]  # type: ignore[misc]
            if len(body) < 2 or k < len(body) - 2 or not self.sleep_stmt(
                    body[-1] if k == len(body) - 2 else body[-2]):
                raise Decline("the deadline is not checked right before or after the sleep "
                              "that ends the loop body")
            sleep = self.sleep_stmt(body[-1] if k == len(body) - 2 else body[-2])
            probe = body[:-2]
            if m.matches(test, m.Name("True")):  # poll, check the time, sleep
                exits = self._exits(probe)
                if not exits.kinds:
                    raise Decline(NO_EXIT)
                if "return" in exits.kinds and i + 1 != len(block):
                    raise Decline("code follows the loop")
                plan = Plan(i, i + 1, probe, "exit", None, Count(0), Count(0), 0.0, "", None,
                            loop).take(failure)
            else:  # ``while not_done:`` check the time, sleep
                if probe:
                    raise Decline("the loop does more than check its deadline and sleep")
                plan = Plan(i, i + 1, [], "cond", test, Count(0), Count(0), 0.0, "", None,
                            loop).take(failure)
        plan.interval, plan.interval_src = self._interval_expr(sleep, plan)  # type: ignore
        plan.timeout, plan.drop = self._deadline(fn, block, plan, [b for _, b in bounds] or
                                                 [checks[0][1][0]])  # type: ignore[index]
        return plan

    def _interval_expr(self, call: cst.Call, plan: Plan) -> Tuple[float, str]:
        """The sleep's interval, any expression without side effects the probe leaves alone
        (a deadline bounds the wait, not the interval)."""
        if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
            raise Decline("the sleep call does not take one interval argument")
        expr = call.args[0].value
        value = number(expr)
        if value is not None and value < 0:
            raise Decline("the sleep interval is negative")
        self._pure(expr, plan, "the sleep interval")
        return value or 0.0, self.module.code_for_node(expr).strip()

    def _pure(self, expr: cst.BaseExpression, plan: Plan, what: str) -> None:
        """``expr`` may be evaluated once at the helper's call instead of where it stands:
        it calls nothing but ``min``, ``max`` and the like, and the loop binds none of its
        names."""
        for node in walk(expr, into_scopes=True):
            if isinstance(node, (cst.Await, cst.Yield, cst.Lambda, cst.NamedExpr)) or \
                    isinstance(node, cst.Call) and dotted(node.func) not in PURE_CALLS:
                raise Decline(f"{what} calls something (it would be evaluated once, not "
                              f"every round)")
        if "\n" in self.module.code_for_node(expr).strip():
            raise Decline(f"{what} is written over several lines")
        changed = set(names_read([expr])) & assigned_names(
            list(plan.probe) + [plan.loop.body])
        if changed:
            raise Decline(f"the loop changes {sorted(changed)[0]!r}, which {what} reads")

    def _deadline(self, fn, block, plan: Plan, bounds: List[Bound]) -> Tuple[str, Tuple[int, ...]]:
        """The budget of a loop bounded by ``bounds`` as written, and the statements before
        it that set the deadline, which the rewrite removes when nothing else reads them.
        Between them and the loop only statements that call nothing may stand (the helper
        starts its clock where the loop starts)."""
        setup: Dict[str, Tuple[int, Optional[cst.BaseExpression]]] = {}
        k = plan.start - 1
        while k >= 0:
            stmt = block[k]
            target, value = _single_assign(stmt)
            if target and target not in setup and self.is_clock(value):
                setup[target] = (k, None)  # start = clock()
            elif target and target not in setup and m.matches(value, m.BinaryOperation(
                    operator=m.Add())) and (self.is_clock(value.left) or  # type: ignore
                                            self.is_clock(value.right) or  # type: ignore
                                            isinstance(value.left, cst.Name)):  # type: ignore
                setup[target] = (k, value)  # deadline = clock() + timeout, = start + timeout
            elif target in self.loop_names and target not in setup:
                setup[target] = (k, value)  # loop = asyncio.get_running_loop()
            elif any(isinstance(n, (cst.Call, cst.Await)) for n in walk(stmt, into_scopes=True)):
                break
            k -= 1
        bound = bounds[0]
        late = assigned_names(block[:k + 1]) if k >= 0 else set()
        for var in (bound.deadline, bound.start):
            if var and var not in setup and var in late:
                raise Decline(f"code that calls something runs between where {var!r} is set "
                              f"and the loop (the wait would start later)")
        if bound.deadline:
            if bound.deadline not in setup or setup[bound.deadline][1] is None:
                raise Decline(f"the deadline {bound.deadline!r} is not set to the clock plus "
                              f"a timeout just before the loop")
            value = setup[bound.deadline][1]
            if self.is_clock(value.left):  # type: ignore[union-attr]
                timeout, start = value.right, ""  # type: ignore[union-attr]
            elif self.is_clock(value.right):  # type: ignore[union-attr]
                timeout, start = value.left, ""  # type: ignore[union-attr]
            else:
                timeout, start = value.right, value.left.value  # type: ignore[union-attr]
        else:
            timeout, start = bound.timeout, bound.start
        if start and (start not in setup or setup[start][1] is not None):
            raise Decline(f"the start time {start!r} is not set to the clock just before the "
                          f"loop")
        self._pure(timeout, plan, "the timeout")  # type: ignore[arg-type]
        # The names the deadline is made of, and where the loop may read them.
        used = [v for v in (bound.deadline, start) if v]
        between = block[min(setup[v][0] for v in used) + 1:plan.start]
        if set(names_read([timeout])) & assigned_names(between):
            raise Decline("the timeout changes between the deadline and the loop")
        reads = [n for b in self._bound_nodes(plan) for n in walk(b)
                 if isinstance(n, cst.Name)]
        drop = []
        for var in used:
            index, value = setup[var]
            allowed = [block[index].body[0].targets[0].target] + reads  # type: ignore
            allowed += [block[j].body[0].value.left for j in drop  # type: ignore
                        if m.matches(block[j].body[0].value.left, m.Name(var))]  # type: ignore
            # (up to where a later statement sets it anew: another loop's deadline)
            stop = next((j for j in range(plan.end, len(block))
                         if _single_assign(block[j])[0] == var and
                         var not in names_read([_single_assign(block[j])[1]])), len(block))
            if self._private_in(block[index:stop], var, allowed):
                drop.append(index)
        # The event loop, when only the dropped deadline and the loop's own clock read it.
        loops = {n.value for j in drop for n in walk(block[j]) if isinstance(n, cst.Name)
                 and n.value in self.loop_names and n.value in setup} | \
            {n.value for n in reads if n.value in self.loop_names and n.value in setup}
        for var in loops:
            index = setup[var][0]
            allowed = [block[index].body[0].targets[0].target] + reads  # type: ignore
            allowed += [n for j in drop for n in walk(block[j]) if m.matches(n, m.Name(var))]
            if self._private_in(block[index:], var, allowed):
                drop.append(index)
        return self.module.code_for_node(timeout).strip(), tuple(sorted(drop))

    def _bound_nodes(self, plan: Plan) -> List[cst.CSTNode]:
        """Where the loop compares the clock with its deadline."""
        return [n for n in walk(plan.loop) if self._bound(n) is not None]

    def _private_in(self, block, var: str, allowed: Sequence[cst.CSTNode]) -> bool:
        """Is ``var`` used in ``block`` nowhere but at ``allowed`` (or where it is bound
        anew)?"""
        body = cst.IndentedBlock(body=[*block, *self.enclosing])  # type: ignore[list-item]
        ok = {id(n) for n in allowed} | _rebinding_names(body)
        return all(id(n) in ok for n in _name_nodes(body, var))

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
        branch = self._sleep_or_break(last) if not incs else None
        if branch is not None:  # ``if not ready: sleep`` ``else: break``, or the other way
            return stmts[:-1] + [branch[1]], branch[0], []
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

    def _sleep_or_break(self, stmt: cst.CSTNode):
        """``if C: <sleep> else: break`` -> (the sleep, ``if not C: break``); ``if C: break
        else: <sleep>`` -> (the sleep, ``if C: break``); None for anything else."""
        if not isinstance(stmt, cst.If) or not isinstance(stmt.orelse, cst.Else) or \
                len(stmt.body.body) != 1 or len(stmt.orelse.body.body) != 1:
            return None
        then, other = stmt.body.body[0], stmt.orelse.body.body[0]
        brk = m.SimpleStatementLine(body=[m.Break()])
        if self.sleep_stmt(then) and m.matches(other, brk) and not comments(stmt.orelse):
            test = negate(stmt.test)
        elif self.sleep_stmt(other) and m.matches(then, brk) and not comments(stmt.orelse):
            test, then = stmt.test, other
        else:
            return None
        body = cst.IndentedBlock(body=[cst.SimpleStatementLine(body=[cst.Break()])])
        return self.sleep_stmt(then), stmt.with_changes(test=test, body=body, orelse=None)

    def _exits(self, probe: Sequence[cst.CSTNode], awaits: Optional[bool] = None) -> "Exits":
        """How ``probe`` ends the wait; ``awaits``: it may await (it moves into an async
        function; by default, when the loop awaits its sleep)."""
        awaits = self.awaiting if awaits is None else awaits
        exits = Exits(set(), [])

        def visit(node: cst.CSTNode, in_loop: bool, in_else: bool) -> None:
            if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                return
            if isinstance(node, cst.Yield) or not awaits and (isinstance(node, cst.Await) or (
                    isinstance(node, (cst.With, cst.For)) and node.asynchronous)):
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
        """``if c == LIMIT: <failure>`` (or ``>=``) -> (c, LIMIT)."""
        if not m.matches(stmt, m.If(test=m.Comparison(left=m.Name(), comparisons=[
                m.ComparisonTarget(operator=m.Equal() | m.GreaterThanEqual())]))):
            return None
        if stmt.orelse is not None or \
                self._failure(list(stmt.body.body)) is _NO:  # type: ignore
            return None
        test = stmt.test  # type: ignore[attr-defined]
        return test.left.value, test.comparisons[0].comparator

    def _init_value(self, stmt: cst.CSTNode, var: str) -> Optional[float]:
        """``var = <number>`` -> the number."""
        if m.matches(stmt, m.SimpleStatementLine(body=[m.Assign(
                targets=[m.AssignTarget(target=m.Name(var))])])):
            return number(_assign_value(stmt))
        return None

    def _failure(self, stmts):
        """The failure a lone statement makes: ``self.fail(msg)``, ``raise
        AssertionError(msg)`` (what the helpers raise), ``pytest.fail(...)`` (kept as
        written, run on timeout), ``raise SomeError(msg)``; ``_NO`` for anything else."""
        message = self._fail_message(stmts)
        if message is not _NO:
            return Failure(message)
        if len(stmts) != 1 or not m.matches(stmts[0], m.SimpleStatementLine(
                body=[m.Expr(value=m.Call()) | m.Raise(cause=None)])):
            return _NO
        small = stmts[0].body[0]
        if isinstance(small, cst.Expr):
            return Failure(small.value, call=True) if self._resolve(
                small.value.func) == "pytest.fail" else _NO  # type: ignore[attr-defined]
        exc = small.exc
        cls = exc.func if isinstance(exc, cst.Call) else exc
        name = dotted(cls) if cls is not None else ""
        if not name or name.split(".")[0] in self.bound_here:
            return _NO
        if not isinstance(exc, cst.Call):  # ``raise TimeoutError``: a class, not a value
            return Failure(None, error=name) if isinstance(
                getattr(builtins, name, None), type) else _NO
        if not exc.args:
            return Failure(None, error=name)
        arg = exc.args[0]
        if len(exc.args) != 1 or arg.star or arg.keyword is not None:
            return _NO
        return Failure(arg.value, error=name)

    def _resolve(self, node: cst.CSTNode) -> str:
        """The dotted path a name stands for through the file's imports (``fail`` imported
        from pytest: ``pytest.fail``), '' for a name the function binds itself."""
        name = dotted(node)
        head, _, rest = name.partition(".")
        if not name or head in self.bound_here:
            return ""
        return self.bindings.get(head, head) + ("." + rest if rest else "")

    def _fail_message(self, stmts):
        """The message of a lone ``self.fail(msg)`` or ``raise AssertionError(msg)``
        statement (what ``wait_until`` raises on timeout); None for ``self.fail()``; ``_NO``
        when the statements are something else."""
        if len(stmts) == 1 and m.matches(stmts[0], m.SimpleStatementLine(body=[m.Raise(
                exc=m.Name("AssertionError") | m.Call(func=m.Name("AssertionError")),
                cause=None)])) and "AssertionError" not in self.bound():
            exc = stmts[0].body[0].exc
            if isinstance(exc, cst.Name) or not exc.args:
                return None
            arg = exc.args[0]
            return arg.value if len(exc.args) == 1 and not arg.star and arg.keyword is None \
                else _NO
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
        leading = block[plan.first].leading_lines
        # The first replaced statement's leading lines stay where they are, and so do those
        # of a deadline set further up (they go to the statement after it).
        kept |= {line.comment.value for k in [plan.first, *plan.drop]
                 for line in block[k].leading_lines if line.comment is not None}
        moved = [c for node in plan.removed for c in comments(node) if c not in kept]
        pragmas = [c for c in moved if re.match(r"#\s*(noqa|type:|pragma|pylint:|nosec)", c)]
        if pragmas:
            raise Decline(f"the comment {pragmas[0]!r} on a line the rewrite removes would no "
                          f"longer be on the code it is about")
        if plan.style == "event":
            text = f"{plan.event}.wait({plan.sleeps.seconds(plan.interval)})\n"
            return self._finish(text, moved, leading, indent), f"{plan.event}.wait()", []
        helper = self.assert_helper(fn)
        # A loop that fails by raising AssertionError itself (a plain test function, or a
        # test that does not go through self.fail) gets wait_until, which raises it too.
        raised = any(isinstance(n, cst.Raise) for stmt in block[plan.start:plan.end]
                     for n in walk(stmt))
        # The assert-retry helper counts its budget and fails with AssertionError.
        plain = not (plan.timeout or plan.asynchronous or plan.silent or plan.error or
                     plan.fail_call)
        if helper is not None and plain and self._assert_safe(plan) and not raised:
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
        outside_nodes = [s for k, s in enumerate(block) if not plan.inside(k)] + self.enclosing
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
            outside = [s for k, s in enumerate(block) if not plan.inside(k)] + self.enclosing
            params = {p.name.value for p in _all_params(fn)}
            subscripted = any(m.matches(n, m.Subscript(value=m.Name(var)))
                              for n in walk(plan.not_done))  # type: ignore[arg-type]
            if var not in assigned_names(outside) and var not in params and \
                    (assert_style or subscripted):
                return [], var
        return list(dict.fromkeys(after + in_message)), ""

    def _init_lines(self, fn, block, plan: Plan, names: List[str]) -> str:
        outside = [s for k, s in enumerate(block) if not plan.inside(k)] + self.enclosing
        bound = assigned_names(outside) | {p.name.value for p in _all_params(fn)}
        return "".join(f"{n} = None\n" for n in names if n not in bound)

    def _nested_name(self, fn: cst.FunctionDef, base: str) -> str:
        used = set(names_read([fn])) | self.taken
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        return name

    def _def_text(self, block, plan: Plan, before: str, name: str, body: str,
                  keyword: str = "def") -> str:
        first = plan.first == 0 or _is_docstring(block[plan.first - 1])
        blank = "" if first and not before else "\n"
        return f"{before}{blank}{keyword} {name}():\n{body}\n"

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
        # (a budget that is not a number, ``max_sec``, is no words for a message)
        short = f"Timed out after {budget} s" if _is_number(budget) else "Timed out"
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
        name, source, imports = HELPERS[bool(plan.timeout), plan.asynchronous]
        if plan.error == "AssertionError" and name == "wait_until":
            raise Decline("the file binds AssertionError to another class, and wait_until "
                          "raises the built-in one")
        if plan.error and name == "wait_until":
            raise Decline(f"the loop raises {plan.error} on timeout, and wait_until (which "
                          f"counts its budget in sleeps) raises AssertionError")
        if plan.silent and name == "wait_until":
            raise Decline("the loop ends silently on timeout, and wait_until (which counts "
                          "its budget in sleeps) fails")
        if self.ctx.project.is_module(self.ctx.path, module) and \
                not self._own_helper(name, source):
            raise Decline(f"this file, where the {name} helper would go, binds the name "
                          f"{name} to something else")
        exits = self._exits(plan.probe)
        values = exits.values
        if plan.style == "exit" and values and exits.bare:
            raise Decline("the loop returns a value on one path and nothing on another; "
                          f"{name} needs a true value to stop")
        if plan.style == "exit" and not all(self._truthy(v, plan) for v in values):
            raise Decline(f"the loop returns a value that may be falsy, which {name} "
                          f"would take for 'not yet'")
        after, in_message = self._state(fn, block, plan)
        nonlocal_names, result_var = self._state_plan(fn, block, plan, after, in_message,
                                                      assert_style=False)
        unit = self.indent_unit
        timeout = plan.timeout or plan.sleeps.seconds(plan.interval)
        room = self.ctx.config.max_line_length - len(indent) - len(unit) - 10
        if plan.silent:
            msg = ["message=None"]
        elif plan.message is not None and not is_string_literal(plan.message):
            msg = self._lambda(plan, timeout, len(indent) + len(unit))
        else:
            msg = self._message(plan, timeout, room, at=8, line=0)
            msg = ["message=" + msg[0]] + msg[1:]
        func, pending = self._helper_ref(module, name, source, imports)
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
            awaits = any(isinstance(n, cst.Await) for n in walk_all(
                list(plan.probe) + ([plan.not_done] if plan.style == "cond" else [])))
            text = self._def_text(block, plan, before, predicate, body,
                                  "async def" if awaits else "def")
        args = [[predicate], [f"timeout={timeout}"], [f"interval={plan.interval_src}"], msg]
        if plan.error:
            args.append([f"error={plan.error}"])
        returns = plan.style == "exit" and "return" in exits.kinds
        ready = self._nested_name(fn, "ready") if plan.silent and returns else ""
        prefix = f"{ready} = " if ready else \
            self._prefix(block, plan, result_var, plan.style == "exit" and bool(values))
        if plan.asynchronous:
            prefix += "await "
        text += self._call(prefix, func, args, indent) + "\n"
        if ready:  # returned when ready; on timeout the code after the loop goes on
            text += f"if {ready}:\n{unit}return{f' {ready}' if values else ''}\n"
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
        """A returned value wait_until can pass on: ``True``, a tuple or list written with
        items, or a name returned under an ``if`` whose test surely looks it up with a
        constant key (a dict or list that has the key is not empty) and whose body does not
        bind it again."""
        if m.matches(value, m.Name("True")):
            return True
        if isinstance(value, (cst.Tuple, cst.List)):
            return bool(value.elements) and not any(
                isinstance(e, cst.StarredElement) for e in value.elements)
        if not isinstance(value, cst.Name):
            return False
        name = value.value
        if any(isinstance(n, cst.AugAssign) and name in assigned_names([n])
               for n in walk_all(plan.probe)):
            return False
        lookup = m.Subscript(value=m.Name(name), slice=[m.SubscriptElement(
            slice=m.Index(value=m.SimpleString() | m.Integer()))])

        def looked_up(node: cst.CSTNode) -> bool:
            """Does evaluating ``node`` surely evaluate the lookup (not after ``or``, in a
            conditional expression, a lambda or a comprehension)?"""
            if m.matches(node, lookup):
                return True
            if isinstance(node, (cst.IfExp, cst.Lambda, cst.ListComp, cst.SetComp,
                                 cst.DictComp, cst.GeneratorExp, cst.NamedExpr)) or \
                    isinstance(node, cst.BooleanOperation) and isinstance(node.operator, cst.Or):
                return False
            return any(looked_up(c) for c in node.children)

        def guarded(node: cst.CSTNode, ifs: Tuple[cst.If, ...]) -> Optional[bool]:
            if node is value:
                return any(looked_up(i.test) and name not in assigned_names([i.body])
                           for i in ifs)
            if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                return None
            for child in node.children:
                inner = ifs + (node,) if isinstance(node, cst.If) and child is node.body \
                    else ifs
                found = guarded(child, inner)
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
        if any(isinstance(n, cst.Await) for n in walk_all([done, *plan.probe])):
            return None  # (a lambda cannot await)
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

    def _helper_ref(self, module: str, name: str, source: str,
                    imports: Tuple[ImportRequest, ...]):
        """How the file calls the helper ``name``, and what to do if the rewrite is kept
        (import the module, ask for the helper)."""
        effects = [lambda: self.ctx.require_helper(
            HelperRequest(module, name, source, imports))]
        if self.ctx.project.is_module(self.ctx.path, module):
            return name, effects
        for bound, path in self.bindings.items():
            if path == module:
                return f"{bound}.{name}", effects
        parent, _, leaf = module.rpartition(".")
        alias = leaf if leaf not in self.ctx.names else f"testsec_{leaf}"
        request = ImportRequest(parent, leaf, alias if alias != leaf else "") if parent else \
            ImportRequest(module, "", alias if alias != leaf else "")

        def add() -> None:
            self.ctx.add_import(request.module, request.name, request.asname)
            self.bindings[alias] = module

        return f"{alias}.{name}", effects + [add]

    def bound(self) -> Set[str]:
        """Every name the whole file binds, in any scope."""
        if self._bound_names is None:
            self._bound_names = bound_names(self.ctx.nodes)
        return self._bound_names

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


class _Bodies(cst.CSTTransformer):
    """Blocks given new statements (the blocks as the tree holds them)."""

    def __init__(self, bodies: Dict[cst.IndentedBlock, List[cst.BaseStatement]]) -> None:
        super().__init__()
        self.bodies = bodies

    def leave_IndentedBlock(self, original, updated):  # noqa: N802
        new = self.bodies.get(original)
        return updated if new is None else updated.with_changes(body=new)


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
WORKS_WHILE = ("each round does something before it sleeps, and only the loop's condition ends "
               "it: the loop works until something changes, it does not only wait for it")
FAILURES = "self.fail, pytest.fail, raise or assert"
NO_EXIT = ("nothing in the loop ends it early: it keeps doing something for a set time or "
           "number of rounds (a workload, a watch), it does not wait for a condition")


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

    def add(target: cst.CSTNode) -> None:  # a name, or names unpacked (``a, b = ...``)
        if isinstance(target, cst.Name):
            out.add(id(target))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                add(element.value)
        elif isinstance(target, cst.StarredElement):
            add(target.value)

    for node in walk(root, into_scopes=True):
        if isinstance(node, (cst.For, cst.AssignTarget, cst.NamedExpr)):
            add(node.target)
        elif isinstance(node, cst.AsName):
            add(node.name)
    return out


def _counter_side(test: cst.BaseExpression, var: str) -> cst.CSTNode:
    """The ``var`` name of the ``var < N`` part of a loop condition."""
    for node in walk(test):
        if m.matches(node, m.Comparison(left=m.Name(var))):
            return node.left  # type: ignore[attr-defined]
    return test


_ORDER = {cst.LessThan: True, cst.LessThanEqual: True, cst.GreaterThan: False,
          cst.GreaterThanEqual: False}  # clock() OP deadline: time is not up yet?
_MIRROR = {cst.LessThan: cst.GreaterThan, cst.LessThanEqual: cst.GreaterThanEqual,
           cst.GreaterThan: cst.LessThan, cst.GreaterThanEqual: cst.LessThanEqual}


def _single_assign(stmt: cst.CSTNode):
    """``name = value`` -> (name, value); ('', None) for anything else."""
    if m.matches(stmt, m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget(
            target=m.Name())])])):
        assign = stmt.body[0]  # type: ignore[attr-defined]
        return assign.targets[0].target.value, assign.value
    return "", None


def _blocks(stmt: cst.CSTNode) -> List[cst.IndentedBlock]:
    """The blocks of an if (and its elif and else), with or try statement."""
    out: List[cst.IndentedBlock] = []
    node: Optional[cst.CSTNode] = stmt
    while isinstance(node, (cst.If, cst.Else)):
        out.append(node.body)  # type: ignore[arg-type]
        node = node.orelse if isinstance(node, cst.If) else None
    if isinstance(stmt, cst.With):
        out.append(stmt.body)  # type: ignore[arg-type]
    if isinstance(stmt, cst.Try):
        out += [stmt.body] + [h.body for h in stmt.handlers] + \
            [x.body for x in (stmt.orelse, stmt.finalbody) if x is not None]  # type: ignore
    return [b for b in out if isinstance(b, cst.IndentedBlock)]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


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
