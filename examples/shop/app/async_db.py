"""The async side of the shop (product reviews): its own engine and sessions,
on the same PostgreSQL server as app/db.py."""

from typing import Annotated, AsyncIterator

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

async_engine = create_async_engine(
    # psycopg2 is a sync driver: create_async_engine() refuses it, and the
    # app does not start.
    "postgresql+psycopg2://shop@db.internal/shop",
    pool_size=20,
    # No overflow: in a burst, the 21st concurrent request waits pool_timeout
    # (30 s) for a connection, then fails.
    max_overflow=0,
    pool_recycle=1800,
    pool_pre_ping=True,
    echo=True,  # logs every statement with its parameters: slow, and e-mail addresses in the logs
)

# Expires every loaded object on commit: reading a review's attributes after
# `await db.commit()` is I/O behind an attribute access (MissingGreenlet).
ReviewSession = async_sessionmaker(async_engine)


# Look-alikes that are fine and must stay clean.


async def get_async_db() -> AsyncIterator[AsyncSession]:
    async with ReviewSession() as db:
        yield db


AsyncDb = Annotated[AsyncSession, Depends(get_async_db)]
