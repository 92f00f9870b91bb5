"""Deployment files in a real run: what `check` reports where, noqa, the cache."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import pytest
from clirunner import cli_runner as _runner

import poollint.runner as runner_module
from poollint.cli import main

PROJECT: Dict[str, str] = {
    "pyproject.toml": '[project]\nname = "shop"\ndependencies = ["sqlalchemy>=1.4"]\n\n[tool.poollint]\n',
    "requirements.txt": "fastapi==0.78.0\nsqlalchemy==1.4.41\n",
    "Dockerfile": 'FROM python:3.12\nCOPY app /srv/app\nCMD ["uvicorn", "app.main:app", "--workers", "4"]\n',
    "app/__init__.py": "",
    "app/db.py": (
        "from sqlalchemy import create_engine\n"
        "from sqlalchemy.orm import sessionmaker\n\n"
        'engine = create_engine("postgresql+psycopg2://app@db/shop", pool_size=20, max_overflow=10, '
        "pool_recycle=1800, pool_pre_ping=True)\n"
        "SessionLocal = sessionmaker(engine)\n"
    ),
    "app/deps.py": (
        "from .db import SessionLocal\n\n\n"
        "def get_db():\n"
        "    with SessionLocal() as db:\n"
        "        yield db\n"
    ),
    "app/main.py": (
        "from fastapi import Depends, FastAPI\n\n"
        "from .deps import get_db\n\n"
        "app = FastAPI()\n\n\n"
        '@app.get("/orders")\n'
        "def orders(db=Depends(get_db)):\n"
        '    return db.execute("select 1").all()\n'
    ),
    "app/util.py": "def helper():\n    return 1\n",
}



@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, text in PROJECT.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("POOLLINT_CACHE_DIR", raising=False)
    return tmp_path


def check(*args: str) -> List[str]:
    result = _runner().invoke(main, ["check", "-j1", "--select", "POL310,POL311", *args], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.stderr
    return [line for line in result.stdout.splitlines() if ": POL" in line]


def test_the_project_root_reports_in_the_requirements_file(project: Path) -> None:
    assert check(".", "--no-cache") == [
        "app/db.py:4:10: POL310 engine can open more connections than the database accepts: pool_size 20 + "
        "max_overflow 10 = 30 per process x 4 workers (`uvicorn --workers 4` in Dockerfile:3) = 120 > 100, "
        "PostgreSQL's default max_connections",
        "requirements.txt:1:1: POL311 fastapi==0.78.0 admits only FastAPI older than 0.82: in those versions a "
        "sync yield dependency can deadlock the thread pool once the database pool is exhausted, and get_db "
        "(app/deps.py:4) opens a session from SessionLocal",
    ]


def test_checking_a_package_reports_only_in_its_files(project: Path) -> None:
    # As ruff does: only files under the given paths are reported; the index
    # (with a config file) still holds the Dockerfile's worker count.
    found = check("app", "--no-cache")
    assert [line.split(":")[0] for line in found] == ["app/db.py"]
    assert "x 4 workers" in found[0]
    # Named on the command line, a dependency file is checked.
    assert [line.split(":")[0] for line in check("requirements.txt", "--no-cache")] == ["requirements.txt"]


def test_noqa_on_a_requirement(project: Path) -> None:
    (project / "requirements.txt").write_text("fastapi==0.78.0  # noqa: POL311\nsqlalchemy==1.4.41\n")
    assert [line.split(":")[0] for line in check(".", "--no-cache")] == ["app/db.py"]


def test_per_file_ignores_reach_dependency_files(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.poollint.per-file-ignores]\n"requirements*.txt" = ["POL311"]\n')
    assert [line.split(":")[0] for line in check(".", "--no-cache")] == ["app/db.py"]


def test_deployment_files_are_not_even_listed_without_their_rules(project: Path) -> None:
    result = _runner().invoke(main, ["check", "--select", "POL1", "--show-settings", "."])
    assert "files: 5" in result.stdout  # the Python files only
    result = _runner().invoke(main, ["check", "--show-settings", "."])
    assert "files: 8" in result.stdout


class Counter:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.checked: List[str] = []
        self.read: List[str] = []
        check_task, facts_task = runner_module._check_task, runner_module._facts_task

        def counting_check(state, path):  # type: ignore[no-untyped-def]
            self.checked.append(Path(path).as_posix())
            return check_task(state, path)

        def counting_facts(root, path):  # type: ignore[no-untyped-def]
            self.read.append(Path(path).name)
            return facts_task(root, path)

        monkeypatch.setattr(runner_module, "_check_task", counting_check)
        monkeypatch.setattr(runner_module, "_facts_task", counting_facts)


def test_a_changed_dockerfile_rechecks_only_the_engine_module(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = check(".")
    counter = Counter(monkeypatch)
    assert check(".") == first
    assert counter.checked == [] and counter.read == []  # an unchanged project: the cache answers
    (project / "Dockerfile").write_text('FROM python:3.12\nCMD ["uvicorn", "app.main:app", "--workers", "2"]\n')
    found = check(".")
    assert counter.read == ["Dockerfile"]
    assert sorted(counter.checked) == ["Dockerfile", "app/db.py"]
    assert [line.split(":")[0] for line in found] == ["requirements.txt"]  # (30 x 2 = 60)
    assert found == check(".", "--no-cache")


def test_a_dependency_turned_async_rechecks_the_requirements(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check(".")
    counter = Counter(monkeypatch)
    (project / "app" / "util.py").write_text("def helper():\n    return 2\n")
    check(".")
    assert counter.checked == ["app/util.py"]  # nothing asked about it
    counter.checked.clear()
    (project / "app" / "deps.py").write_text(
        "from .db import SessionLocal\n\n\nasync def get_db():\n    async with SessionLocal() as db:\n        yield db\n"
    )
    found = check(".")
    assert "requirements.txt" in counter.checked
    assert [line.split(":")[0] for line in found] == ["app/db.py"]
    assert found == check(".", "--no-cache")
