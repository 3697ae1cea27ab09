"""The project's own style, read from the config of its linters and formatters: the longest
line, the quotes of a string the tool writes, and where an added import goes.

Read from the project root: ``pyproject.toml`` (``[tool.ruff]``, ``[tool.black]``,
``[tool.isort]``), ``ruff.toml`` / ``.ruff.toml``, ``setup.cfg`` and ``tox.ini``
(``[flake8]``, ``[pycodestyle]``, ``[isort]``), ``.flake8``, ``.isort.cfg`` and the hooks of
``.pre-commit-config.yaml``. Nothing here is LibCST: the value is part of the frozen config.
"""
from __future__ import annotations

import configparser
import io
import os
import re
import sys
import tokenize
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

SINGLE, DOUBLE = "'", '"'


@dataclass(frozen=True)
class Style:
    """How the project writes code, as far as an added line must follow it."""

    # The quotes of a string the tool writes: SINGLE or DOUBLE as the project's formatter
    # or quote linter wants; "" where none says: the file's own dominant quotes.
    quote: str = ""
    # "isort": imports are sorted as isort and ruff's I rules sort them (sections, then
    # ``import x`` before ``from x import y``, names merged into one ``from`` import).
    # "": as the file already groups them (alphabetical within a group, OpenStack's hacking
    # H306 and isort's force-sort-within-sections order).
    sorter: str = ""
    force_single_line: bool = False
    force_sort_within_sections: bool = False
    lexicographical: bool = False  # (isort) ``from a import b`` sorts as ``a.b``
    order_by_type: bool = True
    case_sensitive: bool = False
    lines_after_imports: int = -1  # -1: two before a def or class, else one
    split_on_trailing_comma: bool = True
    import_line_length: int = 88  # where a ``from`` import with one name more is wrapped
    known_first_party: Tuple[str, ...] = ()
    known_third_party: Tuple[str, ...] = ()
    known_local_folder: Tuple[str, ...] = ()
    # Top-level names of the project's own folders and modules (in the root and ``src/``):
    # imports of them are first-party, whatever else bears the name.
    own_names: Tuple[str, ...] = ()


# Sections, in isort's order.
FUTURE, STDLIB, THIRD_PARTY, FIRST_PARTY, LOCAL = range(5)
STDLIB_NAMES = frozenset(getattr(sys, "stdlib_module_names", ())) or frozenset(
    {"abc", "asyncio", "collections", "contextlib", "datetime", "functools", "io", "itertools",
     "json", "logging", "os", "re", "shutil", "subprocess", "sys", "tempfile", "threading",
     "time", "typing", "unittest", "uuid"})


def section(module: str, level: int, style: Style) -> int:
    """The isort section of ``from <.. * level><module> import`` / ``import <module>``."""
    if level:
        return LOCAL
    top = module.split(".")[0]
    if top == "__future__":
        return FUTURE
    for names, where in ((style.known_first_party, FIRST_PARTY),
                         (style.known_third_party, THIRD_PARTY),
                         (style.known_local_folder, LOCAL)):
        if any(module == k or module.startswith(k + ".") for k in names):
            return where
    if top in style.own_names:
        return FIRST_PARTY
    return STDLIB if top in STDLIB_NAMES else THIRD_PARTY


def natural(text: str) -> Tuple[Tuple[int, int, str], ...]:
    """A key that orders ``test2`` before ``test10``, as isort and ruff do."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"(\d+)", text) if part)


def module_key(module: str, style: Style) -> Tuple:
    name = module if style.case_sensitive else module.lower()
    return natural(name), natural(module)


def member_key(name: str, style: Style) -> Tuple:
    """The order of the names of a ``from`` import: constants, classes, the rest (with
    ``order-by-type``), each case-insensitively unless ``case-sensitive``."""
    kind = 0
    if style.order_by_type:
        if len(name) > 1 and name.upper() == name and name.lower() != name:
            kind = 0
        elif name[:1].isupper():
            kind = 1
        else:
            kind = 2
    return kind, natural(name if style.case_sensitive else name.lower()), natural(name)


# -- string literals -------------------------------------------------------------------------

def string_literal(value: str, quote: str = "") -> str:
    """``value`` as a literal in ``quote`` (repr's choice when "" is asked): the other quote
    where the value holds the asked one and not the other, as black does (fewer escapes)."""
    text = repr(value)
    if quote and text[0] != quote and SINGLE not in value and DOUBLE not in value:
        return quote + text[1:-1] + quote
    return text


def requote(literal: str, quote: str) -> str:
    """A plain string literal's source in ``quote``; left as it is when it is triple-quoted
    or holds a quote of either kind (or an escape of one)."""
    body_at = len(literal) - len(literal.lstrip("rRbBuU"))
    prefix, rest = literal[:body_at], literal[body_at:]
    if len(rest) < 2 or rest[0] == quote or rest[0] not in (SINGLE, DOUBLE) or \
            rest[:3] in ("'''", '"""') or SINGLE in rest[1:-1] or DOUBLE in rest[1:-1]:
        return literal
    return prefix + quote + rest[1:-1] + quote


def render_constant(name: str, value: str, limit: int, quote: str = "") -> str:
    """``NAME = 'value'``, split into implicitly joined pieces when it is too long."""
    one = f"{name} = {string_literal(value, quote)}"
    if len(one) <= limit:
        return one + "\n"
    pieces: List[str] = []
    for line in value.splitlines(keepends=True):
        while line:
            size = max(1, min(len(line), limit - 8))
            while size > 1 and len(string_literal(line[:size], quote)) > limit - 4:
                size -= 1
            pieces.append(line[:size])
            line = line[size:]
    return f"{name} = (\n" + "".join(f"    {string_literal(p, quote)}\n" for p in pieces) + ")\n"


def quote_counts(text: str) -> Dict[str, int]:
    """How many one-line string literals of ``text`` open with each quote (docstrings and
    other triple-quoted strings do not count: every style writes them ``\"\"\"``)."""
    counts = {SINGLE: 0, DOUBLE: 0}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.STRING:
                body = tok.string.lstrip("rRbBuUfF")
                if body[:3] not in ("'''", '"""'):
                    counts[body[0]] += 1
    except (tokenize.TokenError, SyntaxError, IndexError):
        pass
    return counts


def dominant_quote(*counts: Dict[str, int]) -> str:
    """The quote most of the counted literals use; "" when none were counted; single on a
    tie (Python's own repr)."""
    single = sum(c.get(SINGLE, 0) for c in counts)
    double = sum(c.get(DOUBLE, 0) for c in counts)
    if not single and not double:
        return ""
    return DOUBLE if double > single else SINGLE


# -- reading the project's config ------------------------------------------------------------

@dataclass(frozen=True)
class ProjectStyle:
    """What the project's config says: the style, and the line length where one is set."""

    style: Style
    max_line_length: Optional[int] = None


def read_project_style(root: str) -> ProjectStyle:
    """The style the config files at the project ``root`` set."""
    pyproject = _toml(os.path.join(root, "pyproject.toml")).get("tool", {})
    ruff = next((t for t in (_toml(os.path.join(root, ".ruff.toml")),
                             _toml(os.path.join(root, "ruff.toml"))) if t),
                pyproject.get("ruff")) or {}
    black = pyproject.get("black")
    ini = _Ini(root)
    hooks = _hooks(root)

    lengths = [v for v in (_int(ruff.get("line-length")),
                           _int((black or {}).get("line-length")),
                           _int(ini.get("flake8", "max-line-length")),
                           _int(ini.get("pycodestyle", "max-line-length")),
                           _int(ini.get("pep8", "max-line-length"))) if v and v >= 40]
    lint = ruff.get("lint", {}) if isinstance(ruff.get("lint"), dict) else {}

    def ruff_setting(key: str, default: Any = None) -> Any:
        return lint.get(key, ruff.get(key, default))

    selected = [str(s) for s in (ruff_setting("select", []) or []) +
                (ruff_setting("extend-select", []) or [])]
    ignored = [str(s) for s in ruff_setting("ignore", []) or []]

    def ruff_selects(code: str) -> bool:
        """Whether the project's ruff checks ``code`` (a rule like ``I001``)."""
        if not ruff:
            return False
        hit = any(s == "ALL" or code.startswith(s) and s.rstrip("0123456789") ==
                  code.rstrip("0123456789") for s in selected)
        return hit and not any(code.startswith(s) and s.rstrip("0123456789") ==
                               code.rstrip("0123456789") for s in ignored)

    values: Dict[str, Any] = {"quote": _quote(ruff, ruff_setting, ruff_selects, black, ini,
                                              hooks)}
    isort_table = pyproject.get("isort") or ini.section("isort") or ini.section("tool:isort") \
        or _Ini.read(os.path.join(root, ".isort.cfg")).get("settings")
    if ruff_selects("I001"):
        values.update(sorter="isort", import_line_length=_int(ruff.get("line-length")) or 88,
                      **_isort_options(ruff_setting("isort", {}) or {}))
        srcs = ruff.get("src") or [".", "src"]
    elif isort_table is not None or "isort" in hooks:
        options = dict(isort_table or {})
        profile = _PROFILES.get(str(options.get("profile", "")), {})
        options = {**profile, **{k.replace("-", "_"): v for k, v in options.items()}}
        values.update(sorter="isort", import_line_length=_int(options.get("line_length")) or 79,
                      **_isort_options(options))
        if _bool(options.get("group_by_package")):
            values["lexicographical"] = False
        if values.get("force_sort_within_sections") and "case_sensitive" not in values:
            # isort then compares whole lines, lowered only without order-by-type
            values["case_sensitive"] = values.get("order_by_type", True)
        srcs = _list(options.get("src_paths")) or [".", "src"]
    else:
        srcs = [".", "src"]
    values["own_names"] = _own_names(root, srcs)
    return ProjectStyle(Style(**values), min(lengths) if lengths else None)


# isort's profiles, as far as they touch what an added import does.
_PROFILES: Dict[str, Dict[str, Any]] = {
    "black": {"line_length": 88},
    # (google's lexicographical order comes with group-by-package, which sorts a ``from``
    # import by its module alone again)
    "google": {"force_single_line": True, "force_sort_within_sections": True,
               "line_length": 1000, "order_by_type": False},
    "open_stack": {"force_single_line": True, "force_sort_within_sections": True,
                   "lexicographical": True},
}


def _isort_options(table: Dict[str, Any]) -> Dict[str, Any]:
    """Style fields from an isort table (isort's keys, or ruff's ``lint.isort``)."""
    out: Dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name in ("force_single_line", "force_sort_within_sections", "order_by_type",
                    "case_sensitive", "split_on_trailing_comma", "lexicographical"):
            flag = _bool(value)
            if flag is not None:
                out[name] = flag
        elif name == "lines_after_imports" and _int(value) is not None:
            out[name] = _int(value)
        elif name in ("known_first_party", "known_third_party", "known_local_folder"):
            out[name] = tuple(_list(value))
    return out


def _quote(ruff, ruff_setting, ruff_selects, black, ini, hooks) -> str:
    """The formatter's quotes (ruff format's ``quote-style``, black's double quotes unless
    ``skip-string-normalization``), else the quote linter's (``inline-quotes`` of ruff's Q
    rules or flake8-quotes), else ""."""
    ruff_format = ruff.get("format") if isinstance(ruff.get("format"), dict) else None
    if ruff_format is not None or "ruff-format" in hooks:
        style = (ruff_format or {}).get("quote-style", "double")
        return {"double": DOUBLE, "single": SINGLE}.get(style, "")
    if black is not None or "black" in hooks:
        return "" if _bool((black or {}).get("skip-string-normalization")) else DOUBLE
    if ruff_selects("Q000"):
        table = ruff_setting("flake8-quotes", {}) or {}
        return SINGLE if table.get("inline-quotes") == "single" else DOUBLE
    inline = ini.get("flake8", "inline-quotes")
    if inline:
        return SINGLE if inline.strip() in ("single", "'") else DOUBLE \
            if inline.strip() in ("double", '"') else ""
    return ""


def _own_names(root: str, srcs: Iterable[str]) -> Tuple[str, ...]:
    names = set()
    for src in srcs:
        folder = os.path.normpath(os.path.join(root, str(src)))
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            stem = entry[:-3] if entry.endswith(".py") else entry
            if stem.isidentifier() and (entry.endswith(".py") or
                                        os.path.isdir(os.path.join(folder, entry))):
                names.add(stem)
    return tuple(sorted(names))


class _Ini:
    """The ini-style config files of a project: ``setup.cfg``, ``tox.ini``, ``.flake8``
    (for ``[flake8]``), as flake8 and pycodestyle read them (first found wins)."""

    FILES = ("setup.cfg", "tox.ini", ".flake8")

    def __init__(self, root: str) -> None:
        self.files = [self.read(os.path.join(root, name)) for name in self.FILES]

    @staticmethod
    def read(path: str) -> Dict[str, Dict[str, str]]:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            return {}
        return {name: dict(parser.items(name)) for name in parser.sections()}

    def section(self, name: str) -> Optional[Dict[str, str]]:
        return next((f[name] for f in self.files if name in f), None)

    def get(self, section: str, key: str) -> Optional[str]:
        table = self.section(section)
        if table is None:
            return None
        return table.get(key, table.get(key.replace("-", "_")))


def _hooks(root: str) -> Tuple[str, ...]:
    """The hook ids of ``.pre-commit-config.yaml`` (black, ruff-format, isort...)."""
    try:
        with open(os.path.join(root, ".pre-commit-config.yaml"), encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError):
        return ()
    return tuple(re.findall(r"^\s*-?\s*id:\s*['\"]?([\w.-]+)", text, re.M))


def _toml(path: str) -> Dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}


def _int(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _bool(value: Any) -> Optional[bool]:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off"):
        return False
    return None


def _list(value: Any) -> List[str]:
    if isinstance(value, str):
        return [v.strip() for v in re.split(r"[,\n]", value) if v.strip()]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return []
