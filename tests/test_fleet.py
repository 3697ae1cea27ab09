"""``testsec-fix fleet``: a campaign over small repositories generated here (a plain folder,
a git repository cloned from a file:// URL, one that fails), through the installed command;
the Dask path on a real LocalCluster; the HTML page in headless Chromium where installed."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_cli import SAMPLE, _snapshot, cli

from testsec_fix import fleet

WAIT = (SAMPLE / "sampleapp" / "tests" / "test_events.py").read_text()
SLEEP = '''\
import time


def test_blind():
    time.sleep(2)
'''
GIT = ["git", "-c", "user.email=t@t", "-c", "user.name=t", "-c", "init.defaultBranch=main"]


def make_repo(root: Path, files: dict, git: bool = False) -> Path:
    for rel, text in {"pyproject.toml": "[project]\nname = 'x'\n", **files}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    if git:
        subprocess.run(GIT[:-2] + ["init", "-q", "-b", "main"], cwd=root, check=True)
        commit(root)
    return root


def commit(root: Path) -> None:
    subprocess.run(GIT + ["add", "-A"], cwd=root, check=True)
    subprocess.run(GIT + ["commit", "-qm", "change"], cwd=root, check=True)


@pytest.fixture
def fleet_dir(tmp_path: Path) -> Path:
    """Three repositories and a manifest: a plain folder, a git repository named by a
    file:// URL, and a URL with nothing behind it."""
    make_repo(tmp_path / "plain", {"tests/test_events.py": WAIT})
    make_repo(tmp_path / "served", {"tests/test_events.py": WAIT, "tests/test_blind.py": SLEEP},
              git=True)
    (tmp_path / "fleet.txt").write_text(
        "# the campaign\n"
        "plain\n"
        f"file://{tmp_path / 'served'} rev=main name=served\n"
        f"file://{tmp_path / 'nowhere'} name=gone\n")
    return tmp_path


def state(out: Path) -> dict:
    return json.loads((out / fleet.STATE).read_text())


def rows(out: Path) -> dict:
    """repository -> its row of campaign.md, as cells."""
    found = {}
    for line in (out / "campaign.md").read_text().splitlines():
        if line.startswith("| ") and not line.startswith("| repository"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            found[cells[0]] = cells
    return found


def test_campaign_writes_a_patch_and_reports_per_repository_and_goes_on_past_a_failure(
        fleet_dir: Path) -> None:
    before = _snapshot(fleet_dir / "plain"), _snapshot(fleet_dir / "served")
    done = cli("fleet", "fleet.txt", "-o", "out", cwd=fleet_dir)
    out = fleet_dir / "out"
    assert done.returncode == 2, done.stderr  # a repository failed
    assert "gone: failed: git fetch:" in done.stderr
    assert "3 repositories, 1 failed" in done.stderr
    assert "fleet: 1/3" not in done.stderr  # no progress line when piped
    # Nothing is written into the repositories.
    assert (_snapshot(fleet_dir / "plain"), _snapshot(fleet_dir / "served")) == before
    for name in ("plain", "served"):
        assert {p.name for p in out.glob(f"{name}.*")} == {f"{name}.patch", f"{name}.json",
                                                            f"{name}.sarif"}
    assert (out / "gone.errors").read_text().startswith("failed: git fetch:")
    records = json.loads((out / "served.json").read_text())
    assert {(r["path"], r["code"], r["fixed"]) for r in records} == {
        ("tests/test_events.py", "TSF101", True), ("tests/test_blind.py", "TSF103", False)}
    sarif = json.loads((out / "served.sarif").read_text())
    assert sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"][
        "artifactLocation"]["uri"].startswith("tests/")
    table = rows(out)
    assert table["plain"][1:5] == ["done", "1", "1", "1"]  # files, changed, TSF101 fixes
    assert table["served"][1:6] == ["done", "2", "1", "1", "1"]  # ... and a declined sleep
    assert table["gone"][1].startswith("failed: git fetch:")
    assert table["**total**"][1:5] == ["3 repositories, 1 failed, 0 skipped", "3", "2", "2"]
    md = (out / "campaign.md").read_text()
    assert "| TSF103: " in md and "| served 1 |" in md  # declines by reason


def test_patch_is_a_mail_git_am_applies_on_a_fresh_clone(fleet_dir: Path) -> None:
    cli("fleet", "fleet.txt", "-o", "out", cwd=fleet_dir)
    patch = (fleet_dir / "out" / "served.patch").read_text()
    head, _, diff = patch.partition("\n---\n")
    assert head.startswith("From 0000000000000000000000000000000000000000 ")
    assert "Subject: [PATCH] Tests: 1 test hygiene fix (TSF101)" in head
    assert "  TSF101 sleep-polling-loop (1): Polling loops that sleep:" in head
    assert "  tests/test_events.py:13: TSF101 polling loop rewritten to done.wait()" in head
    assert "diff --git a/tests/test_events.py b/tests/test_events.py" in diff
    fresh = fleet_dir / "fresh"
    subprocess.run(["git", "clone", "-q", str(fleet_dir / "served"), str(fresh)], check=True)
    subprocess.run(GIT + ["am", "-q", str(fleet_dir / "out" / "served.patch")], cwd=fresh,
                   check=True)
    log = subprocess.run(["git", "log", "-1", "--format=%s"], cwd=fresh, capture_output=True,
                         text=True).stdout
    assert log.strip() == "Tests: 1 test hygiene fix (TSF101)"
    # The applied patch is what the fix in place makes.
    in_place = fleet_dir / "in-place"
    shutil.copytree(fleet_dir / "served", in_place)
    cli("tests", "--no-cache", cwd=in_place)
    assert (fresh / "tests/test_events.py").read_text() == \
        (in_place / "tests/test_events.py").read_text() != WAIT


def test_rerun_skips_unchanged_repositories_and_runs_changed_ones(fleet_dir: Path) -> None:
    cli("fleet", "fleet.txt", "-o", "out", cwd=fleet_dir)
    out = fleet_dir / "out"
    first = state(out)
    assert set(first) == {"plain", "served"}  # a failed repository is tried again
    assert first["plain"]["revision"].startswith("tree:")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=fleet_dir / "served",
                          capture_output=True, text=True).stdout.strip()
    assert first["served"]["revision"] == head
    patch = (out / "served.patch").read_bytes()

    again = cli("fleet", "fleet.txt", "-o", "out", cwd=fleet_dir)
    assert "2 unchanged" in again.stderr
    table = rows(out)
    assert table["plain"][1] == table["served"][1] == "unchanged (skipped)"
    assert table["plain"][2:5] == ["1", "1", "1"]  # the numbers of the run before
    assert (out / "served.patch").read_bytes() == patch

    # A new commit upstream and a changed plain folder are run again; a removed report too.
    (fleet_dir / "served/tests/test_blind.py").unlink()
    commit(fleet_dir / "served")
    (fleet_dir / "plain/tests/test_more.py").write_text(SLEEP)
    third = cli("fleet", "fleet.txt", "-o", "out", cwd=fleet_dir)
    assert "0 unchanged" in third.stderr
    table = rows(out)
    assert table["plain"][1:3] == ["done", "2"] and table["served"][1:3] == ["done", "1"]
    (out / "plain.json").unlink()
    fourth = cli("fleet", "fleet.txt", "-o", "out", cwd=fleet_dir)
    assert rows(out)["plain"][1] == "done" and rows(out)["served"][1] == "unchanged (skipped)"
    assert "1 unchanged" in fourth.stderr
    assert "0 unchanged" in cli("fleet", "fleet.txt", "-o", "out", "--force",
                                cwd=fleet_dir).stderr


def test_url_at_a_commit_is_checked_out_at_that_commit(fleet_dir: Path) -> None:
    served = fleet_dir / "served"
    first = subprocess.run(["git", "rev-parse", "HEAD"], cwd=served, capture_output=True,
                           text=True).stdout.strip()
    (served / "tests/test_blind.py").unlink()
    commit(served)
    (fleet_dir / "fleet.toml").write_text(
        f'[[repo]]\nurl = "file://{served}"\nrev = "{first}"\nname = "old"\n'
        f'[[repo]]\nurl = "file://{served}"\nname = "new"\n')
    cli("fleet", "fleet.toml", "-o", "out", cwd=fleet_dir)
    table = rows(fleet_dir / "out")
    assert table["old"][1:3] == ["done", "2"] and table["new"][1:3] == ["done", "1"]
    assert state(fleet_dir / "out")["old"]["revision"] == first


def test_revision_of_a_git_work_tree_counts_uncommitted_changes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"tests/test_a.py": SLEEP}, git=True)
    clean = fleet.revision_of(str(repo))
    (repo / "tests/test_a.py").write_text(SLEEP + "\n")
    dirty = fleet.revision_of(str(repo))
    assert dirty.startswith(clean + "+") and dirty != clean
    (repo / "tests/test_b.py").write_text(SLEEP)
    assert fleet.revision_of(str(repo)) not in (clean, dirty)


def test_declines_by_reason_groups_reasons_that_differ_in_particulars() -> None:
    outcomes = [
        fleet.Outcome("a", "done", declines={
            "TSF102: its value is also the value of 'key' (line 12), which is not a "
            "credential": 2,
            "TSF102: its value is also the value of 'user' (line 40), which is not a "
            "credential": 1,
            "TSF103: report only: what the sleep waits for is not in the code": 1}),
        fleet.Outcome("b", "done", declines={
            "TSF102: its value is also the value of 'x' (line 3), which is not a "
            "credential": 4}),
    ]
    assert fleet.declines_by_reason(outcomes) == [
        ("TSF102: its value is also the value of '...' (line N), which is not a credential",
         7, "a 3, b 4"),
        ("TSF103: report only: what the sleep waits for is not in the code", 1, "a 1")]


def test_toml_manifest_with_per_repository_settings(tmp_path: Path) -> None:
    make_repo(tmp_path / "a", {"tests/test_events.py": WAIT, "tests/test_blind.py": SLEEP,
                               "other/tests/test_x.py": WAIT})
    (tmp_path / "fleet.toml").write_text(
        '[[repo]]\npath = "a"\nname = "only-sleeps"\nselect = ["TSF103"]\npaths = ["tests"]\n'
        '[[repo]]\npath = "a"\nname = "all"\n')
    done = cli("fleet", "fleet.toml", "-o", "out", cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # findings, no errors
    table = rows(tmp_path / "out")
    assert table["only-sleeps"][1:4] == ["done", "2", "0"]
    assert table["all"][1:4] == ["done", "3", "2"]
    assert not (tmp_path / "out" / "only-sleeps.patch").exists()


@pytest.mark.parametrize("text, message", [
    ("[[repo]]\npath = 'a'\ncolour = 'red'\n", "fleet.toml: repo 1: unknown setting 'colour'"),
    ("[[repo]]\nurl = 'file:///x'\npath = 'a'\n", "give either path or url"),
    ("[[repo]]\npath = 'a'\n[[repo]]\npath = 'b/a'\n", "a second repository named 'a'"),
    ("[[repo]]\npath = 'a'\nname = '../x'\n", "name '../x': use letters"),
])
def test_bad_manifest_is_an_error_naming_the_entry(tmp_path: Path, text: str,
                                                   message: str) -> None:
    (tmp_path / "fleet.toml").write_text(text)
    done = cli("fleet", "fleet.toml", cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert not (tmp_path / "fleet-out").exists()


def test_text_manifest_setting_without_value_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "fleet.txt").write_text("a\nb select\n")
    done = cli("fleet", "fleet.txt", cwd=tmp_path)
    assert done.returncode == 2
    assert "fleet.txt:2: 'select': settings are key=value" in done.stderr


def test_progress_on_a_terminal(fleet_dir: Path) -> None:
    import pty

    main, side = pty.openpty()
    exe = Path(sys.executable).parent / "testsec-fix"
    proc = subprocess.Popen([str(exe), "fleet", "fleet.txt", "-o", "out"], cwd=fleet_dir,
                            stderr=side, stdout=subprocess.DEVNULL)
    os.close(side)
    chunks = []
    try:
        for chunk in iter(lambda: os.read(main, 4096), b""):
            chunks.append(chunk)
    except OSError:  # EIO: the command closed its side of the terminal
        pass
    os.close(main)
    shown = b"".join(chunks)
    assert proc.wait(timeout=120) == 2
    text = shown.decode()
    assert "fleet: 3/3 done" in text and "fleet: 1/3 done" in text
    assert "gone: failed:" in text


def test_unknown_executor_is_an_error(fleet_dir: Path) -> None:
    done = cli("fleet", "fleet.txt", "--executor", "ray://x", cwd=fleet_dir)
    assert done.returncode == 2
    assert "executor 'ray://x': 'local' or 'dask://HOST:PORT'" in done.stderr


@pytest.mark.skipif(importlib.util.find_spec("distributed") is None,
                    reason="Dask distributed is not installed (pip install 'testsec-fix[fleet]')")
def test_dask_local_cluster_gives_the_same_patches(fleet_dir: Path) -> None:
    from distributed import LocalCluster

    cli("fleet", "fleet.txt", "-o", "local", cwd=fleet_dir)
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None) as cluster:
        address = cluster.scheduler_address.replace("tcp://", "dask://")
        done = cli("fleet", "fleet.txt", "-o", "dask", "--executor", address, cwd=fleet_dir)
        workers = len(cluster.scheduler_info["workers"])
    assert workers == 2
    assert done.returncode == 2, done.stderr
    assert "gone: failed:" in done.stderr and "3 repositories, 1 failed" in done.stderr
    for name in ("plain.patch", "served.patch", "served.json", "plain.sarif"):
        assert (fleet_dir / "dask" / name).read_bytes() == (fleet_dir / "local" / name).read_bytes()
    assert rows(fleet_dir / "dask")["served"][1:6] == ["done", "2", "1", "1", "1"]


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_html_report_is_self_contained_with_a_chart(fleet_dir: Path) -> None:
    cli("fleet", "fleet.txt", "-o", "out", cwd=fleet_dir)
    page = (fleet_dir / "out" / "campaign.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    # Nothing to fetch: no script, style sheet or image from elsewhere.
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', page)
    assert "<script" in page  # plotly.js, inlined (or no chart at all)
    assert '<table id="repositories">' in page and "<td>served</td>" in page
    if importlib.util.find_spec("plotly") is None:
        assert "No chart: install plotly or matplotlib" in page
        return
    assert 'id="fixes-chart"' in page and "Fixes by codemod and repository" in page
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium to render the page in (apt-get install chromium)")
    shown = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                            "--virtual-time-budget=10000", "--dump-dom",
                            (fleet_dir / "out" / "campaign.html").as_uri()],
                           capture_output=True, text=True, timeout=120)
    dom = shown.stdout
    # plotly.js drew the chart: an SVG with a bar per repository and codemod.
    assert 'class="main-svg"' in dom, shown.stderr[-2000:]
    assert dom.count('class="point"') >= 2
    assert re.search(r'class="legendtext"[^>]*>TSF101<', dom)  # named even when alone
    assert "<td>served</td>" in dom
