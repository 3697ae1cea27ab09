"""Constant names: how TSF102 names the constants it moves, and how a run settles them across
its files.

Each file is fixed alone, knowing only the constants already in its credentials module, so
two files may ask for one name with two values, or for one value under two names. A run
settles them in path order: a file whose constants clash with those the files before it
claimed is fixed again knowing them. The files to fix again are found in one walk that
predicts what each will claim once fixed again (the naming below, replayed on its names), so
they can be fixed together; a walk that finds a prediction wrong has the files after it
fixed again in a later round. No LibCST here: a re-run answered from the cache settles too.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import replace
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from .model import FileResult

Claims = Dict[str, Dict[str, str]]  # module: constant name: value
Wanted = Tuple[str, str, Claims]  # a file to fix again: path, project root, what it must know


class Namer:
    """Names of the constants of one module: a value with a name keeps its first (in sorted
    order); a new one is named after its base, or the base with the first free suffix
    (``_2``, ``_3``...)."""

    def __init__(self, taken: Mapping[str, str]) -> None:
        self.taken = dict(taken)
        self.first: Dict[str, str] = {}  # value: its first name
        for name, value in sorted(self.taken.items(), reverse=True):
            self.first[value] = name
        self.tried: Dict[str, int] = {}  # base: the last suffix found taken (or taken now)

    def name(self, value: str, base: str) -> str:
        """The name of ``value``: the one it has, or a new one (taken from now on)."""
        name = self.first.get(value)
        if name is None:
            k = self.tried.get(base, 1)
            name = base if k == 1 else f"{base}_{k}"
            while name in self.taken:
                k += 1
                name = f"{base}_{k}"
            self.tried[base] = k
            self.taken[name], self.first[value] = value, name
        return name


_SUFFIXED = re.compile(r"(.+)_([2-9]|[1-9]\d+)")


def base_of(name: str, taken: Mapping[str, str]) -> str:
    """The base ``Namer`` made ``name`` from, when ``taken`` were taken: ``X_3`` comes from
    ``X`` if ``X`` and ``X_2`` were."""
    match = _SUFFIXED.fullmatch(name)
    if match:
        base, k = match.group(1), int(match.group(2))
        if base in taken and all(f"{base}_{j}" in taken for j in range(2, k)):
            return base
    return name


def asked(result: FileResult) -> List[Tuple[str, str, str]]:
    """The constants ``result`` asks for: (module, name, value)."""
    return [(r.module, r.name, r.value) for r in result.helpers if r.value is not None]


def clash(result: FileResult, claims: Claims) -> bool:
    """Whether ``result`` asks for a name claimed with another value, or for a value claimed
    under another name."""
    for module, name, value in asked(result):
        taken = claims.get(module, {})
        if taken.get(name, value) != value or any(
                v == value and n != name for n, v in taken.items()):
            return True
    return False


def renamed(result: FileResult, claims: Claims,
            existing: Callable[[str], Mapping[str, str]]) -> List[Tuple[str, str, str]]:
    """What ``result``'s file will likely ask for once fixed again knowing ``claims``: its
    values named again with those claimed (a value claimed already asks for nothing).
    ``existing(module)``: the constants the module has (what the first fix knew). A
    prediction: the file's own fix (a longer name may leave a line too long) decides."""
    first: Dict[str, Dict[str, str]] = {}  # module: what the first fix had taken
    namers: Dict[str, Namer] = {}
    out = []
    for module, name, value in asked(result):
        if module not in namers:
            first[module] = dict(existing(module))
            namers[module] = Namer({**first[module], **claims.get(module, {})})
        base = base_of(name, first[module])
        first[module][name] = value
        namer = namers[module]
        if value not in namer.first:
            out.append((module, namer.name(value, base), value))
    return out


def settle(results: Dict[str, FileResult], fixable: Set[str], root_of: Callable[[str], str],
           existing: Callable[[str, str], Mapping[str, str]],
           known: Callable[[str, str, Claims], Optional[FileResult]],
           fix: Callable[[Sequence[Wanted]], List[FileResult]]) -> None:
    """Settle the constants ``results`` (path: result, in path order) ask for; a result
    replaced is replaced in ``results``. ``fixable``: the files that can be fixed again;
    ``root_of(path)``: the project a file is in; ``existing(root, module)``: the constants a
    module has; ``known(path, root, claims)``: the file fixed knowing ``claims`` already (the
    cache), or None; ``fix(wanted)``: the files fixed again (all at once)."""
    done: Dict[Tuple[str, str], FileResult] = {}
    while True:
        claimed: Dict[str, Claims] = defaultdict(lambda: defaultdict(dict))
        finals: Dict[str, FileResult] = {}
        wanted: List[Wanted] = []
        for path, result in results.items():
            if not asked(result):
                continue
            root = root_of(path)
            claims = claimed[root]
            pairs = asked(result)
            if clash(result, claims) and path in fixable:
                key = (path, json.dumps(claims, sort_keys=True))
                if key not in done:
                    hit = known(path, root, claims)
                    if hit is not None:
                        done[key] = hit
                if key in done:
                    finals[path] = _checked(done[key], claims)
                    pairs = asked(finals[path])
                else:
                    wanted.append((path, root, {m: dict(c) for m, c in claims.items()}))
                    pairs = renamed(result, claims, lambda m: existing(root, m))
            for module, name, value in pairs:
                claims[module][name] = value
        if not wanted:
            results.update(finals)
            return
        for (path, _, claims), again in zip(wanted, fix(wanted)):
            done[(path, json.dumps(claims, sort_keys=True))] = again


def _checked(result: FileResult, claims: Claims) -> FileResult:
    if clash(result, claims):  # pragma: no cover - the codemod avoids claimed names
        return replace(result, after=result.before, helpers=(),
                       error="not changed: its constant names clash with another file's")
    return result
