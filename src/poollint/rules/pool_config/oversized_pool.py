"""POL310: one engine's pool, times the worker processes, exceeds what the database accepts."""

from __future__ import annotations

from typing import Optional, Tuple

from poollint import deployment_tables  # noqa: F401  (registers the index tables asked below)
from poollint.rule import Invalid, Valid
from poollint.rules.pool_config._engine_call import EngineCall, EngineCallRule, is_known, is_migration_module
from poollint.rules.pool_config.pool_over_budget import _overruns

# The databases' own default max_connections, used when `max-connections` is
# not configured. A URL known only at run time is taken for PostgreSQL's,
# the smallest and the most common under FastAPI; other dialects (SQL Server,
# Oracle, CockroachDB...) have no default worth assuming: silent there.
_DEFAULT_LIMITS = {
    "postgresql": (100, "PostgreSQL's default max_connections"),
    "mysql": (151, "MySQL's default max_connections"),
    "mariadb": (151, "MariaDB's default max_connections"),
}
_UNKNOWN_DIALECT = _DEFAULT_LIMITS["postgresql"]

_ENGINE = """
    from fastapi import FastAPI
    from sqlalchemy import create_engine

    app = FastAPI()
    engine = create_engine("postgresql+psycopg://app@db/shop", pool_size=20, max_overflow=10)
    """


class OversizedPool(EngineCallRule):
    """
    ## What it does
    Flags an engine whose pool alone can open more connections than the
    database accepts: its literal `pool_size + max_overflow` (one of them
    written in the call; the other written or SQLAlchemy's default, 5 and
    10), times the worker processes where they are known, above
    `max-connections` of `[tool.poollint.pool]`, or else the database's own
    default: 100 for PostgreSQL (also assumed when the URL is only known at
    run time), 151 for MySQL and MariaDB. The message shows the arithmetic.

    The worker count is `workers` of `[tool.poollint.pool]` when set, or else
    what the project's files start the server with: `workers = N` in
    gunicorn's config file (gunicorn.conf.py), or `--workers N` / `-w N`
    given to uvicorn, gunicorn, hypercorn, granian or `fastapi run` in a
    Dockerfile's CMD/ENTRYPOINT, a Procfile or a compose file's
    `command:`/`entrypoint:`. A file speaks for the code in its directory
    (or, when that holds no Python, the nearest one above that does), and a
    module follows the deepest such files: in a monorepo, each service's
    own Dockerfile. Where they say different things the smallest count
    holds; where one starts the server without a count poollint can read
    (none given, `--workers $WORKERS`), it may be one process, and so is
    every count without a file: one process.

    POL306 adds up all engines of an application when `max-connections` is
    configured; an engine that POL306 already counts in a budget it reports
    is left to it. Left alone: pools sized from settings or `**kwargs`,
    unbounded pools (`pool_size=0`, `max_overflow=-1`: a different problem),
    SQLite, NullPool and StaticPool, engines made per request (POL302),
    scripts, migrations and test code.

    ## Why is this bad?
    Each pool grows to `pool_size + max_overflow` connections under load, in
    every worker process. Past the database's `max_connections`, new
    connections are refused (`FATAL: sorry, too many clients already`,
    `Too many connections`), in every process at once: a burst of traffic
    turns into errors for all requests, not just slower ones, and the
    database's own maintenance and monitoring connections are locked out too.

    ## Where it comes from
    A team scaled an API for a launch by raising the pool to forty and the
    workers to eight without touching the database. The first peak of real
    traffic opened connections until PostgreSQL refused them, and every
    worker started failing health checks at once; the orchestrator restarted
    them in a loop, each restart opening a fresh burst of connections.

    ## Example
    ```python
    from fastapi import FastAPI
    from sqlalchemy import create_engine

    app = FastAPI()
    engine = create_engine("postgresql+psycopg://app@db/shop", pool_size=20, max_overflow=10)
    ```
    ```text Dockerfile
    CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--workers", "4"]
    ```

    ## Use instead
    ```python
    from fastapi import FastAPI
    from sqlalchemy import create_engine

    app = FastAPI()
    engine = create_engine("postgresql+psycopg://app@db/shop", pool_size=15, max_overflow=5)
    ```
    ```text Dockerfile
    CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--workers", "4"]
    ```
    Or put a pooler such as PgBouncer in front and size the pools for it,
    and set `max-connections` to what the database really allows.
    """

    CODE = "POL310"
    NAME = "oversized-pool"
    MESSAGE = "{engine} can open more connections than the database accepts: {arithmetic}"
    TRIGGERS = ("create_engine", "create_async_engine")
    READS_DEPLOYMENT_FILES = True
    OPTIONS = (
        (
            "`max-connections` in `[tool.poollint.pool]`",
            "the connections the database accepts; default the database's own (PostgreSQL 100, MySQL 151)",
        ),
        (
            "`workers` in `[tool.poollint.pool]`",
            "worker processes each opening their own pools; default: what gunicorn.conf.py, a Dockerfile, "
            "Procfile or compose file starts the server with, else 1",
        ),
    )

    VALID = [
        Valid(_ENGINE),
        Valid(_ENGINE, files={"Procfile": "web: gunicorn -w 3 -k uvicorn.workers.UvicornWorker app.main:app\n"}),
        Valid(
            """
            from fastapi import FastAPI
            from sqlalchemy import create_engine

            from app.config import settings

            app = FastAPI()
            engine = create_engine(settings.DATABASE_URL, pool_size=settings.POOL_SIZE, max_overflow=20)
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from sqlalchemy import create_engine

            app = FastAPI()
            engine = create_engine("mysql+pymysql://app@db/shop", pool_size=120, max_overflow=10)
            """
        ),
        Valid(
            """
            from sqlalchemy import create_engine

            engine = create_engine("sqlite:///./shop.db", pool_size=500)
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from fastapi import FastAPI
            from sqlalchemy import create_engine

            app = FastAPI()
            engine = create_engine("postgresql+psycopg://app@db/shop", pool_size=100, max_overflow=20)
            """
        ),
        Invalid(_ENGINE, files={"Dockerfile": 'CMD ["gunicorn", "-w", "4", "-k", "uvicorn.workers.UvicornWorker", "app.main:app"]\n'}),
        Invalid(
            _ENGINE,
            files={
                "docker-compose.yml": (
                    "services:\n"
                    "  api:\n"
                    "    build: .\n"
                    "    command: uvicorn app.main:app --host 0.0.0.0 --workers 8\n"
                )
            },
        ),
        Invalid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.config import settings

            engine = create_async_engine(settings.DATABASE_URL, pool_size=80, max_overflow=40)
            """
        ),
        Invalid(
            """
            from sqlalchemy import create_engine

            engine = create_engine("mysql+pymysql://app@db/shop", max_overflow=150)
            """
        ),
    ]

    def check(self, engine: EngineCall) -> None:
        if engine.in_main_block or self.in_script() or is_migration_module(self.ctx.facts.path):
            return
        if not self.pool_matters(engine):
            return  # made per request (POL302's) or a throwaway engine
        pooled = self.pooled(engine)
        if pooled is None:
            return
        if engine.keyword("pool_size") is None and engine.keyword("max_overflow") is None:
            return  # SQLAlchemy's defaults: POL301 asks for the settings first
        size = self.keyword_value(engine, "pool_size", 5)
        overflow = self.keyword_value(engine, "max_overflow", 10)
        if not (_is_int(size) and _is_int(overflow)) or size <= 0 or overflow < 0:  # type: ignore[operator]
            return
        per_process = size + overflow  # type: ignore[operator]
        pool = self.ctx.settings.pool
        limit = self._limit(pooled.url.schemes())
        if limit is None:
            return
        workers, workers_from = self._workers()
        total = per_process * workers
        if total <= limit[0]:
            return
        if pool.max_connections is not None and self._budgeted_by_pol306(engine):
            return
        arithmetic = (
            f"pool_size {size}{'' if engine.keyword('pool_size') else ' (SQLAlchemy default)'}"
            f" + max_overflow {overflow}{'' if engine.keyword('max_overflow') else ' (SQLAlchemy default)'}"
            f" = {per_process} per process"
        )
        if workers_from is not None:
            arithmetic += f" x {workers} worker{'s' if workers != 1 else ''} ({workers_from}) = {total}"
        arithmetic += f" > {limit[0]}, {limit[1]}"
        self.report(engine.node, engine=engine.target or f"{engine.name}()", arithmetic=arithmetic)

    def _limit(self, schemes: list) -> Optional[Tuple[int, str]]:
        configured = self.ctx.settings.pool.max_connections
        if configured is not None:
            return configured, "max-connections in [tool.poollint.pool]"
        dialects = {scheme.split("+", 1)[0].lower() for scheme in schemes if scheme}
        if not dialects:
            return _UNKNOWN_DIALECT
        limits = [_DEFAULT_LIMITS.get(dialect) for dialect in sorted(dialects)]
        if any(limit is None for limit in limits):
            return None
        return min(limits)  # type: ignore[type-var, return-value]

    def _workers(self) -> Tuple[int, Optional[str]]:
        """The worker processes, and where that number comes from (None: assumed 1)."""
        configured = self.ctx.settings.pool.workers
        if configured is not None:
            return configured, "workers in [tool.poollint.pool]"
        found = self.ctx.index.table("deployment_workers", self.ctx.facts.path)
        if found is None:
            return 1, None
        count, command, path, line = found
        return count, f"`{command}` in {path}:{line}"

    def _budgeted_by_pol306(self, engine: EngineCall) -> bool:
        """Whether POL306, with the budget configured, reports a sum this engine is part of."""
        if engine.target is None or engine.function is not None:
            return False
        pool = self.ctx.settings.pool
        module = self.ctx.facts.module
        for overrun in _overruns(self.ctx.index, pool.max_connections, pool.workers or 1):
            if any((counted.module, counted.name) == (module, engine.target) for counted in overrun.engines):
                return True
        return False


def _is_int(value: object) -> bool:
    return is_known(value) and isinstance(value, int) and not isinstance(value, bool)
