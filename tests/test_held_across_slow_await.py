"""POL207 names the line where the session first did I/O, filled in after the walk."""

from __future__ import annotations

import textwrap

from poollint.rules.leaks.connection_held_across_slow_await import ConnectionHeldAcrossSlowAwait
from poollint.testing import lint_source

SOURCE = textwrap.dedent(
    """
    import asyncio

    import httpx
    from fastapi import Depends, FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

    engine = create_async_engine("postgresql+asyncpg://db/app")
    SessionLocal = async_sessionmaker(engine)
    app = FastAPI()

    async def get_db():
        async with SessionLocal() as db:
            yield db

    @app.post("/orders")
    async def create_order(db: AsyncSession = Depends(get_db)):
        await db.execute("select 1")
        await db.execute("select 2")
        async with httpx.AsyncClient() as client:
            await client.get("https://example.com")
        async with engine.connect() as conn:
            await asyncio.sleep(1)
    """
).lstrip("\n")


def test_messages_name_the_line_of_the_first_io_or_checkout() -> None:
    result = lint_source(SOURCE, [ConnectionHeldAcrossSlowAwait])
    messages = [(d.line, d.message) for d in result.diagnostics]
    assert messages == [
        (
            20,
            "async session `db` (from get_db) holds a pooled connection across await "
            "httpx.AsyncClient.get() (first I/O on line 17) in async route POST /orders (create_order)",
        ),
        (
            22,
            "async session `db` (from get_db) holds a pooled connection across await "
            "asyncio.sleep() (first I/O on line 17) in async route POST /orders (create_order)",
        ),
    ]
