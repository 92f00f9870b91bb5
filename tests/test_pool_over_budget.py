"""POL306 details the fixtures cannot pin: no budget configured, one worker, URL servers."""

from __future__ import annotations

from pathlib import Path

from poollint.config import PoolSettings, Settings
from poollint.rules.pool_config.pool_over_budget import PoolOverBudget, _server
from poollint.testing import lint_source

SOURCE = (
    "from fastapi import FastAPI\n"
    "from sqlalchemy import create_engine\n"
    "app = FastAPI()\n"
    'engine = create_engine("postgresql://app:hunter2@db/shop", pool_size=150)\n'
)


def _settings(**pool: object) -> Settings:
    return Settings(project_root=Path("/virtual"), config_path=None, pool=PoolSettings(**pool))  # type: ignore[arg-type]


def test_silent_without_a_configured_budget() -> None:
    assert lint_source(SOURCE, [PoolOverBudget], settings=_settings()).diagnostics == []


def test_one_worker_by_default_and_never_the_password() -> None:
    [finding] = lint_source(SOURCE, [PoolOverBudget], settings=_settings(max_connections=100)).diagnostics
    assert finding.message == (
        "the pools can open more connections than the database accepts: "
        "engine (150 + 10) x 1 worker = 160 connections > max-connections 100"
    )
    assert "hunter2" not in finding.message


def test_within_the_budget_is_silent() -> None:
    assert lint_source(SOURCE, [PoolOverBudget], settings=_settings(max_connections=160)).diagnostics == []


def test_a_project_without_app_router_or_route_is_not_budgeted() -> None:
    source = SOURCE.replace("from fastapi import FastAPI\n", "").replace("app = FastAPI()\n", "")
    assert lint_source(source, [PoolOverBudget], settings=_settings(max_connections=10)).diagnostics == []


def test_servers_of_urls() -> None:
    assert _server("postgresql://u:p@db/shop") == ("db", 5432)
    assert _server("postgresql+psycopg://u:p@DB:6000/shop?sslmode=require") == ("db", 6000)
    assert _server("mysql+pymysql://u:p:with:colons@db/shop") == ("db", 3306)
    assert _server("postgresql://u@[::1]/shop") == ("[::1]", 5432)
    assert _server("postgresql:///shop") is None
