"""The fixture pairs: ``fixtures/<codemod-name>/<case>.py`` and ``<case>.expected.py``.

No expected file means "must stay unchanged"; such a case starts with ``# decline: <words>``
naming the reason the codemod must give. A case runs its own codemod only (the folder's). A
line marked ``# expect: CODE`` must have a finding of that code (for a report-only check,
exactly those lines); ``# suppressed: CODE``, a finding a ``# testsec: ignore`` comment
suppressed. ``TESTSEC_UPDATE=1 pytest`` writes the expected files
of rewriting cases from the current output (then read the diff before committing).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from testsec_fix import Config, fix_source
from testsec_fix.model import FileResult
from testsec_fix.registry import by_code

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
# The fixtures are written as if they lived in a project's tests/ folder with a
# tests/fixtures package for helpers.
CONFIG = Config(fixtures_module="tests.fixtures.polling",
                credentials_module="tests.fixtures.credentials")
UPDATE = bool(os.environ.get("TESTSEC_UPDATE"))
_MARK = re.compile(r"[ \t]*# expect:[^\n]*", re.M)


def strip_marks(text: str) -> str:
    """The text without its ``# expect:`` marks."""
    return _MARK.sub("", text)


@dataclass(frozen=True)
class Case:
    codemod: str  # folder name: the codemod's kebab-case name
    name: str
    before: Path

    @property
    def expected_path(self) -> Path:
        return self.before.with_name(self.name + ".expected.py")

    @property
    def expected(self) -> Optional[str]:
        path = self.expected_path
        return path.read_text(encoding="utf-8") if path.exists() else None

    @property
    def decline(self) -> Optional[str]:
        first = self.before.read_text(encoding="utf-8").splitlines()[0]
        return first.split(":", 1)[1].strip() if first.startswith("# decline:") else None

    @property
    def expected_lines(self) -> dict:
        """For a report-only check: line -> codes marked ``# expect: CODE`` on it."""
        return self._marks("# expect:")

    @property
    def suppressed_lines(self) -> dict:
        """Line -> codes marked ``# suppressed: CODE``: a finding a ``# testsec: ignore``
        comment covers must be there (and be neither reported nor fixed)."""
        return self._marks("# suppressed:")

    def _marks(self, marker: str) -> dict:
        marks = {}
        for number, line in enumerate(self.before.read_text(encoding="utf-8").splitlines(), 1):
            if marker in line:
                marks[number] = set(line.split(marker, 1)[1].split("#")[0].split())
        return marks

    def run(self, text: Optional[str] = None) -> FileResult:
        """The codemods on the case (its ``# expect:`` marks taken off: they are notes for
        the runner, and would count in line lengths)."""
        source = self.before.read_text(encoding="utf-8") if text is None else text
        source = strip_marks(source)
        # Unsafe fixes too: a case shows what its codemod's fix does when it is applied.
        config = CONFIG.with_options(select=(by_code(self.codemod).code,), unsafe_fixes=True)
        return fix_source(source, path=f"tests/test_{self.name}.py", config=config)

    def __str__(self) -> str:
        return f"{self.codemod}/{self.name}"


def cases() -> List[Case]:
    out = []
    for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir() and p.name != "sample"):
        for path in sorted(folder.glob("*.py")):
            if not path.name.endswith(".expected.py"):
                out.append(Case(folder.name, path.stem, path))
    return out
