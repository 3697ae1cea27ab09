"""What a codemod may learn of the files around the one it rewrites: class bases in other
modules, module names, where the project's test fixtures live. Read lazily with ``ast``."""
from __future__ import annotations

import ast
import os
from functools import lru_cache
from typing import Dict, Optional, Tuple

from .cache import Stamp, stamp
from .config import Config
from .astutil import ast_bindings

ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
HELPER_MODULE = "polling"  # module created inside a fixtures package for the generic helpers


def find_root(path: str) -> str:
    here = os.path.abspath(path if os.path.isdir(path) else os.path.dirname(path) or ".")
    start = here
    while True:
        if any(os.path.exists(os.path.join(here, m)) for m in ROOT_MARKERS):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return start
        here = parent


class FileProject:
    """A project rooted at a folder on disk."""

    def __init__(self, root: str, config: Config) -> None:
        self.root = os.path.abspath(root)
        self.config = config
        self._modules: Dict[str, Optional[ast.Module]] = {}
        # Every file whose presence or content a result may depend on, as it was seen.
        self.depends: Dict[str, Stamp] = {}

    def _isfile(self, path: str) -> bool:
        self.depends[path] = stamp(path)
        return self.depends[path] != (-1, -1) and os.path.isfile(path)

    # -- module names and files ------------------------------------------------------------
    def module_name(self, path: str) -> Optional[str]:
        path = os.path.abspath(path)
        folder, base = os.path.split(path)
        parts = [] if base == "__init__.py" else [os.path.splitext(base)[0]]
        while self._isfile(os.path.join(folder, "__init__.py")):
            parts.insert(0, os.path.basename(folder))
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
        if len(parts) < 2 and base != "__init__.py":
            return None  # not inside a package
        return ".".join(parts)

    def module_file(self, dotted: str) -> Optional[str]:
        base = os.path.join(self.root, *dotted.split("."))
        for candidate in (base + ".py", os.path.join(base, "__init__.py")):
            if self._isfile(candidate):
                return candidate
        return None

    def is_package(self, dotted: str) -> bool:
        return self._isfile(os.path.join(self.root, *dotted.split("."), "__init__.py"))

    def module_path_for(self, dotted: str) -> str:
        """Where module ``dotted`` lives or will be created."""
        return self.module_file(dotted) or os.path.join(self.root, *dotted.split(".")) + ".py"

    # -- the fixtures module ---------------------------------------------------------------
    def fixtures_module(self, path: str) -> Optional[str]:
        configured = self.config.fixtures_module
        if configured:
            return f"{configured}.{HELPER_MODULE}" if self.is_package(configured) else configured
        name = self.module_name(path)
        if not name:
            return None
        packages = name.split(".")[:-1]
        marks = [i for i, part in enumerate(packages) if part in self.config.test_dirs]
        if not marks:
            return None
        fixtures = ".".join(packages[: marks[0] + 1] + ["fixtures"])
        if self.is_package(fixtures):
            return f"{fixtures}.{HELPER_MODULE}"
        return fixtures if self.module_file(fixtures) else None

    # -- classes in other modules -----------------------------------------------------------
    def _parse(self, dotted_module: str) -> Optional[ast.Module]:
        if dotted_module not in self._modules:
            file = self.module_file(dotted_module)
            tree = None
            if file:
                try:
                    with open(file, "rb") as fh:
                        tree = ast.parse(fh.read())
                except (OSError, SyntaxError, ValueError):
                    tree = None
            self._modules[dotted_module] = tree
        return self._modules[dotted_module]

    @lru_cache(maxsize=4096)
    def class_bases(self, dotted: str) -> Optional[Tuple[str, ...]]:
        module, _, name = dotted.rpartition(".")
        tree = self._parse(module) if module else None
        if tree is None:
            return None
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == name:
                return tuple(resolve_ast_expr(b, tree, module) for b in node.bases)
        return None


def resolve_ast_expr(expr: ast.expr, tree: ast.Module, module: str) -> str:
    """The dotted name an expression like ``integrated_helpers.InstanceHelperMixin`` stands for
    in ``module``; '' when it is not a plain (dotted) name."""
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.insert(0, expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return ""
    bound = ast_bindings(tree)
    head = bound.get(expr.id)
    if head is None:
        defined = any(isinstance(n, ast.ClassDef) and n.name == expr.id for n in tree.body)
        head = f"{module}.{expr.id}" if defined else expr.id
    elif head.startswith("."):
        head = absolute(head, module)
    return ".".join([head] + parts)


def absolute(relative: str, module: str) -> str:
    level = len(relative) - len(relative.lstrip("."))
    package = module.split(".")[:-level] if level else module.split(".")
    rest = relative.lstrip(".")
    return ".".join(package + ([rest] if rest else []))
