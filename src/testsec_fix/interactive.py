"""``--interactive``: ask fix by fix what to write.

The engine has run without writing. Each changed file's fixes are asked about in turn, each
shown as the diff of the file with that fix alone (findings a codemod can only make together,
such as every use of one credential value, are one fix). When the questions are answered,
the file is fixed again with the refused findings left alone, as if a ``# testsec: ignore``
comment covered them (``fix_source(leave=...)``): imports and helper modules follow what was
accepted, so any choice of fixes gives a file a run would write. A helper module is not asked
about: it is created or extended when an accepted fix calls it (and shown), and not
otherwise. Nothing is written before the last answer (Ctrl-C writes nothing); writes go
through the engine's writer: atomic, in the file's encoding and mode, refused if the file
changed on disk.

No click here: ``cli.py`` gives the terminal as three functions.
"""
from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Callable, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

from .config import Config
from .engine import fix_again, helper_modules, source_of, write_result
from .model import FileResult, Finding
from .project import FileProject, find_root

PROMPT = "({number}/{total}) Apply this fix [y,n,a,d,q,?]? "
HELP = """\
y - apply this fix
n - do not apply this fix
a - apply this fix and all later fixes of this file
d - do not apply this fix or any later fix of this file
q - quit: write the fixes accepted so far, nothing more
? - print this help
"""
NOT_WRITTEN = "not written (--interactive)"

Show = Callable[[str], None]  # a diff or help text, to stdout
Ask = Callable[[str], Optional[str]]  # prints the prompt, returns the line typed (None: EOF)
Say = Callable[[str], None]  # one line, to stderr
Key = Tuple[str, int]  # (code, line): a finding as ``fix_source(leave=...)`` names it
Refix = Callable[[FrozenSet[Key]], FileResult]  # the file fixed, leaving those alone


@dataclass(frozen=True)
class Fix:
    """Findings made together, and the file with only them made (``alone``)."""

    findings: Tuple[Finding, ...]
    alone: FileResult

    @property
    def keys(self) -> FrozenSet[Key]:
        return frozenset(map(_key, self.findings))


def fixes(fixed: FileResult, refix: Refix) -> List[Fix]:
    """The fixes of ``fixed`` (a file fixed with nothing left alone), in file order.

    A finding is a fix of its own when the file can be fixed with it alone. One that cannot
    takes with it the findings a fix without it leaves undone (TSF102 moves every use of a
    value or none). Should that not cut the file either, all its changes are one fix."""
    made = [f for f in fixed.findings if f.fixed and not f.suppressed]
    everything = frozenset(map(_key, made))
    out: List[Fix] = []
    taken: Set[Key] = set()
    for key in dict.fromkeys(map(_key, made)):
        if key in taken:
            continue
        group = {key}
        alone = refix(everything - group)
        if _made(alone) != group:
            group |= everything - _made(refix(frozenset({key}))) - taken
            alone = refix(everything - group)
        if _made(alone) != group:
            return [Fix(tuple(made), fixed)]
        taken |= group
        out.append(Fix(tuple(f for f in made if _key(f) in group), alone))
    return out


def session(results: Sequence[FileResult], config: Config, *, show: Show, ask: Ask, say: Say,
            rel: Callable[[str], str] = os.path.relpath,
            root: Optional[str] = None) -> List[FileResult]:
    """Ask, then write what was accepted. Returns the results as they now are on disk:
    ``after`` is what was written (``before`` if nothing), ``error`` why a file with
    accepted fixes was not written, and a finding whose fix was not written is not fixed.
    ``root``: the project root ``run`` was given, if any."""
    finals: Dict[str, FileResult] = {}  # path: the file fixed with the refused fixes left alone
    bases: Dict[str, FileResult] = {}  # path: the file fixed with every fix
    accepted: Dict[str, FrozenSet[Key]] = {}
    errors: Dict[str, str] = {}
    # Constants the files before ask for, per project and module: a later file reuses or
    # avoids their names, as run() settles them.
    claimed: Dict[str, Dict[str, Dict[str, str]]] = defaultdict(lambda: defaultdict(dict))

    def refuse(path: str, error: str) -> None:
        finals.pop(path, None)
        errors[path] = error
        say(f"{rel(path)}: error: {error}")

    for result in results:
        if not result.changed or result.created or result.requested:
            continue  # helper modules follow the accepted fixes
        project_root = root or find_root(result.path)
        refix = _refixer(result, config, FileProject(
            project_root, config, claimed={m: dict(c) for m, c in claimed[project_root].items()}))
        bases[result.path] = base = refix(frozenset())
        if base.error:
            refuse(result.path, f"not written: {base.error}")
            continue
        found = fixes(base, refix)
        answers, quit = _ask_file(rel(result.path), found, show, ask)
        keys = frozenset().union(*(fix.keys for fix, ok in zip(found, answers) if ok))
        if keys:
            final = refix(frozenset().union(*(fix.keys for fix in found)) - keys)
            why = final.error or _mismatch(_made(final), keys)
            if why:
                refuse(result.path, f"not written: {why}")
            else:
                finals[result.path], accepted[result.path] = final, keys
                for request in final.helpers:
                    if request.value is not None:
                        claimed[project_root][request.module][request.name] = request.value
        if quit:
            break

    helpers = _helpers(finals, config, root, refuse, show, say, rel)
    for path, final in list(finals.items()):
        if path not in errors:
            error = write_result(final, final.after).error
            if error:
                refuse(path, error)

    out = []
    for result in results:
        path = result.path
        if result.requested or result.created:
            out.append(helpers.pop(os.path.abspath(path), replace(result, after=result.before)))
            continue
        if not result.changed:
            out.append(result)
            continue
        written = path in finals and path not in errors
        keys = accepted[path] if written else frozenset()
        findings = tuple(replace(f, fixed=False, reason=NOT_WRITTEN)
                         if f.fixed and not f.suppressed and _key(f) not in keys else f
                         for f in bases.get(path, result).findings)
        out.append(replace(result, after=finals[path].after if written else result.before,
                           helpers=finals[path].helpers if written else result.helpers,
                           findings=findings, error=errors.get(path)))
    return out + list(helpers.values())


def _refixer(result: FileResult, config: Config, project: FileProject) -> Refix:
    """``refix`` for one file: each choice of findings to leave alone is fixed once."""
    done: Dict[FrozenSet[Key], FileResult] = {}

    def refix(leave: FrozenSet[Key]) -> FileResult:
        if leave not in done:
            done[leave] = fix_again(result, config, project, leave=leave)
        return done[leave]
    return refix


def _ask_file(name: str, found: List[Fix], show: Show, ask: Ask) -> Tuple[List[bool], bool]:
    """The answers for one file's fixes, and whether the user quit."""
    accepted: List[bool] = []
    for number, fix in enumerate(found, start=1):
        show("".join(f"{name}:{f.line}:{f.column + 1}: {f.code} {f.message}\n"
                     for f in fix.findings))
        show(fix.alone.diff(name))
        while True:
            answer = ask(PROMPT.format(number=number, total=len(found)))
            answer = "q" if answer is None else answer.strip().lower()
            if answer in ("y", "n", "a", "d", "q"):
                break
            if answer:
                show(HELP)
        if answer == "q":
            return accepted + [False] * (len(found) - len(accepted)), True
        if answer in ("a", "d"):
            return accepted + [answer == "a"] * (len(found) - len(accepted)), False
        accepted.append(answer == "y")
    return accepted, False


def _helpers(finals: Dict[str, FileResult], config: Config, root: Optional[str],
             refuse: Callable[[str, str], None], show: Show, say: Say,
             rel: Callable[[str], str]) -> Dict[str, FileResult]:
    """Make and write the helper modules the accepted fixes call (before the files that call
    them; a file whose helper module is not written is not written). Returns them by
    absolute path, as they now are on disk."""
    out: Dict[str, FileResult] = {}
    sources = {path: source_of(final) for path, final in finals.items()}
    # (A module the run made a helper is never asked about, so none is in ``finals``.)
    for helper, _, _ in list(helper_modules(finals, config, root, sources)):
        users = [path for path, _ in helper.requested if path in finals]
        if not users:
            continue
        error = helper.error
        if not error and helper.changed:
            say(f"{rel(helper.path)}: {'created' if helper.created else 'changed'}: the "
                f"accepted fixes of {', '.join(rel(u) for u in users)} call it")
            show(helper.diff(rel(helper.path)))
            error = write_result(helper, helper.after).error
        if error:
            for user in users:
                refuse(user, f"not written: helper module {rel(helper.path)} was not "
                       f"written ({error})")
            helper = replace(helper, after=helper.before)
        out[os.path.abspath(helper.path)] = helper
    return out


def _key(finding: Finding) -> Key:
    return (finding.code, finding.line)


def _made(result: FileResult) -> FrozenSet[Key]:
    """The findings ``result`` fixes."""
    if result.error:
        return frozenset()
    return frozenset(_key(f) for f in result.findings if f.fixed and not f.suppressed)


def _mismatch(made: FrozenSet[Key], keys: FrozenSet[Key]) -> Optional[str]:
    """Why a file fixed with the refused fixes left alone is not the accepted fixes."""
    missing, extra = sorted(keys - made), sorted(made - keys)
    if missing:
        return f"the {missing[0][0]} fix at line {missing[0][1]} cannot be made without a " \
               f"fix that was refused"
    if extra:
        return f"the {extra[0][0]} fix at line {extra[0][1]} would be made too, though it " \
               f"was not accepted"
    return None
