"""POL206: engine.connect()/begin()/raw_connection() not in a with block and not closed in a finally."""

from __future__ import annotations

from typing import FrozenSet, Iterable, Optional

from poollint.project import ProjectIndex
from poollint.rule import FixAvailability, Invalid, Valid
from poollint.rules.leaks._session_flow import CONNECTING_METHODS, Creation, FunctionFlow, SessionFlowRule


class ConnectionWithoutContextManager(SessionFlowRule):
    """
    ## What it does
    Flags `engine.connect()`, `engine.begin()` and `engine.raw_connection()`
    called in a function, on an engine created with `create_engine()` or
    `create_async_engine()` at module level anywhere in the project (under
    any import form or alias), when the connection is neither a
    `with`/`async with` item nor closed in a `finally:` (or in a handler that
    catches every exception). For an `AsyncEngine` the connection counts
    once it is awaited: `conn = await engine.connect()`.

    A connection the function hands on (returns, passes to another call,
    stores in an attribute) is not flagged: its new owner closes it. A
    generator that yields its connection is flagged only when it is a
    FastAPI dependency: FastAPI throws the route's exception in at the
    `yield`, so only a `finally:` or `with` closes the connection then.

    ## Why is this bad?
    `connect()` checks a connection out of the engine's pool at once, and
    only `close()` (or the end of its `with` block) gives it back: a commit
    or the end of a `with conn.begin():` block ends the transaction but
    keeps the connection. When anything raises between `connect()` and
    `close()`, the connection stays checked out until the garbage collector
    finds it, and every such error costs the pool one connection until
    requests fail with `QueuePool limit ... reached`. `engine.begin()`
    commits and closes only when used as a context manager.

    ## Example
    ```python
    from sqlalchemy import create_engine, text

    engine = create_engine("postgresql://db/app")

    def count_orders():
        conn = engine.connect()
        total = conn.execute(text("select count(*) from orders")).scalar()
        conn.close()
        return total
    ```

    ## Use instead
    ```python
    from sqlalchemy import create_engine, text

    engine = create_engine("postgresql://db/app")

    def count_orders():
        with engine.connect() as conn:
            return conn.execute(text("select count(*) from orders")).scalar()
    ```

    There is no automatic fix: wrapping the rest of the function in a
    `with` block moves code into a new block, which is not safe to do
    blindly.
    """

    CODE = "POL206"
    NAME = "connection-without-context-manager"
    RUFF_NOTE = (
        "ruff's SIM115 asks for a context manager around `open()`, not around connections."
    )
    MESSAGE = "{what} from `{call}` (engine `{engine}`{engine_where}) in {where} {problem}: use {suggestion}"
    FIX_TITLE = None
    FIX_AVAILABILITY = FixAvailability.NONE
    # `raw_connection` contains `connect` too.
    TRIGGERS = ("connect", "begin")

    TRACKED_KIND = "connection"
    # A Connection goes back to the pool on close() only: rollback() and the
    # end of `with conn.begin():` end its transaction and keep it.
    RELEASE_METHODS: FrozenSet[str] = frozenset({"close"})
    BEGIN_RELEASES = False
    # Not `execution_options()`: it returns the connection itself, to whoever binds it.
    INLINE_METHODS: FrozenSet[str] = CONNECTING_METHODS | frozenset({"exec_driver_sql", "cursor"})

    @classmethod
    def triggers(cls, index: ProjectIndex) -> Iterable[str]:
        return cls.TRIGGERS

    def judge(self, flow: FunctionFlow) -> None:
        scope = self.ctx.scopes[-1]
        dependency_generator = flow.is_generator and self.ctx.is_dependency(scope)
        for creation in flow.creations:
            method = (creation.resource.origin or "").rsplit(".", 1)[-1]
            if not self._checks_out(creation, method):
                continue
            problem = self._problem(flow, creation, method, dependency_generator)
            if problem is None:
                continue
            engine = (creation.resource.engine or "engine").rsplit(".", 1)[-1]
            where_defined = creation.resource.origin_where
            self.report(
                creation.call,
                what="raw DBAPI connection" if method == "raw_connection" else "connection",
                call=" ".join(self.ctx.module.code_for_node(creation.call.func).split()) + "()",
                engine=engine,
                engine_where=f", {where_defined}" if where_defined else "",
                where=self.ctx.describe(scope),
                problem=problem,
                suggestion=self._suggestion(creation, method),
            )

    def _checks_out(self, creation: Creation, method: str) -> bool:
        """Whether the call itself holds a pooled connection (or, for
        `engine.begin()`, must be entered to end its transaction)."""
        found = self.ctx.index.engine(creation.resource.engine)
        engine_is_async = found[1].is_async if found is not None else creation.resource.is_async
        if engine_is_async:
            # `async_engine.connect()` checks out nothing until awaited or
            # entered, and `async_engine.begin()` can only be entered.
            return creation.awaited and method in ("connect", "raw_connection")
        return method in ("connect", "begin", "raw_connection")

    def _problem(
        self, flow: FunctionFlow, creation: Creation, method: str, dependency_generator: bool
    ) -> Optional[str]:
        if creation.how == "inline":
            return "is used inline and never closed"
        if creation.how == "yielded":
            return "is yielded and never closed" if dependency_generator else None
        name = creation.name
        if creation.how != "assigned" or name is None or not flow.leaks_on_error(name):
            return None
        if name in flow.yielded:
            if not dependency_generator:
                # Yielded: the generator's consumer owns it.
                return None
            if name in flow.closed:
                return "is yielded and closed after the yield with no try/finally: close() is skipped when the route raises"
            return "is yielded and never closed"
        if method == "begin":
            return "is not entered with `with`, so its transaction and connection are never ended"
        if name in flow.closed:
            return "is closed outside a `finally:`, so an exception before close() leaks it"
        return "is never closed"

    def _suggestion(self, creation: Creation, method: str) -> str:
        name = creation.name or "conn"
        call = " ".join(self.ctx.module.code_for_node(creation.call).split())
        if len(call) > 60:
            call = " ".join(self.ctx.module.code_for_node(creation.call.func).split()) + "(...)"
        if method == "raw_connection":
            return f"`try:` ... `finally: {name}.close()`"
        if creation.awaited:
            return f"`async with {call} as {name}:`"
        return f"`with {call} as {name}:`"

    VALID = [
        Valid(
            """
            from sqlalchemy import create_engine, text

            engine = create_engine("postgresql://db/app")

            def count_orders():
                with engine.connect() as conn:
                    return conn.execute(text("select count(*) from orders")).scalar()
            """
        ),
        Valid(
            """
            from sqlalchemy import create_engine, text

            engine = create_engine("postgresql://db/app")

            def count_orders():
                conn = engine.connect()
                try:
                    return conn.execute(text("select count(*) from orders")).scalar()
                finally:
                    conn.close()
            """
        ),
        Valid(
            """
            # Handed to the caller, who owns it now.
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine("postgresql+asyncpg://db/app")

            async def open_connection():
                return await engine.connect()

            async def transaction():
                async with engine.begin() as conn:
                    await conn.exec_driver_sql("select 1")
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from sqlalchemy import create_engine, text

            engine = create_engine("postgresql://db/app")

            def count_orders():
                conn = engine.connect()
                total = conn.execute(text("select count(*) from orders")).scalar()
                conn.close()
                return total
            """
        ),
        Invalid(
            """
            from sqlalchemy import text
            from sqlalchemy.ext.asyncio import create_async_engine as make_engine

            engine = make_engine("postgresql+asyncpg://db/app")

            async def count_orders():
                conn = await engine.connect()
                return (await conn.execute(text("select count(*) from orders"))).scalar()
            """
        ),
        Invalid(
            """
            from sqlalchemy import create_engine

            engine = create_engine("postgresql://db/app")

            def copy_orders(buffer):
                raw = engine.raw_connection()
                cursor = raw.cursor()
                cursor.copy_expert("copy orders to stdout", buffer)
                raw.close()
            """
        ),
    ]


# Connections are tracked with their own release rules: no walk to share.
ConnectionWithoutContextManager.SHARES_WALK_OF = ConnectionWithoutContextManager
