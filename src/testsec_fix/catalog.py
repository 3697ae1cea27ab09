"""Helper catalogs: the wait helpers a project already has, which rewrites prefer.

An entry names a method, the class (mixin) that defines it, and its kind:

- ``assert-retry``: ``helper(fn, <retries>=N, <interval>=S)`` calls ``fn`` until it stops
  raising AssertionError and returns its value (Nova's ``_wait_for_assert``). Any polling loop
  can use it: the loop body becomes ``fn``, its failure ``self.fail(...)`` inside ``fn``.
- ``shadow``: a specific wait (``_wait_for_migration_status``). A class that inherits it and
  defines its own method of that name polling the same thing is re-implementing it: the local
  method is removed and its callers use the inherited one, passing ``<retries-param>=N`` where
  the local loop waited longer than the helper's default budget (``attempts`` x ``interval``).

A project adds entries as ``[[tool.testsec-fix.helpers]]`` tables with the same keys.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Dict, Iterable, Tuple

from .config import Config, ConfigError

NOVA_MIXIN = "nova.tests.functional.integrated_helpers.InstanceHelperMixin"


@dataclass(frozen=True)
class Helper:
    name: str
    owner: str  # dotted name of the class defining it
    kind: str  # "assert-retry" | "shadow" | "helper-class"
    # keyword names and defaults of the retry budget ("" for a helper that takes none)
    retries_param: str = ""
    interval_param: str = "sleep"
    default_retries: int = 10
    default_interval: float = 0.5
    # shadow: positional parameters after self ("name" or "name:list"), the budget, and a word
    # the shadowing method's loop must mention (what it polls)
    params: Tuple[str, ...] = ()
    attempts: int = 10
    interval: float = 0.5
    polls: str = ""
    returns: str = ""  # the name the shadowing method must return ("" for nothing)

    @classmethod
    def from_dict(cls, data: Dict[str, Any], source: str = "<catalog>") -> "Helper":
        known = {f.name for f in fields(cls)}
        values = {}
        for key, value in data.items():
            name = key.replace("-", "_")
            if name not in known:
                raise ConfigError(f"{source}: unknown key {key!r} in [[tool.testsec-fix.helpers]]")
            values[name] = tuple(value) if name == "params" else value
        for required in ("name", "owner", "kind"):
            if required not in values:
                raise ConfigError(f"{source}: [[tool.testsec-fix.helpers]] needs {required!r}")
        if values["kind"] not in ("assert-retry", "shadow", "helper-class"):
            raise ConfigError(f"{source}: [[tool.testsec-fix.helpers]] kind must be "
                              f"'assert-retry', 'shadow' or 'helper-class'")
        return cls(**values)


def _nova(name: str, kind: str, **kw: Any) -> Helper:
    return Helper(name=name, owner=kw.pop("owner", NOVA_MIXIN), kind=kind, **kw)


BUILTIN: Dict[str, Tuple[Helper, ...]] = {
    # nova/tests/functional/integrated_helpers.py, Nova 34.0.0
    "nova": (
        _nova("_wait_for_assert", "assert-retry", retries_param="max_retries"),
        _nova("_wait_for_migration_status", "shadow", params=("server", "expected_statuses:list"),
              polls="migration", returns="migration"),
        _nova("_wait_for_state_change", "shadow", params=("server", "expected_status"),
              polls="status", retries_param="max_retries", returns="server"),
        _nova("_wait_for_server_parameter", "shadow", params=("server", "expected_params"),
              polls="server", retries_param="max_retries", returns="server"),
        _nova("_wait_until_deleted", "shadow", params=("server",), attempts=40, polls="server"),
        _nova("_wait_for_volume_attach", "shadow", params=("server_id", "volume_id"),
              attempts=100, interval=0.1, polls="volume"),
        _nova("_wait_for_volume_detach", "shadow", params=("server_id", "volume_id"),
              attempts=100, interval=0.1, polls="volume"),
        # Classes whose methods are the shared helpers themselves: never rewritten.
        _nova("*", "helper-class"),
        _nova("*", "helper-class",
              owner="nova.tests.functional.integrated_helpers.PlacementInstanceHelperMixin"),
        _nova("*", "helper-class", owner="nova.tests.functional.notification_sample_tests."
                                         "notification_sample_base.NotificationSampleTestBase"),
        # nova/tests/fixtures/nova.py: a lock retry with backoff inside the cells fixture
        _nova("*", "helper-class", owner="nova.tests.fixtures.nova.CellDatabases"),
    ),
}


def load(config: Config) -> Tuple[Helper, ...]:
    entries = []
    for name in config.catalogs:
        if name not in BUILTIN:
            raise ConfigError(f"{config.source or '<config>'}: unknown catalog {name!r} "
                              f"(known: {', '.join(sorted(BUILTIN))})")
        entries.extend(BUILTIN[name])
    for items in config.helpers:
        entries.append(Helper.from_dict(dict(items), config.source or "<config>"))
    return tuple(entries)


def of_kind(helpers: Iterable[Helper], kind: str) -> Tuple[Helper, ...]:
    return tuple(h for h in helpers if h.kind == kind)
