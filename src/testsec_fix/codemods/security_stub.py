"""TSF104 security-stub."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Tuple, Union

from ..astutil import Definitions, ast_bindings, ast_dotted, lines_naming, match_lines
from ..codemod import Codemod, Context
from ..mocks import Function, MockUse, Patch, mock_names, mock_use, patches_in
from ..sparse import statement_lines

Unit = Union[Function, ast.ClassDef]
REASON = "report only: whether the stub is right for its test is a reviewer's call"


@dataclass(frozen=True)
class Kind:
    """A security control a test may stub: what names it, what the stub hides, what to check."""

    name: str
    target: "re.Pattern[str]"  # matched against the dotted name a patch replaces
    hides: str
    look_for: str


AUTH = Kind("authentication", re.compile(
    r"(^|\.)keystonemiddleware(\.|$)|AuthProtocol|(^|\.)auth_token\.|(^|\.)authenticat\w*$"
    r"|noauth", re.I),
    "every request is accepted as whoever it claims to be",
    "a test with real token validation covers missing, expired and forged tokens")
POLICY = Kind("policy", re.compile(
    r"(^|\.)_?(polic\w*|enforcer)(\.\w+)*\.(authorize|enforce|check|check_is_admin)$"
    r"|context.*\.(can|check_is_admin)$", re.I),
    "every policy check passes, so no test here can see a Forbidden",
    "a test with the real policy covers the roles that must be refused")
SIGNATURE = Kind("signature verification", re.compile(
    r"get_verifier$|verify_certificate$|verify_signature$|signature_utils\.|"
    r"certificate_utils\.", re.I),
    "every image signature and certificate is accepted",
    "a test covers a tampered image or an untrusted certificate being refused")
KEY_MANAGER = Kind("key manager", re.compile(r"key_?manager|keymgr", re.I),
                   "any key is handed to anyone",
                   "the key id and context asked for are asserted, and a test covers "
                   "another user's key being refused")
KINDS = (AUTH, POLICY, SIGNATURE, KEY_MANAGER)
# Policy rule values that let everyone through (oslo.policy: '@' and '' always pass), and
# how many rules opened at once make a blanket opening rather than one test's input.
OPEN_RULES = {"@", ""}
OPEN_RULE_NAMES = {"RULE_ANY"}
BLANKET = 3
# The words a file must hold to be parsed for this check (each finding's site holds one): a
# check's name as a patch target ends it, ``'can'`` or ``.authorize'``, or a module's name.
CHECKS = ("authorize", "enforce", "check", "check_is_admin", "can", "get_verifier",
          "verify_certificate", "verify_signature")
NAMES = ("signature_utils", "certificate_utils", "key_manager", "keymanager", "KeyManager",
         "keymgr", "keystonemiddleware", "AuthProtocol", "auth_token.", "uthenticat",
         "noauth", "NoAuth", "set_rules", ".authorize =")
# Case-insensitive, as the kinds' patterns are: a screen must never be stricter than the check.
TRIGGER = re.compile(r"[.'\"](?:%s)['\"]|%s" % ("|".join(CHECKS),
                                                "|".join(re.escape(n) for n in NAMES)), re.I)


class Screen:
    """``TRIGGER`` as plain substring scans, several times faster than the pattern."""

    LITERALS = tuple(dict.fromkeys(w.lower() for w in NAMES + tuple(
        f"{before}{name}{after}" for name in CHECKS for before in ".'\"" for after in "'\"")))

    def search(self, text: str) -> bool:
        text = text.lower()
        return any(word in text for word in self.LITERALS)


class Verdict:
    ALLOWS, DENIES, UNKNOWN = "allows", "denies", "unknown"


@dataclass(frozen=True)
class Stub:
    """A patched security check, with what it decides."""

    patch: Patch
    kind: Kind
    verdict: str
    checks_calls: bool  # the test asserts what the check was asked

    @property
    def control(self) -> Tuple[str, str]:
        """Which check this is, across the file: its kind and its last name (``can``)."""
        return self.kind.name, self.patch.target.rsplit(".", 1)[-1]


def kind_of(target: str) -> Optional[Kind]:
    return next((k for k in KINDS if k.target.search(target)), None)


def _exception_like(node: ast.expr) -> bool:
    """``exception.Forbidden``, ``Forbidden()``, ``KeyManagerError('x')``."""
    if isinstance(node, ast.Call):
        node = node.func
    last = ast_dotted(node).rsplit(".", 1)[-1]
    return bool(last) and last[0].isupper() and not last.endswith("Mock")


def _passes_through(fn: Union[ast.Lambda, Function]) -> bool:
    """A lambda or function that returns ``True`` or one of its own arguments."""
    params = {a.arg for a in fn.args.posonlyargs + fn.args.args}
    if isinstance(fn, ast.Lambda):
        values: List[Optional[ast.expr]] = [fn.body]
    else:
        if any(isinstance(n, ast.Raise) for n in ast.walk(fn)):
            return False
        values = [n.value for n in ast.walk(fn) if isinstance(n, ast.Return)]
    return bool(values) and all(
        (isinstance(v, ast.Constant) and v.value is True)
        or (isinstance(v, ast.Name) and v.id in params)
        or (isinstance(v, ast.Lambda) and _passes_through(v)) for v in values)


# A hook in a request environment or a registry: ``env['swift.authorize'] = ...``,
# ``app.authenticate = ...``. Such a hook refuses by raising or by returning a response;
# one that returns nothing (or True, or its argument) lets every request through.
HOOK = re.compile(r"authori[sz]e|authenticat", re.I)


def _hook_key(target: ast.expr) -> Optional[str]:
    """``env['swift.authorize']`` -> ``swift.authorize``; ``app.authorize`` -> ``authorize``."""
    if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant) and \
            isinstance(target.slice.value, str) and HOOK.search(target.slice.value):
        return target.slice.value
    if isinstance(target, ast.Attribute) and HOOK.search(target.attr):
        return target.attr
    return None


def _hook_verdict(value: ast.expr, defs: "Definitions", unit: Function) -> str:
    """Does a hook always allow (returns nothing, ``True`` or an argument, never raises, and
    does nothing else: a hook that records its calls is checked by its test), refuse
    sometimes, or is it not said here?"""
    if isinstance(value, ast.Lambda):
        body = value.body
        params = {a.arg for a in value.args.posonlyargs + value.args.args}
        if isinstance(body, ast.Constant) and body.value in (None, True) or \
                isinstance(body, ast.Name) and body.id in params:
            return Verdict.ALLOWS
        return Verdict.UNKNOWN
    if isinstance(value, ast.Call) and ast_dotted(value.func).endswith("Mock") and \
            not value.args and not value.keywords:
        return Verdict.ALLOWS
    if not isinstance(value, ast.Name):
        return Verdict.UNKNOWN
    # the function of that name defined last before the hook is set, in the unit, else
    # at the top of the file
    local = [n for n in ast.walk(unit) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
             and n.name == value.id and n is not unit and n.lineno < value.lineno]
    fn = local[-1] if local else next(
        (n for n in defs.get(value.id) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
         and n.col_offset == 0), None)
    if fn is None:
        return Verdict.UNKNOWN
    params = {a.arg for a in fn.args.posonlyargs + fn.args.args}
    if any(isinstance(n, ast.Raise) for n in ast.walk(fn)) or any(
            isinstance(n, ast.Return) and n.value is not None and not (
                isinstance(n.value, ast.Constant) and n.value.value in (None, True)
                or isinstance(n.value, ast.Name) and n.value.id in params)
            for n in ast.walk(fn)):
        return Verdict.DENIES
    body = [st for st in fn.body if not (isinstance(st, ast.Expr)
                                         and isinstance(st.value, ast.Constant))]
    if all(isinstance(st, (ast.Pass, ast.Return)) for st in body):
        return Verdict.ALLOWS
    return Verdict.UNKNOWN


def hook_stubs(unit: Function, defs: "Definitions"
               ) -> Iterator[Tuple[ast.Assign, str, str]]:
    """(assignment, hook key, verdict) for each hook assigned in ``unit``."""
    for node in ast.walk(unit):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                key = _hook_key(target)
                if key is not None:
                    yield node, key, _hook_verdict(node.value, defs, unit)


def _named(defs: Definitions, name: str, types) -> Optional[ast.AST]:
    return next((n for n in defs.get(name) if isinstance(n, types)), None)


def _decides(value: ast.expr, scope: ast.AST, defs: Definitions, depth: int = 0) -> str:
    """What a stub's replacement or return value decides."""
    if isinstance(value, ast.Constant):
        return {True: Verdict.ALLOWS, False: Verdict.DENIES}.get(value.value, Verdict.UNKNOWN)
    if isinstance(value, ast.Lambda):
        return Verdict.ALLOWS if _passes_through(value) else Verdict.UNKNOWN
    name = ast_dotted(value.func if isinstance(value, ast.Call) else value).rsplit(".", 1)[-1]
    if isinstance(value, ast.Call):
        if name.endswith("Mock"):
            return Verdict.ALLOWS  # truthy, and never raises
        cls = _named(defs, name, ast.ClassDef)  # a verifier class of the test's: does it
        if cls is not None:                     # ever refuse?
            raises = any(isinstance(n, ast.Raise) for n in ast.walk(cls))
            return Verdict.DENIES if raises else Verdict.ALLOWS
        return Verdict.UNKNOWN
    fn = _named(defs, name, (ast.FunctionDef, ast.AsyncFunctionDef))
    if fn is not None:
        return Verdict.ALLOWS if _passes_through(fn) else Verdict.UNKNOWN  # type: ignore
    bound = _assigned(scope, value.id) if isinstance(value, ast.Name) else None
    if bound is not None and depth == 0:  # km = mock.Mock(); m.return_value = km
        return _decides(bound, scope, defs, depth + 1)
    return Verdict.UNKNOWN


def _assigned(scope: ast.AST, name: str) -> Optional[ast.expr]:
    """The value last assigned to the variable ``name`` in ``scope``."""
    bound = [n.value for n in ast.walk(scope) if isinstance(n, ast.Assign)
             and any(isinstance(t, ast.Name) and t.id == name for t in n.targets)]
    return bound[-1] if bound else None


def verdict(patch: Patch, use: MockUse, scope: ast.AST, defs: Definitions) -> str:
    """Does the stub let everything through, refuse, or do what the code does not say?"""
    side_effects = [e for e in (patch.side_effect,) if e is not None] + list(use.side_effects)
    if any(_exception_like(e) for e in side_effects):
        return Verdict.DENIES
    if side_effects:
        return Verdict.UNKNOWN  # a function, a list: not said here
    value = patch.new if patch.new is not None else (patch.return_value or use.return_value)
    if value is None:
        return Verdict.ALLOWS  # a MagicMock: truthy, and never raises
    return _decides(value, scope, defs)


def units(tree: ast.Module) -> Iterator[Unit]:
    """Top-level functions, methods of top-level classes, and the classes themselves (for
    their decorators)."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node
        elif isinstance(node, ast.ClassDef):
            yield node
            yield from (s for s in node.body
                        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)))


def stubs(tree: ast.Module, unit: Unit, bindings: Dict[str, str], defs: Definitions
          ) -> Iterator[Stub]:
    """The patches of security checks in (or on) ``unit``."""
    if isinstance(unit, ast.ClassDef):
        scopes: List[ast.AST] = list(unit.decorator_list)
        names: Dict[ast.Call, str] = {}
    else:
        scopes, names = [unit], mock_names(unit, bindings)
    for patch in (p for scope in scopes for p in patches_in(scope, bindings)):
        kind = kind_of(patch.target)
        if kind is None:
            continue
        name = names.get(patch.call, "")
        # A mock kept on ``self`` may be told what to do in any method.
        where = tree if name.startswith("self.") else unit
        use = mock_use(where, name) if name else MockUse(None, (), False)
        yield Stub(patch, kind, verdict(patch, use, unit, defs), use.checks_calls)


def _opened_rules(call: ast.Call, unit: Unit) -> List[str]:
    """Rules a ``set_rules`` call opens to everyone, by name: from a dict given as it is,
    through ``Rules.from_dict``, or through a variable."""
    if not call.args:
        return []
    rules = call.args[0]
    if isinstance(rules, ast.Call) and rules.args:  # set_rules(Rules.from_dict({...}))
        rules = rules.args[0]
    if isinstance(rules, ast.Name):  # rules = {...}; set_rules(rules)
        rules = _assigned(unit, rules.id) or rules
    if not isinstance(rules, ast.Dict):
        return []
    opened = []
    for key, value in zip(rules.keys, rules.values):
        open_value = (isinstance(value, ast.Constant) and value.value in OPEN_RULES) or \
            ast_dotted(value).rsplit(".", 1)[-1] in OPEN_RULE_NAMES
        if key is not None and open_value:
            opened.append(ast.unparse(key))
    return opened


def _no_auth(call: ast.Call) -> Optional[str]:
    """``self.flags(auth_strategy='noauth2')``, ``CONF.set_override('auth_strategy', ...)``."""
    name = ast_dotted(call.func).rsplit(".", 1)[-1]
    if name not in ("flags", "set_override", "set_default"):
        return None
    options = {k.arg: k.value for k in call.keywords if k.arg}
    if name != "flags" and len(call.args) >= 2 and isinstance(call.args[0], ast.Constant):
        options[str(call.args[0].value)] = call.args[1]
    strategy = options.get("auth_strategy")
    if isinstance(strategy, ast.Constant) and "noauth" in str(strategy.value):
        return f"auth_strategy={strategy.value}"
    return None


class SecurityStub(Codemod):
    """Security controls stubbed to let everything through in tests.

    ## What it does
    Finds the places where a test replaces a security control with a stub that always
    says yes:

    - authentication: ``keystonemiddleware`` (its ``auth_token`` filter), ``AuthProtocol``
      or anything named ``authenticate`` or ``noauth`` patched, or ``auth_strategy`` set
      to ``noauth``;
    - policy: a policy check (``authorize``, ``enforce``, ``check``, ``check_is_admin`` of
      a policy module or enforcer, a context's ``can``) patched so it never refuses, or
      three or more rules opened to everyone (``'@'``, ``''``, ``RULE_ANY``) by one
      ``set_rules`` call;
    - image signature verification: ``get_verifier``, ``verify_certificate`` (cursive's
      ``signature_utils``, ``certificate_utils``) patched with a verifier that never
      refuses;
    - the key manager (``key_manager``, ``keymgr``, castellan's ``API``) patched;
    - an authorization or authentication hook in a request environment or a registry
      (``env['swift.authorize'] = ...``, ``app.authenticate = ...``) replaced by a callable
      that always allows: a lambda returning ``None``, ``True`` or its argument, a bare
      mock, or a function of the file that only returns those (a hook refuses by raising
      or by returning a response). One that records its calls is checked by its test; one
      the file also sets to refuse is tested both ways.

    A patch never refuses when it is a bare mock, returns ``True`` or a mock, passes its
    argument through (``lambda app: app``), or returns an object of a class of the file
    that never raises. Not reported, because the test is not blind to the control:

    - a stub that refuses (a ``side_effect`` that is an exception, ``return_value=False``,
      a verifier class that raises), or whose answer the code does not say (a
      ``side_effect`` function that wraps the real check);
    - a stub that allows when the same file also stubs that check to refuse: the control
      is tested both ways, and the yes is a test's input;
    - a stub whose test checks how it was called (``assert_called_once_with``,
      ``assert_not_called``, ``call_args_list``): the test checks what the control is
      asked, all a test of its caller can;
    - one or two rules opened by ``set_rules``: how a policy test isolates the rule it
      tests from one checked before it (53 places in Nova's tests);
    - mocks of ``context.elevated()`` and fake image services (``GlanceFixture``): in Nova's
      tests they are plumbing (61 patches of ``elevated`` in compute, conductor and
      scheduler tests; 97 ``GlanceFixture`` set-ups, those with ``verify_glance_signatures``
      included, which only pass certificate ids along);
    - a key manager backend set to a fake class (Nova's vTPM fake checks ownership).

    ## Why is this bad?
    A stub that says yes to everything hides the control it replaces: the test passes
    whatever the control would have decided, so it cannot catch a change that lets the
    wrong user, token, key or image through. That is fine where the control is tested on
    its own, and a hole where it is not. Each finding says what the stub hides and what to
    check; a reviewer checks that a test with the real control covers the refusal.

    ## Example
    ```python
    from unittest import mock

    from myapp import test


    class ServerActionsTest(test.TestCase):

        @mock.patch('myapp.policy.authorize', return_value=True)
        def test_reboot(self, mock_authorize):
            self.controller.reboot(self.req, self.server_id)
            self.assertEqual('REBOOT', self.server.task_state)
    ```

    ## Use instead
    ```python
    from myapp import test
    from myapp.tests import fixtures


    class ServerActionsTest(test.TestCase):

        def setUp(self):
            super().setUp()
            self.useFixture(fixtures.RealPolicyFixture())

        def test_reboot(self):
            self.controller.reboot(self.req, self.server_id)
            self.assertEqual('REBOOT', self.server.task_state)
    ```

    ## Fix safety
    None: this check reports only. Whether a stub is right for its test is a reviewer's
    call, and the real control's set-up is the project's.
    """

    code = "TSF104"
    name = "security-stub"
    safe = True  # nothing is applied
    fixable = False
    trigger = Screen()

    def check(self, tree: ast.Module, ctx: Context) -> None:
        bindings = ast_bindings(tree)
        lines = match_lines(TRIGGER, ctx.text)
        # A control imported under another name (``key_manager as km``) is named by it.
        aliases = {b for b, path in bindings.items()
                   if any(k.target.search(path) or k.target.search(path + ".") for k in KINDS)}
        if aliases:
            lines |= lines_naming(ctx.text, aliases)
        mine = [u for u in units(tree) if lines.intersection(statement_lines(u))]
        defs = Definitions(tree, ctx.text)
        found = [stub for unit in mine for stub in stubs(tree, unit, bindings, defs)]
        # A check the file also makes refuse is tested both ways: the yes is a test's input.
        refused = {s.control for s in found if s.verdict == Verdict.DENIES}
        for stub in found:
            if stub.verdict == Verdict.ALLOWS and not stub.checks_calls and \
                    stub.control not in refused:
                kind = stub.kind
                ctx.report_at(stub.patch.call, f"{kind.name} stubbed to allow everything "
                              f"({stub.patch.target}): {kind.hides}; check that {kind.look_for}",
                              REASON)
        hooks = [h for unit in mine if not isinstance(unit, ast.ClassDef)
                 for h in hook_stubs(unit, defs)]
        refused_hooks = {key for _, key, v in hooks if v == Verdict.DENIES}
        for node, key, decided in hooks:
            if decided == Verdict.ALLOWS and key not in refused_hooks:
                kind = AUTH if "uthenticat" in key.lower() else POLICY
                ctx.report_at(node, f"{key} hook replaced by one that allows everything: "
                              f"{kind.hides}; check that {kind.look_for}", REASON)
        for unit in mine:
            if isinstance(unit, ast.ClassDef):
                continue
            for call in (n for n in ast.walk(unit) if isinstance(n, ast.Call)):
                last = ast_dotted(call.func).rsplit(".", 1)[-1]
                opened = _opened_rules(call, unit) if last == "set_rules" else []
                if len(opened) >= BLANKET:
                    shown = ", ".join(opened[:3]) + (", ..." if len(opened) > 3 else "")
                    ctx.report_at(call, f"policy opened to everyone for {len(opened)} rules "
                                  f"({shown}): {POLICY.hides} on them; check that "
                                  f"{POLICY.look_for}", REASON)
                what = _no_auth(call)
                if what is not None:
                    ctx.report_at(call, f"{AUTH.name} stubbed ({what}): {AUTH.hides}; "
                                  f"check that {AUTH.look_for}", REASON)
