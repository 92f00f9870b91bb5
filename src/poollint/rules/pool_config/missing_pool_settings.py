"""POL301: create_engine()/create_async_engine() for a server database without the required pool settings."""

from __future__ import annotations

from poollint.rule import Fix, FixAvailability, FixSafety, Invalid, Valid
from poollint.rules._call_args import with_keywords
from poollint.rules.pool_config._engine_call import EngineCall, EngineCallRule


class MissingPoolSettings(EngineCallRule):
    """
    ## What it does
    Flags `create_engine()` and `create_async_engine()` calls for a pooled
    server database (PostgreSQL, MySQL, MariaDB, SQL Server, Oracle...) that do
    not set every pool setting the project requires: by default `pool_size`,
    `max_overflow`, `pool_recycle` and `pool_pre_ping` (configurable with
    `required-settings` in `[tool.poollint.pool]`).

    It stays silent for SQLite URLs (a literal URL, or a URL expression that
    mentions sqlite, or `connect_args` with `check_same_thread`), for a
    `poolclass=` other than QueuePool/AsyncAdaptedQueuePool (NullPool and
    StaticPool take none of these settings), where `**kwargs` may carry the
    settings, and for an engine created inside a route or dependency (POL302's
    case: creating it per request is the problem). Inside other functions it
    checks only engines that outlive the call (returned, stored on an
    attribute, bound to a global): a script's throwaway engine serves one
    call. Test code (`tests/`, `test_*.py`, `conftest.py`) is skipped. A URL
    read from settings or the environment is still checked: the pool settings
    are missing whatever server it names.

    ## Why is this bad?
    SQLAlchemy's defaults are tuned for nothing in particular: 5 pooled
    connections plus 10 overflow per process, connections kept forever, and no
    check that a connection is still alive before handing it out. Behind a
    firewall, PgBouncer or a managed database that drops idle connections, the
    first request after a quiet spell gets a dead connection (`server closed
    the connection unexpectedly`); under load, every worker opens up to 15
    connections whether the database can take them or not. Writing the values
    down makes the pool's size part of the capacity plan, and `pool_recycle` /
    `pool_pre_ping` replace dead connections before a request trips over them.

    ## Example
    ```python
    from sqlalchemy import create_engine

    engine = create_engine("postgresql+psycopg://app@db/shop")
    ```

    ## Use instead
    ```python
    from sqlalchemy import create_engine

    engine = create_engine(
        "postgresql+psycopg://app@db/shop",
        pool_size=5,
        max_overflow=10,
        pool_recycle=1800,
        pool_pre_ping=True,
    )
    ```

    ## Fix safety
    The fix adds the missing keyword arguments, with the values configured in
    `[tool.poollint.pool]` (default `pool_size=5`, `max_overflow=10`,
    `pool_timeout=30`, `pool_recycle=1800`, `pool_pre_ping=True`), after the
    existing arguments and in the call's own layout. It is safe only when every
    value it adds is SQLAlchemy's own default (`pool_size=5`,
    `max_overflow=10`, `pool_timeout=30`) and the pool is known to be a
    QueuePool (a literal server URL, or `poolclass=QueuePool`): then the engine
    behaves exactly as before. It is unsafe otherwise: `pool_recycle` and
    `pool_pre_ping` change when connections are replaced, a configured size
    changes how many connections the process may open, and for a URL only known
    at run time the engine may turn out to be an in-memory SQLite one, whose
    pool rejects `max_overflow` and `pool_timeout` with a TypeError.
    """

    CODE = "POL301"
    NAME = "missing-pool-settings"
    MESSAGE = "{call}() for {database} leaves {missing} at {defaults}"
    FIX_TITLE = "Add the missing pool settings"
    FIX_AVAILABILITY = FixAvailability.ALWAYS
    TRIGGERS = ("create_engine", "create_async_engine")
    OPTIONS = (
        (
            "`required-settings` in `[tool.poollint.pool]`",
            "the settings every pooled engine must set; default "
            '`["pool_size", "max_overflow", "pool_recycle", "pool_pre_ping"]`',
        ),
        (
            "`pool_size`, `max_overflow`, `pool_timeout`, `pool_recycle`, `pool_pre_ping` in `[tool.poollint.pool]`",
            "the values the fix writes; default 5, 10, 30, 1800, true",
        ),
    )

    VALID = [
        Valid(
            """
            from sqlalchemy import create_engine

            SQLALCHEMY_DATABASE_URL = "sqlite:///./sql_app.db"
            engine = create_engine(SQLALCHEMY_DATABASE_URL, connect_args={"check_same_thread": False})
            """
        ),
        Valid(
            """
            from sqlalchemy import create_engine
            from sqlalchemy.pool import NullPool

            # PgBouncer in transaction mode does the pooling.
            engine = create_engine("postgresql://app@pgbouncer/shop", poolclass=NullPool)
            """
        ),
        Valid(
            """
            import sqlalchemy as sa

            engine = sa.create_engine(
                "postgresql://app@db/shop",
                pool_size=10,
                max_overflow=5,
                pool_recycle=900,
                pool_pre_ping=True,
            )
            """
        ),
        Valid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.config import settings

            engine = create_async_engine(settings.DATABASE_URL, **settings.ENGINE_OPTIONS)
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from sqlalchemy import create_engine

            engine = create_engine("postgresql+psycopg://app@db/shop")
            """,
            expected_replacement="""
            from sqlalchemy import create_engine

            engine = create_engine("postgresql+psycopg://app@db/shop", pool_size=5, max_overflow=10, pool_recycle=1800, pool_pre_ping=True)
            """,
            unsafe_fixes=True,
        ),
        Invalid(
            """
            import sqlalchemy as sa

            from app.config import settings

            engine = sa.create_engine(
                settings.DATABASE_URL,
                pool_size=10,
            )
            """,
            expected_replacement="""
            import sqlalchemy as sa

            from app.config import settings

            engine = sa.create_engine(
                settings.DATABASE_URL,
                pool_size=10,
                max_overflow=10,
                pool_recycle=1800,
                pool_pre_ping=True,
            )
            """,
            unsafe_fixes=True,
        ),
        Invalid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine("postgresql+asyncpg://app@db/shop", pool_pre_ping=True)
            """,
            expected_replacement="""
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine("postgresql+asyncpg://app@db/shop", pool_pre_ping=True, pool_size=5, max_overflow=10, pool_recycle=1800)
            """,
            unsafe_fixes=True,
        ),
        # pool_recycle and pool_pre_ping change behaviour: `--fix` alone leaves it.
        Invalid(
            """
            from sqlmodel import create_engine

            DATABASE_URL = "mysql+pymysql://app@db/shop"
            engine = create_engine(DATABASE_URL, echo=True)
            """
        ),
    ]

    def check(self, engine: EngineCall) -> None:
        if not self.pool_matters(engine) or self.in_script():
            # Made per request (POL302's finding: a bigger problem than its
            # settings), a throwaway engine serving one call, or a one-shot
            # program (a migration or seeding script) that serves no request.
            return
        if any(arg.star for arg in engine.node.args):
            # `*args` / `**settings` may carry the URL or the pool settings.
            return
        missing = [key for key in self.ctx.settings.pool.required if key not in engine.keywords]
        if not missing:
            return
        pooled = self.pooled(engine)
        if pooled is None:
            return
        settings = self.ctx.settings.pool
        safe = all(settings.value_is_sqlalchemy_default(key) for key in missing) and (
            pooled.explicit_queue_pool or not pooled.url.runtime
        )
        self.report(
            engine.node,
            fix=Fix(
                node=engine.node,
                replacement=with_keywords(engine.node, [(key, settings.values[key]) for key in missing]),
                # Spelling out SQLAlchemy's own QueuePool defaults changes
                # nothing; anything else changes how the pool behaves, and a
                # run-time URL may name an in-memory SQLite database whose
                # SingletonThreadPool rejects max_overflow and pool_timeout.
                safety=FixSafety.SAFE if safe else FixSafety.UNSAFE,
            ),
            call=engine.name,
            database=pooled.database,
            missing=", ".join(missing),
            defaults="its default" if len(missing) == 1 else "their defaults",
        )
