"""What a test replaces with mocks and stubs, read from ``ast`` alone (no LibCST).

The report-only checks share these: which call patches what (``mock.patch('time.sleep')``,
``mock.patch.object(policy, 'authorize')``, ``fixtures.MockPatch``, ``self.stub_out``,
``monkeypatch.setattr``), with what, and which functions of a file are stand-ins given to a
patch or a mock (a ``side_effect``, a ``new``) rather than code a test runs itself.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Set, Tuple, Union

from .astutil import ast_dotted

Function = Union[ast.FunctionDef, ast.AsyncFunctionDef]

# Patchers by the last part of the callee's name: (index of the replacement argument,
# whether the target is an object and an attribute name rather than one dotted string).
PATCHERS: Dict[str, Tuple[int, bool]] = {
    "patch": (1, False),            # mock.patch('a.b', new)
    "patch.object": (2, True),      # mock.patch.object(a, 'b', new)
    "MockPatch": (1, False),        # fixtures.MockPatch('a.b', new)
    "MockPatchObject": (2, True),   # fixtures.MockPatchObject(a, 'b', new)
    "MonkeyPatch": (1, False),      # fixtures.MonkeyPatch('a.b', new)
    "stub_out": (1, False),         # self.stub_out('a.b', new)  (Nova, oslotest)
    "setattr": (2, True),           # monkeypatch.setattr(a, 'b', new) / ('a.b', new)
}
# What checks how a mock was called (with what, or not at all), called or read.
CALL_ASSERTIONS = {"assert_called_once_with", "assert_called_with", "assert_has_calls",
                   "assert_any_call", "assert_not_called"}
CALL_RECORDS = {"call_args", "call_args_list", "mock_calls"}


@dataclass(frozen=True)
class Patch:
    """One patch: ``target`` is the dotted name it replaces, resolved through the file's
    imports (``policy.authorize`` -> ``nova.policy.authorize``)."""

    call: ast.Call
    target: str
    new: Optional[ast.expr] = None
    return_value: Optional[ast.expr] = None
    side_effect: Optional[ast.expr] = None


def resolve(node: ast.AST, bindings: Dict[str, str]) -> str:
    """The dotted name of ``node`` with its head replaced by what the file imported."""
    dotted = ast_dotted(node)
    head, _, rest = dotted.partition(".")
    if head in bindings:
        return bindings[head] + ("." + rest if rest else "")
    return dotted


def _patcher(call: ast.Call) -> Optional[Tuple[int, bool]]:
    name = ast_dotted(call.func)
    if name.endswith("patch.object"):
        return PATCHERS["patch.object"]
    last = name.rsplit(".", 1)[-1]
    if last == "setattr" and call.args and isinstance(call.args[0], ast.Constant):
        return (1, False)  # monkeypatch.setattr('a.b', new)
    if last == "setattr" and name == "setattr":
        return None  # the builtin sets an attribute of a real object: not a patch
    if last == "patch" and name != "patch" and not name.endswith("mock.patch"):
        return None  # self.api.patch('/servers/1', body): an HTTP PATCH
    return PATCHERS.get(last)


def patch_of(call: ast.Call, bindings: Dict[str, str]) -> Optional[Patch]:
    """The patch ``call`` makes, if it is one of the patchers."""
    shape = _patcher(call)
    if shape is None or not call.args:
        return None
    index, on_object = shape
    if on_object:
        if len(call.args) < 2 or not isinstance(call.args[1], ast.Constant) or \
                not isinstance(call.args[1].value, str):
            return None
        owner = resolve(call.args[0], bindings)
        target = f"{owner}.{call.args[1].value}" if owner else call.args[1].value
    else:
        first = call.args[0]
        if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
            return None
        target = first.value
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    new = call.args[index] if len(call.args) > index else keywords.get("new")
    return Patch(call, target, new, keywords.get("return_value"), keywords.get("side_effect"))


def patches_in(node: ast.AST, bindings: Dict[str, str]) -> Iterator[Patch]:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            patch = patch_of(sub, bindings)
            if patch is not None:
                yield patch


def decorator_patches(fn: Function, bindings: Dict[str, str]) -> List[Tuple[Patch, str]]:
    """Patches applied by ``fn``'s decorators, each with the parameter that receives its mock
    ('' when the decorator gives a replacement, so adds no parameter)."""
    params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
    if params and params[0] in ("self", "cls"):
        params = params[1:]
    out: List[Tuple[Patch, str]] = []
    # Decorators apply from the bottom up: the lowest one gives the first parameter.
    for decorator in reversed(fn.decorator_list):
        patch = patch_of(decorator, bindings) if isinstance(decorator, ast.Call) else None
        if patch is None:
            continue
        name = ""
        if patch.new is None and params:
            name = params.pop(0)
        out.append((patch, name))
    return out


def mock_names(fn: Function, bindings: Dict[str, str]) -> Dict[ast.Call, str]:
    """For each patch in or on ``fn``, the name its mock is known by in ``fn``: a
    parameter, a ``with ... as`` name, or what the patch's result (or the ``start()`` of a
    patcher) is assigned to."""
    out = {patch.call: name for patch, name in decorator_patches(fn, bindings) if name}
    patchers: Dict[str, ast.Call] = {}  # patcher = mock.patch(...); m = patcher.start()
    for node in ast.walk(fn):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                name = ast_dotted(item.optional_vars) if item.optional_vars else ""
                if isinstance(item.context_expr, ast.Call) and name:
                    out[item.context_expr] = name
        elif isinstance(node, ast.Assign):
            names = [ast_dotted(t) for t in node.targets if ast_dotted(t)]
            value = node.value
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
                    value.func.attr == "start" and ast_dotted(value.func.value) in patchers:
                for name in names:
                    out[patchers[ast_dotted(value.func.value)]] = name
                continue
            for patch in patches_in(value, bindings):
                patchers.update((name, patch.call) for name in names)
                if names:
                    out.setdefault(patch.call, names[-1])
    return out


@dataclass(frozen=True)
class MockUse:
    """How a test uses the mock called ``name``: the ``return_value`` it gives it, every
    ``side_effect`` given to it or to what it returns (``m.return_value.get.side_effect``),
    and whether it checks how either was called (``assert_called_once_with``,
    ``assert_not_called``, ``call_args_list``)."""

    return_value: Optional[ast.expr]
    side_effects: Tuple[ast.expr, ...]
    checks_calls: bool


def mock_use(scope: ast.AST, name: str) -> MockUse:
    aliases = {name}
    for node in ast.walk(scope):  # m.return_value = km; km = m.return_value
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = ast_dotted(node.targets[0]), ast_dotted(node.value)
            if target == f"{name}.return_value" and value:
                aliases.add(value)
            elif value == f"{name}.return_value" and target:
                aliases.add(target)

    def reaches(node: ast.AST) -> bool:
        dotted = ast_dotted(node)
        return any(dotted == a or dotted.startswith(a + ".") for a in aliases)

    return_value: Optional[ast.expr] = None
    side_effects: List[ast.expr] = []
    checks = False
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if not isinstance(target, ast.Attribute):
                    continue
                if target.attr == "return_value" and ast_dotted(target.value) == name:
                    return_value = node.value
                elif target.attr == "side_effect" and reaches(target.value):
                    side_effects.append(node.value)
        elif isinstance(node, ast.Attribute) and node.attr in CALL_ASSERTIONS | CALL_RECORDS \
                and reaches(node.value):
            checks = True
    return MockUse(return_value, tuple(side_effects), checks)


def stand_ins(scope: ast.AST) -> Set[str]:
    """Names of the functions ``scope`` hands to a patch or a mock as a replacement: a
    patch's ``new``, a ``side_effect`` or ``wraps``, or a value assigned to an attribute
    (``fake_spawn``, and ``_slow_get`` for ``self._slow_get``)."""
    out: Set[str] = set()

    def add(value: Optional[ast.expr]) -> None:
        if isinstance(value, ast.Name):
            out.add(value.id)
        elif isinstance(value, ast.Attribute):
            out.add(value.attr)

    for node in ast.walk(scope):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg in ("new", "side_effect", "wraps"):
                    add(keyword.value)
            shape = _patcher(node)
            if shape is not None and len(node.args) > shape[0]:
                add(node.args[shape[0]])
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Attribute)
                                                  for t in node.targets):
            add(node.value)
    return out


_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
FAKE_WORDS = {"fake", "fakes", "stub", "stubs", "mock", "mocked", "dummy"}


def is_fake_name(name: str) -> bool:
    """``fake_spawn``, ``FakeDriver``, ``_stub_get``, ``DummyVerifier``: a stand-in by name."""
    return any(word.lower() in FAKE_WORDS for word in _WORD.findall(name))
