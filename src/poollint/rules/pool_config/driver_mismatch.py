"""POL309: create_async_engine() with a sync driver, or create_engine() with an async one."""

from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from poollint.rule import Fix, FixAvailability, FixSafety, Invalid, Valid
from poollint.rules.pool_config._engine_call import EngineCall, EngineCallRule

# (dialect, driver) -> "sync", "async" or "both"; driver None is the
# dialect's default. Anything missing is unknown and never reported.
_DRIVERS: Dict[Tuple[str, Optional[str]], str] = {
    # SQLAlchemy 2.0 defaults postgresql:// to psycopg2, 2.1 to psycopg (3),
    # which serves both: the default is left unknown.
    ("postgresql", "psycopg2"): "sync",
    ("postgresql", "psycopg2cffi"): "sync",
    ("postgresql", "pg8000"): "sync",
    ("postgresql", "psycopg"): "both",
    ("postgresql", "asyncpg"): "async",
    ("postgresql", "psycopg_async"): "async",
    ("sqlite", None): "sync",
    ("sqlite", "pysqlite"): "sync",
    ("sqlite", "pysqlcipher"): "sync",
    ("sqlite", "aiosqlite"): "async",
    ("mssql", None): "sync",
    ("mssql", "pyodbc"): "sync",
    ("mssql", "pymssql"): "sync",
    ("mssql", "aioodbc"): "async",
    ("oracle", None): "both",
    ("oracle", "oracledb"): "both",
    ("oracle", "cx_oracle"): "sync",
    ("oracle", "oracledb_async"): "async",
}
for _dialect in ("mysql", "mariadb"):
    _DRIVERS.update(
        {
            (_dialect, None): "sync",
            (_dialect, "mysqldb"): "sync",
            (_dialect, "pymysql"): "sync",
            (_dialect, "mysqlconnector"): "sync",
            (_dialect, "mariadbconnector"): "sync",
            (_dialect, "cymysql"): "sync",
            (_dialect, "pyodbc"): "sync",
            (_dialect, "aiomysql"): "async",
            (_dialect, "asyncmy"): "async",
        }
    )
_DEFAULT_DRIVERS = {"sqlite": "pysqlite", "mssql": "pyodbc", "mysql": "mysqldb", "mariadb": "mysqldb"}
# The driver of the other kind the fix swaps in: the async twin of a sync
# driver (or the library's own async mode), and back.
_ASYNC_TWIN = {
    ("postgresql", "psycopg2"): "asyncpg",
    ("sqlite", None): "aiosqlite",
    ("sqlite", "pysqlite"): "aiosqlite",
    ("mssql", None): "aioodbc",
    ("mssql", "pyodbc"): "aioodbc",
    ("mysql", None): "aiomysql",
    ("mysql", "pymysql"): "aiomysql",
    ("mariadb", None): "aiomysql",
    ("mariadb", "pymysql"): "aiomysql",
}
_SYNC_TWIN = {
    ("postgresql", "asyncpg"): "psycopg2",
    ("postgresql", "psycopg_async"): "psycopg",
    ("sqlite", "aiosqlite"): "pysqlite",
    ("mssql", "aioodbc"): "pyodbc",
    ("mysql", "aiomysql"): "pymysql",
    ("mariadb", "aiomysql"): "pymysql",
    ("oracle", "oracledb_async"): "oracledb",
}
# Wrapping a sync Engine built on an async driver is how AsyncEngine was
# made before create_async_engine() (SQLModel's async tutorials still do it).
_ASYNC_ENGINE_CLASSES = frozenset({"sqlalchemy.ext.asyncio.AsyncEngine", "sqlalchemy.ext.asyncio.engine.AsyncEngine"})


class DriverMismatch(EngineCallRule):
    """
    ## What it does
    Flags `create_async_engine()` given a URL with a sync driver
    (`postgresql+psycopg2://`, `mysql+pymysql://`, `mysql://`, `sqlite://`,
    `mssql+pyodbc://`...) and `create_engine()` given one with an async
    driver (`postgresql+asyncpg://`, `postgresql+psycopg_async://`,
    `mysql+aiomysql://`, `mysql+asyncmy://`, `sqlite+aiosqlite://`,
    `mssql+aioodbc://`), when the URL is a literal or a string constant
    poollint can read (in the module or imported from another one, an
    f-string's scheme, `URL.create("postgresql+asyncpg", ...)`).

    Drivers that serve both are never flagged: `postgresql+psycopg://`
    (psycopg 3), `oracle+oracledb://`, and plain `postgresql://`, which
    SQLAlchemy 2.1 maps to psycopg (3) and 2.0 to psycopg2. Neither is
    `create_engine()` whose engine is wrapped in `AsyncEngine(...)`, the
    pre-`create_async_engine()` way, nor test code. A URL only known at run
    time is left alone. The message names the scheme only, never the rest of
    the URL.

    ## Why is this bad?
    `create_async_engine()` refuses a sync driver (`The asyncio extension
    requires an async driver to be used`), so the application does not start;
    `create_engine()` accepts an async driver but every connection it opens
    fails outside asyncio with `MissingGreenlet`. Either way the pool never
    hands out a working connection, and the error shows up at the first
    request, far from the URL that causes it.

    ## Example
    ```python
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine("postgresql+psycopg2://app@db/shop")
    ```

    ## Use instead
    ```python
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine("postgresql+asyncpg://app@db/shop")
    ```

    ## Fix safety
    The fix swaps the driver in the URL literal for its counterpart
    (`psycopg2` and `asyncpg`, `pymysql` and `aiomysql`, `pysqlite` and
    `aiosqlite`, `pyodbc` and `aioodbc`, `psycopg_async` to `psycopg`,
    `oracledb_async` to `oracledb`; a default driver counts as its named
    one) and changes nothing else in the string. It is offered only when the
    literal is written in the call itself, and it is unsafe: the new driver
    must be installed, and drivers differ in the URL query options they take.
    """

    CODE = "POL309"
    NAME = "driver-mismatch"
    MESSAGE = "{call}() for {scheme}, {kind}: {consequence}; {advice}"
    FIX_TITLE = "Swap in the matching driver"
    FIX_AVAILABILITY = FixAvailability.SOMETIMES
    TRIGGERS = ("create_engine", "create_async_engine")

    VALID = [
        Valid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine("postgresql+psycopg://app@db/shop")
            """
        ),
        Valid(
            """
            from sqlalchemy import create_engine
            from sqlalchemy.ext.asyncio import AsyncEngine

            engine = AsyncEngine(create_engine("postgresql+asyncpg://app@db/shop"))
            """
        ),
        Valid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.config import settings

            engine = create_async_engine(settings.DATABASE_URL)
            """
        ),
        Valid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine

            # SQLAlchemy 2.1 picks psycopg (3) for postgresql://, which is async-capable.
            engine = create_async_engine("postgresql://app@db/shop")
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine("sqlite:///./app.db")
            """,
            expected_replacement="""
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine("sqlite+aiosqlite:///./app.db")
            """,
            unsafe_fixes=True,
        ),
        Invalid(
            """
            from sqlalchemy import create_engine

            engine = create_engine(f"postgresql+asyncpg://{USER}@db/shop", pool_pre_ping=True)
            """,
            expected_replacement="""
            from sqlalchemy import create_engine

            engine = create_engine(f"postgresql+psycopg2://{USER}@db/shop", pool_pre_ping=True)
            """,
            unsafe_fixes=True,
        ),
        Invalid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine

            DATABASE_URL = "mysql+pymysql://app@db/shop"
            engine = create_async_engine(DATABASE_URL)
            """
        ),
    ]

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        # Engines handed to AsyncEngine(...): the call itself, or the name it was bound to.
        self.wrapped_calls: Set[cst.Call] = set()
        self.wrapped_names: Set[Tuple[cst.CSTNode, str]] = set()

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        if not node.args or self.ctx.qualified_name(node.func) not in _ASYNC_ENGINE_CLASSES:
            return
        wrapped = node.args[0].value
        if isinstance(wrapped, cst.Call):
            self.wrapped_calls.add(wrapped)
        elif isinstance(wrapped, cst.Name):
            function = self.ctx.function()
            scope = function.node if function is not None else self.ctx.module
            self.wrapped_names.add((scope, wrapped.value))

    def check(self, engine: EngineCall) -> None:
        if engine.has_star_args:
            return
        url_arg = engine.url_arg
        url = self.url(engine)
        if url_arg is None or url is None or url.runtime or not url.literals:
            return
        found = {_dialect_and_driver(scheme) for scheme in url.schemes()}
        if len(found) != 1 or None in found:
            return
        dialect, driver = found.pop()  # type: ignore[misc]
        kind = _DRIVERS.get((dialect, driver))
        wanted = "async" if engine.is_async else "sync"
        if kind is None or kind in (wanted, "both"):
            return
        if not engine.is_async and self._wrapped(engine):
            return
        scheme = url.schemes()[0]
        assert scheme is not None
        twin = (_ASYNC_TWIN if engine.is_async else _SYNC_TWIN).get((dialect, driver))
        replacement = f"{scheme.split('+', 1)[0]}+{twin}" if twin else None
        if engine.is_async:
            consequence = 'SQLAlchemy refuses it ("The asyncio extension requires an async driver")'
            advice = f"use {replacement}" if replacement else "use an async driver"
        else:
            consequence = "every connection fails outside asyncio (MissingGreenlet)"
            advice = (f"use {replacement} or " if replacement else "use a sync driver or ") + "create_async_engine()"
        default = f" (default driver {_DEFAULT_DRIVERS[dialect]})" if driver is None else ""
        self.report(
            url_arg,
            fix=self._fix(url_arg, scheme, replacement),
            call=engine.name,
            scheme=f"{scheme}://" if driver is None else scheme,
            kind=f"{'an' if kind == 'async' else 'a'} {kind} driver{default}",
            consequence=consequence,
            advice=advice,
        )

    def _wrapped(self, engine: EngineCall) -> bool:
        if engine.node in self.wrapped_calls:
            return True
        if engine.target is not None and (self.ctx.module, engine.target) in self.wrapped_names:
            return True
        return any(key in self.wrapped_names for key in self.engine_locals.get(engine.node, ()))

    def _fix(self, url_arg: cst.BaseExpression, scheme: str, replacement: Optional[str]) -> Optional[Fix]:
        """The URL literal with its scheme swapped, when the literal is in the call."""
        if replacement is None:
            return None
        new: Optional[cst.BaseExpression] = None
        if isinstance(url_arg, cst.SimpleString):
            body_start = len(url_arg.prefix) + len(url_arg.quote)
            if url_arg.value[body_start:].startswith(scheme + "://"):
                value = url_arg.value[:body_start] + replacement + url_arg.value[body_start + len(scheme) :]
                new = url_arg.with_changes(value=value)
        elif isinstance(url_arg, cst.FormattedString) and url_arg.parts:
            first = url_arg.parts[0]
            if isinstance(first, cst.FormattedStringText) and first.value.startswith(scheme + "://"):
                parts: List[cst.BaseFormattedStringContent] = list(url_arg.parts)
                parts[0] = first.with_changes(value=replacement + first.value[len(scheme) :])
                new = url_arg.with_changes(parts=parts)
        if new is None:
            return None
        # The new driver must be installed, and drivers take different query options.
        return Fix(node=url_arg, replacement=new, safety=FixSafety.UNSAFE)


def _dialect_and_driver(scheme: Optional[str]) -> Optional[Tuple[str, Optional[str]]]:
    if scheme is None:
        return None
    dialect, _, driver = scheme.lower().partition("+")
    return dialect, driver or None

