"""TSF102's fix across files: one credentials module per project, constant names unique in a
run, existing constants reused, literals in data files next to a test left alone."""
from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from testsec_fix import Config, fix_source, run

CREDS = "pkg/tests/fixtures/credentials.py"


def _project(tmp_path: Path, files: dict) -> Path:
    for name in ("pkg/__init__.py", "pkg/tests/__init__.py", "pkg/tests/fixtures/__init__.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    (tmp_path / "setup.py").write_text("")
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    return tmp_path


def _constants(path: Path) -> dict:
    tree = ast.parse(path.read_text())
    return {n.targets[0].id: ast.literal_eval(n.value) for n in tree.body
            if isinstance(n, ast.Assign)}


def test_names_are_unique_in_a_run_and_values_shared(tmp_path: Path) -> None:
    root = _project(tmp_path, {
        CREDS: '"""Fake credentials."""\n\nOLD_PASS = \'kept-0\'\n',
        "pkg/tests/test_a.py": """\
            def test_a(client):
                client.login(password='alpha-1')
                client.use(token='shared-9')
            """,
        "pkg/tests/test_b.py": """\
            def test_b(client):
                client.login(password='beta-2')
                client.use(auth_token='shared-9')
                client.login(password='kept-0')
                assert client.secret == 'beta-2'
            """,
    })
    results = list(run([str(root / "pkg")], Config(), write=True, root=str(root)))
    assert not [r.error for r in results if r.error]
    assert _constants(root / CREDS) == {"OLD_PASS": "kept-0", "PASSWORD": "alpha-1",
                                        "TOKEN": "shared-9", "PASSWORD_2": "beta-2"}
    b = (root / "pkg/tests/test_b.py").read_text()
    assert "from pkg.tests.fixtures import credentials\n" in b
    assert "password=credentials.PASSWORD_2" in b
    assert "auth_token=credentials.TOKEN" in b  # the value a earlier file named TOKEN
    assert "password=credentials.OLD_PASS" in b  # the constant that was there
    assert "client.secret == credentials.PASSWORD_2" in b
    assert "'" not in b.replace("'''", "")  # no literal left
    # A second run has nothing to do.
    again = list(run([str(root / "pkg")], Config(), write=True, root=str(root)))
    assert not any(r.changed for r in again)


def test_a_value_in_a_data_file_the_test_reads_is_left_alone(tmp_path: Path) -> None:
    root = _project(tmp_path, {
        "pkg/tests/samples/rebuild/req.json.tpl": '{"adminPass": "gamma-3"}\n',
        "pkg/tests/samples/other/req.json.tpl": '{"adminPass": "delta-4"}\n',
        "pkg/tests/test_c.py": """\
            class T:
                sample_dir = 'rebuild'

                def test_c(self):
                    self.post({'adminPass': 'gamma-3'})
                    self.post({'adminPass': 'delta-4'})
            """,
    })
    [result, creds] = run([str(root / "pkg/tests/test_c.py")], Config(), root=str(root))
    assert "'gamma-3'" in result.after and "credentials.ADMIN_PASS" in result.after
    declined = [f.reason for f in result.findings if not f.fixed]
    assert declined == ["its value is also in samples/rebuild/req.json.tpl next to the test "
                        "(a template or data file the fix cannot follow)"]
    assert creds.created and "ADMIN_PASS = 'delta-4'" in creds.after


def test_without_a_credentials_module_nothing_changes() -> None:
    result = fix_source("def test(c):\n    c.login(password='x-secret')\n",
                        path="tests/test_x.py")
    assert not result.changed
    assert [f.reason for f in result.findings][0].startswith("no credentials module")


def test_configured_words_and_ignored_names() -> None:
    text = "def test(c):\n    c.login(pin='8431', password='hunter22')\n"
    config = Config(credentials_module="tests.creds", credential_words=("pin",),
                    credential_ignore=("pass*",))
    result = fix_source(text, path="tests/test_x.py", config=config)
    assert "pin=creds.PIN" in result.after
    assert "password='hunter22'" in result.after
    assert [f.line for f in result.findings] == [2]


def test_a_warm_run_fixes_no_file_again_and_follows_the_files_before(
        tmp_path: Path, monkeypatch) -> None:
    """A file whose constant names clash with an earlier file's is fixed again knowing them;
    a re-run takes that result from the cache, until a file before it asks for others."""
    from testsec_fix import engine

    root = _project(tmp_path, {
        "pkg/tests/test_a.py": "def test_a(client):\n    client.login(password='alpha-1')\n",
        "pkg/tests/test_b.py": "def test_b(client):\n    client.login(password='beta-2')\n",
    })
    cache = str(tmp_path / "cache")

    def after() -> dict:
        results = run([str(root / "pkg")], Config(), root=str(root), cache_dir=cache)
        return {Path(r.path).name: r.after for r in results}

    first = after()
    assert "password=credentials.PASSWORD_2" in first["test_b.py"]
    calls = []
    real = engine.fix_source
    monkeypatch.setattr(engine, "fix_source", lambda *a, **k: calls.append(k) or real(*a, **k))
    assert after() == first
    assert calls == []
    # test_a no longer asks for PASSWORD: test_b's cached result (made knowing it) is stale.
    (root / "pkg/tests/test_a.py").write_text(
        "def test_a(client):\n    client.login(token='alpha-1')\n")
    assert "password=credentials.PASSWORD)" in after()["test_b.py"]


def _rounds(monkeypatch) -> list:
    """The rounds of a run's settling, each the (names of) files fixed again together."""
    from testsec_fix import constants, engine

    rounds: list = []

    def settle(results, fixable, root_of, existing, known, fix):
        def counted(wanted):
            rounds.append(sorted(Path(path).name for path, _, _ in wanted))
            return fix(wanted)
        return constants.settle(results, fixable, root_of, existing, known, counted)

    monkeypatch.setattr(engine, "settle", settle)
    return rounds


def test_files_fixed_again_are_fixed_together_as_path_order_wants(tmp_path: Path,
                                                                  monkeypatch) -> None:
    """Each file whose names clash with the files before it is fixed again knowing them;
    what each will ask for then is foreseen, so they are fixed in one round."""
    root = _project(tmp_path, {
        "pkg/tests/test_a.py": "def test(c):\n    c.login(password='v1')\n",
        "pkg/tests/test_b.py": "def test(c):\n    c.login(password='v2', token='t1')\n",
        "pkg/tests/test_c.py": "def test(c):\n    c.login(password='v3', secret='v1')\n",
        "pkg/tests/test_d.py": "def test(c):\n    c.login(admin_password='v2')\n"
                               "    c.check(password='v4')\n",
    })
    rounds = _rounds(monkeypatch)
    results = list(run([str(root / "pkg")], Config(), write=True, root=str(root)))
    assert not [r.error for r in results if r.error]
    assert rounds == [["test_b.py", "test_c.py", "test_d.py"]]
    assert _constants(root / CREDS) == {"PASSWORD": "v1", "PASSWORD_2": "v2", "TOKEN": "t1",
                                        "PASSWORD_3": "v3", "PASSWORD_4": "v4"}
    c = (root / "pkg/tests/test_c.py").read_text()
    assert "password=credentials.PASSWORD_3, secret=credentials.PASSWORD)" in c
    d = (root / "pkg/tests/test_d.py").read_text()
    assert "admin_password=credentials.PASSWORD_2)" in d  # the name test_b's value got
    assert "password=credentials.PASSWORD_4)" in d


def test_a_file_that_asks_for_other_names_than_foreseen_has_those_after_fixed_again(
        tmp_path: Path, monkeypatch) -> None:
    """test_b's value, renamed DEFAULT_RESCUE_PASSWORD_2, would make its line too long: it
    stays, so test_c, fixed again in the first round as if test_b had that name (and given
    _3), is fixed again in a second round, and gets that name."""
    line = "def test(c):\n    c.{}.default_rescue_password = '{}'\n"
    root = _project(tmp_path, {f"pkg/tests/test_{name}.py": line.format(where, value)
                               for name, where, value in (("a", "opt.extra1", "v1"),
                                                          ("b", "opt.extra1", "v2"),
                                                          ("c", "opt", "v3"))})
    rounds = _rounds(monkeypatch)
    results = {Path(r.path).name: r for r in run([str(root / "pkg")], Config(),
                                                  root=str(root))}
    assert rounds == [["test_b.py", "test_c.py"], ["test_c.py"]]
    assert "'v2'" in results["test_b.py"].after
    assert "credentials.DEFAULT_RESCUE_PASSWORD_2\n" in results["test_c.py"].after
    assert "DEFAULT_RESCUE_PASSWORD_2 = 'v3'" in results["credentials.py"].after
