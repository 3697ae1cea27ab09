"""The README's table of codemods, made from their docstrings.

``python -m testsec_fix.docs README.md`` rewrites the part of the README between the
``<!-- codemods:start -->`` and ``<!-- codemods:end -->`` markers; a test checks that the
README holds what this module makes, so the table cannot drift from the code.
"""
from __future__ import annotations

import difflib
import inspect
import re
import sys
from typing import List, Sequence

START, END = "<!-- codemods:start -->", "<!-- codemods:end -->"


def _blocks(doc: str) -> List[str]:
    return re.findall(r"```python\n(.*?)```", doc, re.S)


def fix_label(cls) -> str:
    return {"report-only": "report only", "unsafe": "unsafe (`--unsafe-fixes`)"}.get(
        cls.fix_safety(), cls.fix_safety())


def example(cls) -> str:
    """The Example turned into the Use instead block, as a diff (a report-only check: the
    flagged code as it is)."""
    blocks = _blocks(inspect.getdoc(cls) or "")
    if not blocks:
        return ""
    if not cls.fixable or len(blocks) < 2:
        return f"```python\n{blocks[0]}```\n"
    diff = difflib.unified_diff(blocks[0].splitlines(keepends=True),
                                blocks[1].splitlines(keepends=True), n=2)
    body = "".join(list(diff)[2:])  # no file header
    return f"```diff\n{body}```\n"


def section(codemods: Sequence[type]) -> str:
    rows = ["| code | name | fix | what it does |", "|---|---|---|---|"]
    parts = []
    for cls in codemods:
        rows.append(f"| [{cls.code}](#{cls.code.lower()}-{cls.name}) | {cls.name} | "
                    f"{fix_label(cls)} | {cls.summary()} |")
        parts.append(f"#### {cls.code} {cls.name}\n\n{example(cls)}")
    return "\n".join(rows) + "\n\nExamples (from each codemod's docstring; `testsec-fix " \
        "explain CODE` prints all of it):\n\n" + "\n".join(parts)


def update(text: str, codemods: Sequence[type]) -> str:
    """``text`` with the part between the markers made anew."""
    start, end = text.index(START) + len(START), text.index(END)
    return text[:start] + "\n" + section(codemods) + text[end:]


def main(argv: Sequence[str]) -> int:
    from .registry import all_codemods
    path = argv[0] if argv else "README.md"
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    new = update(text, all_codemods())
    if new != text:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(new)
        print(f"{path}: codemod table updated")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
