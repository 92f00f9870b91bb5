"""Generate a dense FastAPI + SQLAlchemy project for the benchmark.

Every module has an engine, a session factory, a dependency and several
routes, so every file passes poollint's triggers and is parsed and walked:
the worst case for the linter. Most code is clean; a seeded share of it is
an anti-pattern poollint flags (blocking calls in async routes, leaked
sessions, a yield without finally, an engine per request, ...), so rules
take their reporting paths too. The same seed gives the same files, so the
figures of two runs compare.

    python bench/generate.py OUT_DIR --files 1000 --seed 4
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import List, Optional

PACKAGE = "app"

HEADER = '''\
"""Generated module {index}: {topic} endpoints."""

import asyncio
import subprocess
import time
from typing import Annotated, Iterator

import requests
from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException
from sqlalchemy import create_engine, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker
{cross_import}
router = APIRouter(prefix="/{topic}{index}")
'''

# Engines: clean ones spell out their pool; a bare one misses its settings.
ENGINE_CLEAN = '''
engine = create_engine(
    "postgresql+psycopg://svc@db{index}.internal/{topic}",
    pool_size={pool_size},
    max_overflow={overflow},
    pool_timeout=30,
    pool_recycle=1800,
    pool_pre_ping=True,
)
SessionLocal = sessionmaker(bind=engine, autoflush=False)
'''
ENGINE_BARE = '''
engine = create_engine("postgresql+psycopg://svc@db{index}.internal/{topic}")
SessionLocal = sessionmaker(bind=engine)
'''
ASYNC_ENGINE = '''
async_engine = create_async_engine(
    "postgresql+asyncpg://svc@db{index}.internal/{topic}",
    pool_size={pool_size},
    max_overflow={overflow},
    pool_timeout=30,
    pool_recycle=1800,
    pool_pre_ping=True,
)
AsyncSessionLocal = async_sessionmaker(async_engine, expire_on_commit=False)


async def get_async_db():
    async with AsyncSessionLocal() as session:
        yield session
'''

DEPENDENCY_CLEAN = '''

def get_db() -> Iterator[Session]:
    with SessionLocal() as db:
        yield db


DbSession = Annotated[Session, Depends(get_db)]
'''
DEPENDENCY_NO_FINALLY = '''

def get_db():
    db = SessionLocal()
    yield db
    db.close()


DbSession = Annotated[Session, Depends(get_db)]
'''
DEPENDENCY_RETURNS = '''

def get_db():
    with SessionLocal() as db:
        yield db


def get_reader():
    return SessionLocal()


DbSession = Annotated[Session, Depends(get_db)]
ReaderSession = Annotated[Session, Depends(get_reader)]
'''

# Routes: {n} makes every name in a module unique.
CLEAN_ROUTES = [
    '''

@router.get("/items/{n}")
def read_item_{n}(item_id: int, db: DbSession):
    row = db.execute(text("SELECT * FROM items WHERE id = :id"), {{"id": item_id}}).first()
    if row is None:
        raise HTTPException(status_code=404)
    return dict(row._mapping)
''',
    '''

@router.post("/items/{n}")
def create_item_{n}(name: str, db: Session = Depends(get_db)):
    db.execute(text("INSERT INTO items (name) VALUES (:name)"), {{"name": name}})
    db.commit()
    return {{"created": name}}
''',
    '''

@router.get("/async/{n}")
async def list_async_{n}(session: AsyncSession = Depends(get_async_db)):
    result = await session.execute(select(1))
    await asyncio.sleep(0)
    return {{"rows": result.scalars().all()}}
''',
    '''

@router.get("/report/{n}")
def report_{n}(limit: int = 10):
    with SessionLocal() as db:
        rows = db.execute(text("SELECT id FROM reports LIMIT :n"), {{"n": limit}}).all()
    return [r.id for r in rows]
''',
    '''

@router.get("/health/{n}")
async def health_{n}():
    await asyncio.sleep(0.01)
    return {{"ok": True}}
''',
    '''

def summarise_{n}(values: list) -> dict:
    total = sum(values)
    return {{"count": len(values), "total": total, "mean": total / max(len(values), 1)}}


@router.get("/summary/{n}")
def summary_{n}(db: DbSession):
    values = [r[0] for r in db.execute(text("SELECT amount FROM orders")).all()]
    return summarise_{n}(values)
''',
]

FLAWED_ROUTES = [
    # POL101 (and flake8-async / ruff ASYNC251)
    '''

@router.get("/slow/{n}")
async def slow_{n}(db: DbSession):
    time.sleep(0.05)
    return {{"ok": True}}
''',
    # POL102 (ASYNC210)
    '''

@router.post("/notify/{n}")
async def notify_{n}(order_id: int):
    response = requests.post("https://hooks.example/orders", json={{"id": order_id}})
    return response.json()
''',
    # POL103 (ASYNC221)
    '''

@router.post("/render/{n}")
async def render_{n}(doc_id: int):
    subprocess.run(["render", str(doc_id)], check=True)
    return {{"rendered": doc_id}}
''',
    # POL201: closed only when nothing raises
    '''

@router.get("/audit/{n}")
def audit_{n}(order_id: int):
    db = SessionLocal()
    rows = db.execute(text("SELECT * FROM audit WHERE id = :id"), {{"id": order_id}}).all()
    db.close()
    return [dict(r._mapping) for r in rows]
''',
    # POL105: sync session I/O in an async route
    '''

@router.get("/sync-in-async/{n}")
async def sync_in_async_{n}(db: Session = Depends(get_db)):
    rows = db.execute(text("SELECT 1")).all()
    return {{"rows": len(rows)}}
''',
    # engine per request
    '''

@router.post("/export/{n}")
def export_{n}(order_id: int):
    analytics = create_engine("postgresql+psycopg://svc@analytics.internal/exports")
    with analytics.begin() as conn:
        conn.execute(text("INSERT INTO exports (id) VALUES (:id)"), {{"id": order_id}})
    return {{"exported": order_id}}
''',
    # POL402: un-awaited AsyncSession call
    '''

@router.post("/async-save/{n}")
async def async_save_{n}(session: AsyncSession = Depends(get_async_db)):
    session.commit()
    return {{"saved": True}}
''',
    # POL205: request session handed to a background task
    '''

def send_email_{n}(db: Session, order_id: int) -> None:
    db.execute(text("UPDATE orders SET mailed = true WHERE id = :id"), {{"id": order_id}})


@router.post("/mail/{n}")
def mail_{n}(order_id: int, background_tasks: BackgroundTasks, db: DbSession):
    background_tasks.add_task(send_email_{n}, db, order_id)
    return {{"queued": order_id}}
''',
]

TOPICS = ["orders", "users", "billing", "catalog", "reviews", "shipping", "search", "reports"]

# Share of the code that is an anti-pattern; the rest is clean.
FLAW_RATE = 0.25


def _module(index: int, rng: random.Random) -> str:
    topic = rng.choice(TOPICS)
    fill = dict(index=index, topic=topic, pool_size=rng.choice([5, 10, 20]), overflow=rng.choice([5, 10]))
    parts: List[str] = []
    # A share of modules imports a helper from an earlier one, so the index
    # resolves names across modules as in a real project.
    cross_import = ""
    if index > 0 and rng.random() < 0.2:
        cross_import = f"from {PACKAGE}.m{rng.randrange(index):05d} import router as _sibling_router  # noqa: F401\n"
    parts.append(HEADER.format(cross_import=cross_import, **fill))
    parts.append((ENGINE_BARE if rng.random() < FLAW_RATE else ENGINE_CLEAN).format(**fill))
    parts.append(ASYNC_ENGINE.format(**fill))
    roll = rng.random()
    if roll < FLAW_RATE / 2:
        parts.append(DEPENDENCY_NO_FINALLY)
    elif roll < FLAW_RATE:
        parts.append(DEPENDENCY_RETURNS)
    else:
        parts.append(DEPENDENCY_CLEAN)
    for n in range(rng.randint(4, 9)):
        pool = FLAWED_ROUTES if rng.random() < FLAW_RATE else CLEAN_ROUTES
        parts.append(rng.choice(pool).format(n=n))
    return "".join(parts)


def generate(out_dir: Path, files: int, seed: int = 4) -> List[Path]:
    """Write `files` modules under out_dir/app/ and return their paths.

    The package has no __init__.py (a namespace package), so the number of
    Python files is exactly `files`.
    """
    rng = random.Random(seed)
    package = Path(out_dir) / PACKAGE
    package.mkdir(parents=True, exist_ok=True)
    written: List[Path] = []
    for index in range(files):
        path = package / f"m{index:05d}.py"
        path.write_text(_module(index, rng), encoding="utf-8")
        written.append(path)
    return written


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args(argv)
    paths = generate(args.out_dir, args.files, args.seed)
    print(f"wrote {len(paths)} files under {args.out_dir / PACKAGE}")


if __name__ == "__main__":
    main()
