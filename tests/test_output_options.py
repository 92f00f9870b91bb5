"""--statistics, --show-fixes, --exit-non-zero-on-fix, -q, -s, -o and where the format comes from."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from clirunner import cli_runner as _runner

from poollint.cli import main

ROUTES = """\
import time

import requests
from fastapi import FastAPI

app = FastAPI()


@app.get("/orders")
async def list_orders():
    time.sleep(1)
    return requests.get("http://stock.internal/orders").json()


@app.get("/stock")
async def stock():
    time.sleep(2)
    return []
"""
DB = 'from sqlalchemy import create_engine\n\nengine = create_engine("sqlite:///shop.db", echo=True)\n'
ONLY_SLEEP = "import time\n\n\nasync def handler():\n    time.sleep(1)\n"



def check(*args: str, env=None):  # type: ignore[no-untyped-def]
    return _runner().invoke(main, ["check", "--no-cache", "-j1", *args], catch_exceptions=False, env=env)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "routes.py").write_text(ROUTES)
    (tmp_path / "app" / "db.py").write_text(DB)
    monkeypatch.chdir(tmp_path)
    for name in ("POOLLINT_OUTPUT_FORMAT", "POOLLINT_OUTPUT_FILE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


# -- --statistics ------------------------------------------------------------------


def test_statistics_count_each_rule_most_frequent_first_with_the_fixable_marker(project: Path) -> None:
    result = check("--statistics")
    assert result.exit_code == 1
    assert result.stdout == (
        "2\tPOL101\t[*] blocking-sleep\n"
        "1\tPOL102\t[ ] blocking-http\n"
        "1\tPOL305\t[ ] echo-enabled\n"
        "Found 4 problems (2 fixable with --fix).\n"
        "1 hidden fix can be enabled with the --unsafe-fixes option.\n"
    )


def test_statistics_pad_counts_and_follow_unsafe_fixes(project: Path) -> None:
    many = "".join(f"\n\nasync def handler_{n}():\n    time.sleep({n})\n" for n in range(10))
    (project / "app" / "routes.py").write_text(ROUTES + many)
    lines = check("--statistics", "--unsafe-fixes").stdout.splitlines()
    assert lines[:3] == [
        "12\tPOL101\t[*] blocking-sleep",
        " 1\tPOL102\t[ ] blocking-http",
        " 1\tPOL305\t[*] echo-enabled",
    ]


def test_statistics_drop_the_fixable_column_when_nothing_is(project: Path) -> None:
    result = check("--statistics", "--fix")
    assert result.stdout == (
        "1\tPOL102\tblocking-http\n"
        "1\tPOL305\techo-enabled\n"
        "Found 4 problems (2 fixed, 2 remaining).\n"
        "1 hidden fix can be enabled with the --unsafe-fixes option.\n"
    )


def test_statistics_as_json(project: Path) -> None:
    result = check("--statistics", "--output-format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {"code": "POL101", "name": "blocking-sleep", "count": 2, "fixable": True, "fixable_count": 2},
        {"code": "POL102", "name": "blocking-http", "count": 1, "fixable": False, "fixable_count": 0},
        {"code": "POL305", "name": "echo-enabled", "count": 1, "fixable": False, "fixable_count": 0},
    ]


def test_statistics_of_a_clean_run_print_only_the_summary(project: Path) -> None:
    (project / "app" / "routes.py").unlink()
    (project / "app" / "db.py").unlink()
    result = check("--statistics")
    assert (result.exit_code, result.stdout) == (0, "All checks passed!\n")


@pytest.mark.parametrize("name", ["sarif", "github", "gitlab", "junit", "pylint", "json-lines"])
def test_statistics_only_in_text_and_json(project: Path, name: str) -> None:
    result = check("--statistics", "--output-format", name)
    assert result.exit_code == 2
    assert result.stderr == f"poollint: error: --statistics prints text or json: it cannot be used with --output-format {name}\n"
    assert result.stdout == ""


# -- --show-fixes, --exit-non-zero-on-fix -------------------------------------------


def test_show_fixes_lists_what_fix_fixed_per_file_and_rule(project: Path) -> None:
    (project / "app" / "other.py").write_text(ONLY_SLEEP)
    result = check("--fix", "--show-fixes")
    assert result.exit_code == 1
    assert result.stdout == (
        "app/db.py:3:45: POL305 echo=True on create_engine() logs every statement with its parameters: slow under "
        "load and it leaks data into the logs; read it from settings or drop it\n"
        "app/routes.py:13:12: POL102 requests.get() blocks the event loop in async route GET /orders (list_orders)\n"
        "\n"
        "Fixed 3 problems:\n"
        "- app/other.py:\n"
        "    1 \u00d7 POL101 (blocking-sleep)\n"
        "- app/routes.py:\n"
        "    2 \u00d7 POL101 (blocking-sleep)\n"
        "\n"
        "Found 5 problems (3 fixed, 2 remaining).\n"
        "1 hidden fix can be enabled with the --unsafe-fixes option.\n"
    )


def test_show_fixes_without_fix_or_with_nothing_fixed_adds_nothing(project: Path) -> None:
    assert check("--show-fixes").stdout == check().stdout
    (project / "app" / "routes.py").unlink()
    assert "Fixed" not in check("--fix", "--show-fixes").stdout


def test_show_fixes_stays_out_of_machine_formats(project: Path) -> None:
    result = check("--fix", "--show-fixes", "--output-format", "json")
    assert [r["code"] for r in json.loads(result.stdout)] == ["POL305", "POL102"]


def test_exit_non_zero_on_fix(project: Path) -> None:
    target = project / "app" / "routes.py"
    target.write_text(ONLY_SLEEP)
    (project / "app" / "db.py").unlink()
    assert check("--fix").exit_code == 0
    target.write_text(ONLY_SLEEP)
    fixed = check("--fix", "--exit-non-zero-on-fix")
    assert (fixed.exit_code, fixed.stdout) == (1, "Found 1 problem (1 fixed, 0 remaining).\n")
    # Nothing left to fix: nothing changed, exit 0.
    assert check("--fix", "--exit-non-zero-on-fix").exit_code == 0
    # Without --fix it changes nothing about findings: they still exit 1.
    target.write_text(ONLY_SLEEP)
    assert check("--exit-non-zero-on-fix").exit_code == 1


def test_exit_non_zero_on_fix_and_exit_zero_contradict(project: Path) -> None:
    result = check("--fix", "--exit-zero", "--exit-non-zero-on-fix")
    assert result.exit_code == 2
    assert result.stderr == "poollint: error: --exit-zero and --exit-non-zero-on-fix cannot be used together\n"
    assert "time.sleep(1)" in (project / "app" / "routes.py").read_text(), "nothing may be fixed"


# -- -q, -s ------------------------------------------------------------------------


def test_quiet_prints_the_findings_only(project: Path) -> None:
    quiet = check("-q")
    assert quiet.exit_code == 1
    assert quiet.stdout == "".join(line + "\n" for line in check().stdout.splitlines()[:4])
    assert check("--quiet", "--output-format", "json").stdout == check("--output-format", "json").stdout


def test_quiet_drops_warnings_and_the_summary_of_a_clean_run(project: Path) -> None:
    # A cache that cannot be written is a warning, not an error.
    (project / "not-a-directory").write_text("")
    env = {"POOLLINT_CACHE_DIR": str(project / "not-a-directory")}
    loud = _runner().invoke(main, ["check", "-j1"], env=env, catch_exceptions=False)
    assert loud.stderr.startswith("warning: cannot write the cache")
    quiet = _runner().invoke(main, ["check", "-j1", "-q"], env=env, catch_exceptions=False)
    assert (quiet.exit_code, quiet.stderr) == (1, "")
    (project / "app" / "routes.py").unlink()
    (project / "app" / "db.py").unlink()
    result = check("-q")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.parametrize("extra", [[], ["--statistics"], ["--output-format", "sarif"], ["--fix", "--show-fixes"]])
def test_silent_prints_nothing_and_keeps_the_exit_code(project: Path, extra: list) -> None:
    result = check("-s", *extra)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", "")


def test_silent_clean_run_exits_zero(project: Path) -> None:
    (project / "app" / "routes.py").unlink()
    (project / "app" / "db.py").unlink()
    assert check("--silent").exit_code == 0


def test_quiet_and_silent_contradict(project: Path) -> None:
    result = check("-q", "-s")
    assert (result.exit_code, result.stderr) == (2, "poollint: error: --quiet and --silent cannot be used together\n")


# -- -o / --output-file --------------------------------------------------------------


def test_output_file_gets_what_stdout_would_and_its_directories_are_made(project: Path) -> None:
    expected = check("--output-format", "sarif").stdout
    result = check("--output-format", "sarif", "-o", "reports/ci/poollint.sarif")
    assert (result.exit_code, result.stdout) == (1, "")
    assert (project / "reports" / "ci" / "poollint.sarif").read_text(encoding="utf-8") == expected
    concise = check("--output-file", "out.txt")
    assert concise.stdout == ""
    assert (project / "out.txt").read_text(encoding="utf-8") == check().stdout
    assert not [p for p in project.rglob("*.poollint-tmp")]


def test_output_file_follows_quiet_and_silent(project: Path) -> None:
    check("-q", "-o", "quiet.txt")
    assert (project / "quiet.txt").read_text() == check("-q").stdout
    assert check("-s", "-o", "silent.txt").exit_code == 1
    assert (project / "silent.txt").read_text() == ""


def test_output_file_replaces_an_old_report_whole_and_keeps_its_mode(project: Path) -> None:
    report = project / "report.json"
    report.write_text("old")
    report.chmod(0o640)
    check("--output-format", "json", "-o", str(report))
    assert json.loads(report.read_text())[0]["code"] == "POL305"
    assert stat.S_IMODE(report.stat().st_mode) == 0o640


def test_an_interrupted_output_file_write_leaves_the_old_report(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import poollint.output as output

    report = project / "report.txt"
    report.write_text("old report\n")

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output.os, "replace", fail)
    result = check("-o", str(report))
    assert result.exit_code == 2
    assert result.stderr == f"poollint: error: cannot write {report}: No space left on device\n"
    assert report.read_text() == "old report\n"
    assert [p.name for p in project.iterdir() if p.name.startswith(".report")] == []


def test_an_output_file_that_cannot_be_made_is_an_error(project: Path) -> None:
    (project / "a-file").write_text("")
    result = check("-o", "a-file/report.txt")
    assert result.exit_code == 2
    assert result.stderr.startswith("poollint: error: cannot write a-file/report.txt: ")
    assert result.stdout == ""
    assert check("-o", "app").exit_code == 2, "a directory is no output file"


def test_output_file_from_the_environment(project: Path) -> None:
    result = check(env={"POOLLINT_OUTPUT_FILE": "env-report.txt"})
    assert result.stdout == ""
    assert (project / "env-report.txt").read_text().startswith("app/db.py:3:45: POL305")


# -- where the format comes from ------------------------------------------------------


def test_format_flag_beats_environment_beats_config(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.poollint]\noutput-format = "pylint"\n')
    assert check().stdout.startswith("app/db.py:3: [POL305]")
    from_env = check(env={"POOLLINT_OUTPUT_FORMAT": "github"})
    assert from_env.stdout.startswith("::error title=poollint (POL305)")
    from_flag = check("--output-format", "json-lines", env={"POOLLINT_OUTPUT_FORMAT": "github"})
    assert json.loads(from_flag.stdout.splitlines()[0])["code"] == "POL305"


def test_a_bad_format_in_the_environment_or_config_is_a_usage_error(project: Path) -> None:
    result = check(env={"POOLLINT_OUTPUT_FORMAT": "xml"})
    assert result.exit_code == 2
    assert "--output-format" in result.stderr and "'xml'" in result.stderr
    (project / "pyproject.toml").write_text('[tool.poollint]\noutput-format = "xml"\n')
    result = check()
    assert result.exit_code == 2
    assert result.stderr == (
        f"poollint: error: {project / 'pyproject.toml'}: [tool.poollint] 'output-format' must be one of "
        "concise, full, json, json-lines, sarif, github, gitlab, junit, pylint, got 'xml'\n"
    )


def test_the_output_format_does_not_split_the_cache(project: Path) -> None:
    from poollint.config import load_settings

    (project / "pyproject.toml").write_text("[tool.poollint]\n")
    plain = load_settings(project)
    (project / "pyproject.toml").write_text('[tool.poollint]\noutput-format = "sarif"\n')
    configured = load_settings(project)
    assert configured.output_format == "sarif"
    assert repr(plain) == repr(configured)
