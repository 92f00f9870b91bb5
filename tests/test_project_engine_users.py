"""ProjectIndex.async_users_of_engine and runs_per_request, across modules."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

from poollint.engine import read_facts
from poollint.project import ProjectIndex

ROOT = Path("/virtual")

DB = """
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("postgresql://db/shop")
SessionLocal = sessionmaker(bind=engine)
other = create_engine("postgresql://db/other")

def get_db():
    with SessionLocal() as db:
        yield db

def get_session():
    with Session(engine) as session:
        yield session

def get_other():
    session = Session(bind=other)
    try:
        yield session
    finally:
        session.close()
"""

ROUTES = """
from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from app import helpers
from app.db import SessionLocal, engine, get_db, get_other, get_session

router = APIRouter()

@router.get("/a")
async def via_factory_dependency(db: Session = Depends(get_db)):
    return db.execute("select 1")

@router.get("/b")
async def via_session_dependency(session: Session = Depends(get_session)):
    session.commit()

@router.get("/c")
async def via_engine():
    return engine.connect()

@router.get("/d")
async def via_with():
    with SessionLocal() as db:
        db.flush()

@router.get("/e")
async def in_a_thread(db: Session = Depends(get_db)):
    return await run_in_threadpool(helpers.load, db)

@router.get("/f")
async def other_engine(db: Session = Depends(get_other)):
    return db.scalar("select 1")

@router.get("/g")
async def via_helper():
    return await helpers.totals()
"""

HELPERS = """
from app.db import SessionLocal

def load(db):
    return db.execute("select 1")

async def totals():
    with SessionLocal() as db:
        return db.execute("select 2")

async def nightly():
    with SessionLocal() as db:
        db.execute("delete from sessions")
"""


def _index(sources: Dict[str, str]) -> ProjectIndex:
    results = [read_facts(ROOT / name, ROOT, text.encode()) for name, text in sources.items()]
    return ProjectIndex(r.facts for r in results if r.facts is not None)


INDEX = _index({"app/__init__.py": "", "app/db.py": DB, "app/routes.py": ROUTES, "app/helpers.py": HELPERS})


def _users(engine: str):
    return sorted(fn.qualname for _, fn, _ in INDEX.async_users_of_engine(engine))


def test_async_users_follow_dependencies_factories_session_binds_and_the_engine_itself() -> None:
    assert _users("app.db.engine") == [
        "nightly",
        "totals",
        "via_engine",
        "via_factory_dependency",
        "via_session_dependency",
        "via_with",
    ]
    assert _users("app.db.other") == ["other_engine"]


def test_runs_per_request_covers_routes_dependencies_and_what_they_call() -> None:
    assert INDEX.runs_per_request("app.routes", "via_helper")
    assert INDEX.runs_per_request("app.db", "get_db")
    assert INDEX.runs_per_request("app.helpers", "totals")
    assert not INDEX.runs_per_request("app.helpers", "nightly")
    # Handed to a thread, not called: run_in_threadpool is the callee.
    assert not INDEX.runs_per_request("app.helpers", "load")
