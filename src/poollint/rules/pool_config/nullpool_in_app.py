"""POL308: poolclass=NullPool in application code."""

from __future__ import annotations

from typing import Optional

from poollint.project import ProjectIndex, index_table
from poollint.rule import Invalid, Valid
from poollint.rules.pool_config._engine_call import NULL_POOL, EngineCall, EngineCallRule, is_migration_module

# Where NullPool is the right choice: processes that fork after import
# (Celery's prefork workers) and short-lived serverless handlers.
_NULLPOOL_CONTEXTS = ("celery", "lambda_handler", "mangum", "serverless")


class NullpoolInApp(EngineCallRule):
    """
    ## What it does
    Flags `poolclass=NullPool` (the name resolved through imports:
    `sqlalchemy.NullPool`, `sqlalchemy.pool.NullPool`, any alias) on
    `create_engine()` or `create_async_engine()` for a server database, on a
    module-level engine that serves requests: a route uses its sessions or
    connections (directly, through a dependency, across modules; the message
    names one), or a session factory is bound to it in a project with a
    FastAPI app, router or route.

    Left alone, because NullPool is the right choice there or costs nothing:
    an engine no route draws from (a maintenance or one-off engine); engines
    made inside functions; test code; Alembic's `env.py` and migration
    scripts; scripts (under `scripts/` or `bin/`, code under
    `if __name__ == "__main__":`, modules without app, router or route that
    have a main block or work at import time); SQLite, where opening a
    connection is opening a file (NullPool with SQLite is a common test and
    single-process setup); and a file that speaks of a pooler in front of the
    database (PgBouncer, Supabase, RDS Proxy, ports 6432/6543: the pooler
    pools), of Celery (forked workers must not share pooled connections) or
    of serverless handlers (Mangum, `lambda_handler`).

    ## Why is this bad?
    NullPool keeps no connection: every checkout opens a new one (TCP
    handshake, TLS, authentication, often tens of milliseconds) and every
    release closes it. A busy application then spends much of each request
    connecting, and the database, which forks a process per connection
    (PostgreSQL), sees a storm of short-lived backends. With no pool there is
    no limit either: a spike opens as many connections as there are
    concurrent requests, until the database refuses them.

    ## Example
    ```python
    from fastapi import FastAPI
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker
    from sqlalchemy.pool import NullPool

    app = FastAPI()
    engine = create_engine("postgresql+psycopg://app@db/shop", poolclass=NullPool)
    SessionLocal = sessionmaker(bind=engine)
    ```

    ## Use instead
    ```python
    from fastapi import FastAPI
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    app = FastAPI()
    engine = create_engine("postgresql+psycopg://app@db/shop", pool_size=5, max_overflow=10)
    SessionLocal = sessionmaker(bind=engine)
    ```
    """

    CODE = "POL308"
    NAME = "nullpool-in-app"
    MESSAGE = (
        "poolclass=NullPool on {call}() for {database}, which serves {serves}: every checkout opens a new "
        "database connection and closes it afterwards, with no limit on how many; keep SQLAlchemy's pool "
        "unless a pooler such as PgBouncer pools for you"
    )
    TRIGGERS = ("NullPool",)

    VALID = [
        Valid(
            """
            from sqlalchemy import create_engine
            from sqlalchemy.orm import sessionmaker
            from sqlalchemy.pool import NullPool

            # A batch job: the project serves no requests.
            engine = create_engine("postgresql://app@db/shop", poolclass=NullPool)
            SessionLocal = sessionmaker(bind=engine)
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from sqlalchemy import create_engine
            from sqlalchemy.orm import sessionmaker
            from sqlalchemy.pool import NullPool

            app = FastAPI()
            # PgBouncer (transaction mode) pools the connections.
            engine = create_engine("postgresql://app@pgbouncer:6432/shop", poolclass=NullPool)
            SessionLocal = sessionmaker(bind=engine)
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
            from sqlalchemy.pool import NullPool

            app = FastAPI()
            engine = create_async_engine("sqlite+aiosqlite:///./app.db", poolclass=NullPool)
            SessionLocal = async_sessionmaker(engine)
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from sqlalchemy import create_engine, pool

            app = FastAPI()
            # A maintenance engine no route draws from: a connection per use is fine.
            maintenance = create_engine("postgresql://ops@db/shop", poolclass=pool.NullPool)
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from fastapi import FastAPI
            from sqlalchemy import create_engine
            from sqlalchemy.orm import sessionmaker
            from sqlalchemy.pool import NullPool

            app = FastAPI()
            engine = create_engine("postgresql://app@db/shop", poolclass=NullPool)
            SessionLocal = sessionmaker(bind=engine)
            """
        ),
        Invalid(
            """
            import sqlalchemy as sa
            from fastapi import APIRouter
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.config import settings

            router = APIRouter()
            engine = create_async_engine(settings.DATABASE_URL, poolclass=sa.NullPool)

            @router.get("/health")
            async def health():
                async with engine.connect() as conn:
                    await conn.exec_driver_sql("select 1")
            """
        ),
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import NullPool as NoPool
            from sqlalchemy import create_engine
            from sqlalchemy.orm import Session

            app = FastAPI()
            engine = create_engine("mysql+pymysql://app@db/shop", poolclass=NoPool)

            def get_db():
                with Session(engine) as session:
                    yield session

            @app.get("/items")
            def items(db: Session = Depends(get_db)):
                return db.execute("select 1").all()
            """
        ),
    ]

    def check(self, engine: EngineCall) -> None:
        arg = engine.keyword("poolclass")
        if arg is None or self.ctx.qualified_name(arg.value) not in NULL_POOL:
            return
        qualified = self.qualified_engine(engine)
        if qualified is None or engine.in_main_block:
            # Only an engine the project knows by name can be seen serving requests.
            return
        if is_migration_module(self.ctx.facts.path) or self.in_script():
            return
        if self.mentions_external_pooler() or self._nullpool_context():
            return
        serves = self._serves(qualified)
        if serves is None:
            # A maintenance or one-off engine: no route draws from it.
            return
        server = self.server_database(engine)
        if server is None:
            return
        self.report(arg, call=engine.name, database=server.database, serves=serves)

    def _serves(self, qualified: str) -> Optional[str]:
        routes = self.route_users(qualified)
        if routes:
            more = len(routes) - 1
            return routes[0] + (f" and {more} more route{'s' if more > 1 else ''}" if more else "")
        factories = self.bound_factories(qualified)
        if factories and self.ctx.index.table("serves_http"):
            return f"the sessions of {factories[0]}"
        return None

    def _nullpool_context(self) -> bool:
        code = self.ctx.module.code.lower()
        return any(word in code for word in _NULLPOOL_CONTEXTS)


@index_table("serves_http")
def _serves_http(index: ProjectIndex) -> bool:
    """Whether the project has a FastAPI app or router: an application
    serving requests, for which a pool exists."""
    return any(kind in ("app", "router") for facts in index.modules.values() for kind in facts.kinds.values()) or any(
        fn.routes for facts in index.modules.values() for fn in facts.functions.values()
    )
