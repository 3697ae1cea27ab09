"""The README's codemod table is what ``testsec_fix.docs`` makes from the docstrings."""
from __future__ import annotations

import inspect

from fixture_cases import ROOT
from testsec_fix import docs
from testsec_fix.registry import all_codemods


def test_readme_table_is_generated_from_the_docstrings() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert docs.update(readme, all_codemods()) == readme, \
        "README is stale: run python -m testsec_fix.docs README.md"


def test_every_codemod_has_a_row_and_an_example() -> None:
    made = docs.section(all_codemods())
    for cls in all_codemods():
        summary = inspect.getdoc(cls).splitlines()[0]
        assert f"| {cls.name} | {docs.fix_label(cls)} | {summary} |" in made
        example = docs.example(cls)
        assert example.startswith("```diff\n" if cls.fixable else "```python\n")
        if cls.fixable:
            assert "\n-" in example and "\n+" in example
