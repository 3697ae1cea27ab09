"""A cache of results, so a re-run over an unchanged tree parses nothing.

An entry is keyed by the file's path and bytes, the tool's version and the configuration. A
result may depend on other files too (a base class in another module, whether the fixtures
package exists): the entry records what each of those looked like (size and mtime, or
absence) and is used only while they still look the same.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from dataclasses import asdict
from typing import Dict, Optional, Tuple

from . import __version__
from .config import Config
from .source import remove_stale, temp_prefix
from .model import FileResult, Finding, HelperRequest, ImportRequest

Stamp = Tuple[int, int]  # (size, mtime_ns); (-1, -1) for a file that does not exist


def stamp(path: str) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1)
    return (st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=1)
def _code_stamp() -> str:
    """The tool's own modules as they are now: a changed codemod invalidates the cache."""
    here = os.path.dirname(os.path.abspath(__file__))
    parts = []
    for folder, _, files in os.walk(here):
        parts.extend(f"{name}:{stamp(os.path.join(folder, name))}" for name in sorted(files)
                     if name.endswith(".py"))
    return ";".join(parts)


class Cache:
    def __init__(self, folder: str, config: Config) -> None:
        self.folder = folder
        self._made: set = set()  # subfolders known to exist
        self.salt = hashlib.sha256(f"{__version__}\0{config!r}\0{_code_stamp()}".encode()
                                   ).hexdigest()

    def key(self, path: str, data: bytes) -> str:
        digest = hashlib.sha256(self.salt.encode())
        digest.update(os.path.abspath(path).encode() + b"\0")
        digest.update(data)
        return digest.hexdigest()

    def _file(self, key: str) -> str:
        return os.path.join(self.folder, key[:2], key[2:] + ".json")

    def get(self, key: str, path: str, text: str) -> Optional[FileResult]:
        """The result stored under ``key``, for the file as this run spells it (``path``):
        the key holds the absolute path, so ``.``, ``tests/`` and ``/abs/tests`` find one
        entry, and the result must carry this run's spelling, not the one it was stored
        under."""
        try:
            with open(self._file(key), encoding="utf-8") as fh:
                entry = json.load(fh)
        except (OSError, ValueError):
            return None
        for other, (size, mtime) in entry["depends"].items():
            if stamp(other) != (size, mtime):
                return None
        return FileResult(
            path=path, before=text,
            after=text if entry["after"] is None else entry["after"],
            findings=tuple(Finding(**f) for f in entry["findings"]),
            error=entry["error"], skipped=entry["skipped"],
            helpers=tuple(HelperRequest(**{**h, "imports": tuple(ImportRequest(**i)
                                                                 for i in h["imports"])})
                          for h in entry["helpers"]),
            hunks=tuple(entry.get("hunks", ("", ""))))  # type: ignore[arg-type]

    def put(self, key: str, result: FileResult, depends: Dict[str, Stamp]) -> None:
        entry = {
            "after": result.after if result.after != result.before else None,
            "findings": [asdict(f) for f in result.findings],
            "error": result.error, "skipped": result.skipped,
            "helpers": [asdict(h) for h in result.helpers],
            "hunks": list(result.hunks),
            "depends": depends,
        }
        target = self._file(key)
        folder = os.path.dirname(target)
        try:
            if folder not in self._made:
                os.makedirs(folder, exist_ok=True)
                ignore = os.path.join(self.folder, ".gitignore")
                if not os.path.exists(ignore):
                    with open(ignore, "w", encoding="utf-8") as fh:
                        fh.write("# Created by testsec-fix\n*\n")
                self._made.add(folder)
                remove_stale(folder)  # what a run killed while writing here left
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=temp_prefix(), suffix=".tmp")
        except OSError:
            return  # a cache that cannot be written is only slower
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(entry, fh)
            os.replace(tmp, target)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
