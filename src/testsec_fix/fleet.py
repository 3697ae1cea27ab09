"""Fleet runs: one campaign over many repositories.

A manifest lists the repositories; each is one task (``fix_repo``) that checks it out, runs
the normal dry-run fix with the repository's own config and returns its patch and reports
as a value. ``campaign`` runs the tasks on local worker processes or on a Dask cluster,
yields the outcomes as they finish, writes each one's files into the out folder and keeps a
state file there, so that a repository whose revision and tool did not change is skipped
the next time. ``markdown_report`` and ``html_report`` give the campaign's overview.

Nothing is written into the repositories and nothing is pushed anywhere.
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import multiprocessing
import os
import re
import shlex
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from . import __version__
from .config import ConfigError, find_config, load_config, with_test_folders
from .source import replace_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

STATE = "fleet-state.json"
REPORT = "campaign"
SETTINGS = ("name", "url", "path", "rev", "paths", "select", "ignore", "config", "jobs")
# What a tree digest leaves out: version-control data and what runs leave behind.
_SKIP = {".git", ".hg", ".svn", ".tox", ".nox", "__pycache__", ".mypy_cache", ".pytest_cache",
         ".ruff_cache", ".testsec-cache"}


class ManifestError(Exception):
    pass


@dataclass(frozen=True)
class Repo:
    """One repository of a campaign: a local folder (``path``) or a git ``url`` checked out
    at ``rev``, and its settings (folders to fix, codes, config file, worker processes)."""
    name: str
    path: Optional[str] = None
    url: Optional[str] = None
    rev: str = "HEAD"
    paths: Tuple[str, ...] = (".",)
    select: Optional[Tuple[str, ...]] = None
    ignore: Optional[Tuple[str, ...]] = None
    config: Optional[str] = None  # its pyproject.toml, relative to the repository
    jobs: int = 1

    def settings_digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Outcome:
    """What became of one repository: its numbers and, when it was run (not skipped), the
    text of its patch, JSON and SARIF reports and errors."""
    name: str
    status: str  # "done", "skipped" (unchanged since the last campaign) or "failed"
    revision: str = ""
    files: int = 0
    changed: int = 0
    fixes: Dict[str, int] = field(default_factory=dict)  # code -> fixes
    declines: Dict[str, int] = field(default_factory=dict)  # "CODE: reason" -> count
    errors: Tuple[str, ...] = ()  # the files that could not be done, and why
    failure: str = ""  # why the repository could not be done at all
    seconds: float = 0.0
    patch: bytes = b""
    json_text: str = ""
    sarif_text: str = ""

    def summary(self) -> dict:
        """The numbers, as the state file keeps them for a skipped repository's row."""
        return {k: v for k, v in asdict(self).items()
                if k not in ("patch", "json_text", "sarif_text", "status")}


# -- the manifest -----------------------------------------------------------------------------

def load_manifest(path: str) -> List[Repo]:
    """The repositories a manifest lists. TOML (``*.toml``): ``[[repo]]`` tables with
    ``path`` or ``url`` and optional settings. Text: one repository a line, its path or URL
    then ``key=value`` settings (``rev=``, ``name=``, ``paths=a,b``, ``select=``,
    ``ignore=``, ``config=``, ``jobs=``); ``#`` starts a comment. Relative paths are from
    the manifest's folder."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read manifest: {exc.strerror or exc}") from None
    if path.endswith(".toml"):
        try:
            entries = tomllib.loads(data.decode("utf-8")).get("repo", [])
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ManifestError(f"{path}: {exc}") from None
        if not isinstance(entries, list):
            raise ManifestError(f"{path}: 'repo' must be an array of tables ([[repo]])")
        where = [f"{path}: repo {k + 1}" for k in range(len(entries))]
    else:
        entries, where = [], []
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            try:
                words = shlex.split(line, comments=True)
            except ValueError as exc:
                raise ManifestError(f"{path}:{number}: {exc}") from None
            if not words:
                continue
            entry: Dict[str, object] = {"url" if _is_url(words[0]) else "path": words[0]}
            for word in words[1:]:
                key, eq, value = word.partition("=")
                if not eq:
                    raise ManifestError(f"{path}:{number}: {word!r}: settings are key=value")
                entry[key] = value.split(",") if key in ("paths", "select", "ignore") \
                    else value
            entries.append(entry)
            where.append(f"{path}:{number}")
    base = os.path.dirname(os.path.abspath(path))
    repos = [_repo(entry, base, at) for entry, at in zip(entries, where)]
    seen: Dict[str, str] = {}
    for repo, at in zip(repos, where):
        if repo.name in seen:
            raise ManifestError(f"{at}: a second repository named {repo.name!r} (the first: "
                                f"{seen[repo.name]}); give one a name=")
        seen[repo.name] = at
    return repos


def _is_url(text: str) -> bool:
    return "://" in text or bool(re.match(r"^[\w.-]+@[\w.-]+:", text))


def _repo(entry: dict, base: str, at: str) -> Repo:
    if not isinstance(entry, dict):
        raise ManifestError(f"{at}: not a table")
    unknown = sorted(set(entry) - set(SETTINGS))
    if unknown:
        raise ManifestError(f"{at}: unknown setting {unknown[0]!r} (known: "
                            f"{', '.join(SETTINGS)})")
    if ("path" in entry) == ("url" in entry):
        raise ManifestError(f"{at}: give either path or url")
    values = dict(entry)
    for key in ("paths", "select", "ignore"):
        if key in values:
            items = values[key]
            if isinstance(items, str):
                items = [items]
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise ManifestError(f"{at}: {key} must be a list of strings")
            values[key] = tuple(i.upper() if key != "paths" else i for i in items if i)
    try:
        values["jobs"] = int(values.get("jobs", 1))
    except (TypeError, ValueError):
        raise ManifestError(f"{at}: jobs must be a number") from None
    if "path" in values:
        values["path"] = os.path.normpath(os.path.join(base, os.path.expanduser(
            str(values["path"]))))
    where = str(values.get("path") or values.get("url"))
    default = os.path.basename(where.rstrip("/")).removesuffix(".git") or "repo"
    values.setdefault("name", default)
    if not re.fullmatch(r"[\w.+-]+", str(values["name"])) or values["name"] in (".", ".."):
        raise ManifestError(f"{at}: name {values['name']!r}: use letters, digits, '.', '_', "
                            f"'+' and '-' (it names the repository's files)")
    return Repo(**values)


# -- one repository: the task -----------------------------------------------------------------

def tool_version() -> str:
    """The version and the code of the tool: a changed codemod counts as a new tool."""
    from .cache import _code_stamp
    return f"{__version__}+{hashlib.sha256(_code_stamp().encode()).hexdigest()[:12]}"


def fix_repo(repo: Repo, work_dir: str, previous: Optional[dict] = None,
             tool: str = "") -> Outcome:
    """Check ``repo`` out, fix it (a dry run) and return its outcome, never raising: a
    repository that cannot be done is a ``failed`` outcome. ``previous``: its entry in the
    state file, whose revision, tool and settings unchanged make it ``skipped``."""
    start = time.monotonic()
    try:
        root = checkout(repo, work_dir)
        revision = revision_of(root)
        if previous and previous.get("revision") == revision and \
                previous.get("tool") == tool and \
                previous.get("settings") == repo.settings_digest():
            summary = dict(previous["summary"], errors=tuple(previous["summary"]["errors"]))
            return Outcome(status="skipped", **summary)
        outcome = _fix(repo, root, os.path.join(work_dir, "cache", repo.name))
    except Exception as exc:  # one repository's failure is its outcome, not the campaign's
        return Outcome(repo.name, "failed", failure=_one_line(exc),
                       seconds=round(time.monotonic() - start, 2))
    return replace(outcome, revision=revision, seconds=round(time.monotonic() - start, 2))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) < 300 else text[:297] + "..."


def checkout(repo: Repo, work_dir: str) -> str:
    """The repository's folder: a local path as it is (read, never written), or a shallow
    clone of ``url`` at ``rev`` in ``work_dir`` (fetched again on each run)."""
    if repo.path is not None:
        if not os.path.isdir(repo.path):
            raise FileNotFoundError(f"{repo.path}: no such folder")
        return repo.path
    dest = os.path.join(work_dir, "clones", repo.name)
    if not os.path.isdir(os.path.join(dest, ".git")):
        os.makedirs(dest, exist_ok=True)
        _git(dest, "init", "-q")
    _git(dest, "fetch", "-q", "--depth", "1", "--", repo.url or "", repo.rev)
    _git(dest, "checkout", "-q", "--force", "--detach", "FETCH_HEAD")
    _git(dest, "clean", "-q", "-d", "-f", "-x")
    return dest


def _git(where: str, *args: str) -> str:
    done = subprocess.run(["git", "-C", where, *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    if done.returncode:
        why = " ".join(done.stderr.split()) or f"exit {done.returncode}"
        raise RuntimeError(f"git {args[0]}: {why}")
    return done.stdout.strip()


def revision_of(root: str) -> str:
    """What the repository's content is: its git HEAD (plus a digest of uncommitted changes,
    if any) for a git work tree, else a digest of its files."""
    if os.path.exists(os.path.join(root, ".git")):
        try:
            head = _git(root, "rev-parse", "HEAD")
            status = _git(root, "status", "--porcelain", "--untracked-files=all")
        except RuntimeError:
            pass
        else:
            if not status:
                return head
            dirty = hashlib.sha256(status.encode())
            dirty.update(_git(root, "diff", "HEAD", "--binary").encode())
            for line in status.splitlines():
                if line.startswith("??"):
                    _digest_file(dirty, root, line[3:])
            return f"{head}+{dirty.hexdigest()[:16]}"
    return "tree:" + tree_digest(root)


def tree_digest(root: str) -> str:
    """sha256 over the relative paths and bytes of the files under ``root``."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP)
        for name in sorted(files):
            full = os.path.join(folder, name)
            _digest_file(digest, root, os.path.relpath(full, root))
    return digest.hexdigest()


def _digest_file(digest, root: str, rel: str) -> None:
    full = os.path.join(root, rel)
    digest.update(rel.encode("utf-8", "surrogateescape") + b"\0")
    if os.path.islink(full):
        digest.update(b"link:" + os.readlink(full).encode("utf-8", "surrogateescape"))
    elif os.path.isfile(full):
        try:
            with open(full, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        except OSError as exc:
            digest.update(f"unreadable:{exc.errno}".encode())
    digest.update(b"\0")


def _fix(repo: Repo, root: str, cache_dir: str) -> Outcome:
    from . import report
    from .engine import run
    from .registry import all_codemods

    config_file = os.path.join(root, repo.config) if repo.config else find_config(root)
    if config_file and not repo.config and \
            os.path.commonpath([os.path.abspath(config_file), os.path.abspath(root)]) != \
            os.path.abspath(root):
        config_file = None  # a pyproject.toml above the repository is not its config
    try:
        config = load_config(config_file)
    except ConfigError as exc:
        raise RuntimeError(str(exc)) from None
    config = with_test_folders(config.with_options(select=repo.select, ignore=repo.ignore),
                               root)
    paths = [os.path.normpath(os.path.join(root, p)) for p in repo.paths]
    for path in paths:
        if not os.path.exists(path):
            raise FileNotFoundError(f"{os.path.relpath(path, root)}: not in the repository")
    # A Dask worker is a daemon process, which may not start worker processes of its own.
    jobs = 1 if multiprocessing.current_process().daemon else repo.jobs
    results = list(run(paths, config, write=False, jobs=jobs, cache_dir=cache_dir))
    fixes = Counter(f.code for r in results for f in report.reported(r) if f.fixed
                    and not r.error)
    declines = Counter(f"{f.code}: {f.reason or r.error}" for r in results
                       for f in report.reported(r) if not f.fixed or r.error)
    errors = tuple(f"{report.relpath(r.path, root)}: {r.error}" for r in results if r.error)
    changed = [r for r in results if r.changed]
    patch = format_patch(repo, changed, results, root) if changed else b""
    sarif = report.sarif(results, all_codemods(), applied=False, root=root)
    return Outcome(repo.name, "done", files=len(results), changed=len(changed),
                   fixes=dict(sorted(fixes.items())), declines=dict(sorted(declines.items())),
                   errors=errors, patch=patch,
                   json_text=json.dumps(report.json_records(results, root), indent=2) + "\n",
                   sarif_text=json.dumps(sarif, indent=2) + "\n")


def format_patch(repo: Repo, changed: Sequence, results: Sequence, root: str) -> bytes:
    """A ``git format-patch``-style mail: a commit message that says what was changed and
    why, lists the fixes, then the diff (``git am`` and ``git apply`` take it). It holds no
    date, so the same tree and tool give the same bytes."""
    from . import report

    from .registry import all_codemods

    codemods = {cls.code: cls for cls in all_codemods()}
    fixed = [(report.relpath(r.path, root), f) for r in results if not r.error
             for f in report.reported(r) if f.fixed]
    counts = Counter(f.code for _, f in fixed)
    subject = (f"Tests: {len(fixed)} test hygiene fix{'es' if len(fixed) != 1 else ''} "
               f"({', '.join(sorted(counts))})")
    body = [
        "testsec-fix rewrote these patterns of the test code into the project's own",
        "helpers and constants, keeping what each test checks and its time budget",
        "(a dry run of its safe fixes; review it as any change):",
        "",
        *(f"  {code} {codemods[code].name} ({n}): {codemods[code].summary()}"
          for code, n in sorted(counts.items())),
        "",
        "Fixes:",
        *(f"  {path}:{f.line}: {f.code} {f.message}" for path, f in fixed),
    ]
    stat = [f" {report.relpath(r.path, root)} | {_changed_lines(r)}" for r in changed]
    head = (f"From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
            f"From: testsec-fix <testsec-fix@localhost>\n"
            f"Subject: [PATCH] {subject}\n\n" + "\n".join(body) + "\n\n"
            f"Generated by testsec-fix {__version__} (fleet campaign, repository "
            f"{repo.name}).\n---\n" + "\n".join(stat) +
            f"\n {len(changed)} file{'s' if len(changed) != 1 else ''} changed\n\n")
    diffs = b""
    for result in changed:
        rel = report.relpath(result.path, root)
        diffs += f"diff --git a/{rel} b/{rel}\n".encode("utf-8", "surrogateescape")
        if result.created:
            diffs += b"new file mode 100644\n"
        diffs += result.diff_bytes(rel)
    return head.encode("utf-8", "surrogateescape") + diffs + \
        f"-- \ntestsec-fix {__version__}\n".encode()


def _changed_lines(result) -> int:
    return sum(1 for line in result.diff().splitlines()
               if line[:1] in "+-" and not line.startswith(("+++", "---")))


# -- the campaign -----------------------------------------------------------------------------

Progress = Callable[[str, object], None]


def campaign(repos: Sequence[Repo], out: str, *, executor: str = "local", jobs: int = 0,
             work_dir: Optional[str] = None, force: bool = False,
             progress: Optional[Progress] = None) -> List[Outcome]:
    """Run the campaign: one task per repository, on local worker processes (``jobs`` of
    them, default the number of cores) or on the Dask scheduler at ``dask://HOST:PORT``.
    Each outcome is written into ``out`` as it comes (``progress("done", outcome)``) and the
    state file updated; ``force`` runs every repository again. Returns the outcomes in the
    manifest's order, after writing the campaign report."""
    run = _dask if executor.startswith(("dask://", "tcp://", "tls://")) else _local
    if executor != "local" and run is _local:
        raise ValueError(f"executor {executor!r}: 'local' or 'dask://HOST:PORT'")
    os.makedirs(out, exist_ok=True)
    work_dir = os.path.abspath(work_dir or os.path.join(out, ".work"))
    os.makedirs(work_dir, exist_ok=True)
    state = {} if force else _load_state(out)
    tool = tool_version()
    outcomes: Dict[str, Outcome] = {}
    tasks = [(repo, work_dir, state.get(repo.name) if _files_there(out, state.get(repo.name))
              else None, tool) for repo in repos]
    saved = _load_state(out)
    for outcome in run(tasks, executor, jobs, progress):
        repo = next(r for r in repos if r.name == outcome.name)
        write_outcome(out, outcome)
        if outcome.status == "done":
            saved[repo.name] = {"revision": outcome.revision, "tool": tool,
                                "settings": repo.settings_digest(),
                                "summary": outcome.summary()}
        elif outcome.status == "failed":
            saved.pop(repo.name, None)
        replace_file(os.path.join(out, STATE), (json.dumps(saved, indent=2) + "\n").encode())
        outcomes[outcome.name] = outcome
        if progress:
            progress("done", outcome)
    ordered = [outcomes[r.name] for r in repos]
    replace_file(os.path.join(out, REPORT + ".md"), markdown_report(ordered).encode())
    replace_file(os.path.join(out, REPORT + ".html"), html_report(ordered).encode())
    return ordered


def _load_state(out: str) -> dict:
    try:
        with open(os.path.join(out, STATE), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _files_there(out: str, entry: Optional[dict]) -> bool:
    """A skipped repository must still have its files (someone may have removed them)."""
    try:
        name = entry["summary"]["name"]  # type: ignore[index]
        wanted = [".json", ".sarif"] + ([".patch"] if entry["summary"]["changed"] else [])
    except (KeyError, TypeError):  # none, or not as this tool writes it
        return False
    return all(os.path.isfile(os.path.join(out, name + ext)) for ext in wanted)


def write_outcome(out: str, outcome: Outcome) -> None:
    """The repository's files: patch (only if something changed), JSON, SARIF, errors (only
    if any). A file an earlier campaign left that this outcome has none of is removed."""
    if outcome.status == "skipped":
        return
    base = os.path.join(out, outcome.name)
    errors = list(outcome.errors) + ([f"failed: {outcome.failure}"] if outcome.failure else [])
    files = {".patch": outcome.patch,
             ".json": outcome.json_text.encode(), ".sarif": outcome.sarif_text.encode(),
             ".errors": "".join(f"{e}\n" for e in errors).encode()}
    for ext, data in files.items():
        if data:
            replace_file(base + ext, data)
        elif os.path.exists(base + ext):
            os.unlink(base + ext)


def _local(tasks, executor: str, jobs: int, progress: Optional[Progress]) -> Iterator[Outcome]:
    from .engine import _ignore_interrupts

    pool = ProcessPoolExecutor(max_workers=min(jobs or os.cpu_count() or 1, len(tasks) or 1),
                               initializer=_ignore_interrupts)
    try:
        futures = {pool.submit(fix_repo, *task): task[0] for task in tasks}
        pending = set(futures)
        if progress:
            progress("running", [])
        for future in as_completed(futures):
            pending.discard(future)
            if progress:
                progress("running", sorted(futures[f].name for f in pending if f.running()))
            yield _result(future, futures[future])
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def _dask(tasks, executor: str, jobs: int, progress: Optional[Progress]) -> Iterator[Outcome]:
    try:
        from distributed import Client, as_completed as finished
    except ImportError:
        raise RuntimeError("--executor dask:// needs Dask distributed: pip install "
                           "'testsec-fix[fleet]'") from None
    address = "tcp://" + executor[len("dask://"):] if executor.startswith("dask://") \
        else executor
    with Client(address, timeout="20s") as client:
        futures = {client.submit(fix_repo, *task, pure=False,
                                 key=f"testsec-fleet-{task[0].name}-{os.urandom(4).hex()}"):
                   task[0] for task in tasks}
        keys = {f.key: repo.name for f, repo in futures.items()}
        try:
            for future in finished(list(futures)):
                if progress:
                    busy = [keys[k] for ks in client.processing().values() for k in ks
                            if k in keys]
                    progress("running", sorted(busy))
                yield _result(future, futures[future])
        except BaseException:
            client.cancel(list(futures))
            raise


def _result(future, repo: Repo) -> Outcome:
    """The outcome of a finished task; a task that died (its worker killed, its result not
    transferable) is a failed repository."""
    try:
        return future.result()
    except Exception as exc:
        return Outcome(repo.name, "failed", failure=f"task failed: {_one_line(exc)}")


# -- the campaign report ----------------------------------------------------------------------

def _codes(outcomes: Sequence[Outcome]) -> List[str]:
    return sorted({c for o in outcomes for c in o.fixes})


def table_rows(outcomes: Sequence[Outcome]) -> Tuple[List[str], List[List[str]]]:
    """The campaign table: a header and one row per repository, then the totals."""
    codes = _codes(outcomes)
    header = ["repository", "status", "files scanned", "changed", *codes, "declines",
              "errors", "time (s)"]
    rows = []
    for o in outcomes:
        status = o.status if not o.failure else f"failed: {o.failure}"
        if o.status == "skipped":
            status = "unchanged (skipped)"
        rows.append([o.name, status, str(o.files), str(o.changed),
                     *(str(o.fixes.get(c, 0)) for c in codes),
                     str(sum(o.declines.values())), str(len(o.errors)),
                     "-" if o.status == "skipped" else f"{o.seconds:.1f}"])
    ran = [o for o in outcomes if o.status != "skipped"]
    rows.append(["**total**", f"{len(outcomes)} repositories, "
                 f"{sum(o.status == 'failed' for o in outcomes)} failed, "
                 f"{sum(o.status == 'skipped' for o in outcomes)} skipped",
                 str(sum(o.files for o in outcomes)), str(sum(o.changed for o in outcomes)),
                 *(str(sum(o.fixes.get(c, 0) for o in outcomes)) for c in codes),
                 str(sum(sum(o.declines.values()) for o in outcomes)),
                 str(sum(len(o.errors) for o in outcomes)),
                 f"{sum(o.seconds for o in ran):.1f}"])
    return header, rows


# A reason's particulars (its line, a name, a file) go, so that like reasons are one row.
_PARTICULARS = [(re.compile(r"\bline \d+"), "line N"), (re.compile(r"'[^']*'"), "'...'"),
                (re.compile(r"\b\d+ characters"), "N characters"),
                (re.compile(r"\bin \S+ (and \d+ more )?next to"), "in a file next to")]


def _reason_kind(reason: str) -> str:
    for pattern, text in _PARTICULARS:
        reason = pattern.sub(text, reason)
    return reason


def declines_by_reason(outcomes: Sequence[Outcome]) -> List[Tuple[str, int, str]]:
    """(reason, count, repositories with their counts), most frequent first; reasons that
    differ only in a line number, a name or a file are one."""
    total: Counter = Counter()
    where: Dict[str, Counter] = {}
    for o in outcomes:
        for reason, n in o.declines.items():
            kind = _reason_kind(reason)
            total[kind] += n
            where.setdefault(kind, Counter())[o.name] += n
    return [(reason, n, ", ".join(f"{name} {k}" for name, k in where[reason].items()))
            for reason, n in
            sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_report(outcomes: Sequence[Outcome]) -> str:
    header, rows = table_rows(outcomes)
    lines = [f"# testsec-fix campaign ({__version__})", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    declines = declines_by_reason(outcomes)
    if declines:
        lines += ["", "## Declines by reason", "", "| reason | count | repositories |",
                  "|---|---|---|"]
        lines += [f"| {_md_cell(r)} | {n} | {_md_cell(w)} |" for r, n, w in declines]
    errors = [(o.name, e) for o in outcomes for e in o.errors]
    if errors:
        lines += ["", "## Errors", ""] + [f"- {name}: {_md_cell(e)}" for name, e in errors]
    return "\n".join(lines) + "\n"


def chart(outcomes: Sequence[Outcome]) -> str:
    """The fixes by codemod and repository as a stacked bar chart: a plotly figure with
    plotly.js inlined (the page needs no network), or matplotlib's PNG embedded; without
    either (the ``[fleet]`` extra), a line saying so."""
    codes = _codes(outcomes)
    names = [o.name for o in outcomes]
    try:
        import plotly.graph_objects as go
        import plotly.io as pio
    except ImportError:
        pass
    else:
        figure = go.Figure([go.Bar(name=code, x=names, y=[o.fixes.get(code, 0)
                                                          for o in outcomes])
                            for code in codes])
        figure.update_layout(barmode="stack", title="Fixes by codemod and repository",
                             yaxis_title="fixes", legend_title="codemod", showlegend=True)
        return pio.to_html(figure, full_html=False, include_plotlyjs=True,
                           div_id="fixes-chart")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import io

        import matplotlib.pyplot as plt
    except ImportError:
        return ('<p id="fixes-chart">No chart: install plotly or matplotlib '
                '(<code>pip install "testsec-fix[fleet]"</code>).</p>')
    fig, ax = plt.subplots(figsize=(max(6, len(names) * 0.8), 4))
    bottom = [0] * len(names)
    for code in codes:
        values = [o.fixes.get(code, 0) for o in outcomes]
        ax.bar(names, values, bottom=bottom, label=code)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_title("Fixes by codemod and repository")
    ax.set_ylabel("fixes")
    if codes:
        ax.legend(title="codemod")
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return (f'<img id="fixes-chart" alt="Fixes by codemod and repository" '
            f'src="data:image/png;base64,{data}">')


def html_report(outcomes: Sequence[Outcome]) -> str:
    """A page that holds everything it shows (no link to fetch): the table, the declines by
    reason and the chart."""
    header, rows = table_rows(outcomes)

    def table(head: Sequence[str], body: Sequence[Sequence[str]], ident: str) -> str:
        cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        out = [f'<table id="{ident}"><thead><tr>{cells}</tr></thead><tbody>']
        for row in body:
            out.append("<tr>" + "".join(f"<td>{html.escape(c.strip('*'))}</td>"
                                        for c in row) + "</tr>")
        return "\n".join(out) + "</tbody></table>"

    declines = [(r, str(n), w) for r, n, w in declines_by_reason(outcomes)]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>testsec-fix campaign</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; margin-bottom: 2em; }}
th, td {{ border: 1px solid #bbb; padding: 0.3em 0.6em; text-align: left; }}
tbody tr:last-child {{ font-weight: bold; }}
#declines tbody tr:last-child {{ font-weight: normal; }}
</style></head>
<body>
<h1>testsec-fix campaign ({html.escape(__version__)})</h1>
{table(header, rows, "repositories")}
{chart(outcomes)}
<h2>Declines by reason</h2>
{table(["reason", "count", "repositories"], declines, "declines") if declines else
 "<p>None.</p>"}
</body></html>
"""
