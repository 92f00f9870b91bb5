"""POL303: max_overflow=0 on a pooled engine leaves no headroom for spikes."""

from __future__ import annotations

from poollint.rule import Invalid, Valid
from poollint.rules.pool_config._engine_call import EngineCall, EngineCallRule, literal_value


class NoOverflow(EngineCallRule):
    """
    ## What it does
    Flags `max_overflow=0`, written as a literal, on `create_engine()` or
    `create_async_engine()` for a pooled server database (a QueuePool or
    AsyncAdaptedQueuePool: not SQLite, not `poolclass=NullPool`/`StaticPool`).
    Engines made on every request (POL302's case), throwaway engines of
    scripts and test code are left alone, and so is `max_overflow` read from
    settings. A file that speaks of a pooler in front of the database
    (PgBouncer, Supabase's pooler, RDS Proxy, port 6432) is left alone too:
    there the cap is deliberate.

    ## Why is this bad?
    With `max_overflow=0` the pool never opens a connection beyond
    `pool_size`. A burst of requests, a slow query or one request holding its
    connection across a slow call is enough to check every connection out;
    the next request then waits up to `pool_timeout` (30 s by default) and
    fails with `QueuePool limit of size 5 overflow 0 reached, connection
    timed out`. Overflow connections are opened only when needed and closed
    again when they come back, so a few of them cost nothing in quiet times.
    If the cap is deliberate (the database or a PgBouncer in front of it
    takes no more), size `pool_size` for the peak and silence the line with
    `# noqa: POL303`.

    ## Example
    ```python
    from sqlalchemy import create_engine

    engine = create_engine("postgresql+psycopg://app@db/shop", pool_size=5, max_overflow=0)
    ```

    ## Use instead
    ```python
    from sqlalchemy import create_engine

    engine = create_engine("postgresql+psycopg://app@db/shop", pool_size=5, max_overflow=10)
    ```
    """

    CODE = "POL303"
    NAME = "no-overflow"
    MESSAGE = (
        "max_overflow=0 on {call}() for {database}: no headroom for spikes; once {held} are checked out, "
        "the next request waits up to {wait} and then fails"
    )
    TRIGGERS = ("max_overflow",)

    VALID = [
        Valid(
            """
            from sqlalchemy import create_engine

            engine = create_engine("postgresql://app@db/shop", pool_size=10, max_overflow=5)
            """
        ),
        Valid(
            """
            from sqlalchemy import create_engine

            engine = create_engine("sqlite:///./app.db", max_overflow=0)
            """
        ),
        Valid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.config import settings

            engine = create_async_engine(settings.DATABASE_URL, max_overflow=settings.MAX_OVERFLOW)
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from sqlalchemy import create_engine

            engine = create_engine("postgresql://app@db/shop", max_overflow=0)
            """
        ),
        Invalid(
            """
            import sqlalchemy as sa

            from app.config import settings

            engine = sa.create_engine(settings.DATABASE_URL, pool_size=20, max_overflow=0, pool_timeout=10)
            """
        ),
        Invalid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine
            from sqlalchemy.pool import AsyncAdaptedQueuePool

            engine = create_async_engine(
                "postgresql+asyncpg://app@db/shop",
                poolclass=AsyncAdaptedQueuePool,
                max_overflow=0,
            )
            """
        ),
    ]

    def check(self, engine: EngineCall) -> None:
        arg = engine.keyword("max_overflow")
        if arg is None or not _is_zero(literal_value(arg.value)):
            return
        if not self.pool_matters(engine) or self.mentions_external_pooler():
            return
        pooled = self.pooled(engine)
        if pooled is None:
            return
        size = self.keyword_value(engine, "pool_size", 5)
        timeout = self.keyword_value(engine, "pool_timeout", 30)
        self.report(
            arg,
            call=engine.name,
            database=pooled.database,
            held=f"its {size} pooled connections" if _is_count(size) else "all pooled connections",
            wait=f"pool_timeout ({timeout} s)" if _is_number(timeout) else "pool_timeout",
        )


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_zero(value: object) -> bool:
    return _is_number(value) and value == 0


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
