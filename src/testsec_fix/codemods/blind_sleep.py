"""TSF103 blind-sleep."""
from __future__ import annotations

import ast
import re
from typing import Dict, Iterator, List, Optional, Set, Tuple

import libcst as cst

from .. import catalog
from ..astutil import ast_bindings, ast_dotted, called_as, lines_naming
from ..codemod import Codemod, Context
from ..mocks import Function, is_fake_name, patches_in, stand_ins
from ..sparse import statement_lines
from ..suppress import SUPPRESSED
from .. import settle

# Sleeps that wait: ``eventlet.sleep(0)`` and ``asyncio.sleep(0)`` only yield, and are left.
SLEEPS = {"time.sleep", "eventlet.sleep", "eventlet.greenthread.sleep", "asyncio.sleep"}
# Sleeps that count only where the test itself awaits them: in a coroutine a test defines,
# or handed to a task, ``asyncio.sleep`` is the task's simulated work (and asyncio's own tests
# often run it on a virtual clock).
AWAITED_ONLY = {"asyncio.sleep"}
LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp,
         ast.GeneratorExp)
SETUPS = {"setUp", "setUpClass", "setup_method", "setup_class", "asyncSetUp"}
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# A constant sleep this short (seconds) waits for no other side: it makes the clock move on,
# so that two timestamps taken around it differ. Not reported.
CLOCK_TICK = 0.01
# Functions and classes that play the other side, slowly: a handler, a server, a kernel of a
# test (``def handle(...)``, ``do_GET``, ``slow_app``, ``SignalTestKernel``). Not reported.
PEER_FUNCTION = re.compile(r"^_*(do_[A-Za-z]|handle|serve|respond|slow|delay)|handler$|"
                           r"server$|_app$", re.I)
PEER_CLASS = re.compile(r"(Server|Handler|Kernel|Protocol|Peer|Backend|App|Service)$")


def run_by_tests(tree: ast.Module) -> Iterator[Tuple[Function, Optional[ast.ClassDef]]]:
    """The functions a test runs as its own steps: methods of test classes (a name or base
    that says ``Test``, or a ``...Mixin`` of helpers) and module-level ``test_*`` functions
    and fixtures. Fakes (``FakeDriver``, ``fake_spawn``) and other module-level functions
    (a helper or a fake: which, the code does not say) are not."""
    for node in tree.body:
        if isinstance(node, FUNCTIONS) and (
                node.name.startswith("test") or any(
                    ast_dotted(d.func if isinstance(d, ast.Call) else d).endswith("fixture")
                    for d in node.decorator_list)):
            yield node, None
        elif isinstance(node, ast.ClassDef) and not is_fake_name(node.name) and \
                not PEER_CLASS.search(node.name) and (
                "Test" in node.name or node.name.endswith("Mixin")
                or any("Test" in ast_dotted(b) for b in node.bases)):
            for stmt in node.body:
                if isinstance(stmt, FUNCTIONS):
                    yield stmt, node


def _bound(fn: Function) -> Set[str]:
    """Names ``fn`` binds itself (its parameters and assignments)."""
    args = fn.args
    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a}
    return names | {n.id for n in ast.walk(fn)
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _waits(call: ast.Call) -> bool:
    """Not ``sleep(0)`` (or no argument): that only yields to other threads; nor a sleep of
    at most ``CLOCK_TICK``, which only lets the clock move on (timestamps taken before and
    after it differ)."""
    if not call.args:
        return bool(call.keywords)
    arg = call.args[0]
    return not (isinstance(arg, ast.Constant) and isinstance(arg.value, (int, float))
                and arg.value <= CLOCK_TICK)


CLOCK_CALLS = re.compile(r"(^|\.)(time|monotonic|time_ns|perf_counter|now|utcnow|today)$")
CLOCK_WORDS = re.compile(r"timestamp|last[-_ ]modified|mtime|distinct|differ|clock|"
                         r"expir|ttl\b|tick", re.I)


def _reads_clock(node: Optional[ast.AST]) -> bool:
    return node is not None and any(
        isinstance(n, ast.Call) and CLOCK_CALLS.search(ast_dotted(n.func)) and
        ast_dotted(n.func) not in ("time", "now") for n in ast.walk(node))


def _waits_for_clock(call: ast.Call, fn: Function, lines: List[str]) -> bool:
    """A sleep that lets the clock move on rather than another side catch up: its length
    is computed from the clock (``sleep(start + 1 - time.time())``), the statement just
    before or after it reads the clock (``ts = time.time()``, ``Timestamp.now()``), or a
    comment on it or just above it says so (timestamps, last-modified, mtime, expiry)."""
    if _reads_clock(call):
        return True
    for node in ast.walk(fn):
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if not isinstance(block, list):
                continue
            for i, stmt in enumerate(block):
                if isinstance(stmt, ast.Expr) and stmt.value is call:
                    near = block[max(i - 1, 0):i] + block[i + 1:i + 2]
                    if any(_reads_clock(s) for s in near):
                        return True
    line = call.lineno - 1
    text = lines[line] if line < len(lines) else ""
    above = []
    for back in range(line - 1, max(line - 4, -1), -1):
        if lines[back].strip().startswith("#"):
            above.append(lines[back])
        elif lines[back].strip():
            break
    comment = text.split("#", 1)[1] if "#" in text else ""
    return bool(CLOCK_WORDS.search(comment + " ".join(above)))


def _start_delay(call: ast.Call, chain: List[Function], sleepers: Set[str]) -> bool:
    """``time.sleep(start_delay)`` in a helper that then polls (a loop that sleeps): the
    wait before the first look, of a length its caller chooses, not a blind wait."""
    fn = chain[-1]
    arg = call.args[0] if call.args else None
    params = {a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs}
    if not (isinstance(arg, ast.Name) and arg.id in params) or fn.name.startswith("test"):
        return False
    return any(isinstance(loop, (ast.For, ast.While)) and any(
        isinstance(n, ast.Call) and ast_dotted(n.func) in sleepers for n in ast.walk(loop))
        for loop in ast.walk(fn))


def _plays_peer(chain: List[Function], cls: Optional[ast.ClassDef]) -> bool:
    """A function a test defines (or a method of a test class other than a test) named as
    the other side of a conversation: its sleep simulates a slow peer. A fixture named
    ``server`` that sleeps waits for the server it started: that one counts."""
    return any(PEER_FUNCTION.search(fn.name) and not fn.name.startswith("test")
               for fn in (chain if cls is not None else chain[1:]))


def sleeps_outside_loops(fn: Function, sleepers: Set[str]
                         ) -> Iterator[Tuple[ast.Call, List[Function]]]:
    """Sleep calls of ``fn`` and of the functions defined in it that no loop (or timeout
    block) of their own function holds, each with the functions it is inside (``fn``
    first)."""
    def visit(node: ast.AST, chain: List[Function], held: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, FUNCTIONS):
                yield from visit(child, chain + [child], False)
            elif isinstance(child, (ast.Lambda, ast.ClassDef)):
                continue  # a lambda or class in a test is handed to something: a stand-in
            else:
                if isinstance(child, ast.Call) and not held and \
                        ast_dotted(child.func) in sleepers:
                    yield child, chain
                yield from visit(child, chain, held or isinstance(child, LOOPS)
                                 or _times_out(child))

    yield from visit(fn, [fn], False)


class StandIns:
    """Is a function of a test a stand-in: named as a fake, or handed to a patch or a mock
    where its name is seen (a nested function in the function around it, a method in its
    class)? Each scope is walked once, and only when asked."""

    def __init__(self, cls: Optional[ast.ClassDef]) -> None:
        self.cls = cls
        self.handed: Dict[int, Set[str]] = {}

    def __call__(self, chain: List[Function]) -> bool:
        for i, fn in enumerate(chain):
            if is_fake_name(fn.name) and not (i == 0 and fn.name.startswith("test")):
                return True
            scope = chain[i - 1] if i else self.cls
            if scope is None:
                continue
            if id(scope) not in self.handed:
                self.handed[id(scope)] = stand_ins(scope)
            if fn.name in self.handed[id(scope)]:
                return True
        return False


def _times_out(node: ast.AST) -> bool:
    """``with timeout(1):`` (``asyncio.timeout``, ``async_timeout.timeout``, ...): a sleep
    in it is the work the test lets time out, not a wait."""
    return isinstance(node, (ast.With, ast.AsyncWith)) and any(
        isinstance(item.context_expr, ast.Call)
        and "timeout" in ast_dotted(item.context_expr.func).rsplit(".", 1)[-1].lower()
        for item in node.items)


def sleep_patched(fn: Function, cls: Optional[ast.ClassDef], bindings) -> bool:
    """Is a sleep patched for this test: in or on ``fn``, on its class, or in its setUp?"""
    scopes: List[ast.AST] = [fn]
    if cls is not None:
        scopes += cls.decorator_list
        scopes += [s for s in cls.body if isinstance(s, FUNCTIONS) and s.name in SETUPS]
    return any(patch.target.rsplit(".", 1)[-1] == "sleep"
               for scope in scopes for patch in patches_in(scope, bindings))


class BlindSleep(Codemod):
    """Blind sleeps: a test that sleeps a fixed time for something to happen elsewhere.

    ## What it does
    Finds calls of ``time.sleep`` (``sleep`` imported from ``time``, any alias),
    ``eventlet.sleep`` and ``eventlet.greenthread.sleep`` with a wait other than zero in a
    test's own code that are not inside a loop: in methods of test classes (a class whose
    name or base says ``Test``, or a ``...Mixin``), in module-level ``test_*`` functions and
    fixtures, and in the functions defined inside them (a thread's body, say); and
    ``await asyncio.sleep(...)`` in a test itself (in a coroutine the test defines, or handed
    to a task, it is the task's simulated work).

    Not blind sleeps, and not reported: ``sleep(0)`` (it yields to other threads) and a
    constant sleep of at most 0.01 s (it waits for no other side; it lets the clock move on
    so that two timestamps differ), a sleep that waits for the clock (its length computed
    from the clock, the statement just before or after it reading the clock, such as
    ``ts = time.time()`` or ``Timestamp.now()``, or a comment on it or just above it about
    timestamps, last-modified times, mtimes or expiry), a sleep in a loop (a polling loop: TSF101's) or in a
    ``with timeout(...)`` block (the work the test lets time out), a sleep in a stand-in that
    simulates a slow call (a function handed to a patch or a mock as ``new``,
    ``side_effect`` or ``wraps``, or assigned to an attribute; a function or class named
    ``fake_*``, ``Fake*``, ``stub_*``, ``mock_*``, ``dummy_*``; a lambda), a sleep in a
    first wait of a helper that then polls (``time.sleep(start_delay)``, a parameter of a
    helper with a loop that sleeps), a sleep in a slow peer a test plays (a function the test defines, or a method of a test class, named
    ``handler``, ``handle_*``, ``do_GET``, ``serve*``, ``respond*``, ``slow_*``, ``*_server``,
    ``*_app``; a class named ``*Server``, ``*Handler``, ``*Kernel``, ``*Protocol``,
    ``*Service``, ``*Backend``, ``*App``, ``*Peer`` even with ``Test`` in its name), a sleep
    the test patches (``@mock.patch('time.sleep')`` on the test or its class,
    ``mock.patch.object(time, 'sleep')``, ``fixtures.MockPatch`` or ``MonkeyPatch`` of a
    sleep in the test or its ``setUp``), a name the function binds itself, and
    module-level functions that are neither tests nor fixtures (a helper or a fake, which
    the code does not say).

    The fix (with ``--unsafe-fixes``): a ``time.sleep(N)`` statement in a test directly
    followed by assertions that something came to be (``assertEqual``, ``assertIn``,
    ``assertTrue``, ``assertIsNotNone``, ``assert x == y``, ``mock.assert_called*``, ...)
    becomes a local function ``_settled`` of those assertions, retried until it stops
    raising AssertionError: by the project's assert-retry helper where the test class has
    one (Nova's ``self._wait_for_assert``, ``max_retries`` for the budget), else by the
    generic ``eventually(check, timeout, interval)`` added to the fixtures module (as
    TSF101's ``wait_until``). The budget is 5 times the sleep and at least 5 s; the generic
    helper tries every 0.1 s (the sleep's own length if shorter). Reads between the sleep
    and the assertions without side effects (``state = job.state``) are retried with them.
    The assertions, their messages and their order stay as written; the run stops at the
    first statement that is not an assertion.

    Declined, with the reason: a sleep that guards an absence (``assertFalse``,
    ``assertNotIn``, ``assertIsNone``, ``assert not``, ``assert_not_called``,
    ``assertEqual(0, ...)``, ``== []``, ``!=``, ``<``, ``assertTrue(t.is_alive())``, also
    right after positive ones, or a test named for something that must not happen,
    ``test_no_...``, ``test_..._not_...``, ``test_only_...``): a retry would pass at once and the
    test would stop testing anything; a statement with side effects between the sleep and
    the assertions, or none at all; an assertion calling something that may change state by
    its name (``set``, ``send``, ``read_response``, ...); an assertion reading a name a
    callback rebinds (``nonlocal``: until then it fails with another error); an assertion
    reading a value captured before the sleep
    (``n = len(x)``, ``s = d['k']``) that a retry would not read again; a sleep in a
    function the test defines (a thread body, a stand-in); in a coroutine (a blocking retry
    would stop the event loop) or an eventlet sleep without the project's helper; a length
    that is not a number.

    ## Why is this bad?
    A fixed wait for another thread, process or service is a guess at how long that side
    takes. On a loaded CI node it is too short and the test fails at random, or, when the
    sleep only gives a race its chance, passes without having tested the race; everywhere
    else it is too long, and every run pays all of it. Waiting for the condition itself (an
    event the other side sets, a polling helper with a timeout) is both faster and stable.

    ## Example
    ```python
    import time

    from myapp import test


    class WorkerTest(test.TestCase):

        def test_worker_picks_up_job(self):
            worker = self.start_worker()
            job = worker.submit('resize')
            time.sleep(1)  # give the worker time to pick it up
            self.assertEqual('running', job.state)
    ```

    ## Use instead
    ```python
    from myapp import test

    from tests.fixtures import polling


    class WorkerTest(test.TestCase):

        def test_worker_picks_up_job(self):
            worker = self.start_worker()
            job = worker.submit('resize')
            def _settled():  # give the worker time to pick it up
                self.assertEqual('running', job.state)
            polling.eventually(_settled, timeout=5, interval=0.1)
    ```

    ## Fix safety
    Unsafe: applied with ``--unsafe-fixes`` only. The sleep may also wait for something the
    assertions do not check (a side effect a later statement relies on, a thread that must
    be done before teardown), and the retry returns as soon as they pass. Sleeps that are
    not followed by such assertions are reported only: what they wait for is not in the
    code.
    """

    code = "TSF103"
    name = "blind-sleep"
    safe = False  # the sleep may also wait for something the assertions do not check
    fixable = True
    trigger = re.compile("sleep")

    def check(self, tree: ast.Module, ctx: Context) -> None:
        ctx.sleep_plans = {}  # line of a sleep -> settle.Plan, for transform
        bindings = ast_bindings(tree)
        sleepers = called_as(bindings, SLEEPS)
        if not sleepers:
            return
        awaited_only = called_as(bindings, AWAITED_ONLY)
        lines = lines_naming(ctx.text, sleepers)  # only functions naming a sleep are walked
        stand_ins: Dict[int, StandIns] = {}  # per class: its walk is shared by its methods
        bound: Dict[int, Set[str]] = {}  # per function of a chain: the names it binds
        helpers = catalog.load(ctx.config)
        reach = settle.class_reaches(ctx, ctx.project.module_name(ctx.path) or "<this module>")

        def binds(f: Function) -> Set[str]:
            if id(f) not in bound:
                bound[id(f)] = _bound(f)
            return bound[id(f)]

        for fn, cls in run_by_tests(tree):
            if not lines.intersection(statement_lines(fn)):
                continue
            awaited = {id(n.value) for n in ast.walk(fn) if isinstance(n, ast.Await)}
            found = [(call, chain) for call, chain in sleeps_outside_loops(fn, sleepers)
                     if _waits(call) and (ast_dotted(call.func) not in awaited_only
                                          or (len(chain) == 1 and id(call) in awaited))]
            if not found or sleep_patched(fn, cls, bindings):
                continue
            if id(cls) not in stand_ins:
                stand_ins[id(cls)] = StandIns(cls)
            stand_in = stand_ins[id(cls)]
            for call, chain in found:
                head = ast_dotted(call.func).split(".")[0]
                if any(head in binds(f) for f in chain) or stand_in(chain) or \
                        _plays_peer(chain, cls) or _start_delay(call, chain, sleepers) \
                        or _waits_for_clock(call, chain[-1], ctx.lines):
                    continue
                self._one(call, chain, cls, ctx, bindings, reach, helpers)

    def _one(self, call, chain, cls, ctx, bindings, reach, helpers) -> None:
        arg = call.args[0] if call.args else None
        wait = f"{arg.value} s" if isinstance(arg, ast.Constant) else \
            ast.unparse(arg) if arg else "..."
        message = (f"blind sleep ({wait}): a fixed wait for another thread or service "
                   "fails at random where that side is slower (a loaded CI node) and costs "
                   "the whole wait everywhere else; wait for the condition itself (an Event, "
                   "a polling helper with a timeout)")
        if ctx.suppressed(call):
            ctx.report_at(call, message, SUPPRESSED)
            return
        sleep_name = bindings.get(ast_dotted(call.func).split(".")[0], "")
        rest = ast_dotted(call.func).split(".")[1:]
        sleep_name = ".".join([sleep_name] + rest) if sleep_name else ast_dotted(call.func)
        try:
            plan = settle.plan(call, chain, cls, ctx, sleep_name, reach, helpers)
        except settle.Decline as exc:
            ctx.report_at(call, message, str(exc))
            return
        ctx.sleep_plans[call.lineno] = plan

    def regions(self, tree: ast.Module, ctx: Context) -> Optional[Set[ast.stmt]]:
        plans = getattr(ctx, "sleep_plans", {})
        return {s for s in tree.body
                if any(s.lineno <= line <= (s.end_lineno or s.lineno) for line in plans)}

    def transform(self, module: cst.Module, ctx: Context) -> cst.Module:
        plans = getattr(ctx, "sleep_plans", {})
        if not plans:
            return module
        return module.visit(settle.Settle(ctx, plans, self.code))
