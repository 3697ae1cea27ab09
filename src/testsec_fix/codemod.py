"""The one base class every codemod derives from, and the per-file context it works in.

A codemod is pure: a LibCST module and a ``Context`` in, a module out. It reports findings,
schedules imports and asks for helper functions through the context; the engine applies them.
"""
from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass, field
from typing import (Callable, ClassVar, Dict, List, Optional, Protocol, Set, Tuple, TypeVar,
                    Union)

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .astutil import file_names, walk
from .config import Config
from .model import Finding, HelperRequest, ImportRequest
from .sparse import split_lines
from .suppress import NONE, Suppressions

T = TypeVar("T")




class Project(Protocol):
    """What a codemod may learn about files other than its own (the engine reads them)."""

    def class_bases(self, dotted: str) -> Optional[Tuple[str, ...]]:
        """Dotted names of the bases of class ``dotted`` (``pkg.mod.Class``), if found."""

    def fixtures_module(self, path: str, leaf: str = ...) -> Optional[str]:
        """The dotted module that holds test helpers of kind ``leaf`` (``polling``,
        ``credentials``) for the file at ``path``, if one is found."""

    def module_name(self, path: str) -> Optional[str]:
        """The dotted module name of the file at ``path``, if it is inside a package."""

    def is_module(self, path: str, dotted: str) -> bool:
        """Whether module ``dotted`` is the file at ``path`` (where the tool's helpers or
        constants for that file would go is the file itself)."""

    def constants(self, module: str) -> Dict[str, str]:
        """Names bound at the top of ``module``: string constants with their value, other
        names with ''."""

    def data_files_with(self, path: str, value: str) -> List[str]:
        """Data files (not Python) next to the file at ``path`` whose text holds ``value``."""


class NoProject:
    """No files but the one being fixed (``fix_source`` on text)."""

    def class_bases(self, dotted: str) -> Optional[Tuple[str, ...]]:
        return None

    def fixtures_module(self, path: str, leaf: str = "") -> Optional[str]:
        return None

    def module_name(self, path: str) -> Optional[str]:
        return None

    def is_module(self, path: str, dotted: str) -> bool:
        return False

    def constants(self, module: str) -> Dict[str, str]:
        return {}

    def data_files_with(self, path: str, value: str) -> List[str]:
        return []


@dataclass
class Context:
    path: str
    config: Config
    tree: ast.Module  # the whole original file, parsed with ``ast`` (cheap)
    text: str = ""  # the whole original file
    project: Project = field(default_factory=NoProject)
    findings: List[Finding] = field(default_factory=list)
    imports: List[ImportRequest] = field(default_factory=list)
    helpers: List[HelperRequest] = field(default_factory=list)
    code: str = ""  # the codemod's code, for findings
    line_map: Optional[List[int]] = None  # parsed line -> original line (sparse parsing)
    suppressions: Suppressions = NONE  # the file's ``# testsec: ignore`` comments
    # What the file's codemods work out once, for all of them (one dict per file: the
    # engine gives each codemod's context the same): lines, nodes, names, strings.
    shared: Dict[str, object] = field(default_factory=dict)
    _positions: Optional[Dict[cst.CSTNode, object]] = None
    _module: Optional[cst.Module] = None

    def bind(self, module: cst.Module, line_map: Optional[List[int]]) -> None:
        self._module, self._positions, self.line_map = module, None, line_map

    def span(self, node: cst.CSTNode) -> Optional[Tuple[int, int, int, int]]:
        """(line, column, end line, end column) of a node in the module this codemod was
        given (lines of that module's text); None for a node made by the codemod."""
        if self._positions is None:
            assert self._module is not None
            wrapper = MetadataWrapper(self._module, unsafe_skip_copy=True)
            self._positions = dict(wrapper.resolve(PositionProvider))
        pos = self._positions.get(node)
        if pos is None:
            return None
        return (pos.start.line, pos.start.column,  # type: ignore[attr-defined]
                pos.end.line, pos.end.column)  # type: ignore[attr-defined]

    def line_of(self, node: cst.CSTNode) -> Tuple[int, int]:
        """(line, column) of a node in the original file."""
        span = self.span(node)
        if not span:
            return (0, 0)
        line = self.line_map[span[0] - 1] if self.line_map else span[0]
        return (line, span[1])

    def suppressed(self, where: Union[cst.CSTNode, ast.AST, int]) -> bool:
        """Does a ``# testsec: ignore`` comment cover this codemod's finding at ``where`` (a
        LibCST or ``ast`` node, any line of it, or a line of the original file)? A codemod
        must not rewrite such a node; it reports it (``fixed=False``, reason ``SUPPRESSED``)
        and the engine marks that finding suppressed."""
        if not self.suppressions:
            return False
        if isinstance(where, int):
            first = last = where
        elif isinstance(where, ast.AST):
            first = getattr(where, "lineno", 0)
            last = getattr(where, "end_lineno", None) or first
        else:
            span = self.span(where)
            if not span:
                return False
            first, last = span[0], span[2]
            if self.line_map:
                first, last = self.line_map[first - 1], self.line_map[last - 1]
        return any(self.suppressions.covers(self.code, n) for n in range(first, last + 1))

    def report(self, node: cst.CSTNode, message: str, *, fixed: bool,
               reason: Optional[str] = None) -> None:
        line, col = self.line_of(node)
        self.findings.append(Finding(self.code, line, col, message, fixed, reason))

    def report_at(self, node: ast.AST, message: str, reason: str) -> None:
        """A finding at an ``ast`` node, from ``check`` (not fixed)."""
        line = getattr(node, "lineno", 0)
        self.findings.append(Finding(self.code, line,
                                     self.column(line, getattr(node, "col_offset", 0)),
                                     message, False, reason))

    def _once(self, what: str, make: Callable[[], T]) -> T:
        if what not in self.shared:
            self.shared[what] = make()
        return self.shared[what]  # type: ignore[return-value]

    @property
    def lines(self) -> List[str]:
        """The lines of the original file (split once, when first asked for)."""
        return self._once("lines", lambda: split_lines(self.text))

    @property
    def nodes(self) -> List[ast.AST]:
        """Every node of ``tree``, in ``ast.walk``'s order (walked once: a big file's tree
        has hundreds of thousands)."""
        return self._once("nodes", lambda: walk(self.tree))

    @property
    def names(self) -> Set[str]:
        """Every name the file binds or reads, anywhere (``astutil.file_names``)."""
        return self._once("names", lambda: file_names(self.nodes))

    @property
    def strings(self) -> List[str]:
        """The value of every string constant in the file (docstrings too)."""
        return self._once("strings", lambda: [n.value for n in self.nodes
                                              if isinstance(n, ast.Constant)
                                              and isinstance(n.value, str)])

    def column(self, line: int, offset: int) -> int:
        """``ast`` counts columns in UTF-8 bytes; findings count characters, as LibCST."""
        if not offset or not 0 < line <= len(self.lines):
            return offset
        return len(self.lines[line - 1].encode("utf-8")[:offset].decode("utf-8", "ignore"))

    def add_import(self, module: str, name: str = "", asname: str = "") -> None:
        request = ImportRequest(module, name, asname)
        if request not in self.imports:
            self.imports.append(request)

    def require_helper(self, request: HelperRequest) -> None:
        if request not in self.helpers:
            self.helpers.append(request)


class Codemod:
    """Base class. Subclasses set the class attributes and implement ``transform``.

    The class docstring is the user documentation, in sections: What it does / Why is this
    bad? / Example / Use instead / Fix safety.
    """

    code: ClassVar[str]  # stable, e.g. "TSF101"
    name: ClassVar[str]  # kebab-case name of the anti-pattern
    safe: ClassVar[bool]  # whether the fix is applied without --unsafe-fixes
    fixable: ClassVar[bool] = True  # False: a report-only check
    trigger: ClassVar["re.Pattern[str]"]  # a file whose text does not match is never parsed
    test_code_only: ClassVar[bool] = True  # only files the config counts as test code

    @classmethod
    def summary(cls) -> str:
        """The first line of the docstring: what the codemod finds, in one line."""
        return (inspect.getdoc(cls) or cls.name).splitlines()[0].strip()

    @classmethod
    def fix_safety(cls) -> str:
        """"safe", "unsafe" (applied with --unsafe-fixes only) or "report-only"."""
        return "report-only" if not cls.fixable else "safe" if cls.safe else "unsafe"

    @classmethod
    def screen(cls, text: str, config: Config) -> bool:
        """The cheap test: could ``text`` hold anything for this codemod?"""
        return bool(cls.trigger.search(text))

    def check(self, tree: ast.Module, ctx: Context) -> None:
        """Report findings from the ``ast`` alone (``ctx.report_at``); no LibCST needed."""

    def regions(self, tree: ast.Module, ctx: Context) -> Optional[Set[ast.stmt]]:
        """The statements of ``tree`` this codemod needs to see: top-level statements, or
        statements directly in a top-level class body; ``None``: the whole file.

        Statements no codemod needs are not given to LibCST (it parses ten times slower than
        ``ast``). An empty set means there is nothing to do in this file; a report-only
        check (``fixable = False``) has nothing to rewrite.
        """
        return None if self.fixable else set()

    def transform(self, module: cst.Module, ctx: Context) -> cst.Module:
        return module
