"""The command line: a thin click layer over ``testsec_fix.engine``. The only module that
imports click."""
from __future__ import annotations

import inspect
import io
import json
import os
import sys
from collections import Counter
from dataclasses import replace
from typing import List, Optional, Sequence

import click

from . import __version__, report
from .config import (ConfigError, find_config, load_config, with_project_style,
                     with_test_folders)
from .engine import run
from .project import find_root
from .model import FileResult
from .source import SourceError, replace_file


EPILOG = """\b
Examples:
  testsec-fix --dry-run tests/          show the diffs, write nothing
  testsec-fix tests/                    rewrite in place
  testsec-fix -i tests/                 ask fix by fix what to write (like git add -p)
  testsec-fix --dry-run nova/ | git apply --check
  testsec-fix --select TSF101 --format json tests/
  testsec-fix --dry-run --format sarif -o testsec.sarif .
                                        SARIF 2.1.0 for GitHub code scanning
  testsec-fix --dry-run --format github tests/
                                        annotations in a GitHub Actions job
  testsec-fix --dry-run -o changes.diff tests/
                                        the report into a file, not stdout
  testsec-fix list                      the codemods
  testsec-fix explain TSF101            one codemod's documentation
  testsec-fix --stdin-filename tests/test_x.py -
                                        fix stdin, print the result

\b
Exit codes: 0 nothing found, 1 findings (fixed or not, unless suppressed; 0 with
--exit-zero), 2 errors, 130 interrupted.
Configuration: [tool.testsec-fix] in pyproject.toml (found by walking up from PATH).
A '# testsec: ignore[CODE]' (or bare '# testsec: ignore') comment on a finding's line,
or alone on the line before, leaves it unreported and unfixed.
"""


def main(args: Optional[Sequence[str]] = None, prog_name: str = "testsec-fix") -> None:
    """``testsec-fix [OPTIONS] PATH...`` fixes; ``testsec-fix list``, ``testsec-fix explain
    CODE`` and ``testsec-fix fleet MANIFEST`` are the only subcommands (a path of those
    names: ``./list``)."""
    args = list(sys.argv[1:] if args is None else args)
    sub = _SUBCOMMANDS.get(args[0]) if args else None
    if sub is not None:
        sub.main(args[1:], prog_name=f"{prog_name} {args[0]}")
    else:
        fix.main(args, prog_name=prog_name)


HELP = {"help_option_names": ["-h", "--help"]}


@click.command("testsec-fix", epilog=EPILOG, context_settings=HELP)
@click.version_option(__version__, prog_name="testsec-fix")
@click.argument("paths", nargs=-1, required=True, type=click.Path(), metavar="PATH...")
@click.option("--dry-run", "-n", is_flag=True, help="Print the diffs; write nothing.")
@click.option("--interactive", "-i", is_flag=True,
              help="Show each fix and ask whether to make it (like git add -p).")
@click.option("--select", metavar="CODES", help="Comma-separated codes (or prefixes) to run.")
@click.option("--ignore", metavar="CODES", help="Comma-separated codes (or prefixes) to skip.")
@click.option("--format", "fmt", type=click.Choice(["diff", "json", "sarif", "github"]),
              default="diff", show_default=True,
              help="diff: unified diffs; json: one record per finding; sarif: SARIF 2.1.0; "
                   "github: GitHub Actions annotations.")
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False),
              help="Write the report (diffs, json, sarif, github) to FILE, not stdout.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="pyproject.toml to read [tool.testsec-fix] from.")
@click.option("--fixtures-module", metavar="DOTTED",
              help="Module that holds the generic wait_until helper.")
@click.option("--jobs", "-j", type=int, default=None,
              help="Worker processes (default: the number of cores).")
@click.option("--color/--no-color", default=None, help="Color the diffs (default: on a terminal).")
@click.option("--quiet", "-q", is_flag=True, help="No summary or progress bar on stderr.")
@click.option("--unsafe-fixes", is_flag=True, default=None,
              help="Also apply the fixes of codemods whose fix is marked unsafe.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False),
              help="Where results are cached (default: .testsec-cache in the project root).")
@click.option("--exit-zero", is_flag=True,
              help="Exit 0 even when there are findings (2 still means errors).")
@click.option("--force-exclude", is_flag=True, default=None,
              help="Apply 'exclude' to files named on the command line too (as pre-commit "
                   "passes them).")
@click.option("--stdin-filename", metavar="PATH",
              help="With PATH '-': the path of the file read from stdin (for its config, "
                   "test folder and helper modules).")
def fix(paths: Sequence[str], dry_run: bool, select: Optional[str], ignore: Optional[str],
        fmt: str, output: Optional[str], config_path: Optional[str],
        fixtures_module: Optional[str], jobs: Optional[int], color: Optional[bool], quiet: bool,
        unsafe_fixes: Optional[bool], no_cache: bool, cache_dir: Optional[str],
        interactive: bool = False, exit_zero: bool = False,
        force_exclude: Optional[bool] = None, stdin_filename: Optional[str] = None) -> None:
    """Rewrite the Python test files under PATH... in place (or show the diffs). PATH '-'
    reads one file from stdin and prints it fixed (the diff with --dry-run)."""
    stdin = "-" in paths
    if stdin and (len(paths) > 1 or not stdin_filename or interactive):
        why = ("goes alone: one file from stdin" if len(paths) > 1 else
               "needs --stdin-filename PATH (for its config, test folder and helper modules)"
               if not stdin_filename else "is not for --interactive")
        click.echo(f"testsec-fix: '-' {why}", err=True)
        sys.exit(2)
    if interactive and (dry_run or fmt != "diff" or output or not sys.stdin.isatty()):
        why = ("is not for --dry-run" if dry_run else f"is not for --format {fmt}"
               if fmt != "diff" else "is not for --output: it shows the fixes on the terminal"
               if output else "needs a terminal on stdin: it asks fix by fix")
        click.echo(f"testsec-fix: --interactive {why}", err=True)
        sys.exit(2)
    where = stdin_filename if stdin else paths[0]
    try:
        config = load_config(config_path or find_config(where))
    except ConfigError as exc:
        click.echo(f"testsec-fix: {exc}", err=True)
        sys.exit(2)
    root = find_root(where)
    config = with_project_style(with_test_folders(config.with_options(
        select=_codes(select), ignore=_codes(ignore), fixtures_module=fixtures_module,
        unsafe_fixes=unsafe_fixes or None, force_exclude=force_exclude), root), root)
    wanted = (config.select or ()) + (config.ignore or ())
    known = list(known_names()) if wanted else []
    for code in wanted:
        if not any(k.startswith(code) for k in known):
            click.echo(f"testsec-fix: unknown code {code!r} (see 'testsec-fix list')", err=True)
            sys.exit(2)
    jobs = jobs or os.cpu_count() or 1
    if output and not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        click.echo(f"testsec-fix: --output {output}: no such folder", err=True)
        sys.exit(2)
    if output and (output.endswith((".py", ".pyi")) or os.path.islink(output)):
        click.echo(f"testsec-fix: --output {output}: not over a Python file or a link "
                   f"(a report goes to a file of its own)", err=True)
        sys.exit(2)
    sink = _Sink(output)
    colored = (sink.isatty() and not os.environ.get("NO_COLOR") if color is None else color) \
        and fmt == "diff"
    if not no_cache and not cache_dir:
        cache_dir = os.path.join(find_root(paths[0]), ".testsec-cache")
    results: List[FileResult] = []
    bar = _Progress(enabled=not quiet and sys.stderr.isatty())
    write = not dry_run and not interactive and not stdin
    try:
        if stdin:
            found = _from_stdin(stdin_filename, config)
        else:
            found = run(paths, config, write=write, jobs=jobs,
                        cache_dir=None if no_cache else cache_dir, progress=bar.update)
        for result in found:
            results.append(result)
            _report_file(result, fmt, sink, colored, quiet, interactive, stdin and not dry_run)
        bar.close()
        if interactive:
            results = _interactive(results, config, colored)
    except KeyboardInterrupt:
        bar.close()
        written = [_rel(r.path) for r in results if write and r.changed]
        listed = ": " + ", ".join(written[:5]) + (", ..." if len(written) > 5 else "") \
            if written else " (each file is whole: its old text or its new one)"
        click.echo(f"\ntestsec-fix: interrupted; {len(written)} files written{listed}",
                   err=True)
        sys.exit(130)
    if stdin and not dry_run and fmt == "diff":
        sink.write(results[0].after.encode(results[0].encoding, "surrogateescape"))
    if fmt == "json":
        sink.write(json.dumps(report.json_records(results), indent=2) + "\n")
    elif fmt == "sarif":
        sink.write(json.dumps(report.sarif(results, all_codemods(), applied=write),
                              indent=2) + "\n")
    elif fmt == "github":
        names = known_names()
        sink.write("".join(f"{line}\n" for line in
                           report.github_lines(results, names, applied=write)))
    try:
        sink.close()
    except (OSError, SourceError) as exc:
        click.echo(f"testsec-fix: --output {output}: {getattr(exc, 'strerror', None) or exc}",
                   err=True)
        sys.exit(2)
    if not quiet:
        _not_test_code(paths, config)
        if not stdin and not any(config.is_test_path(r.path) for r in results):
            click.echo(f"testsec-fix: no test files found under {', '.join(paths)} (test "
                       f"code: {_test_code(config)}; pytest's testpaths are read too; set "
                       f"test-dirs in [tool.testsec-fix] for others)", err=True)
        _summary(results, dry_run or stdin)
    sys.exit(exit_code(results, exit_zero))


def exit_code(results: Sequence[FileResult], exit_zero: bool = False) -> int:
    """As ruff's: 2 when a file could not be done, else 1 when anything was found that no
    ``# testsec: ignore`` covers (fixed or not) or a file changed, else 0. ``--exit-zero``:
    0 unless there are errors."""
    if any(r.error for r in results):
        return 2
    if exit_zero:
        return 0
    found = any(r.changed or report.reported(r) for r in results)
    return 1 if found else 0


def _report_file(result: FileResult, fmt: str, sink: "_Sink", colored: bool, quiet: bool,
                 interactive: bool, as_text: bool) -> None:
    """What is shown of one file as it comes: its error line, its diff, its findings that
    were not fixed."""
    if result.error:
        click.echo(f"{_rel(result.path)}: error: {result.error}", err=True)
    if fmt != "diff":
        return
    if result.changed and not interactive and not as_text:
        sink.write(_diff(result, colored))
    for finding in report.reported(result):
        if not finding.fixed and not quiet:
            click.echo(f"{_rel(result.path)}:{finding.line}:{finding.column + 1}: "
                       f"{finding.code} {finding.message}: not fixed: {finding.reason}",
                       err=True)


def _from_stdin(path: str, config) -> List[FileResult]:
    """The file read from stdin, fixed as if it were at ``path``; a fix that needs a helper
    module changed cannot be printed with it, so the text is then left as it was."""
    from .engine import fix_text
    from .source import SourceError, decode

    try:
        source = decode(click.get_binary_stream("stdin").read(), path)
    except SourceError as exc:
        return [FileResult(path, error=str(exc))]
    results = fix_text(source.text, path, config)
    results[0] = replace(results[0], encoding=source.encoding)
    needs = [h for h in results[1:] if h.changed or h.error]
    if needs and results[0].changed:
        why = (f"not fixed: the fix needs {_rel(needs[0].path)} changed too, which stdin "
               f"input cannot do; run testsec-fix on the file")
        return [replace(results[0], after=results[0].before, findings=tuple(
            replace(f, fixed=False, reason=why) if f.fixed else f
            for f in results[0].findings))]
    return results[:1]


def _not_test_code(paths: Sequence[str], config) -> None:
    """One line for the files named on the command line that are not test code."""
    named = [p for p in paths if p.endswith(".py") and os.path.isfile(p)
             and not config.is_test_path(p)]
    if named:
        click.echo(f"testsec-fix: not test code, left alone: {', '.join(named[:5])}"
                   f"{', ...' if len(named) > 5 else ''} (test code: {_test_code(config)})",
                   err=True)


def _test_code(config) -> str:
    return ", ".join([f"{d}/" for d in config.test_dirs] + list(config.test_files))


@click.command("list", context_settings=HELP)
def list_codemods() -> None:
    """List the codemods: code, name, fix safety, summary."""
    for cls in all_codemods():
        click.echo(f"{cls.code}  {cls.name:<24} {_fix(cls):<12} {cls.summary()}")


@click.command("explain", context_settings=HELP)
@click.argument("code")
def explain(code: str) -> None:
    """Print the documentation of codemod CODE (e.g. TSF101)."""
    try:
        cls = by_code(code)
    except KeyError:
        click.echo(f"testsec-fix: unknown codemod {code!r}; see 'testsec-fix list'", err=True)
        sys.exit(2)
    click.echo(f"# {cls.code} {cls.name} ({_fix(cls)})\n")
    click.echo(inspect.getdoc(cls))


@click.command("fleet")
@click.argument("manifest", type=click.Path(dir_okay=False))
@click.option("--out", "-o", default="fleet-out", show_default=True,
              type=click.Path(file_okay=False),
              help="Folder for the patches, reports and the campaign report.")
@click.option("--executor", default="local", show_default=True, metavar="local|dask://HOST:PORT",
              help="Local worker processes, or the Dask scheduler at HOST:PORT.")
@click.option("--jobs", "-j", type=int, default=None,
              help="Local worker processes (default: the number of cores).")
@click.option("--work-dir", type=click.Path(file_okay=False),
              help="Where git URLs are cloned (default: OUT/.work).")
@click.option("--force", is_flag=True, help="Run every repository, even unchanged ones.")
@click.option("--quiet", "-q", is_flag=True, help="No progress or summary on stderr.")
def fleet(manifest: str, out: str, executor: str, jobs: Optional[int], work_dir: Optional[str],
          force: bool, quiet: bool) -> None:
    """Fix every repository MANIFEST lists (a dry run: nothing is written into them): a
    patch, JSON, SARIF and errors per repository in OUT, and OUT/campaign.md and .html."""
    from . import fleet as api

    try:
        repos = api.load_manifest(manifest)
    except api.ManifestError as exc:
        click.echo(f"testsec-fix fleet: {exc}", err=True)
        sys.exit(2)
    shown = _FleetProgress(len(repos), enabled=not quiet and sys.stderr.isatty())
    try:
        outcomes = api.campaign(repos, out, executor=executor, jobs=jobs or 0,
                                work_dir=work_dir, force=force, progress=shown.update)
    except KeyboardInterrupt:
        click.echo("\ntestsec-fix fleet: interrupted; the repositories done so far are in "
                   f"{out}", err=True)
        sys.exit(130)
    except (ValueError, RuntimeError, OSError) as exc:
        click.echo(f"testsec-fix fleet: {exc}", err=True)
        sys.exit(2)
    shown.close()
    failed = [o for o in outcomes if o.status == "failed"]
    if not quiet:
        fixes = sum(sum(o.fixes.values()) for o in outcomes)
        click.echo(f"testsec-fix fleet: {len(outcomes)} repositories, {len(failed)} failed, "
                   f"{sum(o.status == 'skipped' for o in outcomes)} unchanged, {fixes} fixes; "
                   f"report: {os.path.join(out, 'campaign.md')}", err=True)
    found = any(o.fixes or o.declines or o.changed for o in outcomes)
    sys.exit(2 if failed or any(o.errors for o in outcomes) else 1 if found else 0)


class _FleetProgress:
    """Repositories done / total and the ones running, on one line of a terminal; a failed
    repository gets a line of its own wherever stderr goes."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.done, self.running = total, enabled, 0, []

    def update(self, event: str, value) -> None:
        if event == "running":
            self.running = value
        elif event == "done":
            self.done += 1
            if value.status == "failed":
                self._clear()
                click.echo(f"{value.name}: failed: {value.failure}", err=True)
        if self.enabled:
            now = ", ".join(self.running[:4]) + (", ..." if len(self.running) > 4 else "")
            line = f"fleet: {self.done}/{self.total} done" + (f"; running: {now}" if now else "")
            click.echo("\r\033[K" + line[:shutil_width()], nl=False, err=True)

    def _clear(self) -> None:
        if self.enabled:
            click.echo("\r\033[K", nl=False, err=True)

    def close(self) -> None:
        self._clear()


def shutil_width() -> int:
    import shutil
    return shutil.get_terminal_size().columns - 1


_SUBCOMMANDS = {"list": list_codemods, "explain": explain, "fleet": fleet}


class _Progress:
    """A progress bar on stderr for long runs on a terminal."""

    MIN_FILES = 200

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = None
        self.done = 0

    def update(self, done: int, total: int) -> None:
        if not self.enabled or total < self.MIN_FILES:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="testsec-fix", file=sys.stderr,
                                         show_pos=True)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _fix(cls) -> str:
    return {"report-only": "report only"}.get(cls.fix_safety(), f"{cls.fix_safety()} fix")


def all_codemods():
    from .registry import all_codemods as found  # imports LibCST: only when needed
    return found()


def known_names():
    from .registry import known_names as names  # reads the codemods' text, imports nothing
    return names()


def by_code(code: str):
    from .registry import by_code as find
    return find(code)


def _codes(value: Optional[str]):
    return tuple(c.strip().upper() for c in value.split(",") if c.strip()) if value else None


_rel = report.relpath


class _Sink:
    """Where the report goes: stdout as it comes, or FILE, written whole at the end (so it
    is never half-written). Text goes out as UTF-8; a diff as the bytes of its file's
    encoding."""

    def __init__(self, path: Optional[str]) -> None:
        self.path = path
        self.buffer = io.BytesIO()

    def isatty(self) -> bool:
        return self.path is None and click.get_text_stream("stdout").isatty()

    def write(self, data) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        if self.path is not None:
            self.buffer.write(data)
            return
        stream = click.get_binary_stream("stdout")
        stream.write(data)
        stream.flush()

    def close(self) -> None:
        if self.path is not None:
            replace_file(self.path, self.buffer.getvalue())


def _diff(result: FileResult, colored: bool):
    """The diff as bytes in the file's own encoding, so ``git apply`` finds the lines (as
    text when colored, for a terminal)."""
    if colored:
        return _color(result.diff(_rel(result.path)), True)
    return result.diff_bytes(_rel(result.path))


def _interactive(results: List[FileResult], config, colored: bool) -> List[FileResult]:
    """Ask fix by fix on the terminal, write what was accepted (``interactive.session``)."""
    from .interactive import session

    def ask(prompt: str) -> Optional[str]:
        click.echo(prompt, nl=False)
        line = sys.stdin.readline()  # a line, not a key: easy to type, to script, to test
        return line if line else None

    return session(results, config, show=lambda text: click.echo(
        _color(text, colored), nl=False, color=colored), ask=ask,
        say=lambda line: click.echo(line, err=True), rel=_rel)


def _color(diff: str, on: bool) -> str:
    if not on:
        return diff
    out = []
    for line in diff.splitlines(keepends=True):
        if line.startswith(("+++", "---")):
            out.append(click.style(line, bold=True))
        elif line.startswith("@@"):
            out.append(click.style(line, fg="cyan"))
        elif line.startswith("+"):
            out.append(click.style(line, fg="green"))
        elif line.startswith("-"):
            out.append(click.style(line, fg="red"))
        else:
            out.append(line)
    return "".join(out)


def _summary(results: List[FileResult], dry_run: bool) -> None:
    scanned = len(results)
    changed = sum(1 for r in results if r.changed)
    errors = sum(1 for r in results if r.error)
    counts = {"fixed": Counter(), "not fixed": Counter(), "suppressed": Counter()}
    for r in results:
        for f in r.findings:
            kind = "suppressed" if f.suppressed else "fixed" if f.fixed else "not fixed"
            counts[kind][f.code] += 1
    verb = "would change" if dry_run else "changed"
    parts = [f"{scanned} files scanned", f"{changed} {verb}", f"{errors} errors",
             f"{sum(counts['suppressed'].values())} suppressed"]
    click.echo("testsec-fix: " + ", ".join(parts), err=True)
    for code in sorted(set().union(*counts.values())):
        click.echo(f"  {code}: " + ", ".join(f"{c[code]} {kind}" for kind, c in counts.items()),
                   err=True)
