"""POL106: a synchronous DB-API driver (psycopg2, pymysql, sqlite3...) used inside an async def."""

from __future__ import annotations

from typing import Dict, Hashable, Optional, Tuple


from poollint.rule import FixAvailability, Invalid, Valid
from poollint.rules.event_loop._blocking import ValueTrackingRule

# Qualified connect function -> the driver, as the message names it.
_CONNECTS: Dict[str, str] = {
    "psycopg2.connect": "psycopg2",
    "psycopg.connect": "psycopg",
    "psycopg.Connection.connect": "psycopg",
    "pymysql.connect": "pymysql",
    "pymysql.Connect": "pymysql",
    "MySQLdb.connect": "MySQLdb",
    "sqlite3.connect": "sqlite3",
    "mysql.connector.connect": "mysql.connector",
    "cx_Oracle.connect": "cx_Oracle",
    "oracledb.connect": "oracledb",
    "pyodbc.connect": "pyodbc",
}
# Annotations that say a parameter is a sync driver connection or cursor.
_ANNOTATIONS: Dict[str, Tuple[str, str]] = {
    "sqlite3.Connection": ("connection", "sqlite3"),
    "sqlite3.Cursor": ("cursor", "sqlite3"),
    "psycopg.Connection": ("connection", "psycopg"),
    "psycopg.Cursor": ("cursor", "psycopg"),
    "psycopg2.extensions.connection": ("connection", "psycopg2"),
    "psycopg2.extensions.cursor": ("cursor", "psycopg2"),
}
_CONNECTION_IO = frozenset({"commit", "rollback", "execute", "executemany", "executescript"})
_CURSOR_IO = frozenset(
    {
        "execute",
        "executemany",
        "executescript",
        "fetchone",
        "fetchmany",
        "fetchall",
        "callproc",
        "copy_expert",
        "copy_from",
        "copy_to",
    }
)


class BlockingDbDriver(ValueTrackingRule):
    """
    ## What it does
    Flags a synchronous database driver used directly inside an `async def`:
    `psycopg2.connect()`, `psycopg.connect()` (the sync one;
    `psycopg.AsyncConnection.connect()` is fine), `pymysql.connect()`,
    `MySQLdb.connect()`, `sqlite3.connect()`, `mysql.connector.connect()`,
    `cx_Oracle.connect()`, `oracledb.connect()` and `pyodbc.connect()`, and
    the queries run on what they return: `execute()`, `executemany()`,
    `fetchone()`/`fetchmany()`/`fetchall()`, `commit()` and `rollback()` on
    a connection visibly made by one of them (in the function or once at
    module level) or on a cursor of such a connection (`conn.cursor()`,
    `with conn.cursor() as cur`), or on a parameter annotated with the
    driver's class (`sqlite3.Connection`). A connection or cursor of unknown
    origin is left alone, and so are startup and shutdown hooks.

    A sync function of the project whose own body calls one of these
    `connect()` functions is followed one level: calling it from an
    `async def` (`get_connection()`, from any module, in any import form) is
    reported at that call, naming the helper and the line of the call in it. A
    helper handed to `asyncio.to_thread()` or `run_in_threadpool()` (not
    called here), an async or generator helper, a decorated one (`@lru_cache`,
    `@retry`...; `@staticmethod` and `@classmethod` are fine), and the call
    inside the helper's own nested functions or lambdas are left alone.

    ## Why is this bad?
    These drivers wait for the database on the calling thread: connecting,
    each query and each commit stop the event loop until the server answers,
    and no other request of the worker makes progress meanwhile. The
    requests stalled that way keep the pooled connections they hold, so a
    slow query in one route starves the pool for all of them.

    ## Example
    ```python
    import psycopg2
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/orders/{order_id}")
    async def read_order(order_id: int):
        with psycopg2.connect("dbname=shop") as conn:
            with conn.cursor() as cur:
                cur.execute("select * from orders where id = %s", (order_id,))
                return cur.fetchone()
    ```

    ## Use instead
    ```python
    import asyncpg
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/orders/{order_id}")
    async def read_order(order_id: int):
        conn = await asyncpg.connect("postgresql://app@db/shop")
        try:
            return await conn.fetchrow("select * from orders where id = $1", order_id)
        finally:
            await conn.close()
    ```
    Or use the driver's async API (`psycopg.AsyncConnection`, `aiosqlite`,
    `aiomysql`), SQLAlchemy's `create_async_engine`, or make the route a
    plain `def`, which FastAPI runs in its thread pool.
    """

    CODE = "POL106"
    NAME = "blocking-db-driver"
    RUFF_NOTE = (
        "flake8-async's ASYNC200 can be configured with the drivers' `connect()` calls, not with the "
        "methods of the connections they return."
    )
    FIX_TITLE = None
    FIX_AVAILABILITY = FixAvailability.NONE
    TRIGGERS = ("connect", "Connection", "Cursor", "cursor")
    BLOCKING_CALLS = {name: f"{name}()" for name in _CONNECTS}
    GATE_NAMES = frozenset(_ANNOTATIONS)
    BLOCKING_METHODS = _CONNECTION_IO | _CURSOR_IO

    def constructor_kind(self, qualified: str) -> Optional[Hashable]:
        driver = _CONNECTS.get(qualified)
        return ("connection", driver) if driver else None

    def annotation_kind(self, qualified: str) -> Optional[Hashable]:
        return _ANNOTATIONS.get(qualified)

    def derive(self, kind: Hashable, step: str) -> Optional[Hashable]:
        what, driver = kind  # type: ignore[misc]
        if step == "with":
            # Both connections and cursors enter as themselves.
            return kind
        if what == "connection" and step in ("cursor()", "execute()"):
            # sqlite3's and psycopg's connection.execute() return a cursor.
            return ("cursor", driver)
        return None

    def method_call(self, kind: Hashable, receiver: str, method: str) -> Optional[str]:
        what, driver = kind  # type: ignore[misc]
        methods = _CONNECTION_IO if what == "connection" else _CURSOR_IO
        return f"{receiver}.{method}() ({driver} {what})" if method in methods else None

    VALID = [
        Valid(
            """
            import psycopg

            async def handler():
                async with await psycopg.AsyncConnection.connect("dbname=shop") as conn:
                    async with conn.cursor() as cur:
                        await cur.execute("select 1")
                        return await cur.fetchone()
            """
        ),
        Valid(
            """
            import asyncio
            import sqlite3

            def count_rows():
                with sqlite3.connect("app.db") as conn:
                    return conn.execute("select count(*) from t").fetchone()

            async def handler():
                return await asyncio.to_thread(count_rows)
            """
        ),
        Valid(
            """
            async def handler(conn, cursor):
                # Nothing says what these are.
                conn.commit()
                cursor.execute("select 1")
                return cursor.fetchall()
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import sqlite3

            async def handler():
                conn = sqlite3.connect("app.db")
                return conn.execute("select * from items").fetchall()
            """
        ),
        Invalid(
            """
            from psycopg2 import connect

            async def handler(dsn: str):
                with connect(dsn) as conn:
                    with conn.cursor() as cur:
                        cur.execute("update jobs set done = true")
            """
        ),
        Invalid(
            """
            import mysql.connector

            async def handler():
                conn = mysql.connector.connect(host="db", user="app")
                cursor = conn.cursor()
                cursor.execute("select 1")
                conn.commit()
            """
        ),
        Invalid(
            """
            import psycopg2

            def get_connection():
                return psycopg2.connect("dbname=shop")

            async def handler():
                conn = get_connection()
                conn.close()
            """
        ),
    ]
