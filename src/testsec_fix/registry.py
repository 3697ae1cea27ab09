"""Codemods are found by convention: every module in ``testsec_fix.codemods`` holds one."""
from __future__ import annotations

import ast
import importlib
import inspect
import os
import pkgutil
from functools import lru_cache
from typing import TYPE_CHECKING, Dict, Tuple, Type

from . import codemods as _package

if TYPE_CHECKING:
    from .codemod import Codemod


@lru_cache(maxsize=None)
def all_codemods() -> Tuple[Type["Codemod"], ...]:
    from .codemod import Codemod  # imports LibCST

    found: Dict[str, Type[Codemod]] = {}
    for info in pkgutil.iter_modules(_package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{_package.__name__}.{info.name}")
        classes = [obj for _, obj in inspect.getmembers(module, inspect.isclass)
                   if issubclass(obj, Codemod) and obj is not Codemod
                   and obj.__module__ == module.__name__]
        if len(classes) != 1:
            raise RuntimeError(f"{module.__name__} must define exactly one codemod, "
                               f"found {len(classes)}")
        cls = classes[0]
        if cls.code in found:
            raise RuntimeError(f"codemod code {cls.code} is used twice")
        found[cls.code] = cls
    return tuple(found[code] for code in sorted(found))


@lru_cache(maxsize=None)
def known_names() -> Dict[str, str]:
    """code -> name of every codemod, read from the modules' text (``code = "TSF101"``,
    ``name = "..."`` in the class), so that checking a ``--select`` or naming codes in a
    report does not import the codemods (and LibCST). A meta-test keeps it equal to what
    ``all_codemods`` finds."""
    found: Dict[str, str] = {}
    for info in pkgutil.iter_modules(_package.__path__):
        if info.name.startswith("_"):
            continue
        with open(os.path.join(_package.__path__[0], info.name + ".py"), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in (n for n in tree.body if isinstance(n, ast.ClassDef)):
            attrs = {t.id: s.value.value for s in node.body if isinstance(s, ast.Assign)
                     and isinstance(s.value, ast.Constant) for t in s.targets
                     if isinstance(t, ast.Name)}
            if isinstance(attrs.get("code"), str):
                found[attrs["code"]] = attrs.get("name", "")
    return dict(sorted(found.items()))


def by_code(code: str) -> Type["Codemod"]:
    for cls in all_codemods():
        if cls.code == code.upper() or cls.name == code:
            return cls
    raise KeyError(code)
