"""Database wiring of the shop: the primary PostgreSQL engine and its sessions,
and a read replica for the catalogue."""

import os
from typing import Annotated, Iterator

from fastapi import Depends
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

DATABASE_URL = "postgresql+psycopg://shop@db.internal/shop"

# No pool settings: five connections, no recycling, no pre-ping.
engine = create_engine(DATABASE_URL)
SessionLocal = sessionmaker(bind=engine, autoflush=False)

# NullPool keeps no connection: every catalogue request connects anew (TCP,
# TLS, authentication), and a spike opens one connection per request, with
# no limit, until the replica refuses them.
replica_engine = create_engine(
    "postgresql+psycopg://shop@replica.internal/shop", poolclass=NullPool
)
ReplicaSession = sessionmaker(bind=replica_engine)


def get_db():
    # If the route raises, the exception is thrown in at the yield and the
    # close below never runs: the connection stays checked out.
    db = SessionLocal()
    yield db
    db.close()


DbSession = Annotated[Session, Depends(get_db)]


def get_replica_db():
    # FastAPI closes only what a dependency yields: nothing ever closes this
    # session, which keeps its connection until garbage collection.
    return ReplicaSession()


# Product search runs on a PostgreSQL server of its own, which accepts 200
# connections too. One pool of 60 + 10 looked modest, but each of the four
# workers opens its own: 280 connections.
SEARCH_URL = "postgresql+psycopg://shop@search.internal/search"
search_engine = create_engine(
    SEARCH_URL, pool_size=60, max_overflow=10, pool_recycle=1800, pool_pre_ping=True
)
# The admin tools share that server with a pool sized at deploy time, so the
# budget of the whole server cannot be added up here; the search pool alone
# is already too large.
search_admin_engine = create_engine(
    SEARCH_URL,
    pool_size=int(os.environ.get("SEARCH_ADMIN_POOL", "2")),
    max_overflow=5,
    pool_recycle=1800,
    pool_timeout=10,
    pool_pre_ping=True,
)


# Look-alikes that are fine and must stay clean.


def get_db_safely() -> Iterator[Session]:
    with SessionLocal() as db:
        yield db
