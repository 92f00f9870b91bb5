"""POL201: a session created in a function and not closed on the error path."""

from __future__ import annotations

from poollint.rule import FixAvailability, Invalid, Valid
from poollint.rules.leaks._session_flow import (
    FunctionFlow,
    SessionFlowRule,
    origin_text,
    with_suggestion,
)


class SessionWithoutContextManager(SessionFlowRule):
    """
    ## What it does
    Flags a session created inside a function (from a `sessionmaker` or
    `async_sessionmaker` defined anywhere in the project, `Session(engine)`,
    `AsyncSession(engine)`, or a helper that returns a new session) that is
    neither a `with`/`async with` item nor closed in a `finally:`.

    A session that the function hands on (returns, yields, passes to another
    call, stores in an attribute) is not flagged here: its new owner decides
    when it is closed. Nor is a session that never queries, or one bound to a
    connection its caller owns (`Session(connection)`): neither has a pooled
    connection of its own to leak.

    ## Why is this bad?
    Once a session has run a query it holds a connection checked out of the
    engine's pool until it is closed. When anything between the query and
    `close()` raises, `close()` never runs and the connection stays checked
    out until the garbage collector happens to find the session. Under errors
    (a timeout, a validation error, a client disconnect) the pool drains and
    every other request waits for `QueuePool limit ... reached`.

    ## Example
    ```python
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import sessionmaker

    engine = create_engine("postgresql://db/app")
    SessionLocal = sessionmaker(engine)

    def count_orders():
        db = SessionLocal()
        total = db.execute(text("select count(*) from orders")).scalar()
        db.close()
        return total
    ```

    ## Use instead
    ```python
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import sessionmaker

    engine = create_engine("postgresql://db/app")
    SessionLocal = sessionmaker(engine)

    def count_orders():
        with SessionLocal() as db:
            return db.execute(text("select count(*) from orders")).scalar()
    ```

    There is no fix yet: wrapping the rest of the function in a `with` block
    moves code into a new block, which is not safe to do blindly.
    """

    CODE = "POL201"
    NAME = "session-without-context-manager"
    RUFF_NOTE = (
        "ruff's SIM115 asks for a context manager around `open()`, not around sessions."
    )
    MESSAGE = "session from {origin} in {where} {problem}: use `{suggestion}`"
    FIX_TITLE = None
    FIX_AVAILABILITY = FixAvailability.NONE
    # The session classes and `sessionmaker` all spell "Session"; the
    # project's own factories and helpers are added by triggers(index).
    TRIGGERS = ("Session",)

    def judge(self, flow: FunctionFlow) -> None:
        scope = self.ctx.scopes[-1]
        where = self.ctx.describe(scope)
        for creation in flow.creations:
            if creation.how == "inline":
                self.report(
                    creation.call,
                    origin=origin_text(creation.resource),
                    where=where,
                    problem="is used inline and never closed",
                    suggestion=with_suggestion(self.ctx.module, creation, "session"),
                )
                continue
            name = creation.name
            if creation.how != "assigned" or name is None:
                continue
            if name in flow.yielded or name not in flow.connected or not flow.leaks_on_error(name):
                # Yielded: the consumer owns it (POL202 judges dependencies).
                # Never queried: it holds no connection to leak.
                continue
            problem = (
                "is closed outside a `finally:`, so an exception before close() leaks it"
                if name in flow.closed
                else "is never closed"
            )
            self.report(
                creation.call,
                origin=origin_text(creation.resource),
                where=where,
                problem=problem,
                suggestion=with_suggestion(self.ctx.module, creation, name),
            )

    VALID = [
        Valid(
            """
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()

            def list_users():
                with SessionLocal() as db:
                    return db.execute("select 1").all()
            """
        ),
        Valid(
            """
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()

            def list_users():
                db = SessionLocal()
                try:
                    return db.execute("select 1").all()
                finally:
                    db.close()
            """
        ),
        Valid(
            """
            from sqlalchemy.ext.asyncio import async_sessionmaker

            AsyncSessionLocal = async_sessionmaker()

            async def list_users():
                db = None
                try:
                    db = AsyncSessionLocal()
                    return (await db.execute("select 1")).all()
                finally:
                    if db is not None:
                        await db.close()
            """
        ),
        Valid(
            """
            # Ownership moves: to the caller, the generator's consumer, or a helper.
            from sqlalchemy.orm import Session, sessionmaker

            SessionLocal = sessionmaker()

            def new_session():
                return SessionLocal()

            def get_db():
                db = SessionLocal()
                yield db

            def handed_over(engine, registry):
                db = Session(engine)
                registry.add(db)
            """
        ),
        Valid(
            """
            import contextlib
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()

            def with_closing():
                with contextlib.closing(SessionLocal()) as db:
                    db.execute("select 1")

            def with_stack():
                with contextlib.ExitStack() as stack:
                    db = stack.enter_context(SessionLocal())
                    db.execute("select 1")
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()

            def list_users():
                db = SessionLocal()
                rows = db.execute("select 1").all()
                db.close()
                return rows
            """
        ),
        Invalid(
            """
            from sqlalchemy.ext.asyncio import AsyncSession

            async def list_users(engine):
                db = AsyncSession(engine)
                return (await db.execute("select 1")).all()
            """
        ),
        Invalid(
            """
            from sqlalchemy.orm import sessionmaker as maker

            SessionLocal = maker()

            def count():
                return SessionLocal().execute("select count(*) from users").scalar()
            """
        ),
    ]
