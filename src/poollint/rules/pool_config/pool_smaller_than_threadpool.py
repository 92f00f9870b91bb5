"""POL307: a sync engine serving plain `def` routes has fewer connections than the thread pool has threads."""

from __future__ import annotations

from poollint.rule import Invalid, Valid
from poollint.rules.pool_config._engine_call import EngineCall, EngineCallRule


class PoolSmallerThanThreadpool(EngineCallRule):
    """
    ## What it does
    Flags a module-level `create_engine()` (a sync engine) for a pooled server
    database whose `pool_size + max_overflow` is smaller than the thread pool
    FastAPI runs plain `def` routes on (`thread-pool-size` in
    `[tool.poollint.pool]`, default 40, AnyIO's default), when plain `def`
    routes use its sessions or connections (given by a dependency, created in
    the route, or used by a dependency or function the route calls, across
    modules). The message names one of the routes.

    It is opt-in (`extend-select = ["POL307"]`), and speaks only where
    `pool_size` or `max_overflow` is written as a literal: the size was chosen
    and can be compared. A size read from settings or `**kwargs`, an
    unbounded pool (`pool_size=0`, `max_overflow=-1`), SQLite, NullPool and
    StaticPool engines, async engines and engines made in functions are left
    alone.

    ## Why is this bad?
    FastAPI runs every plain `def` route (and sync dependency) in a thread
    pool of 40 threads by default, so up to 40 requests hold a session at the
    same time. A pool of 5 + 10 connections serves 15 of them; the other
    threads wait for a connection for up to `pool_timeout` (30 seconds) and
    then fail with `QueuePool limit of size 5 overflow 10 reached, connection
    timed out`, while the CPU sits idle. Either give the pool as many
    connections as there are threads (if the database can take
    `threads x workers` of them, see POL306), or shrink the thread pool to
    what the database can serve.

    ## Example
    ```python
    from fastapi import Depends, FastAPI
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session, sessionmaker

    app = FastAPI()
    engine = create_engine("postgresql+psycopg://app@db/shop", pool_size=5, max_overflow=5)
    SessionLocal = sessionmaker(bind=engine)

    def get_db():
        with SessionLocal() as db:
            yield db

    @app.get("/items")
    def list_items(db: Session = Depends(get_db)):
        return db.execute("select 1").all()
    ```

    ## Use instead
    ```python
    from fastapi import Depends, FastAPI
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session, sessionmaker

    app = FastAPI()
    engine = create_engine("postgresql+psycopg://app@db/shop", pool_size=20, max_overflow=20)
    SessionLocal = sessionmaker(bind=engine)

    def get_db():
        with SessionLocal() as db:
            yield db

    @app.get("/items")
    def list_items(db: Session = Depends(get_db)):
        return db.execute("select 1").all()
    ```
    """

    CODE = "POL307"
    NAME = "pool-smaller-than-threadpool"
    MESSAGE = (
        "{call}() for {database} holds at most {arithmetic} connections, fewer than the {threads} threads "
        "running its sync routes ({routes}): under load requests wait on the pool and fail after "
        "pool_timeout ({timeout})"
    )
    TRIGGERS = ("pool_size", "max_overflow")
    DEFAULT_ENABLED = False
    OPTIONS = (
        (
            "`thread-pool-size` in `[tool.poollint.pool]`",
            "the threads running plain `def` routes; default 40 (AnyIO's default)",
        ),
    )

    VALID = [
        Valid(
            """
            from fastapi import FastAPI
            from sqlalchemy import create_engine

            app = FastAPI()
            engine = create_engine("postgresql://app@db/shop", pool_size=30, max_overflow=10)

            @app.get("/items")
            def list_items():
                with engine.connect() as conn:
                    return conn.exec_driver_sql("select 1").all()
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from sqlalchemy import create_engine

            app = FastAPI()
            engine = create_engine("postgresql://app@db/shop", pool_size=5)

            @app.get("/items")
            async def list_items():
                ...
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from sqlalchemy import create_engine

            from app.config import settings

            app = FastAPI()
            engine = create_engine("postgresql://app@db/shop", pool_size=settings.POOL_SIZE)

            @app.get("/items")
            def list_items():
                with engine.connect() as conn:
                    return conn.exec_driver_sql("select 1").all()
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from fastapi import FastAPI
            from sqlalchemy import create_engine

            app = FastAPI()
            engine = create_engine("postgresql://app@db/shop", pool_size=10)

            @app.get("/items")
            def list_items():
                with engine.connect() as conn:
                    return conn.exec_driver_sql("select 1").all()
            """
        ),
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import create_engine
            from sqlalchemy.orm import Session

            app = FastAPI()
            engine = create_engine("mysql+pymysql://app@db/shop", pool_size=20, max_overflow=0)

            def get_db():
                with Session(engine) as session:
                    yield session

            @app.post("/orders")
            def create_order(db: Session = Depends(get_db)):
                ...
            """
        ),
        Invalid(
            """
            import sqlalchemy as sa
            from fastapi import APIRouter
            from sqlalchemy.orm import sessionmaker

            router = APIRouter()
            engine = sa.create_engine("postgresql://app@db/shop", max_overflow=5, pool_timeout=10)
            SessionLocal = sessionmaker(bind=engine)

            @router.get("/stats")
            def stats():
                with SessionLocal() as db:
                    return db.execute("select 1").all()
            """
        ),
    ]

    def check(self, engine: EngineCall) -> None:
        if engine.is_async:
            return
        given = [engine.keyword(name) for name in ("pool_size", "max_overflow")]
        if all(arg is None for arg in given):
            return
        size = self.keyword_value(engine, "pool_size", 5)
        overflow = self.keyword_value(engine, "max_overflow", 10)
        if not (_is_int(size) and _is_int(overflow)) or size <= 0 or overflow < 0:  # type: ignore[operator]
            # Only known at run time, or a pool without a limit.
            return
        threads = self.ctx.settings.pool.thread_pool_size
        total = size + overflow  # type: ignore[operator]
        if total >= threads:
            return
        qualified = self.qualified_engine(engine)
        if qualified is None:
            return
        pooled = self.pooled(engine)
        if pooled is None:
            return
        routes = self.route_users(qualified, sync_only=True)
        if not routes:
            return
        more = len(routes) - 1
        timeout = self.keyword_value(engine, "pool_timeout", 30)
        self.report(
            engine.node,
            call=engine.name,
            database=pooled.database,
            arithmetic=f"{size} + {overflow} = {total}",
            threads=threads,
            routes=routes[0] + (f" and {more} more" if more else ""),
            timeout=f"{timeout} s" if _is_number(timeout) else "unknown",
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
