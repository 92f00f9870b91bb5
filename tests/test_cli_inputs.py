"""Where `poollint check` takes its input from, as ruff does: standard input
(--stdin-filename), which configuration (--isolated, --config PATH or
KEY = VALUE), which files (--force-exclude, --respect-gitignore, --show-files)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from clirunner import cli_runner as _runner

from poollint.cli import main

LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<code>POL\d{3}) (?P<message>.+)$")

BLOCKING = """\
import time


async def handler():
    time.sleep(1)
"""
FIXED = """\
import time
import asyncio


async def handler():
    await asyncio.sleep(1)
"""
CLEAN = """\
import asyncio


async def handler():
    await asyncio.sleep(1)
"""



def invoke(*args: str, input: str | bytes | None = None):
    return _runner().invoke(main, list(args), input=input, catch_exceptions=False)


def findings(stdout: str) -> list:
    return [(m["path"], m["code"]) for m in map(LINE.match, stdout.splitlines()) if m]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    home = tmp_path / ".home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    return tmp_path


# --------------------------------------------------------------------------- --stdin-filename


def test_stdin_is_checked_as_the_named_file_which_need_not_exist(project: Path) -> None:
    result = invoke("check", "--stdin-filename", "app/handlers.py", "-", input=BLOCKING)
    assert result.exit_code == 1
    assert findings(result.stdout) == [("app/handlers.py", "POL101")]
    assert result.stdout.splitlines()[-1] == "Found 1 problem (1 fixable with --fix)."
    assert not (project / "app").exists()


def test_stdin_text_replaces_the_file_on_disk(project: Path) -> None:
    (project / "a.py").write_text(BLOCKING)
    assert invoke("check", "--stdin-filename", "a.py", "-", input=CLEAN).exit_code == 0
    (project / "a.py").write_text(CLEAN)
    assert findings(invoke("check", "--stdin-filename", "a.py", input=BLOCKING).stdout) == [("a.py", "POL101")]


def test_fix_on_stdin_prints_the_fixed_source_alone_and_writes_nothing(project: Path) -> None:
    (project / "a.py").write_text(BLOCKING)
    result = invoke("check", "--fix", "--stdin-filename", "a.py", "-", input=BLOCKING)
    assert result.exit_code == 0
    assert result.stdout == FIXED
    assert result.stderr.strip().splitlines()[-1] == "Found 1 problem (1 fixed, 0 remaining)."
    assert (project / "a.py").read_text() == BLOCKING


def test_fix_on_stdin_keeps_what_cannot_be_fixed_byte_for_byte(project: Path) -> None:
    source = "import time\r\n\r\nasync def f():\r\n    time.sleep(1)  # noqa\r\n"
    result = invoke("check", "--fix", "--stdin-filename", "a.py", "-", input=source.encode())
    assert result.exit_code == 0
    assert result.stdout_bytes == source.encode()
    broken = "def f(:\n"
    result = invoke("check", "--fix", "--stdin-filename", "a.py", "-", input=broken)
    assert result.exit_code == 1
    assert result.stdout == broken
    assert findings(result.stderr) == [("a.py", "POL903")]


def test_findings_left_after_fix_on_stdin_go_to_stderr(project: Path) -> None:
    source = BLOCKING + "\n\nasync def other():\n    time.sleep(1)  # noqa: POL101\n    open('x').read()\n"
    result = invoke("check", "--fix", "--extend-select", "POL104", "--stdin-filename", "a.py", "-", input=source)
    assert result.exit_code == 1
    assert "await asyncio.sleep(1)" in result.stdout and "POL104" not in result.stdout
    assert findings(result.stderr) == [("a.py", "POL104")]


def test_diff_on_stdin(project: Path) -> None:
    result = invoke("check", "--diff", "--stdin-filename", "app.py", "-", input=BLOCKING)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:2] == ["--- app.py", "+++ app.py"]
    assert "+    await asyncio.sleep(1)" in result.stdout
    assert "Would fix 1 problem." in result.stderr


def test_the_name_chooses_config_and_per_file_ignores(project: Path) -> None:
    (project / "svc").mkdir()
    (project / "svc" / "pyproject.toml").write_text(
        '[tool.poollint]\nignore = ["POL101"]\n[tool.poollint.per-file-ignores]\n"tests/*" = ["POL1"]\n'
    )
    (project / "pyproject.toml").write_text('[tool.poollint.per-file-ignores]\n"tests/*" = ["POL1"]\n')
    assert invoke("check", "--stdin-filename", "svc/a.py", "-", input=BLOCKING).exit_code == 0
    assert invoke("check", "--stdin-filename", "other/a.py", "-", input=BLOCKING).exit_code == 1
    assert invoke("check", "--stdin-filename", "tests/a.py", "-", input=BLOCKING).exit_code == 0


def test_force_exclude_applies_to_the_stdin_name(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.poollint]\nextend-exclude = ["generated"]\n')
    args = ("check", "--stdin-filename", "generated/a.py", "-")
    assert invoke(*args, input=BLOCKING).exit_code == 1
    result = invoke(*args, "--force-exclude", input=BLOCKING)
    assert (result.exit_code, result.stdout.strip()) == (0, "All checks passed!")
    result = invoke(*args, "--force-exclude", "--fix", input=BLOCKING)
    assert (result.exit_code, result.stdout) == (0, BLOCKING)


def test_stdin_takes_its_place_in_the_project_index(project: Path) -> None:
    # POL202 needs to know that get_db is a dependency: routes.py, on disk,
    # says so. db.py on disk is fine; the text on stdin is not.
    (project / "pyproject.toml").write_text("[tool.poollint]\n")
    good_db = (
        "from sqlalchemy import create_engine\n"
        "from sqlalchemy.orm import sessionmaker\n"
        'engine = create_engine("postgresql://db/app", pool_size=5, max_overflow=10, pool_recycle=1800, pool_pre_ping=True)\n'
        "SessionLocal = sessionmaker(engine)\n"
        "def get_db():\n"
        "    with SessionLocal() as db:\n"
        "        yield db\n"
    )
    bad_db = good_db.replace(
        "    with SessionLocal() as db:\n        yield db\n", "    db = SessionLocal()\n    yield db\n    db.close()\n"
    )
    (project / "db.py").write_text(good_db)
    (project / "routes.py").write_text(
        "from fastapi import APIRouter, Depends\n"
        "from db import get_db\n"
        "router = APIRouter()\n"
        '@router.get("/orders")\n'
        "def orders(db=Depends(get_db)):\n"
        "    return db.execute('select 1').all()\n"
    )
    assert invoke("check").exit_code == 0
    result = invoke("check", "--stdin-filename", "db.py", "-", input=bad_db)
    assert findings(result.stdout) == [("db.py", "POL202")]
    # Without the rest of the project (no config file: only the checked file
    # is indexed) nothing says get_db is a dependency.
    (project / "pyproject.toml").unlink()
    assert invoke("check", "--stdin-filename", "db.py", "-", input=bad_db).exit_code == 0


def test_a_lone_dash_reads_stdin_as_a_file_named_dash(project: Path) -> None:
    result = invoke("check", "-", input=BLOCKING)
    assert findings(result.stdout) == [("-", "POL101")]


def test_other_paths_are_ignored_in_favour_of_stdin(project: Path) -> None:
    (project / "b.py").write_text(BLOCKING)
    result = invoke("check", "--stdin-filename", "a.py", "b.py", input=CLEAN)
    assert result.exit_code == 0
    assert "warning: ignoring b.py in favor of standard input" in result.stderr


def test_show_files_cannot_list_stdin(project: Path) -> None:
    result = invoke("check", "--show-files", "--stdin-filename", "a.py", "-", input=CLEAN)
    assert result.exit_code == 2
    assert result.stderr.startswith("poollint: error: --show-files cannot be used with standard input")


# --------------------------------------------------------------------------- --isolated, --config


def test_isolated_ignores_the_configuration_file(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.poollint]\nignore = ["POL101"]\n')
    (project / "a.py").write_text(BLOCKING)
    assert invoke("check").exit_code == 0
    assert findings(invoke("check", "--isolated").stdout) == [("a.py", "POL101")]
    assert "config: (none: defaults)" in invoke("check", "--isolated", "--show-settings").stdout


def test_isolated_refuses_a_config_file(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.poollint]\n")
    result = invoke("check", "--isolated", "--config", "pyproject.toml")
    assert result.exit_code == 2
    assert "cannot be used with --isolated" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_config_names_a_file_instead_of_searching(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.poollint]\nignore = ["POL101"]\n')
    (project / "strict.toml").write_text("[tool.poollint]\n")
    (project / "a.py").write_text(BLOCKING)
    assert invoke("check", "--config", "strict.toml").exit_code == 1
    result = invoke("check", "--config", "missing.toml")
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("missing.toml: config file does not exist")


def test_config_key_value_overrides_one_option(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.poollint]\nignore = ["POL101"]\n[tool.poollint.pool]\npool_size = 20\n')
    (project / "a.py").write_text(BLOCKING)
    assert invoke("check", "--config", "ignore = []").exit_code == 1
    settings = invoke("check", "--show-settings", "--config", "pool.workers = 4").stdout
    assert "pool: workers = 4" in settings and "pool: pool_size = 20" in settings
    # With a file too, and with --isolated (no file at all).
    (project / "other.toml").write_text('[tool.poollint]\nselect = ["POL3"]\n')
    assert invoke("check", "--config", "other.toml", "--config", "select = ['POL1']").exit_code == 1
    assert invoke("check", "--isolated", "--config", "select = ['POL3']").exit_code == 0
    # A flag on the command line wins over both.
    assert invoke("check", "--config", "select = ['POL3']", "--select", "POL101").exit_code == 1


def test_a_bad_config_option_is_one_line_naming_it(project: Path) -> None:
    (project / "a.py").write_text(CLEAN)
    result = invoke("check", "--config", "selekt = ['POL1']")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "poollint: error: --config \"selekt = ['POL1']\": [tool.poollint] unknown key 'selekt' (did you mean 'select'?)"
    )
    result = invoke("check", "--config", "select = [POL1")
    assert result.exit_code == 2
    assert result.stderr.startswith("poollint: error: --config 'select = [POL1': not a file, nor a valid KEY = VALUE")
    result = invoke("check", "--config", "select = ['POL777']")
    assert result.exit_code == 2
    assert "POL777" in result.stderr


# --------------------------------------------------------------------------- which files


def test_force_exclude_applies_excludes_to_explicit_paths(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.poollint]\nextend-exclude = ["migrations"]\n')
    (project / "migrations").mkdir()
    (project / "migrations" / "0001.py").write_text(BLOCKING)
    assert invoke("check", "migrations/0001.py").exit_code == 1
    assert invoke("check", "--force-exclude", "migrations/0001.py").exit_code == 0
    (project / "pyproject.toml").write_text('[tool.poollint]\nextend-exclude = ["migrations"]\nforce-exclude = true\n')
    assert invoke("check", "migrations/0001.py").exit_code == 0
    assert invoke("check", "--no-force-exclude", "migrations/0001.py").exit_code == 1


def test_gitignored_files_are_skipped_unless_told_otherwise(project: Path) -> None:
    (project / ".git").mkdir()
    (project / ".gitignore").write_text("generated/\n")
    (project / "generated").mkdir()
    (project / "generated" / "client.py").write_text(BLOCKING)
    (project / "app.py").write_text(CLEAN)
    assert invoke("check").exit_code == 0
    assert findings(invoke("check", "--no-respect-gitignore").stdout) == [("generated/client.py", "POL101")]
    (project / "pyproject.toml").write_text("[tool.poollint]\nrespect-gitignore = false\n")
    assert invoke("check").exit_code == 1
    assert invoke("check", "--respect-gitignore").exit_code == 0


def test_show_files_lists_what_would_be_checked(project: Path) -> None:
    (project / ".git").mkdir()
    (project / ".gitignore").write_text("scratch.py\n")
    for name in ("app/main.py", "app/models.pyi", "scratch.py", ".venv/lib/x.py", "requirements.txt"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(BLOCKING)
    result = invoke("check", "--show-files")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["app/main.py", "app/models.pyi", "requirements.txt"]
    # Only the files the selected rules read: requirements files for POL311.
    assert invoke("check", "--show-files", "--select", "POL1").stdout.splitlines() == ["app/main.py", "app/models.pyi"]
    assert invoke("check", "--show-files", "app", "scratch.py").stdout.splitlines() == [
        "app/main.py",
        "app/models.pyi",
        "scratch.py",
    ]


def test_show_settings_tells_how_files_are_chosen(project: Path) -> None:
    result = invoke("check", "--show-settings", "--force-exclude", "--no-respect-gitignore")
    assert "force-exclude: true" in result.stdout
    assert "respect-gitignore: false" in result.stdout
    default = invoke("check", "--show-settings").stdout
    assert "force-exclude: false" in default and "respect-gitignore: true" in default


def test_fix_on_stdin_gives_the_source_back_when_poollint_fails(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import poollint.cli

    def crash(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(poollint.cli, "run", crash)
    result = invoke("check", "--fix", "--stdin-filename", "a.py", "-", input=BLOCKING)
    assert result.exit_code == 2
    assert result.stdout == BLOCKING
    assert result.stderr.strip() == "poollint: internal error: RuntimeError: boom"
