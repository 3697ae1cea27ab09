"""Configuration: a frozen value, read from ``[tool.testsec-fix]`` in ``pyproject.toml``."""
from __future__ import annotations

import fnmatch
import os
import sys
from dataclasses import dataclass, fields, replace
from pathlib import PurePosixPath
from typing import Any, Dict, Optional, Tuple

from .style import Style, read_project_style

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib


class ConfigError(ValueError):
    """Bad configuration; the message names the file and the key."""


@dataclass(frozen=True)
class Config:
    select: Tuple[str, ...] = ()  # codes or code prefixes; empty means all
    ignore: Tuple[str, ...] = ()
    exclude: Tuple[str, ...] = ()  # extra glob patterns of paths to skip
    # What counts as test code: a folder of one of these names on the path, or a file name
    # matching one of the patterns.
    test_dirs: Tuple[str, ...] = ("tests", "test")
    test_files: Tuple[str, ...] = ("test_*.py", "*_test.py", "conftest.py")
    # Dotted module that holds (or will hold) the generic ``wait_until`` helper. Empty: found
    # from the project layout (``<pkg>.tests.fixtures``).
    fixtures_module: str = ""
    # Dotted module that holds (or will hold) the test credentials. Empty: ``credentials`` in
    # the fixtures package (``<pkg>.tests.fixtures.credentials``), or the fixtures module.
    credentials_module: str = ""
    credential_words: Tuple[str, ...] = ()  # more words that make a name a credential's
    credential_ignore: Tuple[str, ...] = ()  # names (glob patterns) that are never credentials
    default_timeout: float = 60.0  # seconds given to a polling loop that had no bound
    # The longest line a rewrite may write: the project's own (``with_project_style``) where
    # its linters or formatter set one, and 79 (pycodestyle's) where none does.
    max_line_length: int = 79
    catalogs: Tuple[str, ...] = ("nova",)  # built-in helper catalogs to use
    helpers: Tuple[Tuple[Tuple[str, Any], ...], ...] = ()  # extra catalog entries, as items
    unsafe_fixes: bool = False
    # Apply ``exclude`` to files named on the command line too (ruff's --force-exclude).
    force_exclude: bool = False
    source: Optional[str] = None  # the file this config came from, for messages
    # Not keys of the table: the keys the table gave (they win over the project's style),
    # and the project's style (quotes, import order) read from its other tools' config.
    explicit: Tuple[str, ...] = ()
    style: Style = Style()

    def selects(self, code: str) -> bool:
        if self.select and not any(code.startswith(s) for s in self.select):
            return False
        return not any(code.startswith(s) for s in self.ignore)

    def is_test_path(self, path: str) -> bool:
        parts = PurePosixPath(path.replace(os.sep, "/")).parts
        if any(p in self.test_dirs for p in parts[:-1]):
            return True
        return any(fnmatch.fnmatch(parts[-1], pat) for pat in self.test_files) if parts else False

    def is_excluded(self, path: str) -> bool:
        norm = path.replace(os.sep, "/")
        return any(fnmatch.fnmatch(norm, pat) or fnmatch.fnmatch(norm, f"*/{pat}")
                   for pat in self.exclude)

    def with_options(self, **changes: Any) -> "Config":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


_TUPLE_KEYS = {"select", "ignore", "exclude", "test_dirs", "test_files", "catalogs",
               "credential_words", "credential_ignore"}


def parse_table(table: Dict[str, Any], source: str = "<config>") -> Config:
    """Build a Config from a ``[tool.testsec-fix]`` table (keys in kebab-case)."""
    known = {f.name for f in fields(Config)} - {"source", "explicit", "style"}
    values: Dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(f"{source}: unknown key [tool.testsec-fix] {key!r}")
        if name in _TUPLE_KEYS:
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{source}: [tool.testsec-fix] {key!r} must be a list of strings")
            value = tuple(value)
        elif name == "helpers":
            if not all(isinstance(v, dict) for v in value):
                raise ConfigError(f"{source}: [tool.testsec-fix] {key!r} must be a list of tables")
            value = tuple(tuple(sorted(v.items())) for v in value)
        elif name in ("default_timeout",):
            if not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"{source}: [tool.testsec-fix] {key!r} must be a positive number")
            value = float(value)
        elif name == "max_line_length":
            if not isinstance(value, int) or value < 40:
                raise ConfigError(f"{source}: [tool.testsec-fix] {key!r} must be an integer >= 40")
        elif name in ("unsafe_fixes", "force_exclude"):
            if not isinstance(value, bool):
                raise ConfigError(f"{source}: [tool.testsec-fix] {key!r} must be true or false")
        elif name in ("fixtures_module", "credentials_module"):
            if not isinstance(value, str) or not all(p.isidentifier() for p in value.split(".")):
                raise ConfigError(f"{source}: [tool.testsec-fix] {key!r} must be a dotted module name")
        values[name] = value
    return Config(source=source, explicit=tuple(values), **values)


def with_project_style(config: Config, root: str) -> Config:
    """``config`` with the style of the project at ``root`` (``testsec_fix.style``): its
    quotes and import order, and its line length unless ``[tool.testsec-fix]`` sets one."""
    found = read_project_style(root)
    changes: Dict[str, Any] = {"style": found.style}
    if found.max_line_length and "max_line_length" not in config.explicit:
        changes["max_line_length"] = found.max_line_length
    return replace(config, **changes)


def load_config(path: Optional[str]) -> Config:
    """Read the config of a ``pyproject.toml`` file; a missing table gives the defaults."""
    if path is None:
        return Config()
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    table = data.get("tool", {}).get("testsec-fix", {})
    return parse_table(table, source=path)


def find_config(start: str) -> Optional[str]:
    """The nearest ``pyproject.toml`` holding a ``[tool.testsec-fix]`` table, walking up."""
    here = os.path.abspath(start if os.path.isdir(start) else os.path.dirname(start) or ".")
    while True:
        candidate = os.path.join(here, "pyproject.toml")
        if os.path.isfile(candidate):
            try:
                with open(candidate, "rb") as fh:
                    if "testsec-fix" in tomllib.load(fh).get("tool", {}):
                        return candidate
            except (OSError, tomllib.TOMLDecodeError):
                return candidate  # load_config reports it
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def pytest_testpaths(root: str) -> Tuple[str, ...]:
    """The folders pytest's own configuration names as where the tests are: ``testpaths`` of
    the first of these that pytest would read (``pytest.ini`` and ``.pytest.ini`` even when
    they hold no ``[pytest]`` section, ``[tool.pytest.ini_options]`` (or pytest 9's
    ``[tool.pytest]``) of ``pyproject.toml``,
    ``[pytest]`` of ``tox.ini``, ``[tool:pytest]`` of ``setup.cfg``)."""
    import configparser
    import shlex

    value: Any = None
    for name in ("pytest.ini", ".pytest.ini"):
        if os.path.isfile(os.path.join(root, name)):
            value = _ini_option(os.path.join(root, name), "pytest", configparser) or ""
            break
    if value is None:
        try:
            with open(os.path.join(root, "pyproject.toml"), "rb") as fh:
                table = tomllib.load(fh).get("tool", {}).get("pytest")
            # [tool.pytest.ini_options], or pytest 9's native [tool.pytest]
            table = table.get("ini_options", table) if isinstance(table, dict) else None
        except (OSError, tomllib.TOMLDecodeError):
            table = None
        if isinstance(table, dict):
            value = table.get("testpaths", [])
    for name, section in (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        if value is None:
            value = _ini_option(os.path.join(root, name), section, configparser)
    if isinstance(value, str):
        value = shlex.split(value)
    return tuple(p for p in (value or []) if isinstance(p, str) and p)


def _ini_option(path: str, section: str, configparser) -> Optional[str]:
    """``testpaths`` of ``section`` in the ini file at ``path``; None where the file has no
    such section (pytest then looks further)."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        if not parser.read(path, encoding="utf-8") or not parser.has_section(section):
            return None
    except (configparser.Error, UnicodeDecodeError):
        return None
    return parser.get(section, "testpaths", fallback="")


def with_test_folders(config: Config, root: str) -> Config:
    """``config`` also taking for test code the folders pytest's configuration names
    (``testpaths = ["t"]``: a folder named ``t`` is a test folder), added to ``test-dirs``;
    not ``src`` nor the project's own package (``testpaths = ["mypkg", "tests"]`` for
    doctests), whose code is not test code."""
    own = {"src", "lib", _project_package(root)}
    names = [os.path.basename(os.path.normpath(p)) for p in pytest_testpaths(root)]
    extra = tuple(dict.fromkeys(n for n in names if n and n not in (".", "..") and "*" not in n
                                and n not in own and n not in config.test_dirs))
    return replace(config, test_dirs=config.test_dirs + extra) if extra else config


def _project_package(root: str) -> str:
    """The import name of the project's distribution (``[project] name``), if it says."""
    try:
        with open(os.path.join(root, "pyproject.toml"), "rb") as fh:
            name = tomllib.load(fh).get("project", {}).get("name", "")
    except (OSError, tomllib.TOMLDecodeError):
        name = ""
    return name.replace("-", "_").lower() if isinstance(name, str) else ""
