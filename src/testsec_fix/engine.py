"""The engine: screen, parse once, run the codemods, fix imports, verify, and (on request) write.

``fix_source`` is the pure seam every test and the CLI go through; ``run`` adds discovery,
reading, worker processes, the helper modules rewrites ask for, and writing.
"""
from __future__ import annotations

import ast
import contextlib
import functools
import gc
import hashlib
import json
import os
import sys
import threading
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import (TYPE_CHECKING, AbstractSet, Dict, Iterator, List, Mapping, Optional,
                    Sequence, Tuple, Type)

from . import astutil, style, suppress
from .cache import Cache, stamp
from .config import Config
from .constants import Claims, Wanted, settle
from .model import FileResult, Finding, HelperRequest
from .project import OWN_FILE, FileProject, find_root
from .source import SourceError, SourceFile, read_source, write_source
from .sparse import SparseError, count_markers, make_sparse, restore, split_lines

SKIP_DIRS = {".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", "env", ".env", "build",
             "dist", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache",
             "node_modules", ".eggs", "site-packages"}


if TYPE_CHECKING:  # pragma: no cover
    from .codemod import Codemod, Context, Project

# LibCST and the codemods are imported where a file is really parsed, not before: a re-run
# answered from the cache never loads them.


def selected_codemods(config: Config) -> List[Type["Codemod"]]:
    from .registry import all_codemods
    return [cls for cls in all_codemods() if config.selects(cls.code)]


# The reason of a finding ``fix_source`` was asked to leave alone (``leave``).
LEFT = "left alone on request"


def fix_source(text: str, *, path: str = "<string>", config: Optional[Config] = None,
               project: Optional["Project"] = None,
               leave: AbstractSet[Tuple[str, int]] = frozenset()) -> FileResult:
    """Run the selected codemods over ``text``. Never raises for bad input: errors are values.

    ``leave``: findings, as (code, line) pairs, to leave alone as a ``# testsec: ignore[CODE]``
    comment on that line would (``--interactive`` builds a file from the fixes accepted
    this way, so imports and helpers follow them); they come back not fixed, with reason
    ``LEFT``, and not suppressed.

    LibCST and the codemods walk trees recursively, and a valid file can nest deeper than
    Python's default recursion limit allows (a 400-term ``a + b + ...``, a long ``elif``
    chain): such a file is done again in a thread with a larger stack and limit, and
    declined with an error if it is deeper still."""
    from .codemod import NoProject
    config = config or Config()
    project = project or NoProject()
    try:
        with _no_gc():
            return _fix_source(text, path, config, project, leave)
    except RecursionError:
        pass
    try:
        levels = astutil.depth(ast.parse(text))
    except RecursionError:
        levels = None
    if levels is None or levels > DEEP_LEVELS:
        return FileResult(path, text, text, error=(
            f"too deeply nested to rewrite safely ({levels or 'too many'} levels); file "
            f"left alone"))
    try:
        with _no_gc():
            return _deep(_fix_source, text, path, config, project, leave)
    except RecursionError as exc:  # not for want of stack: a recursion without end
        return FileResult(path, text, text,
                          error=_crashed(getattr(exc, "codemod", "testsec-fix"), exc))


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: the trees of a big file are millions of objects,
    which it would walk again and again while they are built (a third of the time); they
    hold no cycles to collect."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# Recursion allowed for a deeply nested file, and the stack of the thread that does it.
# LibCST takes two to five frames a level of nesting: a 4,000-term expression (about ten
# seconds' work) is done, a deeper file declined without trying.
DEEP_RECURSION = 20_000
DEEP_LEVELS = 4_000
DEEP_STACK = 512 << 20  # bytes, reserved, not used: pages are touched as the stack grows
_deep_lock = threading.Lock()


def _deep(fn, *args):
    """``fn(*args)`` in a thread with a stack and a recursion limit for deep trees. The limit
    is the interpreter's, so it is raised only while the thread runs (the caller waits), and
    one such thread runs at a time."""
    out: list = []

    def target() -> None:
        try:
            out.append((True, fn(*args)))
        except BaseException as exc:  # handed to the caller's thread
            out.append((False, exc))

    with _deep_lock:
        limit, size = sys.getrecursionlimit(), threading.stack_size()
        sys.setrecursionlimit(max(limit, DEEP_RECURSION))
        try:
            threading.stack_size(DEEP_STACK)
            worker = threading.Thread(target=target, name="testsec-fix deep file", daemon=True)
            worker.start()
        except (ValueError, RuntimeError, MemoryError) as exc:  # no such stack here
            sys.setrecursionlimit(limit)
            raise RecursionError(f"no thread with a deep stack: {exc}") from None
        finally:
            threading.stack_size(size)
        try:
            worker.join()
        finally:
            sys.setrecursionlimit(limit)
    ok, value = out[0]
    if not ok:
        raise value
    return value


def _crashed(code: str, exc: BaseException) -> str:
    """One line naming the codemod and what it raised; a message (a KeyError's is the repr
    of its key, a LibCST node of hundreds of lines) cut to one short line."""
    message = " ".join(str(exc).split())
    if len(message) > 80:
        message = message[:77] + "..."
    return f"{code} crashed: {type(exc).__name__}" + (f": {message}" if message else "")


def _reraise_interruption(exc: BaseException, code: str) -> None:
    """Raise the interruption or recursion too deep that ``exc`` is or hides (marked with
    the codemod ``code`` it stopped): LibCST's position provider computes positions in
    ``finally`` blocks, so a KeyboardInterrupt or RecursionError raised while it generates
    code comes out as a ``KeyError`` of a node (``KeyError(IndentedBlock(...))``)."""
    seen: Optional[BaseException] = exc
    while seen is not None:
        if isinstance(seen, RecursionError):
            seen.codemod = code  # type: ignore[attr-defined]
        if isinstance(seen, (KeyboardInterrupt, RecursionError)):
            raise seen
        seen = seen.__context__


def _fix_source(text: str, path: str, config: Config, project: "Project",
                leave: AbstractSet[Tuple[str, int]] = frozenset()) -> FileResult:
    import libcst as cst

    from .codemod import Context
    test_code = config.is_test_path(path)
    triggered = [cls() for cls in selected_codemods(config)
                 if (test_code or not cls.test_code_only) and cls.screen(text, config)]
    if not triggered:
        return FileResult(path, text, text, skipped=True)
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as exc:
        return FileResult(path, text, text, error=_syntax_error(text, exc))
    except (ValueError, MemoryError) as exc:
        return FileResult(path, text, text, error=f"cannot parse: {exc}")

    contexts: List[Tuple["Codemod", "Context"]] = []
    keep: Optional[set] = set()
    checked: List[Finding] = []
    suppressions = suppress.parse(text)
    covered = suppressions.plus(leave) if leave else suppressions
    shared: Dict[str, object] = {}  # what the codemods work out once for the file
    for codemod in triggered:
        ctx = Context(path=path, config=config, tree=tree, text=text, project=project,
                      code=codemod.code, suppressions=covered, shared=shared)
        try:
            codemod.check(tree, ctx)
            checked.extend(ctx.findings)
            ctx.findings = []
            wanted = codemod.regions(tree, ctx)
        except Exception as exc:  # a codemod bug must not stop the batch
            _reraise_interruption(exc, codemod.code)
            return FileResult(path, text, text, error=_crashed(codemod.code, exc))
        if wanted is None:
            keep = None
        elif not wanted:
            continue
        elif keep is not None:
            keep |= wanted
        contexts.append((codemod, ctx))
    if not contexts:
        return FileResult(path, text, text, findings=_sorted(checked, suppressions, leave))

    lines = split_lines(text)
    sparse = make_sparse(lines, tree, keep) if keep is not None else None
    try:
        try:
            parsed = sparse.text if sparse else text
            new, findings, helpers = _transform(parsed, sparse.line_map if sparse else None,
                                                contexts, config, text)
            if sparse is not None:
                if count_markers(new) != count_markers(parsed):
                    raise SparseError("markers lost")
                after = restore(new, lines)
        except SparseError:  # a marker was dropped: do it the slow way
            parsed = text
            new, findings, helpers = _transform(text, None, contexts, config, text)
        if sparse is None or parsed is text:
            after = new
    except _CodemodCrash as crash:
        return FileResult(path, text, text, error=str(crash))
    except cst.ParserSyntaxError as exc:
        return FileResult(path, text, text, error=f"syntax error (LibCST): {exc.message}")

    findings = _sorted(checked + list(findings), suppressions, leave)
    if after != text:
        # Imports a helper added to this very file will use stay (it is appended later).
        needed = {i.asname or i.name or i.module.split(".")[0] for h in helpers
                  if project.is_module(path, h.module) for i in h.imports}
        after, error = _finish(text, after, parsed, new, needed)
        if error:
            return FileResult(path, text, text, findings=findings, error=error)
        if not any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in tree.body):
            from .imports import space_after_imports
            after = space_after_imports(after, config.style)  # the file's first imports
    return FileResult(path, text, after, findings=findings, helpers=helpers)


def _syntax_error(text: str, exc: SyntaxError) -> str:
    """The message for a file this Python cannot parse; where LibCST (which knows newer
    grammars) parses it, the file is likely newer than the running interpreter."""
    message = f"syntax error: line {exc.lineno}: {exc.msg}"
    import libcst as cst
    try:
        cst.parse_module(text)
    except Exception:  # LibCST agrees: a real syntax error (or one it cannot parse either)
        return message
    running = ".".join(map(str, sys.version_info[:2]))
    return (f"{message} (the file likely uses syntax newer than the running Python "
            f"{running}; run testsec-fix with a newer Python)")


def _sorted(findings: List[Finding], suppressions: suppress.Suppressions,
            leave: AbstractSet[Tuple[str, int]] = frozenset()) -> Tuple[Finding, ...]:
    """In file order; the findings a ``# testsec: ignore`` comment covers are marked (on
    their line, or on a line of them, as the codemod said), and those left alone on
    request are told from them."""
    def mark(f: Finding) -> Finding:
        if suppressions.covers(f.code, f.line):
            return replace(f, suppressed=True)
        if (f.code, f.line) in leave:
            return replace(f, fixed=False, reason=LEFT)
        if not f.fixed and f.reason == suppress.SUPPRESSED:
            return replace(f, suppressed=True)
        return f

    if suppressions or leave:
        findings = [mark(f) for f in findings]
    return tuple(sorted(findings, key=lambda f: (f.line, f.column, f.code)))


class _CodemodCrash(Exception):
    pass


def _transform(code: str, line_map: Optional[List[int]],
               contexts: List[Tuple["Codemod", "Context"]], config: Config, text: str):
    """The codemods over ``code`` (the file's text, or its sparse form), their imports
    added, new strings in the project's quotes (``text``: the whole file, for its own)."""
    import libcst as cst

    from . import imports
    from .cstutil import requote_new_strings
    module = original = cst.parse_module(code)
    findings: List[Finding] = []
    helpers: List[HelperRequest] = []
    requests = []
    for codemod, ctx in contexts:
        ctx.findings, ctx.imports, ctx.helpers = [], [], []
        ctx.bind(module, line_map)
        try:
            new = codemod.transform(module, ctx)
        except Exception as exc:
            _reraise_interruption(exc, codemod.code)
            raise _CodemodCrash(_crashed(codemod.code, exc)) from exc
        # A codemod must leave alone what a suppression covers (``ctx.suppressed``); one that
        # did not has none of its fixes in this file applied, as an unsafe fix is not.
        ignored = [f.line for f in ctx.findings
                   if f.fixed and ctx.suppressions.covers(f.code, f.line)]
        reason = None
        selfish = [r for r in ctx.imports if _imports_itself(ctx, r)]
        if selfish:  # a definition turned into a reference to itself (never to be written)
            reason = (f"not applied: {codemod.code} would make this module import itself "
                      f"({selfish[0].module})")
        elif ignored:
            reason = (f"not applied: {codemod.code} rewrote line {ignored[0]}, which a "
                      f"'# testsec: ignore' comment covers")
        elif not codemod.safe and not ctx.config.unsafe_fixes:
            reason = "unsafe fix: run with --unsafe-fixes to apply it"
        if reason:  # shown as findings only
            findings.extend(replace(f, fixed=False, reason=reason) if f.fixed else f
                            for f in ctx.findings)
            continue
        module = new
        findings.extend(ctx.findings)
        helpers.extend(h for h in ctx.helpers if h not in helpers)
        requests.extend(r for r in ctx.imports if r not in requests)
    module = imports.apply(module, requests, config.style)
    if module is not original and config.style.quote != style.SINGLE:
        # The codemods write repr's quotes (single ones, unless the value holds one).
        module = requote_new_strings(original, module, lambda: config.style.quote or
                                     style.dominant_quote(style.quote_counts(text)))
    return module.code, tuple(findings), tuple(helpers)


def _imports_itself(ctx: "Context", request) -> bool:
    """Whether ``request`` imports the file being fixed (``from tests import fixtures`` in
    ``tests/fixtures.py``); a package's ``__init__`` may import its own submodules."""
    if request.name and ctx.project.is_module(ctx.path, f"{request.module}.{request.name}"):
        return True
    return ctx.project.is_module(ctx.path, request.module) and \
        os.path.basename(ctx.path) != "__init__.py"


def _finish(before: str, after: str, parsed: str, new: str,
            needed: AbstractSet[str] = frozenset()) -> Tuple[str, Optional[str]]:
    """Remove imports the rewrite left unused, and check the new text parses.

    ``parsed`` and ``new`` are the text LibCST was given and what it gave back (the sparse
    text, or the whole file): names whose uses fell between them are the only candidates.
    """
    import libcst as cst

    from . import imports
    try:
        after_tree = ast.parse(after)
    except SyntaxError as exc:
        return before, (f"internal error: the rewrite did not parse (line {exc.lineno}: "
                        f"{exc.msg}); file left alone")
    # The compiler's own checks (nonlocal bindings, break outside a loop), on the rewritten
    # part; a marked text that does not compile alone (a class left with markers only) is
    # checked whole.
    for code in dict.fromkeys((new, after)):
        try:
            compile(code, "<rewrite>", "exec", dont_inherit=True)
            break
        except SyntaxError as exc:
            if code is after:
                return before, (f"internal error: the rewrite does not compile ({exc.msg}); "
                                f"file left alone")
    unused = astutil.unused_after(after_tree, after, parsed, new) - set(needed)
    if unused:
        lines = split_lines(after)
        sparse = make_sparse(lines, after_tree, set())  # LibCST sees the imports only
        module = cst.parse_module(sparse.text if sparse else after)
        cleaned = imports.remove_bindings(module, unused).code
        after = restore(cleaned, lines) if sparse else cleaned
        try:
            ast.parse(after)
        except SyntaxError as exc:  # pragma: no cover - defensive
            return before, f"internal error: import clean-up did not parse ({exc.msg})"
    return after, None


# -- whole trees ------------------------------------------------------------------------------

def discover(paths: Sequence[str], config: Config,
             errors: Optional[Dict[str, str]] = None) -> Iterator[str]:
    """Python files under ``paths``, each once. Symlinked files and folders are not
    followed: a link's target is a file of its own (or outside the tree). A path named
    that is not a folder is yielded as it is (reading it tells what is wrong with it), and
    so is every ``*.py`` entry of a folder that is not a folder itself: a named pipe or
    device among them is refused when read, never opened. A folder that cannot be listed
    goes into ``errors`` (path -> why)."""
    seen = set()

    def once(path: str) -> bool:
        real = os.path.realpath(path)
        if real in seen:
            return False
        seen.add(real)
        return True

    def unlisted(exc: OSError) -> None:
        if errors is not None:
            errors.setdefault(exc.filename or "", f"cannot read folder: {exc.strerror or exc}")

    for root in paths:
        if not os.path.isdir(root):
            if config.force_exclude and config.is_excluded(root):
                continue
            if once(root):
                yield root
            continue
        for folder, dirs, files in os.walk(root, onerror=unlisted):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info")
                             and not os.path.isfile(os.path.join(folder, d, "pyvenv.cfg"))
                             and not config.is_excluded(os.path.join(folder, d)))
            for name in sorted(files):
                if not name.endswith(".py"):
                    continue
                full = os.path.join(folder, name)
                if config.is_excluded(full) or os.path.islink(full) or not once(full):
                    continue
                yield full


def _fix_file(path: str, config: Config, root: Optional[str],
              cache_dir: Optional[str] = None) -> Tuple[FileResult, Optional[SourceFile]]:
    if os.path.islink(path):
        return FileResult(path, error="is a symbolic link; not followed"), None
    try:
        source = read_source(path)
    except SourceError as exc:
        return FileResult(path, error=str(exc)), None
    # run() has looked the file up in the cache already; here a result is only stored.
    cache = _cache(cache_dir, config) if cache_dir else None
    key = cache.key(path, source.digest.encode()) if cache else ""
    project = FileProject(root or find_root(path), config)
    result = _read_as(fix_source(source.text, path=path, config=config, project=project),
                      source)
    result = _with_own_helpers(result, source, project)
    # The diff's hunks are worked out here, in a worker, and kept with the result.
    result = result.with_hunks()
    # A file that failed is tried again by the next run: a failure may be this run's own
    # (a codemod interrupted, memory short), and must not outlive it.
    if cache and not result.error:
        cache.put(key, result, {} if result.skipped else project.depends)
    return result, source


def _with_own_helpers(result: FileResult, source: SourceFile,
                      project: FileProject) -> FileResult:
    """A file that holds its own helpers gets them here, in the worker, so that the result
    the cache keeps is whole (a warm run would otherwise add them again, parsing the file
    with LibCST on every run)."""
    own = [h for h in result.helpers if h.module.startswith(OWN_FILE)]
    if not own or not result.changed:
        return result
    merged, _ = helper_module(project, own[0].module, own, (result, source))
    if merged.error:
        return _not_written(replace(result, after=result.before),
                            f"not changed: {merged.error}")
    return replace(result, after=merged.after,
                   helpers=tuple(h for h in result.helpers if h not in own))


@functools.lru_cache(maxsize=4)
def _cache(cache_dir: str, config: Config) -> Cache:
    """One cache per process and folder: its salt and the subfolders known to exist are
    worked out once, not per file."""
    return Cache(cache_dir, config)


def _fix_batch(batch: List[str], config: Config, root: Optional[str],
               cache_dir: Optional[str]):
    return [_fix_file(path, config, root, cache_dir) for path in batch]


def run(paths: Sequence[str], config: Optional[Config] = None, *, write: bool = False,
        jobs: int = 1, root: Optional[str] = None, cache_dir: Optional[str] = None,
        progress=None) -> Iterator[FileResult]:
    """Fix every Python file under ``paths``; yields one result per file (unchanged files too),
    then one per helper module the rewrites need. With ``write``, changed files are written:
    the helper modules first, and a file whose helper module cannot be made is not written.
    ``cache_dir``: reuse results of files unchanged since a run with the same config.
    ``progress(done, total)`` is called as files are done."""
    config = config or Config()
    unlisted: Dict[str, str] = {}
    files = list(discover(paths, config, unlisted))
    results: Dict[str, FileResult] = {}
    sources: Dict[str, SourceFile] = {}
    # With a cache, a file unchanged since the last run is answered without screening it,
    # and the codemods (LibCST and all) are not even imported when every file is a hit.
    cached, todo = _from_cache(files, config, cache_dir) \
        if cache_dir and os.path.isdir(cache_dir) else ([], files)
    for result, source in cached:
        results[result.path] = result if result.changed else replace(result, before="",
                                                                     after="")
        if result.changed:
            sources[result.path] = source
    # The rest go to the workers, which screen them (fix_source parses a file only when a
    # codemod's trigger matches it) and remember the verdict in the cache.
    done = len(results)
    if progress:
        progress(done, len(files))
    workers = _Workers(jobs)
    try:
        for result, source in workers.fix(todo, config, root, cache_dir):
            done += 1
            if progress:
                progress(done, len(files))
            if source is not None and result.changed:
                sources[result.path] = source
            elif not result.error:  # keep memory small: an unchanged file needs no text
                result = replace(result, before="", after="")
            results[result.path] = result
        results = {**{path: FileResult(path, error=why) for path, why in unlisted.items()},
                   **{path: results[path] for path in files if path in results}}
        _settle_constants(results, sources, config, root, cache_dir, workers)
    except BaseException:  # Ctrl-C (or the caller stopped): do not wait for the workers
        workers.close(wait=False)
        raise
    workers.close()

    # Helper modules, per project: merged into the module's own result when it was fixed too.
    created: List[FileResult] = []
    blocked: Dict[str, str] = {}
    merged = set()  # files whose result is now their helper module's (written above)
    for helper, source, own in helper_modules(results, config, root, sources):
        if not helper.error and write and helper.changed:
            helper = _write(helper, source)
        if helper.error:
            for requester, _ in helper.requested:
                blocked[requester] = (f"helper module {os.path.relpath(helper.path)}: "
                                      f"{helper.error}")
        if own:
            results[own] = helper
            merged.add(own)
        else:
            created.append(helper)

    for path, result in results.items():
        if path in blocked and not result.error:
            result = _not_written(replace(result, after=result.before),
                                  f"not changed: {blocked[path]}")
        elif write and result.changed and path not in merged:
            result = _write(result, sources.get(path))
        yield result
    yield from created


def fix_text(text: str, path: str, config: Optional[Config] = None,
             root: Optional[str] = None) -> List[FileResult]:
    """Fix ``text`` as if it were the file at ``path`` (stdin input): its result, then one per
    helper module its fixes need (computed, never written)."""
    config = config or Config()
    project = FileProject(root or find_root(path), config)
    result = fix_source(text, path=path, config=config, project=project)
    others = []
    for helper, _, own in helper_modules({path: result}, config, root):
        if own is not None:  # the file holds its own helpers: they are part of its text
            result = replace(helper, encoding=result.encoding)
        else:
            others.append(helper)
    return [result] + others


def helper_modules(results: Mapping[str, FileResult], config: Config,
                   root: Optional[str] = None,
                   sources: Optional[Mapping[str, SourceFile]] = None
                   ) -> Iterator[Tuple[FileResult, Optional[SourceFile], Optional[str]]]:
    """Per project, each helper module that ``results`` (path: result) ask for: its result
    with every requested name defined (``requested``: the requests it answers), the source
    it was read from, and which of ``results`` is the module's own (its rewrite is the
    start; None if none is)."""
    wanted: Dict[Tuple[str, str], List[Tuple[str, HelperRequest]]] = defaultdict(list)
    for result in results.values():
        for request in result.helpers:
            project_root = root or find_root(result.path)
            wanted[(project_root, request.module)].append((result.path, request))
    for (project_root, module), pairs in sorted(wanted.items()):
        project = FileProject(project_root, config)
        path = project.module_path_for(module)
        own = next((p for p in results if os.path.abspath(p) == os.path.abspath(path)
                    and (results[p].changed or results[p].error)), None)
        base = (results[own], (sources or {}).get(own)) if own else None
        helper, source = helper_module(project, module, [r for _, r in pairs], base)
        yield (replace(helper, requested=tuple(dict.fromkeys((p, module) for p, _ in pairs))),
               source, own)


def _settle_constants(results: Dict[str, FileResult], sources: Dict[str, SourceFile],
                      config: Config, root: Optional[str], cache_dir: Optional[str] = None,
                      workers: Optional["_Workers"] = None) -> None:
    """Two files of one run must not ask for one constant name with two values (nor for one
    value under two names): a file that does is fixed again knowing what the files before it
    asked for (``constants.settle``), by the workers, or taken from the cache."""
    cache = _cache(cache_dir, config) if cache_dir else None

    @functools.lru_cache(maxsize=None)
    def existing(project_root: str, module: str) -> Dict[str, str]:
        return FileProject(project_root, config).constants(module)

    def known(path: str, project_root: str, claims: Claims) -> Optional[FileResult]:
        if cache is None:
            return None
        hit = cache.get(_claimed_key(cache, path, sources[path], claims), path,
                        sources[path].text)
        return _read_as(hit, sources[path]) if hit is not None else None

    def fix(wanted: Sequence[Wanted]) -> List[FileResult]:
        jobs = [(path, sources[path], project_root, claims)
                for path, project_root, claims in wanted]
        return (workers or _Workers(1)).fix_claimed(jobs, config, cache_dir)

    settle(results, set(sources), lambda path: root or find_root(path), existing, known, fix)


def _claimed_key(cache: Cache, path: str, source: SourceFile, claims: Claims) -> str:
    return cache.key(path, source.digest.encode() + b"\0claimed\0" + json.dumps(
        claims, sort_keys=True).encode())


def _fix_claimed(path: str, source: SourceFile, project_root: str, claims: Claims,
                 config: Config, cache_dir: Optional[str]) -> FileResult:
    """The file fixed knowing the constants the files before it claimed (module: name:
    value); cached under its content and those constants."""
    project = FileProject(project_root, config, claimed=claims)
    result = _read_as(fix_source(source.text, path=path, config=config, project=project),
                      source).with_hunks()
    if cache_dir:
        cache = _cache(cache_dir, config)
        cache.put(_claimed_key(cache, path, source, claims), result, project.depends)
    return result


def _fix_claimed_batch(batch, config: Config, cache_dir: Optional[str]) -> List[FileResult]:
    return [_fix_claimed(*job, config, cache_dir) for job in batch]


def _from_cache(todo: List[str], config: Config, cache_dir: str):
    cache = _cache(cache_dir, config)
    hits, misses = [], []
    for path in todo:
        if os.path.islink(path):
            misses.append(path)
            continue
        try:
            source = read_source(path)
        except SourceError:
            misses.append(path)
            continue
        hit = cache.get(cache.key(path, source.digest.encode()), path, source.text)
        if hit is None:
            misses.append(path)
        else:
            hits.append((_read_as(hit, source), source))
    return hits, misses


class _Workers:
    """The worker processes of a run (``jobs`` of them), started when first needed and
    shared by its passes; with one job, or little to do, the work is done here."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.pool: Optional[ProcessPoolExecutor] = None

    def _map(self, func, batches: List[list], sizes: List[int],
             *common) -> Iterator[Tuple[int, list]]:
        """(k, ``func(batches[k], *common)``) for each batch, the largest (by ``sizes``)
        given out first, so that no worker is left with a big file at the end."""
        if self.pool is None:
            self.pool = ProcessPoolExecutor(max_workers=self.jobs,
                                            initializer=_ignore_interrupts)
        order = sorted(range(len(batches)), key=lambda k: -sizes[k])
        n = len(batches)
        yield from zip(order, self.pool.map(func, [batches[k] for k in order],
                                            *([value] * n for value in common)))

    def fix(self, todo: List[str], config: Config, root: Optional[str],
            cache_dir: Optional[str]) -> Iterator[Tuple[FileResult, Optional[SourceFile]]]:
        """``_fix_file`` of each path (not in order)."""
        if self.jobs <= 1 or len(todo) < 32:
            for path in todo:
                yield _fix_file(path, config, root, cache_dir)
            return
        sizes = [stamp(path)[0] for path in todo]
        budget = max(1, sum(sizes) // (self.jobs * 16))  # bytes a batch, about
        batches: List[List[str]] = []
        weights: List[int] = []
        for path, size in zip(todo, sizes):
            if not batches or len(batches[-1]) == 16 or weights[-1] >= budget:
                batches.append([])
                weights.append(0)
            batches[-1].append(path)
            weights[-1] += size
        for _, results in self._map(_fix_batch, batches, weights, config, root, cache_dir):
            yield from results

    def fix_claimed(self, jobs: list, config: Config,
                    cache_dir: Optional[str]) -> List[FileResult]:
        """``_fix_claimed`` of each job, in order: one file a batch (they are few and often
        large), in the workers when they run already or there are several."""
        if self.jobs <= 1 or (len(jobs) < 4 and self.pool is None):
            return _fix_claimed_batch(jobs, config, cache_dir)
        done = dict(self._map(_fix_claimed_batch, [[job] for job in jobs],
                              [len(job[1].text) for job in jobs], config, cache_dir))
        return [done[k][0] for k in range(len(jobs))]

    def close(self, wait: bool = True) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=wait, cancel_futures=not wait)
            if not wait:  # nor for the batches running: a worker writes only the cache,
                # by atomic renames
                for worker in list((getattr(self.pool, "_processes", None) or {}).values()):
                    worker.terminate()
            self.pool = None


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the parent, which stops the run (and them) cleanly."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _read_as(result: FileResult, source: SourceFile) -> FileResult:
    """``result`` knowing how its file was read (its encoding and the digest of its bytes)."""
    return replace(result, encoding=source.encoding, digest=source.digest)


def _write(result: FileResult, source: Optional[SourceFile]) -> FileResult:
    try:
        if source is None:
            write_source(result.path, result.after, "utf-8")
        else:
            write_source(result.path, result.after, source.encoding, source.digest)
    except (SourceError, OSError) as exc:
        return _not_written(result, f"not written: {exc}")
    return result


def _not_written(result: FileResult, error: str) -> FileResult:
    """``result`` with ``error``, its fixes counted as not made (they are not on disk)."""
    return replace(result, error=error, findings=tuple(
        replace(f, fixed=False, reason=error) if f.fixed else f for f in result.findings))


def write_result(result: FileResult, text: str) -> FileResult:
    """Write ``text`` where ``result`` came from, later, as ``run`` writes (atomically, in the
    file's encoding and mode): only if the file still holds ``result.before`` (a created
    module: only if it still does not exist). ``error`` says why it was not written."""
    return _write(replace(result, after=text), source_of(result))


def source_of(result: FileResult) -> Optional[SourceFile]:
    """The file as ``result`` was read from it (None for a module it creates)."""
    return None if result.created else SourceFile(
        result.path, result.before, result.encoding,
        result.digest or hashlib.sha256(result.before.encode(result.encoding)).hexdigest())


def fix_again(result: FileResult, config: Config, project: "Project", *,
              leave: AbstractSet[Tuple[str, int]] = frozenset()) -> FileResult:
    """``result``'s file fixed again from the text it was read as (``result.before``),
    leaving alone the findings ``leave`` names (see ``fix_source``)."""
    again = fix_source(result.before, path=result.path, config=config, project=project,
                       leave=leave)
    return replace(again, encoding=result.encoding, digest=result.digest)


def helper_module(project: FileProject, module: str, requests: Sequence[HelperRequest],
                  base: Optional[Tuple[FileResult, Optional[SourceFile]]] = None
                  ) -> Tuple[FileResult, Optional[SourceFile]]:
    """The helper module with every requested function defined (created if need be).
    ``base``: the module's own result in this run (its rewritten text is the start)."""
    path = project.module_path_for(module)
    existing: Optional[SourceFile] = None
    if base is not None:
        own, existing = base
        if own.error:
            return own, existing
        text, original = own.after, own.before
    elif os.path.exists(path):
        try:
            existing = read_source(path)
        except SourceError as exc:
            return FileResult(path, error=str(exc)), None
        text = original = existing.text
    else:
        doc = next((r.doc for r in requests if r.doc), "")
        text, original = _new_module_text(project, module, doc), ""
    encoding = existing.encoding if existing else "utf-8"
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        return FileResult(path, original, original, encoding=encoding,
                          error=f"syntax error: line {exc.lineno}: {exc.msg}"), existing
    defined = {n.name: n for n in tree.body
               if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    bound = astutil.top_level_names(tree)  # (async functions, classes, annotated names too)
    constants = astutil.string_constants(tree)
    wanted: List[HelperRequest] = []
    for request in dict.fromkeys(requests):  # (one request per file that made it)
        if request.value is not None:
            if constants.get(request.name, request.value) != request.value:
                return FileResult(path, original, original, encoding=encoding, error=(
                    f"{request.name} exists there with another value")), existing
            if request.name in constants:
                continue  # there already
            if request.name in bound:
                return FileResult(path, original, original, encoding=encoding, error=(
                    f"{request.name} is bound there by something this tool cannot check")), \
                    existing
            wanted.append(request)
            continue
        mine = ast.parse(request.source).body[0]
        theirs = defined.get(request.name)
        if theirs is not None:
            if type(theirs) is not type(mine):  # a coroutine function for a function
                kind = "a coroutine function" if isinstance(theirs, ast.AsyncFunctionDef) \
                    else "a plain function"
                return FileResult(path, original, original, encoding=encoding, error=(
                    f"{request.name} exists there as {kind}")), existing
            if ast.dump(theirs.args) != ast.dump(mine.args):  # type: ignore[attr-defined]
                return FileResult(path, original, original, encoding=encoding, error=(
                    f"{request.name} exists there with other parameters")), existing
        elif request.name in bound:
            return FileResult(path, original, original, encoding=encoding, error=(
                f"{request.name} is bound there by something this tool cannot check")), existing
        else:
            wanted.append(request)
    wanted = _in_one_quote(wanted, text, project.config)
    after = text
    if wanted:
        requests = list(dict.fromkeys(i for r in wanted for i in r.imports))
        if existing is None and base is None:  # a new module: nothing to merge imports with
            lines = sorted(f"from {i.module} import {i.name}" if i.name else f"import {i.module}"
                           for i in requests)
            after = text.rstrip("\n") + "\n" + "".join(f"\n{x}" for x in lines) + \
                ("\n" if lines else "")
            newline = "\n"
        else:
            import libcst as cst

            from . import imports
            code = imports.apply(cst.parse_module(text), requests, project.config.style)
            newline = code.default_newline
            after = code.code.rstrip("\r\n") + newline
            if requests and not any(isinstance(n, (ast.Import, ast.ImportFrom))
                                    for n in tree.body):
                after = imports.space_after_imports(after, project.config.style)
        if module.startswith(OWN_FILE):
            # A file holding its own helpers (no package to import them from) gets them
            # after its imports: where a reader looks, and before any use at import time
            # (``unittest.main()`` at its end, a module-level call).
            after = _after_imports(after, wanted)
        else:
            after += _definitions(tree, wanted).replace("\n", newline)
    # A module that is also a fixed file of the run keeps its own findings.
    findings = base[0].findings if base is not None else ()
    return FileResult(path, original, after, findings=findings,
                      created=existing is None and base is None,
                      encoding=encoding, digest=existing.digest if existing else ""), existing


def _in_one_quote(wanted: List[HelperRequest], text: str,
                  config: Config) -> List[HelperRequest]:
    """The constants of ``wanted`` written in one quote, each once: the project's, else the
    one most of the module's strings use, else the one most of the literals moved there
    were written with. Every file asking for a constant gets the same line, whatever
    quotes that file writes."""
    constants = [r for r in wanted if r.value is not None]
    if not constants:
        return wanted
    quote = config.style.quote or style.dominant_quote(style.quote_counts(text)) or \
        style.dominant_quote(Counter(r.source.partition("= ")[2].lstrip("(\n ")[:1]
                                     for r in constants))
    out: Dict[object, HelperRequest] = {}
    for request in wanted:
        if request.value is not None:
            request = replace(request, source=style.render_constant(
                request.name, request.value, config.max_line_length, quote))
            out.setdefault((request.module, request.name, request.value), request)
        else:
            out.setdefault(request, request)
    return list(out.values())


def _after_imports(text: str, wanted: List[HelperRequest]) -> str:
    """``text`` with the ``wanted`` constants, then functions, after its last top-level
    import (else after its docstring, else after its leading comments: a shebang, a coding
    cookie, a licence), laid out as pycodestyle asks (two blank lines around a function)."""
    lines = split_lines(text)
    nl = next((line[len(line.rstrip("\r\n")):] for line in lines
               if line.endswith(("\n", "\r"))), "\n")
    body = ast.parse(text).body
    anchors = [n for n in body if isinstance(n, (ast.Import, ast.ImportFrom))] or \
        [n for n in body[:1] if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
         and isinstance(n.value.value, str)]
    if anchors:
        at = anchors[-1].end_lineno or 0
    else:
        at = 0
        for k, line in enumerate(lines):
            if line.lstrip().startswith("#"):
                at = k + 1
            elif line.strip():
                break
    constants = [r for r in wanted if r.value is not None]
    functions = [r for r in wanted if r.value is None]
    block = "".join(r.source.strip("\n") + nl for r in constants)
    block += "".join(nl + nl + r.source.strip("\n").replace("\n", nl) + nl for r in functions)
    if at and constants:
        block = nl + block
    rest = lines[at:]
    while rest and not rest[0].strip():
        rest.pop(0)
    if rest:
        first = next((n for n in body if n.lineno > at), None)
        gap = 2 if functions or isinstance(
            first, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else 1
        block += nl * gap
    return "".join(lines[:at]) + block.lstrip("\r\n" if not at else "") + "".join(rest)


def _definitions(tree: ast.Module, wanted: List[HelperRequest]) -> str:
    """The text that appends the definitions: functions two blank lines apart, constants
    one per line after a blank line (none after constants already there)."""
    last = tree.body[-1] if tree.body else None
    previous = "constant" if isinstance(last, ast.Assign) else "def" if isinstance(
        last, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else "other"
    out = ""
    for request in wanted:
        kind = "constant" if request.value is not None else "def"
        gap = "\n" if kind == previous == "constant" else "\n\n\n" \
            if "def" in (kind, previous) else "\n\n"
        out += gap + request.source.strip("\n")
        previous = kind
    return out[1:] + "\n" if out else ""


def _new_module_text(project: FileProject, module: str, doc: str = "") -> str:
    """A new module starts with the licence header its package's ``__init__.py`` has."""
    header = ""
    package = module.rpartition(".")[0]
    init = project.module_file(package) if package else None
    if init and init.endswith("__init__.py"):
        try:
            text = read_source(init).text
        except SourceError:
            text = ""
        lines = []
        for line in split_lines(text):
            if line.startswith("#"):
                lines.append(line)
            else:
                break
        if lines:
            header = "".join(lines).rstrip("\n") + "\n\n"
    return header + '"""%s"""\n' % (doc or "Test helpers added by testsec-fix.")
