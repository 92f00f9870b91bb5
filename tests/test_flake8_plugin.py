"""The flake8 plugin: real flake8 runs on the example app and on small projects,
and the plugin class is driven directly for what flake8 rarely shows."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterable, Optional, Set, Tuple

import pytest

from poollint import engine, flake8_plugin
from poollint.cache import CACHE_DIR_ENV, CACHE_DIR_NAME
from poollint.flake8_plugin import Plugin, check_lines, source_bytes
from poollint.rule import RuleScope
from poollint.rules import ALL_RULES

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "examples" / "shop"
README = ROOT / "README.md"
FILE_CODES = {rule.CODE for rule in ALL_RULES if rule.SCOPE is RuleScope.FILE}
ENTRY_POINT = "poollint.flake8_plugin:Plugin"


def _plugin_installed() -> bool:
    """Whether flake8 can find the plugin: flake8 importable, and the POL
    entry point in the installed distribution's metadata."""
    try:
        import flake8  # noqa: F401
    except ImportError:
        return False
    points = importlib.metadata.entry_points()
    if hasattr(points, "select"):
        group = points.select(group="flake8.extension")
    else:  # Python 3.9
        group = points.get("flake8.extension", ())  # type: ignore[attr-defined]
    return any(point.name == "POL" and point.value == ENTRY_POINT for point in group)


needs_flake8 = pytest.mark.skipif(
    not _plugin_installed(),
    reason=f"flake8 or the POL = {ENTRY_POINT} entry point (flake8.extension) is not installed; "
    "`pip install -e '.[test]'` installs both",
)

LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]+\d+) (?P<message>.*)$")
Finding = Tuple[str, int, int, str, str]
Place = Tuple[str, int, int, str]


@pytest.fixture(autouse=True)
def _fresh_plugin_state(monkeypatch):
    # Settings and projects are remembered for a flake8 run; tests write new ones.
    monkeypatch.setattr(flake8_plugin, "_SETTINGS", {})
    monkeypatch.setattr(flake8_plugin, "_PROJECTS", {})
    monkeypatch.setattr(flake8_plugin, "_WANTED", None)
    monkeypatch.setattr(flake8_plugin, "_PATHS", None)
    # Each project keeps its cache in its own directory.
    monkeypatch.delenv(CACHE_DIR_ENV, raising=False)


def _run(args, cwd: Path, stdin: Optional[str] = None) -> subprocess.CompletedProcess:
    # This checkout's poollint, whichever installed distribution the entry point came with.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])))
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, input=stdin, capture_output=True, text=True, env=env, timeout=600
    )


def _flake8(*args: str, cwd: Path, stdin: Optional[str] = None) -> subprocess.CompletedProcess:
    result = _run(["flake8", *args], cwd, stdin)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _findings(output: str, cwd: Path) -> Set[Finding]:
    found = set()
    for line in output.splitlines():
        match = LINE.match(line)
        if match is None:
            continue
        path = (cwd / match["path"]).resolve().relative_to(cwd.resolve()).as_posix()
        found.add((path, int(match["line"]), int(match["col"]), match["code"], match["message"]))
    return found


def _places(findings: Iterable[Finding]) -> Set[Place]:
    """(path, line, column, code): the messages differ in `[*]`, which flake8 does not print."""
    return {finding[:4] for finding in findings}


def _python_places(check: subprocess.CompletedProcess, cwd: Path) -> Set[Place]:
    """Where `poollint check` reports in Python files, the only files flake8 checks."""
    return {place for place in _places(_findings(check.stdout, cwd)) if place[0].endswith(".py")}


def _write(root: Path, files: dict) -> None:
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


# SQLite: no pool settings to ask for (POL301), so that only the two rules of scope file speak.
ECHO_AND_PASSWORD = """
from sqlalchemy import create_engine

engine = create_engine("sqlite:///shop.db", echo=True)
REPORTS_URL = "postgresql://reports:s3cret@db/reports"
"""
PASSWORD_ONLY = """
ADMIN_URL = "postgresql://admin:hunter2@db/shop"
"""


# -- real flake8 --------------------------------------------------------------------------


def _shop_copy(tmp_path: Path) -> Path:
    shop = tmp_path / "shop"
    shutil.copytree(SHOP, shop, ignore=shutil.ignore_patterns(CACHE_DIR_NAME, "__pycache__"))
    return shop


@needs_flake8
def test_flake8_reports_what_poollint_check_reports_in_python_files(tmp_path: Path) -> None:
    shop = _shop_copy(tmp_path)
    flake8 = _flake8("--select", "POL", ".", cwd=shop)
    check = _run(["poollint", "check", "--no-cache", "."], shop)
    assert check.returncode == 1, check.stderr
    found = _places(_findings(flake8.stdout, shop))
    assert found == _python_places(check, shop)
    assert flake8.returncode == 1
    # Not just the rules that need only their file: the example app shows
    # every rule on by default, and all but the one reporting in
    # requirements.txt reach flake8.
    default_codes = {rule.CODE for rule in ALL_RULES if rule.DEFAULT_ENABLED}
    reported = {place[3] for place in found}
    assert reported >= FILE_CODES and reported - FILE_CODES
    assert reported == default_codes - {"POL311"}
    # ... which `poollint check` reports at the pin, in a file flake8 does not read.
    assert {place[:2] + place[3:] for place in _places(_findings(check.stdout, shop)) - found} == {
        ("requirements.txt", 4, "POL311")
    }


@needs_flake8
def test_flake8_on_two_jobs_reports_what_it_reports_on_one(tmp_path: Path) -> None:
    shop = _shop_copy(tmp_path)
    # Each worker process reads the project for itself: once with the cache
    # empty, once with it filled by the first run.
    one = _flake8("--select", "POL", "-j1", ".", cwd=shop)
    two = _flake8("--select", "POL", "-j2", ".", cwd=shop)
    assert sorted(two.stdout.splitlines()) == sorted(one.stdout.splitlines())
    assert len(_places(_findings(one.stdout, shop))) > 20
    assert (one.returncode, two.returncode) == (1, 1)


def _readme_flake8_config() -> str:
    section = README.read_text(encoding="utf-8").split("\n## flake8\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```ini\n(.*?)```", section, re.DOTALL)
    assert found is not None, "the README's flake8 section lost its config snippet"
    return found.group(1)


@needs_flake8
@pytest.mark.parametrize("config_name", [".flake8", "setup.cfg", "tox.ini"])
def test_extend_select_from_the_readme_keeps_pol_on_beside_a_select(tmp_path: Path, config_name: str) -> None:
    _write(tmp_path, {"app/db.py": ECHO_AND_PASSWORD})
    # A project whose own `select` would leave every plugin's codes out.
    (tmp_path / config_name).write_text("[flake8]\nselect = E9\n", encoding="utf-8")
    without = _flake8(".", cwd=tmp_path)
    assert (without.returncode, without.stdout) == (0, "")
    (tmp_path / config_name).write_text(_readme_flake8_config() + "select = E9\n", encoding="utf-8")
    with_snippet = _flake8(".", cwd=tmp_path)
    assert {(f[0], f[1], f[3]) for f in _findings(with_snippet.stdout, tmp_path)} == {
        ("app/db.py", 3, "POL305"),
        ("app/db.py", 4, "POL501"),
    }
    assert with_snippet.returncode == 1


@needs_flake8
def test_tool_poollint_ignore_per_file_ignores_and_excludes_are_honoured(tmp_path: Path) -> None:
    project = tmp_path / "project"
    _write(
        project,
        {
            "pyproject.toml": """
                [tool.poollint]
                ignore = ["POL305"]
                extend-exclude = ["generated"]

                [tool.poollint.per-file-ignores]
                "app/settings.py" = ["POL501"]
            """,
            "app/__init__.py": "",
            "app/db.py": ECHO_AND_PASSWORD,
            "app/settings.py": PASSWORD_ONLY,
            "app/other.py": PASSWORD_ONLY,
            "generated/dump.py": PASSWORD_ONLY,
        },
    )
    # Run from outside the project: the plugin finds its pyproject.toml from each file.
    flake8 = _flake8("--select", "POL", "project", cwd=tmp_path)
    found = _findings(flake8.stdout, tmp_path)
    assert {(f[0], f[1], f[3]) for f in found} == {
        ("project/app/db.py", 4, "POL501"),
        ("project/app/other.py", 1, "POL501"),
    }
    check = _run(["poollint", "check", "--no-cache", "project"], tmp_path)
    assert _places(found) == _python_places(check, tmp_path)


@needs_flake8
def test_flake8_selection_and_per_file_ignores_apply_on_top(tmp_path: Path) -> None:
    _write(tmp_path, {"app/db.py": ECHO_AND_PASSWORD, "app/settings.py": PASSWORD_ONLY})
    flake8 = _flake8("--select", "POL", "--extend-ignore", "POL305", "--per-file-ignores", "app/settings.py:POL", ".", cwd=tmp_path)
    assert {(f[0], f[3]) for f in _findings(flake8.stdout, tmp_path)} == {("app/db.py", "POL501")}


@needs_flake8
def test_a_syntax_error_is_flake8s_e999_and_the_other_files_are_checked(tmp_path: Path) -> None:
    _write(tmp_path, {"bad.py": "def broken(:\n    pass\n", "good.py": PASSWORD_ONLY})
    flake8 = _flake8("--select", "POL,E999", ".", cwd=tmp_path)
    assert {(f[0], f[3]) for f in _findings(flake8.stdout, tmp_path)} == {("bad.py", "E999"), ("good.py", "POL501")}
    assert flake8.returncode == 1


@needs_flake8
def test_stdin_is_checked_under_its_display_name(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {"pyproject.toml": '[tool.poollint.per-file-ignores]\n"app/db.py" = ["POL501"]\n'},
    )
    source = textwrap.dedent(ECHO_AND_PASSWORD).lstrip("\n")
    flake8 = _flake8("--select", "POL", "--stdin-display-name", "app/db.py", "-", cwd=tmp_path, stdin=source)
    # Nothing named app/db.py exists: the source came from stdin, the per-file ignore from the name.
    assert not (tmp_path / "app").exists()
    column = source.splitlines()[2].index("echo") + 1
    assert [(f[0], f[1], f[2], f[3]) for f in _findings(flake8.stdout, tmp_path)] == [("app/db.py", 3, column, "POL305")]


# A route module that blocks only through a helper defined in another module.
BLOCKING_HELPER = """
import time


def wait_for_replica():
    time.sleep(0.5)
"""
ROUTES_CALLING_THE_HELPER = """
from fastapi import APIRouter

from app.utils import wait_for_replica

router = APIRouter()


@router.get("/orders")
async def list_orders():
    wait_for_replica()
    return []
"""
ROUTES_NOT_CALLING_IT = ROUTES_CALLING_THE_HELPER.replace("    wait_for_replica()\n", "")
HELPER_CALL = ("app/routes.py", 10, 5, "POL101")


def _helper_project(root: Path, routes: str = ROUTES_CALLING_THE_HELPER, config: bool = True) -> None:
    files = {"app/__init__.py": "", "app/utils.py": BLOCKING_HELPER, "app/routes.py": routes}
    if config:
        files["pyproject.toml"] = "[tool.poollint]\n"
    _write(root, files)


@needs_flake8
def test_a_helper_defined_in_another_module_is_followed(tmp_path: Path) -> None:
    _helper_project(tmp_path)
    # flake8 checks the route's module alone; the plugin still reads the
    # rest of the project under [tool.poollint], as `poollint check` does.
    flake8 = _flake8("--select", "POL", "app/routes.py", cwd=tmp_path)
    assert _places(_findings(flake8.stdout, tmp_path)) == {HELPER_CALL}
    check = _run(["poollint", "check", "--no-cache", "app/routes.py"], tmp_path)
    assert _python_places(check, tmp_path) == {HELPER_CALL}
    # Its facts are kept where `poollint check` keeps them, for the next run of either.
    assert (tmp_path / CACHE_DIR_NAME).is_dir()


@needs_flake8
def test_without_a_configuration_the_index_holds_what_flake8_was_given(tmp_path: Path) -> None:
    _helper_project(tmp_path, config=False)
    # As `poollint check PATHS` without a configuration file: the helper is
    # known when its module is among the paths, not otherwise.
    for paths, expected in ((["app"], {HELPER_CALL}), (["app/routes.py"], set()), (["app/routes.py", "app/utils.py"], {HELPER_CALL})):
        flake8 = _flake8("--select", "POL", *paths, cwd=tmp_path)
        check = _run(["poollint", "check", "--no-cache", *paths], tmp_path)
        assert _places(_findings(flake8.stdout, tmp_path)) == _python_places(check, tmp_path) == expected, paths


@needs_flake8
def test_stdin_is_checked_with_the_project_on_disk_around_it(tmp_path: Path) -> None:
    _helper_project(tmp_path, routes=ROUTES_NOT_CALLING_IT)
    assert _flake8("--select", "POL", "app/routes.py", cwd=tmp_path).stdout == ""
    # An editor's unsaved text on stdin: the call in it, the helper on disk.
    unsaved = textwrap.dedent(ROUTES_CALLING_THE_HELPER).lstrip("\n")
    flake8 = _flake8("--select", "POL", "--stdin-display-name", "app/routes.py", "-", cwd=tmp_path, stdin=unsaved)
    assert _places(_findings(flake8.stdout, tmp_path)) == {HELPER_CALL}
    # And the other way round: what is on disk is not what is checked.
    _helper_project(tmp_path, routes=ROUTES_CALLING_THE_HELPER)
    saved = textwrap.dedent(ROUTES_NOT_CALLING_IT).lstrip("\n")
    flake8 = _flake8("--select", "POL", "--stdin-display-name", "app/routes.py", "-", cwd=tmp_path, stdin=saved)
    assert flake8.stdout == ""


@needs_flake8
def test_workers_from_a_dockerfile_reach_a_finding_in_python(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": "[tool.poollint]\n",
            "Dockerfile": 'FROM python:3.12-slim\nCMD ["uvicorn", "app.main:app", "--workers", "8"]\n',
            "app/__init__.py": "",
            "app/main.py": """
                from fastapi import FastAPI
                from sqlalchemy import create_engine

                app = FastAPI()
                engine = create_engine(
                    "postgresql+psycopg://app@db/shop",
                    pool_size=20,
                    max_overflow=10,
                    pool_recycle=1800,
                    pool_pre_ping=True,
                )
            """,
        },
    )
    flake8 = _flake8("--select", "POL", ".", cwd=tmp_path)
    check = _run(["poollint", "check", "--no-cache", "."], tmp_path)
    found = _findings(flake8.stdout, tmp_path)
    assert {place[3] for place in _places(found)} == {"POL310"}
    assert _places(found) == _python_places(check, tmp_path)
    # (20 + 10) x 8 workers, the 8 read from the Dockerfile.
    assert "240" in next(iter(found))[4]


@needs_flake8
def test_calls_ruff_reports_are_left_to_ruff_as_poollint_check_leaves_them(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": "[tool.poollint]\n",
            "app/routes.py": """
                import requests
                from fastapi import APIRouter

                router = APIRouter()


                @router.get("/rates")
                async def rates():
                    return requests.get("https://rates.example").json()
            """,
        },
    )
    blocking_http = {("app/routes.py", 9, 12, "POL102")}
    assert _places(_findings(_flake8("--select", "POL", ".", cwd=tmp_path).stdout, tmp_path)) == blocking_http
    # ruff, configured to report ASYNC210, reports that call itself.
    with open(tmp_path / "pyproject.toml", "a", encoding="utf-8") as handle:
        handle.write('[tool.ruff.lint]\nselect = ["ASYNC"]\n')
    check = _run(["poollint", "check", "--no-cache", "."], tmp_path)
    assert _python_places(check, tmp_path) == set()
    assert _flake8("--select", "POL", ".", cwd=tmp_path).stdout == ""


@needs_flake8
def test_files_elsewhere_that_cannot_be_read_are_left_out_of_the_index(tmp_path: Path) -> None:
    _helper_project(tmp_path)
    (tmp_path / "app" / "broken.py").write_text("def broken(:\n", encoding="utf-8")
    (tmp_path / "app" / "latin.py").write_bytes(b"NAME = '\xe9'\n")
    (tmp_path / "app" / "gone.py").symlink_to(tmp_path / "app" / "missing.py")
    flake8 = _flake8("--select", "POL", "app/routes.py", cwd=tmp_path)
    assert _places(_findings(flake8.stdout, tmp_path)) == {HELPER_CALL}
    check = _run(["poollint", "check", "--no-cache", "app/routes.py"], tmp_path)
    assert _python_places(check, tmp_path) == {HELPER_CALL}


@needs_flake8
@pytest.mark.parametrize(
    "config, flake8_select",
    [('[tool.poollint]\nselect = ["POL305", "POL501"]\n', "POL"), ("[tool.poollint]\n", "POL305,POL501")],
    ids=["tool-poollint-select", "flake8-select"],
)
def test_rules_of_scope_file_alone_read_no_other_file(tmp_path: Path, config: str, flake8_select: str) -> None:
    _helper_project(tmp_path)
    _write(tmp_path, {"pyproject.toml": config, "app/db.py": ECHO_AND_PASSWORD})
    flake8 = _flake8("--select", flake8_select, ".", cwd=tmp_path)
    assert {(f[0], f[1], f[3]) for f in _findings(flake8.stdout, tmp_path)} == {
        ("app/db.py", 3, "POL305"),
        ("app/db.py", 4, "POL501"),
    }
    # No project was read: no facts were cached.
    assert not (tmp_path / CACHE_DIR_NAME).exists()


@needs_flake8
def test_noqa_comments_are_left_to_flake8(tmp_path: Path) -> None:
    _write(tmp_path, {"db.py": 'ADMIN_URL = "postgresql://admin:hunter2@db/shop"  # noqa: POL501\n'})
    assert _flake8("--select", "POL", ".", cwd=tmp_path).stdout == ""
    # flake8 sees the finding and drops it itself: --disable-noqa shows it.
    shown = _flake8("--select", "POL", "--disable-noqa", ".", cwd=tmp_path)
    assert {f[3] for f in _findings(shown.stdout, tmp_path)} == {"POL501"}


@needs_flake8
def test_unused_noqa_is_left_to_flake8(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": '[tool.poollint]\nextend-select = ["POL905"]\n',
            "m.py": """
                import asyncio


                async def refresh_cache():
                    await asyncio.sleep(1)  # noqa: POL101
            """,
        },
    )
    check = _run(["poollint", "check", "--no-cache", "."], tmp_path)
    assert _python_places(check, tmp_path) == {("m.py", 5, 29, "POL905")}
    # flake8 reads the comment itself; the plugin sees no comment to judge.
    assert _flake8("--select", "POL", ".", cwd=tmp_path).stdout == ""


@needs_flake8
def test_a_configuration_poollint_cannot_use_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    _write(tmp_path, {"pyproject.toml": '[tool.poollint]\nselect = ["POL999"]\n', "db.py": PASSWORD_ONLY})
    flake8 = _flake8("--select", "POL", ".", cwd=tmp_path)
    [(path, line, col, code, message)] = _findings(flake8.stdout, tmp_path)
    assert (path, line, col, code) == ("db.py", 1, 1, "POL904")
    assert "pyproject.toml" in message and "POL999" in message
    assert flake8.returncode == 1


# -- the plugin class, without flake8 ---------------------------------------------------------


def _lines(source: str):
    return textwrap.dedent(source).lstrip("\n").splitlines(keepends=True)


def test_the_plugin_yields_flake8s_zero_based_columns(tmp_path: Path) -> None:
    lines = _lines(ECHO_AND_PASSWORD)
    filename = str(tmp_path / "db.py")  # never written: the plugin reads the lines it is given
    found = list(Plugin(ast.parse("".join(lines)), filename, lines).run())
    assert [(line, col, text.split(" ", 1)[0], kind) for line, col, text, kind in found] == [
        (3, lines[2].index("echo"), "POL305", Plugin),
        (4, lines[3].index('"postgresql'), "POL501", Plugin),
    ]
    # poollint's own columns are 1-based.
    assert [d.column for d in check_lines(filename, lines)] == [col + 1 for _, col, _, _ in found]


def test_the_plugin_reads_flake8s_tree_for_pass_one(tmp_path: Path, monkeypatch) -> None:
    lines = _lines(PASSWORD_ONLY)
    tree = ast.parse("".join(lines))
    seen = []
    real = engine.read_facts

    def spy(path, root, source=None, tree=None):  # type: ignore[no-untyped-def]
        seen.append(tree)
        return real(path, root, source, tree)

    monkeypatch.setattr(engine, "read_facts", spy)
    assert [d.code for d in check_lines(str(tmp_path / "db.py"), lines, tree)] == ["POL501"]
    assert seen == [tree]


def test_a_file_without_any_trigger_of_the_file_rules_is_not_read_at_all(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(engine, "read_facts", lambda *args: pytest.fail("pass 1 ran"))
    lines = _lines("def f():\n    return 1\n")
    assert check_lines(str(tmp_path / "m.py"), lines, wanted=lambda code: code in FILE_CODES) == []


def _counting_read_facts(monkeypatch) -> list:
    """The files pass 1 reads from now on."""
    read = []
    real = engine.read_facts

    def counting(path, root, source=None, tree=None):  # type: ignore[no-untyped-def]
        read.append(Path(path).name)
        return real(path, root, source, tree)

    monkeypatch.setattr(engine, "read_facts", counting)
    return read


def _check_routes(root: Path) -> list:
    routes = root / "app" / "routes.py"
    lines = routes.read_text(encoding="utf-8").splitlines(keepends=True)
    return [(d.line, d.column, d.code) for d in check_lines(str(routes), lines, ast.parse("".join(lines)))]


def test_the_project_is_read_once_per_process_and_its_facts_kept_in_the_cache(tmp_path: Path, monkeypatch) -> None:
    _helper_project(tmp_path)
    read = _counting_read_facts(monkeypatch)
    assert _check_routes(tmp_path) == [HELPER_CALL[1:]]
    # Its pyproject.toml too: POL311 reads the pins in it.
    assert sorted(read) == ["__init__.py", "pyproject.toml", "routes.py", "utils.py"]
    # The next file of the project in this process: nothing is read again.
    read.clear()
    assert check_lines(str(tmp_path / "app" / "utils.py"), _lines(BLOCKING_HELPER)) == []
    assert read == []
    # Another process (or the next flake8 run) finds the facts in the cache.
    monkeypatch.setattr(flake8_plugin, "_PROJECTS", {})
    assert _check_routes(tmp_path) == [HELPER_CALL[1:]]
    assert read == []


def test_the_facts_poollint_check_cached_serve_the_plugin(tmp_path: Path, monkeypatch) -> None:
    _helper_project(tmp_path)
    check = _run(["poollint", "check", "."], tmp_path)
    assert _python_places(check, tmp_path) == {HELPER_CALL}
    read = _counting_read_facts(monkeypatch)
    assert _check_routes(tmp_path) == [HELPER_CALL[1:]]
    assert read == []


def test_a_file_with_other_line_endings_shares_the_index_of_the_files_on_disk(tmp_path: Path, monkeypatch) -> None:
    _helper_project(tmp_path)
    routes = tmp_path / "app" / "routes.py"
    routes.write_bytes(b"\xef\xbb\xbf" + routes.read_bytes().replace(b"\n", b"\r\n"))
    # flake8 reads with universal newlines and drops the byte order mark:
    # still the file on disk, whose facts and index serve it.
    lines = routes.read_bytes()[3:].decode("utf-8").replace("\r\n", "\n").splitlines(keepends=True)
    check_lines(str(tmp_path / "app" / "utils.py"), _lines(BLOCKING_HELPER))
    read = _counting_read_facts(monkeypatch)
    built = []
    real_build = engine.build_index
    monkeypatch.setattr(engine, "build_index", lambda results: built.append(1) or real_build(results))
    found = check_lines(str(routes), lines, ast.parse("".join(lines)))
    assert [(d.line, d.column, d.code) for d in found] == [HELPER_CALL[1:]]
    assert (read, built) == ([], [])


def test_a_project_that_cannot_be_read_is_a_pol904_finding(tmp_path: Path, monkeypatch) -> None:
    _helper_project(tmp_path)

    def broken(settings):  # type: ignore[no-untyped-def]
        raise RuntimeError("discovery fell over")

    monkeypatch.setattr(flake8_plugin, "_read_project", broken)
    [finding] = check_lines(str(tmp_path / "app" / "routes.py"), _lines(ROUTES_CALLING_THE_HELPER))
    assert (finding.code, finding.line, finding.column) == ("POL904", 1, 1)
    assert "discovery fell over" in finding.message and str(tmp_path) in finding.message
    # The rules of scope file need no project: they still run.
    lines = _lines(ECHO_AND_PASSWORD)
    found = check_lines(str(tmp_path / "app" / "db.py"), lines, wanted=lambda code: code in FILE_CODES)
    assert [d.code for d in found] == ["POL305", "POL501"]


def test_a_bug_in_poollint_is_a_pol904_finding(tmp_path: Path, monkeypatch) -> None:
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("a rule fell over")

    monkeypatch.setattr(engine, "check_file", broken)
    lines = _lines(PASSWORD_ONLY)
    found = list(Plugin(ast.parse("".join(lines)), str(tmp_path / "db.py"), lines).run())
    assert found == [(1, 0, "POL904 internal error while checking this file: RuntimeError: a rule fell over", Plugin)]


def test_rules_flake8_would_not_show_are_not_run(tmp_path: Path) -> None:
    lines = _lines(ECHO_AND_PASSWORD)
    filename = str(tmp_path / "db.py")
    assert [d.code for d in check_lines(filename, lines, wanted=lambda code: code != "POL305")] == ["POL501"]


def test_nothing_is_done_when_flake8_shows_no_code_of_poollints(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(flake8_plugin, "_settings_for", lambda filename: pytest.fail("settings were read"))
    lines = _lines(ECHO_AND_PASSWORD)
    assert check_lines(str(tmp_path / "db.py"), lines, wanted=lambda code: code.startswith("E")) == []


def test_flake8s_selection_is_read_from_its_options() -> None:
    pytest.importorskip("flake8")
    from flake8.api import legacy

    options = legacy.get_style_guide(select=["POL5"], extend_ignore=["POL502"]).options
    wanted = flake8_plugin._flake8_selection(options)
    assert wanted is not None
    assert (wanted("POL501"), wanted("POL305"), wanted("POL502")) == (True, False, False)


def test_the_source_is_encoded_as_its_coding_line_says() -> None:
    lines = ["# -*- coding: latin-1 -*-\n", "NAME = 'caf\u00e9'\n"]
    assert source_bytes(lines) == "".join(lines).encode("latin-1")
    assert source_bytes(["NAME = 'caf\u00e9'\n"]) == "NAME = 'caf\u00e9'\n".encode("utf-8")
