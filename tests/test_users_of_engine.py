"""ProjectIndex.users_of_engine, and the engine facts the inventory reads (other_engines, URL sources)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

from poollint.engine import read_facts
from poollint.facts import collect_facts
from poollint.project import ProjectIndex

ROOT = Path("/virtual")

DB = """
from typing import Annotated

from fastapi import Depends
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("postgresql://app@db/shop")
SessionLocal = sessionmaker(bind=engine)
aengine = create_async_engine("postgresql+asyncpg://app@db/shop")
AsyncSessionLocal = async_sessionmaker(aengine)

def get_db():
    with SessionLocal() as db:
        yield db

def get_bound():
    with Session(engine) as session:
        yield session

async def get_adb():
    async with AsyncSessionLocal() as db:
        yield db

Db = Annotated[Session, Depends(get_db)]
ADb = Annotated[AsyncSession, Depends(get_adb)]
"""

DEPS = """
from fastapi import Depends

from app.db import Db

def current_user(db: Db):
    return db.get(dict, 1)

def admin(user=Depends(current_user)):
    return user

def ping(x=Depends(lambda: 1)):
    return x
"""

SERVICES = """
from app.db import AsyncSessionLocal, engine

async def totals():
    async with AsyncSessionLocal() as db:
        return await db.scalar("select 1")

def raw():
    with engine.connect() as conn:
        return conn.exec_driver_sql("select 1")

def recursive(n):
    return recursive(n - 1) if n else 0
"""

ROUTES = """
from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from app import services
from app.db import ADb, AsyncSessionLocal, SessionLocal, aengine, get_bound, get_db
from app.deps import admin, ping

router = APIRouter()

@router.get("/dep")
def via_dependency(db: Session = Depends(get_db)):
    return db.get(dict, 1)

@router.get("/bound")
def via_bound_session(session: Session = Depends(get_bound)):
    return session.get(dict, 1)

@router.get("/admin")
def via_sub_dependency(user=Depends(admin)):
    return user

@router.get("/alias")
async def via_async_alias(db: ADb):
    return await db.get(dict, 1)

@router.get("/direct")
def direct():
    with SessionLocal() as db:
        return db.get(dict, 1)

@router.get("/inline")
def inline():
    return SessionLocal().get(dict, 1)

@router.get("/aconnect")
async def via_engine_connect():
    async with aengine.connect() as conn:
        return await conn.scalar("select 1")

@router.get("/service")
async def via_service():
    return await services.totals()

@router.get("/raw")
def via_raw():
    return services.raw()

@router.get("/nested")
async def via_closure():
    async def count(query):
        async with AsyncSessionLocal() as session:
            return await session.scalar(query)

    return await count("select 1")

@router.get("/none")
def no_database(x=Depends(ping)):
    return services.recursive(3)

def not_a_route():
    with SessionLocal() as db:
        return db.get(dict, 1)
"""


def _index(sources: Dict[str, str]) -> ProjectIndex:
    results = [read_facts(ROOT / name, ROOT, text.encode()) for name, text in sources.items()]
    return ProjectIndex(r.facts for r in results if r.facts is not None)


INDEX = _index(
    {
        "app/__init__.py": "",
        "app/db.py": DB,
        "app/deps.py": DEPS,
        "app/services.py": SERVICES,
        "app/routes.py": ROUTES,
    }
)


def _users(engine: str) -> List[Tuple[str, str, str]]:
    return [(fn.qualname, r.kind, r.origin or "") for _, fn, r in INDEX.users_of_engine(engine)]


def test_routes_using_the_sync_engine_sessions_and_connections() -> None:
    assert _users("app.db.engine") == [
        ("via_dependency", "session", "SessionLocal"),
        ("via_bound_session", "session", "Session"),
        ("via_sub_dependency", "session", "SessionLocal"),
        ("direct", "session", "SessionLocal"),
        ("inline", "session", "SessionLocal"),
        ("via_raw", "connection", "engine.connect"),
    ]


def test_routes_using_the_async_engine() -> None:
    assert _users("app.db.aengine") == [
        ("via_async_alias", "session", "AsyncSessionLocal"),
        ("via_engine_connect", "connection", "aengine.connect"),
        ("via_service", "session", "AsyncSessionLocal"),
        ("via_closure", "session", "AsyncSessionLocal"),
    ]


def test_unknown_engine_has_no_users() -> None:
    assert INDEX.users_of_engine("app.db.nope") == []


def test_engines_outside_module_level_assignments_are_recorded() -> None:
    facts = collect_facts(
        b"""
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from app.config import settings

engine = sa.create_engine(str(settings.DATABASE_URL), pool_size=settings.POOL_SIZE, max_overflow=0)
app_state.engine = sa.create_engine("sqlite://")
registry = {"a": 1}

def make_engine():
    return create_async_engine(get_url(), **settings.OPTIONS)

class Holder:
    async def start(self):
        self.engine = create_async_engine(f"postgresql+asyncpg://{settings.USER}@db/x")

def not_an_engine():
    return sa.create_all()
""",
        "app.db",
        "app/db.py",
    )
    module_level = facts.engines["engine"]
    assert (module_level.url, module_level.url_ref, module_level.url_call) == (None, "settings.DATABASE_URL", False)
    assert module_level.expressions == (("pool_size", "settings.POOL_SIZE"),)
    assert module_level.literal("max_overflow") == 0
    others = [(where, target, fact.line, fact.is_async) for where, target, fact in facts.other_engines]
    assert others == [
        ("", "app_state.engine", 7, False),
        ("make_engine", None, 11, True),
        ("Holder.start", "self.engine", 15, True),
    ]
    made = facts.other_engines[1][2]
    assert (made.url_ref, made.url_call, made.has_star_kwargs) == ("get_url", True, True)
    held = facts.other_engines[2][2]
    assert (held.url_ref, held.url_template) == (None, "postgresql+asyncpg://{}@db/x")
