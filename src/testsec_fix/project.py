"""What a codemod may learn of the files around the one it rewrites: class bases in other
modules, module names, where the project's test fixtures live. Read lazily with ``ast``."""
from __future__ import annotations

import ast
import os
from functools import lru_cache
from typing import Dict, List, Mapping, Optional, Tuple

from .cache import Stamp, stamp
from .config import Config
from .astutil import ast_bindings, string_constants, top_level_names

ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
HELPER_MODULE = "polling"  # module created inside a fixtures package for the generic helpers
CREDENTIALS_MODULE = "credentials"  # ... and the one for test credentials
OWN_FILE = "file:"  # the module of a file outside any package: ``file:/abs/path.py``
DATA_FILE_LIMIT = 1 << 20  # data files larger than this are not searched
# Text of the data files of a folder, per process: (path, text) pairs, and the stamps seen.
_DATA: Dict[str, Tuple[List[Tuple[str, str]], Dict[str, Stamp]]] = {}


def own_module(path: str) -> str:
    """The name standing for the file at ``path`` itself as a helper module."""
    return OWN_FILE + os.path.abspath(path)


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

    def __init__(self, root: str, config: Config,
                 claimed: Optional[Mapping[str, Mapping[str, str]]] = None) -> None:
        self.root = os.path.abspath(root)
        self.config = config
        # Constants other files of this run have asked for, per module (name -> value).
        self.claimed = claimed or {}
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
        """Where module ``dotted`` lives or will be created (a file's own: that file)."""
        if dotted.startswith(OWN_FILE):
            return dotted[len(OWN_FILE):]
        return self.module_file(dotted) or os.path.join(self.root, *dotted.split(".")) + ".py"

    def is_module(self, path: str, dotted: str) -> bool:
        """Whether module ``dotted`` is (or would be created as) the file at ``path``; true
        also where ``path`` is not inside a package (``tests/fixtures.py`` next to a
        ``conftest.py``), which ``module_name`` cannot name."""
        return os.path.abspath(self.module_path_for(dotted)) == os.path.abspath(path)

    # -- the fixtures module ---------------------------------------------------------------
    def fixtures_module(self, path: str, leaf: str = HELPER_MODULE) -> Optional[str]:
        """The module for helpers of kind ``leaf`` (``polling``, ``credentials``), with no
        configuration: in the test package at the top of the file's package chain
        (``pkg/tests``, ``tests``), ``fixtures.<leaf>`` where ``fixtures`` is a package, the
        ``fixtures`` module where one exists, else a module ``<leaf>`` of its own there. A
        file outside any package (pytest's rootdir layout: no ``__init__.py``, nothing to
        import from under every import mode), in a package not importable from the project
        root, or in a package chain with no test folder holds its helpers itself
        (``own_module``)."""
        configured = self.config.fixtures_module
        if leaf == CREDENTIALS_MODULE and self.config.credentials_module:
            return self.config.credentials_module
        if configured:
            return f"{configured}.{leaf}" if self.is_package(configured) else configured
        if not self.config.is_test_path(path):
            return None
        name = self.module_name(path)
        if not name or not self.is_module(path, name):
            # Outside any package, or in one not importable from the project root (a src
            # layout's src/pkg/tests): the file holds its helpers itself.
            return own_module(path)
        packages = name.split(".")[:-1]
        marks = [i for i, part in enumerate(packages) if part in self.config.test_dirs]
        if not marks:  # a test module among the package's own code: nothing of it to extend
            return own_module(path)
        top = ".".join(packages[: marks[0] + 1])
        fixtures = f"{top}.fixtures"
        if self.is_package(fixtures):
            return f"{fixtures}.{leaf}"
        return fixtures if self.module_file(fixtures) else f"{top}.{leaf}"

    def constants(self, module: str) -> Dict[str, str]:
        """String constants bound at the top of ``module`` (``NAME = 'value'``), with those
        other files of this run have claimed."""
        tree = self._parse(module)
        found = dict.fromkeys(top_level_names(tree), "") if tree else {}
        found.update(string_constants(tree) if tree else {})
        found.update(self.claimed.get(module, {}))
        return found

    def data_files_with(self, path: str, value: str) -> List[str]:
        """Files other than Python ones next to ``path`` (its folder, and folders below it
        that are not packages: templates, samples) whose text holds ``value``."""
        folder = os.path.dirname(os.path.abspath(path))
        # Read once per process; read again if a file or folder changed since (an API user
        # may run twice in one process).
        if folder not in _DATA or any(stamp(p) != s for p, s in _DATA[folder][1].items()):
            _DATA[folder] = _read_data_files(folder)
        texts, stamps = _DATA[folder]
        self.depends.update(stamps)
        return [file for file, text in texts if value in text]

    # -- classes in other modules -----------------------------------------------------------
    def _parse(self, dotted_module: str) -> Optional[ast.Module]:
        if dotted_module not in self._modules:
            file = self.module_path_for(dotted_module) if dotted_module.startswith(OWN_FILE) \
                else self.module_file(dotted_module)
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


def _read_data_files(folder: str) -> Tuple[List[Tuple[str, str]], Dict[str, Stamp]]:
    texts: List[Tuple[str, str]] = []
    stamps: Dict[str, Stamp] = {}
    for here, dirs, files in os.walk(folder):
        stamps[here] = stamp(here)  # a file added or removed changes the folder
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__"))
                         and not os.path.isfile(os.path.join(here, d, "__init__.py")))
        for name in sorted(files):
            if name.endswith((".py", ".pyc", ".pyo")):
                continue
            full = os.path.join(here, name)
            stamps[full] = stamp(full)
            if os.path.islink(full) or not 0 < stamps[full][0] <= DATA_FILE_LIMIT:
                continue
            try:
                with open(full, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            if b"\0" not in data:
                texts.append((full, data.decode("utf-8", "replace")))
    return texts, stamps


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
