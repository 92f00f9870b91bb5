"""`poollint engines`: the inventory of engines, as text and as JSON, through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Dict

import pytest
from clirunner import cli_runner as _runner

from poollint.cli import main
from poollint.config import PoolSettings
from poollint.engine import read_facts
from poollint.inventory import collect_engines, configured_workers, render_text, to_json
from poollint.project import ProjectIndex

SECRET = "s3cret-pw"

PROJECT: Dict[str, str] = {
    "pyproject.toml": "[tool.poollint]\n",
    "app/__init__.py": "",
    "app/config.py": """\
import os


class Settings:
    DATABASE_URL = os.environ["DATABASE_URL"]
    POOL_SIZE = int(os.environ.get("POOL_SIZE", "5"))


settings = Settings()
""",
    "app/db/__init__.py": """\
from .primary import SessionLocal, engine
from .warehouse import WarehouseSession, warehouse_engine
""",
    "app/db/primary.py": """\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from app.config import settings

engine = create_engine(settings.DATABASE_URL, pool_size=settings.POOL_SIZE, max_overflow=5, pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine, autoflush=False)
""",
    "app/db/warehouse.py": f"""\
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

WAREHOUSE_URL = "postgresql+asyncpg://reporter:{SECRET}@warehouse.internal/analytics"

warehouse_engine = create_async_engine(WAREHOUSE_URL, pool_size=10, max_overflow=0, pool_recycle=1800)
WarehouseSession = async_sessionmaker(warehouse_engine, expire_on_commit=False)


def scratch_engine():
    # A throwaway engine for a maintenance script.
    return create_async_engine("sqlite+aiosqlite://")
""",
    "app/deps.py": """\
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from app.db import SessionLocal, WarehouseSession


def get_db():
    with SessionLocal() as db:
        yield db


async def get_warehouse():
    async with WarehouseSession() as session:
        yield session


Db = Annotated[Session, Depends(get_db)]


def current_user(db: Db):
    return db.get(dict, 1)
""",
    "app/routes.py": """\
from fastapi import APIRouter, Depends

from app.db import WarehouseSession
from app.deps import Db, current_user, get_warehouse

router = APIRouter(prefix="/orders")


@router.get("/{order_id}")
def read_order(order_id: int, db: Db):
    return db.get(dict, order_id)


@router.get("/mine")
def my_orders(user=Depends(current_user)):
    return user


@router.get("/stats")
async def stats(session=Depends(get_warehouse)):
    return await session.scalar("select 1")


@router.get("/report")
async def report():
    async with WarehouseSession() as session:
        return await session.scalar("select 2")


@router.get("/health")
def health():
    return {"ok": True}
""",
    "app/main.py": """\
from fastapi import FastAPI

from app.routes import router

app = FastAPI()
app.include_router(router, prefix="/api")
""",
}

EXPECTED_TEXT = """\
app/db/primary.py:6: engine (sync)
  url:           from settings.DATABASE_URL
  pool:          QueuePool (SQLAlchemy default)
  pool_size:     unknown (settings.POOL_SIZE)
  max_overflow:  5
  pool_timeout:  30 (SQLAlchemy default)
  pool_recycle:  -1 (SQLAlchemy default)
  pool_pre_ping: True
  connections:   unknown: pool_size from settings.POOL_SIZE
  session factories:
    SessionLocal (sync) app/db/primary.py:7
  routes:
    GET /api/orders/{order_id} (read_order) app/routes.py:10 via SessionLocal
    GET /api/orders/mine (my_orders) app/routes.py:15 via SessionLocal

app/db/warehouse.py:5: warehouse_engine (async)
  url:           dialect postgresql, driver asyncpg (from WAREHOUSE_URL)
  pool:          AsyncAdaptedQueuePool (SQLAlchemy default)
  pool_size:     10
  max_overflow:  0
  pool_timeout:  30 (SQLAlchemy default)
  pool_recycle:  1800
  pool_pre_ping: False (SQLAlchemy default)
  connections:   up to 10 per process
  session factories:
    WarehouseSession (async) app/db/warehouse.py:6
  routes:
    GET /api/orders/stats (stats) app/routes.py:20 via WarehouseSession
    GET /api/orders/report (report) app/routes.py:25 via WarehouseSession

app/db/warehouse.py:11: (unnamed engine) in scratch_engine() (async)
  url:           dialect sqlite, driver aiosqlite
  pool:          StaticPool (SQLAlchemy default)
  pool_size:     not used (StaticPool)
  max_overflow:  not used (StaticPool)
  pool_timeout:  not used (StaticPool)
  pool_recycle:  -1 (SQLAlchemy default)
  pool_pre_ping: False (SQLAlchemy default)
  connections:   up to 1 per process

3 engines: at least 11 connections per process (1 engine without a known limit); set `workers` in [tool.poollint.pool] for the total.
"""



def invoke(*args: str):
    return _runner().invoke(main, list(args), catch_exceptions=False)


def _write(root: Path, files: Dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _write(tmp_path, PROJECT)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_text_inventory(project: Path) -> None:
    result = invoke("engines")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == EXPECTED_TEXT
    assert SECRET not in result.stdout and "reporter" not in result.stdout


def test_checking_one_package_still_knows_the_routes_elsewhere(project: Path) -> None:
    # With a config file the index holds the whole project, as `check` does.
    result = invoke("engines", "app/db/primary.py")
    assert result.exit_code == 0
    assert result.stdout.startswith("app/db/primary.py:6: engine (sync)\n")
    assert "GET /api/orders/mine (my_orders) app/routes.py:15 via SessionLocal" in result.stdout
    assert "warehouse_engine" not in result.stdout


def test_json_inventory(project: Path) -> None:
    result = invoke("engines", "--output-format", "json")
    assert result.exit_code == 0, result.stderr
    assert SECRET not in result.stdout
    data = json.loads(result.stdout)
    assert data["version"] == 1
    assert data["workers"] is None
    assert data["total"] == {"per_process": 11, "all_workers": None, "complete": False}
    primary, warehouse, scratch = data["engines"]
    assert set(primary) == {
        "path", "line", "column", "name", "function", "async", "test", "url", "pool_class",
        "settings", "connections", "session_factories", "routes",
    }  # fmt: skip
    assert (primary["path"], primary["line"], primary["column"], primary["name"]) == (
        "app/db/primary.py",
        6,
        10,
        "engine",
    )
    assert primary["function"] is None and primary["async"] is False and primary["test"] is False
    assert primary["url"] == {
        "source": "runtime",
        "dialect": None,
        "driver": None,
        "expression": "settings.DATABASE_URL",
    }
    assert primary["pool_class"] == {"name": "QueuePool", "source": "default", "expression": None}
    assert primary["settings"]["pool_size"] == {"value": None, "source": "runtime", "expression": "settings.POOL_SIZE"}
    assert primary["settings"]["max_overflow"] == {"value": 5, "source": "literal", "expression": None}
    assert primary["settings"]["pool_timeout"] == {"value": 30, "source": "default", "expression": None}
    assert primary["settings"]["pool_pre_ping"] == {"value": True, "source": "literal", "expression": None}
    assert primary["connections"] == {
        "per_process": None,
        "total": None,
        "note": "unknown: pool_size from settings.POOL_SIZE",
        "workers": None,
        "workers_from": None,
    }
    assert primary["session_factories"] == [
        {"name": "SessionLocal", "async": False, "path": "app/db/primary.py", "line": 7}
    ]
    assert [(r["route"], r["function"], r["via"]) for r in primary["routes"]] == [
        ("/api/orders/{order_id}", "read_order", "SessionLocal"),
        ("/api/orders/mine", "my_orders", "SessionLocal"),
    ]
    assert primary["routes"][0] == {
        "methods": ["GET"],
        "route": "/api/orders/{order_id}",
        "function": "read_order",
        "path": "app/routes.py",
        "line": 10,
        "via": "SessionLocal",
        "via_where": "app/db/primary.py:7",
    }
    assert warehouse["async"] is True
    assert warehouse["url"] == {
        "source": "constant",
        "dialect": "postgresql",
        "driver": "asyncpg",
        "expression": "WAREHOUSE_URL",
    }
    assert warehouse["connections"] == {"per_process": 10, "total": 10, "note": None, "workers": None, "workers_from": None}
    assert [r["function"] for r in warehouse["routes"]] == ["stats", "report"]
    assert (scratch["name"], scratch["function"]) == (None, "scratch_engine")
    assert scratch["pool_class"]["name"] == "StaticPool"
    assert scratch["settings"]["pool_size"]["source"] == "not_applicable"


def test_no_engines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text("x = 1\n")
    result = invoke("engines")
    assert (result.exit_code, result.stdout) == (0, "No engines found.\n")
    data = json.loads(invoke("engines", "--output-format", "json").stdout)
    assert data["engines"] == [] and data["total"]["per_process"] == 0


def test_one_engine_with_every_limit_known(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "db.py").write_text(
        "from sqlalchemy import create_engine\n"
        'engine = create_engine("mysql://app:hunter2@db/shop", pool_size=8, pool_timeout=10)\n'
    )
    result = invoke("engines", "db.py")
    assert result.exit_code == 0
    assert "hunter2" not in result.stdout
    assert result.stdout.splitlines() == [
        "db.py:2: engine (sync)",
        "  url:           dialect mysql, its default driver",
        "  pool:          QueuePool (SQLAlchemy default)",
        "  pool_size:     8",
        "  max_overflow:  10 (SQLAlchemy default)",
        "  pool_timeout:  10",
        "  pool_recycle:  -1 (SQLAlchemy default)",
        "  pool_pre_ping: False (SQLAlchemy default)",
        "  connections:   up to 18 per process",
        "",
        "1 engine: up to 18 connections per process; set `workers` in [tool.poollint.pool] for the total.",
    ]


def test_usage_and_config_errors_exit_2(project: Path) -> None:
    result = invoke("engines", "nope")
    assert result.exit_code == 2
    assert result.stderr.strip() == "poollint: error: path 'nope' does not exist"
    assert invoke("engines", "--output-format", "yaml").exit_code == 2
    (project / "pyproject.toml").write_text('[tool.poollint]\nselekt = ["POL1"]\n')
    result = invoke("engines")
    assert result.exit_code == 2 and "selekt" in result.stderr


def test_broken_file_is_a_warning(project: Path) -> None:
    (project / "app" / "broken.py").write_text("def f(:\n")
    result = invoke("engines", "--output-format", "json")
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)["engines"]) == 3
    assert result.stderr.startswith("warning: app/broken.py: POL903")


# -- the inventory without the command line ---------------------------------------


def _index(sources: Dict[str, str]) -> ProjectIndex:
    root = Path("/virtual")
    results = [read_facts(root / name, root, text.encode()) for name, text in sources.items()]
    return ProjectIndex(r.facts for r in results if r.facts is not None)


def test_workers_multiply_the_connections() -> None:
    index = _index({name: text for name, text in PROJECT.items() if name.endswith(".py")})
    engines = collect_engines(index, workers=4)
    assert [(e.per_process, e.total) for e in engines] == [(None, None), (10, 40), (1, 4)]
    lines = render_text(engines, 4)
    assert "  connections:   up to 10 per process x 4 workers = 40" in lines
    assert (
        lines[-1]
        == "3 engines: at least 11 connections per process, 44 with 4 workers (1 engine without a known limit)."
    )
    assert to_json(engines, 4)["total"] == {"per_process": 11, "all_workers": 44, "complete": False}


def test_configured_workers_reads_the_pool_table_when_it_has_the_key() -> None:
    assert configured_workers(SimpleNamespace(pool=PoolSettings())) in (None, getattr(PoolSettings(), "workers", None))
    assert configured_workers(SimpleNamespace(pool=SimpleNamespace(workers=4))) == 4
    assert configured_workers(SimpleNamespace(pool=SimpleNamespace(workers=True))) is None
    assert configured_workers(SimpleNamespace(pool=SimpleNamespace(workers=0))) is None


POOLS = """
import sqlalchemy as sa
from sqlalchemy.pool import NullPool, QueuePool

from app import options

null = sa.create_engine("postgresql://app@db/shop", poolclass=NullPool)
queue = sa.create_engine("mysql+pymysql://app@db/shop", poolclass=QueuePool, pool_size=20, max_overflow=-1)
memory = sa.create_engine("sqlite://")
on_disk = sa.create_engine("sqlite:///./app.db", pool_size=2, max_overflow=1)
starred = sa.create_engine("postgresql://app@db/shop", **options.ENGINE)
templated = sa.create_engine(f"postgresql+psycopg://{options.USER}:{options.PASSWORD}@db/shop", pool_size=0)
called = sa.create_engine(options.database_url(), poolclass=options.POOL)


class Holder:
    def __init__(self):
        self.engine = sa.create_engine(str(options.URL), pool_size=3, max_overflow=2)


TESTS = "tests"
"""


def test_pool_classes_defaults_and_limits() -> None:
    index = _index(
        {
            "app/__init__.py": "",
            "app/pools.py": POOLS,
            "tests/conftest.py": 'import sqlalchemy\ne = sqlalchemy.create_engine("sqlite://")\n',
        }
    )
    engines = {(e.name or e.function): e for e in collect_engines(index)}
    null = engines["null"]
    assert (null.pool_class, null.pool_class_source, null.per_process) == ("NullPool", "explicit", None)
    assert null.connections_note == "no limit: NullPool opens a new connection for every checkout"
    assert null.setting("pool_size").text() == "not used (NullPool)"
    assert null.setting("pool_recycle").text() == "-1 (SQLAlchemy default)"
    queue = engines["queue"]
    assert (queue.dialect, queue.driver, queue.per_process) == ("mysql", "pymysql", None)
    assert queue.connections_note == "no limit: max_overflow=-1 lets QueuePool overflow without bound"
    memory = engines["memory"]
    assert (memory.pool_class, memory.per_process) == ("SingletonThreadPool", None)
    assert memory.setting("pool_size").text() == "5 (SQLAlchemy default)"
    assert memory.setting("max_overflow").source == "not_applicable"
    assert (engines["on_disk"].pool_class, engines["on_disk"].per_process) == ("QueuePool", 3)
    starred = engines["starred"]
    assert starred.setting("pool_size").text() == "unknown (**kwargs)"
    assert starred.per_process is None
    assert (starred.pool_class, starred.pool_class_source, starred.pool_class_expression) == (
        "QueuePool",
        "default",
        "**kwargs",
    )
    templated = engines["templated"]
    assert (templated.url_source, templated.dialect, templated.driver) == ("template", "postgresql", "psycopg")
    assert templated.connections_note == "no limit: pool_size=0 lets QueuePool open any number"
    called = engines["called"]
    assert (called.url_source, called.url_expression) == ("runtime", "options.database_url()")
    assert (called.pool_class, called.pool_class_source, called.pool_class_expression) == (
        None,
        "unknown",
        "options.POOL",
    )
    assert called.setting("pool_size").text() == "unknown (depends on the pool)"
    held = engines["self.engine"]
    assert (held.function, held.url_expression, held.per_process) == ("Holder.__init__", "options.URL", 5)
    test_engine = engines["e"]
    assert test_engine.is_test
    # The test database is listed but not counted.
    assert render_text(list(engines.values()), None)[-1] == (
        "9 engines (1 in test code, not counted): at least 8 connections per process"
        " (6 engines without a known limit); set `workers` in [tool.poollint.pool] for the total."
    )


def test_workers_from_the_deployment_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without `workers` in [tool.poollint.pool], each engine takes the count
    # the files starting its server give (the smallest where they differ).
    monkeypatch.chdir(tmp_path)
    _write(
        tmp_path,
        {
            "pyproject.toml": "[tool.poollint]\n",
            "app/db.py": 'from sqlalchemy import create_engine\nengine = create_engine("postgresql://db/shop", pool_size=20)\n',
            "Dockerfile": 'FROM python:3.12\nCMD ["uvicorn", "app.db:app", "--workers", "4"]\n',
            "Procfile": "web: gunicorn -w 3 -k uvicorn.workers.UvicornWorker app.db:app\n",
            "tools/db.py": 'import sqlalchemy\nengine = sqlalchemy.create_engine("postgresql://db/shop", pool_size=1)\n',
            "tools/Procfile": "web: uvicorn tools.db:app\n",
        },
    )
    result = invoke("engines", "app")
    assert result.exit_code == 0, result.stderr
    assert "  connections:   up to 30 per process x 3 workers = 90 (workers: `gunicorn -w 3` in Procfile:1)" in result.stdout
    assert result.stdout.endswith(
        "1 engine: up to 30 connections per process, 90 with the workers the deployment files start.\n"
    )
    data = json.loads(invoke("engines", "--output-format", "json").stdout)
    assert data["workers"] is None
    assert [(e["path"], e["connections"]["workers"], e["connections"]["workers_from"]) for e in data["engines"]] == [
        ("app/db.py", 3, "`gunicorn -w 3` in Procfile:1"),
        ("tools/db.py", None, None),
    ]
    assert data["total"] == {"per_process": 41, "all_workers": 101, "complete": True}
    # Configured workers win over the files.
    (tmp_path / "pyproject.toml").write_text("[tool.poollint.pool]\nworkers = 2\n")
    assert "up to 30 per process x 2 workers = 60\n" in invoke("engines", "app").stdout
