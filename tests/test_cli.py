"""The command line, through click's CliRunner: output format, exit codes, fixing and errors."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from clirunner import cli_runner as _runner

from poollint import __version__
from poollint.cli import main

ROOT = Path(__file__).resolve().parent.parent
LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<code>POL\d{3}) (?P<message>.+)$")

BLOCKING = """\
import time


async def handler():
    time.sleep(1)
"""
CLEAN = """\
import asyncio


async def handler():
    await asyncio.sleep(1)
"""



def invoke(*args: str):
    return _runner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"poollint {__version__}"


def test_clean_tree_exits_zero(project: Path) -> None:
    (project / "app.py").write_text(CLEAN)
    result = invoke("check")
    assert result.exit_code == 0
    assert result.stdout.strip() == "All checks passed!"


def test_findings_are_flake8_lines_sorted_then_a_summary(project: Path) -> None:
    (project / "b.py").write_text(BLOCKING)
    (project / "a.py").write_text(BLOCKING + "\n\nasync def other():\n    time.sleep(2)\n")
    result = invoke("check", ".")
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    findings = [LINE.match(line) for line in lines[:-1]]
    assert all(findings), lines
    assert [(m["path"], int(m["line"])) for m in findings] == [("a.py", 5), ("a.py", 9), ("b.py", 5)]
    assert findings[0]["code"] == "POL101" and findings[0]["col"] == "5"
    assert lines[-1] == "Found 3 problems (3 fixable with --fix)."


def test_exit_zero(project: Path) -> None:
    (project / "a.py").write_text(BLOCKING)
    assert invoke("check", "--exit-zero").exit_code == 0


def test_fix_rewrites_the_file_and_reports_what_was_fixed(project: Path) -> None:
    target = project / "a.py"
    target.write_text(BLOCKING)
    target.chmod(0o640)
    result = invoke("check", "--fix", "a.py")
    assert result.exit_code == 0
    assert "Found 1 problem (1 fixed, 0 remaining)." in result.stdout
    assert "await asyncio.sleep(1)" in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in project.iterdir()] == ["a.py"], "no temporary file may be left behind"
    assert invoke("check", "a.py").exit_code == 0



def test_diff_prints_and_writes_nothing(project: Path) -> None:
    target = project / "a.py"
    target.write_text(BLOCKING)
    result = invoke("check", "--diff", "a.py")
    assert target.read_text() == BLOCKING
    assert "-    time.sleep(1)" in result.stdout
    assert "+    await asyncio.sleep(1)" in result.stdout
    assert result.exit_code == 1


def test_noqa_suppresses_by_code_or_blanket(project: Path) -> None:
    (project / "a.py").write_text(
        "import time\n\nasync def f():\n"
        "    time.sleep(1)  # noqa: POL101\n"
        "    time.sleep(1)  # noqa\n"
        "    time.sleep(1)  # noqa: POL201\n"
        '    x = "# noqa"; time.sleep(1)\n'
    )
    result = invoke("check")
    assert [LINE.match(line)["line"] for line in result.stdout.splitlines()[:-1]] == ["6", "7"]


def test_select_ignore_and_unknown_codes(project: Path) -> None:
    (project / "a.py").write_text(BLOCKING)
    assert invoke("check", "--ignore", "POL1").exit_code == 0
    assert invoke("check", "--select", "POL101").exit_code == 1
    # The more specific selector wins, whichever list it is in.
    assert invoke("check", "--select", "POL10", "--ignore", "POL1").exit_code == 1
    assert invoke("check", "--select", "POL1", "--ignore", "POL10").exit_code == 0
    # Unknown codes: tests/robustness/test_config_errors.py.


def test_config_is_found_walking_up_and_cli_overrides_it(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.poollint]\nignore = ["POL101"]\n')
    (project / "pkg").mkdir()
    (project / "pkg" / "a.py").write_text(BLOCKING)
    assert invoke("check", "pkg").exit_code == 0
    assert invoke("check", "pkg", "--select", "POL101").exit_code == 1


def test_per_file_ignores(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.poollint.per-file-ignores]\n"tests/*" = ["POL1"]\n')
    (project / "tests").mkdir()
    (project / "tests" / "a.py").write_text(BLOCKING)
    (project / "b.py").write_text(BLOCKING)
    result = invoke("check")
    assert [LINE.match(line)["path"] for line in result.stdout.splitlines()[:-1]] == ["b.py"]






def test_default_excludes_skip_virtualenvs_and_caches(project: Path) -> None:
    for folder in (".venv", "venv", "__pycache__", "build", ".git"):
        (project / folder).mkdir()
        (project / folder / "a.py").write_text(BLOCKING)
    (project / "app.py").write_text(CLEAN)
    assert invoke("check").exit_code == 0
    assert invoke("check", "--extend-exclude", "app.py", "--select", "POL1").stdout.strip() == "All checks passed!"


def test_rule_explains_a_rule_from_its_metadata() -> None:
    result = invoke("rule", "POL101")
    assert result.exit_code == 0
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix safety"):
        assert heading in result.stdout
    assert invoke("rule", "POL999").exit_code == 2


def test_show_settings(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.poollint.pool]\npool_size = 20\n')
    result = invoke("check", "--show-settings")
    assert result.exit_code == 0
    assert "pool: pool_size = 20" in result.stdout


def test_show_settings_prints_the_deployment_keys(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.poollint.pool]\nworkers = 4\nmax-connections = 100\n')
    result = invoke("check", "--show-settings")
    assert result.exit_code == 0
    for line in ("pool: max-pool-recycle = 3600", "pool: workers = 4", "pool: max-connections = 100", "pool: thread-pool-size = 40"):
        assert line in result.stdout


def test_show_settings_prints_the_target_version_and_the_flag_wins(project: Path) -> None:
    (project / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.11"\n\n[tool.poollint]\n')
    assert "target-version: py311" in invoke("check", "--show-settings").stdout
    assert "target-version: py39" in invoke("check", "--show-settings", "--target-version", "py39").stdout
    assert "output-format: (default: concise)" in invoke("check", "--show-settings").stdout
    result = invoke("check", "--target-version", "3.9")
    assert result.exit_code == 2
    assert "--target-version must be a Python version" in result.stderr


def test_console_script_runs_outside_click_runner(project: Path) -> None:
    (project / "a.py").write_text(BLOCKING)
    completed = subprocess.run(
        [sys.executable, "-m", "poollint", "check", "a.py"], capture_output=True, text=True, cwd=project
    )
    assert completed.returncode == 1
    assert completed.stdout.startswith("a.py:5:5: POL101 ")


def test_pre_commit_manifest_is_valid() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    ids = re.findall(r"^- id: (\S+)$", (ROOT / ".pre-commit-hooks.yaml").read_text(), re.MULTILINE)
    assert ids == ["poollint", "poollint-fix"]


def test_after_fixing_findings_in_other_files_are_checked_against_the_fixed_project(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.poollint]\nselect = ["POL105", "POL401"]\nunsafe-fixes = true\n')
    (project / "db.py").write_text(
        "from sqlalchemy import create_engine\n"
        "from sqlalchemy.orm import sessionmaker\n"
        'engine = create_engine("postgresql://app@db/shop")\n'
        "SessionLocal = sessionmaker(bind=engine)\n"
        "def get_db():\n"
        "    with SessionLocal() as db:\n"
        "        yield db\n"
    )
    (project / "routes.py").write_text(
        "from fastapi import APIRouter, Depends\n"
        "from sqlalchemy.orm import Session\n"
        "from db import get_db\n"
        "router = APIRouter()\n"
        '@router.get("/items")\n'
        "async def list_items(db: Session = Depends(get_db)):\n"
        '    return db.execute("select 1").all()\n'
    )
    # db.py is checked first, while routes.py still has its async route; the
    # unsafe POL105 fix then makes the route a def, which settles POL401 too.
    result = invoke("check", "--fix")
    assert "def list_items" in (project / "routes.py").read_text()
    assert "POL401" not in result.stdout, result.stdout
    assert result.stdout.strip().splitlines()[-1] == "Found 1 problem (1 fixed, 0 remaining)."
    assert invoke("check").exit_code == 0
