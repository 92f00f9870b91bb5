"""POL304: pool_recycle disabled, or longer than the configured idle limit."""

from __future__ import annotations

from poollint.rule import Invalid, Valid
from poollint.rules.pool_config._engine_call import EngineCall, EngineCallRule, literal_value


class PoolRecycle(EngineCallRule):
    """
    ## What it does
    Flags a literal `pool_recycle` on `create_engine()` or
    `create_async_engine()` for a pooled server database that is disabled
    (zero or negative: `-1` is SQLAlchemy's default, "never") or longer than
    `max-pool-recycle` in `[tool.poollint.pool]` (default 3600 seconds): the
    longest a connection may sit idle before the database, a firewall, a load
    balancer or a proxy may drop it.

    A `pool_recycle` read from settings is left alone, and so is a missing one
    (POL301 asks for it). It also stays silent when `pool_pre_ping=True` is
    given (or `pool_pre_ping` comes from settings): the ping replaces a dead
    connection before a request gets it. SQLite, NullPool/StaticPool engines,
    engines made on every request (POL302's case), throwaway engines of
    scripts and test code are left alone.

    ## Why is this bad?
    MySQL closes connections idle for `wait_timeout` (8 hours by default, far
    less on many managed services); cloud load balancers, NAT gateways and
    firewalls drop idle TCP connections after minutes; PgBouncer closes
    server connections after `server_idle_timeout`. The pool does not notice:
    the next request that checks out such a connection fails with `server
    closed the connection unexpectedly` or `MySQL server has gone away`, and
    after a quiet night the first requests of the morning fail one after the
    other. `pool_recycle` replaces a connection once it is older than the
    given number of seconds, before that can happen.

    ## Example
    ```python
    from sqlalchemy import create_engine

    engine = create_engine("mysql+pymysql://app@db/shop", pool_recycle=-1)
    ```

    ## Use instead
    ```python
    from sqlalchemy import create_engine

    engine = create_engine("mysql+pymysql://app@db/shop", pool_recycle=1800)
    ```
    """

    CODE = "POL304"
    NAME = "pool-recycle"
    MESSAGE = (
        "pool_recycle={value} on {call}() for {database} {problem}: a connection dropped while idle "
        "(by the database, a firewall or a proxy) fails the next request that gets it"
    )
    TRIGGERS = ("pool_recycle",)
    OPTIONS = (
        (
            "`max-pool-recycle` in `[tool.poollint.pool]`",
            "the longest `pool_recycle` accepted, in seconds; default 3600",
        ),
    )

    VALID = [
        Valid(
            """
            from sqlalchemy import create_engine

            engine = create_engine("postgresql://app@db/shop", pool_recycle=1800)
            """
        ),
        Valid(
            """
            from sqlalchemy import create_engine

            # The ping replaces dead connections; recycling is not needed.
            engine = create_engine("postgresql://app@db/shop", pool_recycle=-1, pool_pre_ping=True)
            """
        ),
        Valid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.config import settings

            engine = create_async_engine(settings.DATABASE_URL, pool_recycle=settings.POOL_RECYCLE)
            """
        ),
        Valid(
            """
            from sqlalchemy import create_engine

            engine = create_engine("sqlite:///./app.db", pool_recycle=-1)
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from sqlalchemy import create_engine

            engine = create_engine("postgresql://app@db/shop", pool_recycle=0)
            """
        ),
        Invalid(
            """
            import sqlalchemy as sa

            from app.config import settings

            engine = sa.create_engine(settings.DATABASE_URL, pool_recycle=60 * 60 * 8, pool_pre_ping=False)
            """
        ),
        Invalid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine(
                "mysql+aiomysql://app@db/shop",
                pool_recycle=7200,
            )
            """
        ),
    ]

    def check(self, engine: EngineCall) -> None:
        arg = engine.keyword("pool_recycle")
        if arg is None:
            return
        value = literal_value(arg.value)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return
        limit = self.ctx.settings.pool.max_pool_recycle
        if 0 < value <= limit:
            return
        if self.keyword_value(engine, "pool_pre_ping", False) is not False:
            # True, or only known at run time: a ping may replace dead connections.
            return
        if not self.pool_matters(engine):
            return
        pooled = self.pooled(engine)
        if pooled is None:
            return
        if value <= 0:
            problem = "never recycles connections"
        else:
            problem = f"keeps connections for up to {_seconds(value)} s, more than max-pool-recycle ({limit} s)"
        self.report(
            arg,
            value=self.ctx.module.code_for_node(arg.value),
            call=engine.name,
            database=pooled.database,
            problem=problem,
        )


def _seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)
