"""Codemods are found by convention: every module in ``testsec_fix.codemods`` holds one."""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import lru_cache
from typing import Dict, Tuple, Type

from . import codemods as _package
from .codemod import Codemod


@lru_cache(maxsize=None)
def all_codemods() -> Tuple[Type[Codemod], ...]:
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


def by_code(code: str) -> Type[Codemod]:
    for cls in all_codemods():
        if cls.code == code.upper() or cls.name == code:
            return cls
    raise KeyError(code)
