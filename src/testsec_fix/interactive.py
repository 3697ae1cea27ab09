"""``--interactive``: ask hunk by hunk what to write, like ``git add -p``.

The engine has run without writing; each changed file's hunks are asked about in turn, and
only when every question is answered is anything written (Ctrl-C writes nothing). A file
made of some of its hunks is written only if it compiles and uses no name that only the
left-out hunks define. A new helper module is not asked about: it is created when an accepted
change calls it (and shown), and not otherwise. A file that calls a helper which an existing
module would only get from a hunk that was not accepted is not written. Writes go through the
engine's writer: atomic, in the file's encoding and mode, refused if the file changed on disk.

No click here: ``cli.py`` gives the terminal as three functions.
"""
from __future__ import annotations

import os
from dataclasses import replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .config import Config
from .engine import write_result
from .hunks import Hunk, apply, defines, needs, problem, split
from .model import FileResult, helpers_by_request

PROMPT = "({number}/{total}) Apply this hunk [y,n,a,d,q,?]? "
HELP = """\
y - apply this hunk
n - do not apply this hunk
a - apply this hunk and all later hunks of this file
d - do not apply this hunk or any later hunk of this file
q - quit: write the hunks accepted so far, nothing more
? - print this help
"""
NOT_WRITTEN = "not written (--interactive)"

Show = Callable[[str], None]  # a diff or help text, to stdout
Ask = Callable[[str], Optional[str]]  # prints the prompt, returns the line typed (None: EOF)
Say = Callable[[str], None]  # one line, to stderr


def session(results: Sequence[FileResult], config: Config, *, show: Show, ask: Ask, say: Say,
            rel: Callable[[str], str] = os.path.relpath) -> List[FileResult]:
    """Ask, then write what was accepted. Returns the results as they now are on disk:
    ``after`` is what was written (``before`` if nothing), ``error`` why a file whose hunks
    were accepted was not written, and a fixed finding inside a hunk not written is no
    longer fixed."""
    texts: Dict[str, str] = {}  # path: the text to write
    errors: Dict[str, str] = {}
    chosen: Dict[str, Tuple[List[Hunk], List[bool]]] = {}
    by_path = {r.path: r for r in results}

    def refuse(path: str, error: str) -> None:
        texts.pop(path, None)
        errors[path] = error
        say(f"{rel(path)}: error: {error}")

    for result in results:
        if not result.changed or result.created:
            continue
        hunks = split(result.before, result.after)
        accepted, quit = _ask_file(rel(result.path), hunks, show, ask)
        chosen[result.path] = (hunks, accepted)
        if any(accepted):
            texts[result.path] = apply(result.before, hunks, accepted)
            why = None if all(accepted) else problem(texts[result.path], result.before,
                                                     result.after, result.path)
            if why:
                refuse(result.path, f"not written: {why}")
        if quit:
            break

    needed = _helpers(results, texts, refuse, rel)
    for path, users in needed.items():
        helper = by_path[path]
        if helper.created:
            say(f"{rel(path)}: created: the accepted changes of "
                f"{', '.join(rel(u) for u in users)} call it")
            show(helper.diff(rel(path)))
            texts[path] = helper.after
    # Helper modules first; a file whose helper module could not be written is not written.
    for path in sorted(texts, key=lambda p: p not in needed):
        broken = [h for h, users in needed.items() if path in users and h in errors]
        error = (f"not written: helper module {rel(broken[0])} was not written" if broken
                 else write_result(by_path[path], texts[path]).error)
        if error:
            refuse(path, error)

    out = []
    for result in results:
        if not result.changed:
            out.append(result)
            continue
        written = result.path in texts and result.path not in errors
        hunks, accepted = chosen.get(result.path, ([], []))
        left = [h for h, ok in zip(hunks, accepted) if not ok]
        findings = tuple(
            replace(f, fixed=False, reason=NOT_WRITTEN)
            if f.fixed and (not written or any(h.spans(f.line) for h in left)) else f
            for f in result.findings)
        out.append(replace(result, after=texts[result.path] if written else result.before,
                           findings=findings, error=errors.get(result.path)))
    return out


def _ask_file(name: str, hunks: List[Hunk], show: Show, ask: Ask) -> Tuple[List[bool], bool]:
    """The answers for one file's hunks, and whether the user quit."""
    show(f"--- a/{name}\n+++ b/{name}\n")
    accepted: List[bool] = []
    for number, hunk in enumerate(hunks, start=1):
        show(hunk.text)
        while True:
            answer = ask(PROMPT.format(number=number, total=len(hunks)))
            answer = "q" if answer is None else answer.strip().lower()
            if answer in ("y", "n", "a", "d", "q"):
                break
            if answer:
                show(HELP)
        if answer == "q":
            return accepted + [False] * (len(hunks) - len(accepted)), True
        if answer in ("a", "d"):
            return accepted + [answer == "a"] * (len(hunks) - len(accepted)), False
        accepted.append(answer == "y")
    return accepted, False


def _helpers(results: Sequence[FileResult], texts: Dict[str, str],
             refuse: Callable[[str, str], None],
             rel: Callable[[str], str]) -> Dict[str, List[str]]:
    """The changed helper modules the accepted texts call (path: the files that call it).
    A file that calls a helper its existing module would get only from a hunk not accepted
    is refused."""
    by_request = helpers_by_request(results)
    needed: Dict[str, List[str]] = {}
    for result in results:
        if result.path not in texts:
            continue
        for request in result.helpers:
            if not needs(texts[result.path], result.before, request.module, request.name):
                continue
            helper = by_request.get((os.path.abspath(result.path), request.module))
            if helper is None or not helper.changed:
                continue  # it is there already
            if not helper.created and not defines(texts.get(helper.path, helper.before),
                                                  request.name):
                refuse(result.path, f"not written: it calls {request.name}, which "
                       f"{rel(helper.path)} gets only from a hunk not accepted")
                break
            needed.setdefault(helper.path, []).append(result.path)
    for path in list(needed):  # a file dropped above needs nothing
        needed[path] = [u for u in needed[path] if u in texts]
        if not needed[path]:
            del needed[path]
    return needed
