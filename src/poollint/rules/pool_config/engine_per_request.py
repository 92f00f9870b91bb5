"""POL302: an engine created on every request (in a route, a dependency or a function they call)."""

from __future__ import annotations

from poollint.rule import Invalid, Valid
from poollint.rules.pool_config._engine_call import EngineCall, EngineCallRule


class EnginePerRequest(EngineCallRule):
    """
    ## What it does
    Flags `create_engine()` and `create_async_engine()` (any import form)
    called inside a function that runs on every request: a route, a
    dependency (named in `Depends()`/`Security()`, also through `Annotated`
    aliases and across modules), or a project function one of them calls,
    directly or through other calls. The message names the function and, for
    a helper, the route or dependency it is called from.

    Engines created at import time, in a lifespan or startup handler, in
    functions no route or dependency reaches (CLI commands, scripts) and in
    test code are left alone, and so is an engine made once and kept: stored
    in a global, on an attribute or in a container (a lazily built
    singleton), or made in a memoized function (`functools.cache`,
    `lru_cache`) or in a function reached only through a memoized one or one
    that keeps results in a global.

    ## Why is this bad?
    An engine owns a connection pool. Creating one per request means every
    request opens a brand-new database connection (TCP, TLS and
    authentication included) and the pool that would have reused it is thrown
    away; nothing is pooled at all. Engines that are not disposed keep their
    connections open until garbage collection, so under load the database
    runs out of connections (`too many clients already`) long before the
    application runs out of work.

    ## Example
    ```python
    from fastapi import FastAPI
    from sqlalchemy import create_engine, text

    app = FastAPI()

    @app.get("/health")
    def health():
        engine = create_engine("postgresql+psycopg://app@db/shop")
        with engine.connect() as conn:
            return {"ok": conn.execute(text("select 1")).scalar()}
    ```

    ## Use instead
    ```python
    from fastapi import FastAPI
    from sqlalchemy import create_engine, text

    app = FastAPI()
    engine = create_engine("postgresql+psycopg://app@db/shop")

    @app.get("/health")
    def health():
        with engine.connect() as conn:
            return {"ok": conn.execute(text("select 1")).scalar()}
    ```
    """

    CODE = "POL302"
    NAME = "engine-per-request"
    MESSAGE = (
        "{call}() runs on every request in {where}: each request opens a new pool; "
        "create the engine once at import or in lifespan"
    )
    TRIGGERS = ("create_engine", "create_async_engine")

    VALID = [
        Valid(
            """
            from contextlib import asynccontextmanager

            from fastapi import FastAPI
            from sqlalchemy.ext.asyncio import create_async_engine

            @asynccontextmanager
            async def lifespan(app: FastAPI):
                app.state.engine = create_async_engine("postgresql+asyncpg://app@db/shop")
                yield
                await app.state.engine.dispose()

            app = FastAPI(lifespan=lifespan)
            """
        ),
        Valid(
            """
            from functools import lru_cache

            from fastapi import Depends, FastAPI
            from sqlalchemy import create_engine

            app = FastAPI()

            @lru_cache
            def get_engine():
                return create_engine("postgresql://app@db/shop")

            @app.get("/items")
            def items(engine=Depends(get_engine)):
                ...
            """
        ),
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import create_engine

            app = FastAPI()
            _engine = None

            def get_engine():
                global _engine
                if _engine is None:
                    _engine = create_engine("postgresql://app@db/shop")
                return _engine

            @app.get("/items")
            def items(engine=Depends(get_engine)):
                ...
            """
        ),
        Valid(
            """
            import sys

            from sqlalchemy import create_engine

            def main():
                # A command-line tool: no route reaches it.
                engine = create_engine(sys.argv[1])
                with engine.connect() as conn:
                    conn.exec_driver_sql("vacuum")
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from fastapi import FastAPI
            from sqlalchemy.ext.asyncio import create_async_engine

            app = FastAPI()

            @app.get("/orders/{order_id}")
            async def read_order(order_id: int):
                engine = create_async_engine("postgresql+asyncpg://app@db/shop")
                async with engine.connect() as conn:
                    ...
            """
        ),
        Invalid(
            """
            import sqlalchemy as sa
            from fastapi import Depends, FastAPI

            app = FastAPI()

            def get_engine():
                return sa.create_engine("postgresql://app@db/shop")

            @app.get("/items")
            def items(engine=Depends(get_engine)):
                ...
            """
        ),
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import create_engine as make_engine
            from sqlalchemy.orm import Session

            app = FastAPI()

            def engine_for(tenant: str):
                return make_engine(f"postgresql://app@db/{tenant}")

            def get_db(tenant: str):
                with Session(engine_for(tenant)) as session:
                    yield session

            @app.get("/items")
            def items(db: Session = Depends(get_db)):
                ...
            """
        ),
    ]

    def check(self, engine: EngineCall) -> None:
        where = self.per_request(engine)
        if where is not None:
            self.report(engine.node, call=engine.name, where=where)
