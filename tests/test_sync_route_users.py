"""ProjectIndex.sync_route_users_of_engine: the plain `def` routes drawing from an engine."""

from __future__ import annotations

from pathlib import Path

from poollint.engine import build_index, read_facts

ROOT = Path("/virtual")

SOURCES = {
    "app/db.py": (
        "from sqlalchemy import create_engine\n"
        "from sqlalchemy.orm import Session, sessionmaker\n"
        'engine = create_engine("postgresql://app@db/shop")\n'
        'other = create_engine("postgresql://app@db/other")\n'
        "SessionLocal = sessionmaker(bind=engine)\n"
        "def get_db():\n"
        "    with SessionLocal() as db:\n"
        "        yield db\n"
    ),
    "app/routes.py": (
        "from typing import Annotated\n"
        "from fastapi import APIRouter, Depends\n"
        "from sqlalchemy.orm import Session\n"
        "from .db import engine, get_db, other\n"
        "router = APIRouter()\n"
        "Db = Annotated[Session, Depends(get_db)]\n"
        '@router.get("/items")\n'
        "def list_items(db: Db): ...\n"
        '@router.get("/stats")\n'
        "def stats():\n"
        "    with engine.connect() as conn:\n"
        "        return conn.exec_driver_sql('select 1')\n"
        '@router.get("/async")\n'
        "async def async_items(db: Db): ...\n"
        '@router.get("/other")\n'
        "def other_items():\n"
        "    with Session(other) as s:\n"
        "        return s.execute('select 1')\n"
        '@router.get("/none")\n'
        "def nothing(): ...\n"
    ),
}


def index():
    return build_index(read_facts(ROOT / name, ROOT, text.encode()) for name, text in SOURCES.items())


def test_sync_routes_given_or_creating_sessions_and_connections_of_the_engine() -> None:
    users = index().sync_route_users_of_engine("app.db.engine")
    assert [fn.qualname for _, fn, _ in users] == ["list_items", "stats"]


def test_routes_of_another_engine_are_not_users() -> None:
    users = index().sync_route_users_of_engine("app.db.other")
    assert [fn.qualname for _, fn, _ in users] == ["other_items"]
