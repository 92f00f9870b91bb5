"""-j/--jobs: files checked on several processes give what one process gives, in the same order."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from poollint import parallel, runner
from poollint.cli import main
from poollint.config import load_settings
from poollint.discovery import discover_python_files
from poollint.engine import INTERNAL_ERROR, FixRequest
from poollint.parallel import JobsError, parse_jobs, workers_for
from poollint.rules import ALL_RULES
from poollint.selection import select_rules_for_settings

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = [ROOT / "tests" / "fixtures" / "project", ROOT / "examples" / "shop"]
# Tests make a worker die by patching a function the worker inherits: only fork hands patches over.
needs_fork = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="a worker sees the test's patches only when forked"
)


@pytest.fixture
def pool_for_few_files(monkeypatch: pytest.MonkeyPatch) -> None:
    # The projects here are small enough to stay in-process otherwise.
    monkeypatch.setattr(parallel, "MIN_FILES_FOR_POOL", 0)


def _run(target: Path, jobs: int, fix: FixRequest = FixRequest(), write: bool = False) -> runner.RunResult:
    settings = load_settings(target)
    rules = select_rules_for_settings(ALL_RULES, settings)
    files = discover_python_files([target], settings)
    assert workers_for(len(files), jobs) == jobs, "the pool must really be used"
    return runner.run(files, settings, rules, fix, write=write, jobs=jobs)


def _outcome(result: runner.RunResult):  # type: ignore[no-untyped-def]
    return [
        (
            f.path.as_posix(),
            [(d.code, d.line, d.column, d.end_line, d.end_column, d.message, d.fix_safety) for d in f.diagnostics],
            f.fixed,
            f.fixed_source,
            f.warnings,
            f.internal_error,
        )
        for f in result.files
    ]


@pytest.mark.usefixtures("pool_for_few_files")
@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_two_processes_find_what_one_finds_in_the_same_order(project: Path) -> None:
    serial = _run(project, 1)
    assert serial.diagnostics, "a project without findings proves nothing"
    assert _outcome(_run(project, 2)) == _outcome(serial)


@pytest.mark.usefixtures("pool_for_few_files")
@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_fixing_on_two_processes_writes_what_one_writes(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = {}
    trees = {}
    for jobs in ("1", "2"):
        copy = tmp_path / f"j{jobs}"
        shutil.copytree(project, copy)
        monkeypatch.chdir(copy)
        result = CliRunner().invoke(main, ["check", "--fix", "--unsafe-fixes", "-j", jobs, "."])
        outputs[jobs] = (result.exit_code, result.stdout)
        trees[jobs] = {p.relative_to(copy).as_posix(): p.read_bytes() for p in sorted(copy.rglob("*.py"))}
    assert outputs["1"] == outputs["2"]
    assert trees["1"] == trees["2"]
    original = {p.relative_to(project).as_posix(): p.read_bytes() for p in sorted(project.rglob("*.py"))}
    assert trees["2"] != original, "nothing was fixed: the test proves nothing"


@pytest.mark.parametrize("value", ["0", "-1", "-3", "two", "1.5", ""])
def test_a_bad_jobs_value_is_a_usage_error(value: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", f"--jobs={value}", str(tmp_path)])
    assert result.exit_code == 2
    assert "-j/--jobs must be 'auto' or a positive number" in result.output


def test_engines_takes_jobs_too(tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["engines", "-j", "0", str(tmp_path)]).exit_code == 2
    assert CliRunner().invoke(main, ["engines", "-j", "2", str(PROJECTS[1])]).exit_code == 0


def test_jobs_values() -> None:
    assert parse_jobs("auto") == (os.cpu_count() or 1)
    assert parse_jobs("AUTO") == parse_jobs("auto")
    assert parse_jobs("3") == 3
    for bad in ("0", "-2", "x"):
        with pytest.raises(JobsError):
            parse_jobs(bad)


def test_few_files_or_one_job_stay_in_process() -> None:
    assert workers_for(1000, 1) == 1
    assert workers_for(parallel.MIN_FILES_FOR_POOL - 1, 4) == 1
    assert workers_for(30, 16) == 1  # fewer than two files a worker
    assert workers_for(1000, 4) == 4


def _dies_on(name: str, real):  # type: ignore[no-untyped-def]
    def check_file(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if Path(path).name == name:
            os._exit(3)
        return real(path, *args, **kwargs)

    return check_file


@needs_fork
@pytest.mark.usefixtures("pool_for_few_files")
def test_a_worker_that_dies_costs_only_its_file(monkeypatch: pytest.MonkeyPatch) -> None:
    shop = PROJECTS[1]
    serial = _outcome(_run(shop, 1))
    import poollint.engine as engine_module

    monkeypatch.setattr(engine_module, "check_file", _dies_on("orders.py", engine_module.check_file))
    crashed = _run(shop, 2)
    assert crashed.internal_error
    outcome = _outcome(crashed)
    assert [o[0] for o in outcome] == [s[0] for s in serial]
    for got, expected in zip(outcome, serial):
        if got[0].endswith("/orders.py"):
            assert [d[0] for d in got[1]] == [INTERNAL_ERROR]
            assert got[5] is True
        else:
            assert got == expected


@needs_fork
@pytest.mark.usefixtures("pool_for_few_files")
def test_a_dead_worker_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    import poollint.engine as engine_module

    monkeypatch.setattr(engine_module, "check_file", _dies_on("orders.py", engine_module.check_file))
    result = CliRunner().invoke(main, ["check", "-j", "2", str(PROJECTS[1])])
    assert result.exit_code == 2
    assert "POL904 internal error while checking this file: the worker process checking it died" in result.stdout


@needs_fork
@pytest.mark.usefixtures("pool_for_few_files")
def test_a_worker_dying_in_pass_one_costs_only_its_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import poollint.engine as engine_module

    real = engine_module.read_facts

    def read_facts(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if Path(path).name == "orders.py" and os.getpid() != parent:
            os._exit(3)
        return real(path, *args, **kwargs)

    parent = os.getpid()
    monkeypatch.setattr(engine_module, "read_facts", read_facts)
    result = _run(PROJECTS[1], 2)
    assert result.internal_error
    dead = [f for f in result.files if f.path.name == "orders.py"]
    assert [d.code for d in dead[0].diagnostics] == [INTERNAL_ERROR]
    assert all(f.diagnostics for f in result.files if f.path.name in {"db.py", "reviews.py"})


@pytest.mark.usefixtures("pool_for_few_files")
def test_spawned_workers_find_what_one_process_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    # What macOS and Windows use: the workers get the index by pickle, not by fork.
    monkeypatch.setattr(parallel, "_start_context", lambda: multiprocessing.get_context("spawn"))
    shop = PROJECTS[1]
    assert _outcome(_run(shop, 2)) == _outcome(_run(shop, 1))
