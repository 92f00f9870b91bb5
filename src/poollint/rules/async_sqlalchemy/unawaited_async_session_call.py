"""POL402: an AsyncSession/AsyncConnection/AsyncEngine coroutine method called without await."""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import libcst as cst

from poollint.gate import SourceView, uses_database
from poollint.project import ProjectIndex
from poollint.rule import Fix, FixAvailability, FixSafety, Invalid, Valid
from poollint.rules.async_sqlalchemy._async_session import (
    async_resource,
    is_coroutine_method,
    short_code,
)
from poollint.rules.event_loop._blocking import BlockingCallRule

# Methods whose awaited result is a (sync) Result or ScalarResult: in
# `await db.execute(q).scalars().all()` the await belongs on `db.execute(q)`.
_RESULT_RETURNING = frozenset({"execute", "scalars", "exec", "exec_driver_sql"})
# Plain methods and attributes of Result / ScalarResult / MappingResult.
_RESULT_METHODS = frozenset(
    {
        "all",
        "first",
        "one",
        "one_or_none",
        "scalar",
        "scalar_one",
        "scalar_one_or_none",
        "scalars",
        "unique",
        "mappings",
        "tuples",
        "fetchall",
        "fetchone",
        "fetchmany",
        "partitions",
        "columns",
        "keys",
        "yield_per",
        "freeze",
    }
)
_RESULT_ATTRIBUTES = frozenset({"rowcount", "inserted_primary_key", "lastrowid", "returned_defaults", "t"})
_STREAMING = frozenset({"stream", "stream_scalars"})

_STATEMENT = "it only creates a coroutine, which never runs"


class UnawaitedAsyncSessionCall(BlockingCallRule):
    """
    ## What it does
    Flags a coroutine method of an `AsyncSession`, `AsyncConnection` or
    `AsyncEngine` (`execute`, `scalar(s)`, `get`, `commit`, `rollback`,
    `refresh`, `flush`, `delete`, `merge`, `close`, `stream`, `run_sync`,
    `connection`, `exec_driver_sql`, `dispose`...) called without `await` in
    an `async def`, where the result is dropped (`db.commit()` on a line of its
    own) or used at once as if it were the result: `db.execute(q).scalars()`,
    `await db.execute(q).scalars().all()`, `if db.get(User, 1):`,
    `for row in db.execute(q):`.

    The receiver must be known to be async: a session from an
    `async_sessionmaker` or `AsyncSession(...)`, a parameter annotated
    `AsyncSession` / `AsyncConnection` or given by a dependency that yields
    one (also through `Annotated` aliases and other modules), a connection
    from `async with engine.connect()` of a `create_async_engine()` engine, or
    that engine itself. A coroutine that is stored, returned or passed on
    (`task = db.execute(q)`, `asyncio.gather(db.get(A, 1), ...)`) is left
    alone: someone may await it later. So are sync methods (`add`,
    `add_all`, `expunge`, `in_transaction`), `begin()` and `connect()` (their
    results are async context managers) and sync functions, where `await` is
    not possible.

    ## Why is this bad?
    Calling a coroutine method only creates a coroutine: nothing is sent to
    the database. A commit that is never awaited does not happen, and the
    request ends with its changes rolled back; an unawaited `close()` or
    `rollback()` leaves the connection checked out until the garbage
    collector finds the session, so the pool drains under load; an unawaited
    `engine.dispose()` at shutdown closes nothing. Python only says
    `RuntimeWarning: coroutine ... was never awaited`, and where the
    coroutine is used as the result the request fails with
    `AttributeError: 'coroutine' object has no attribute 'scalars'`.

    ## Example
    ```python
    from fastapi import Depends, FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

    engine = create_async_engine("postgresql+asyncpg://app@db/shop")
    SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
    app = FastAPI()


    async def get_db():
        async with SessionLocal() as db:
            yield db


    @app.post("/items")
    async def create_item(item: ItemIn, db: AsyncSession = Depends(get_db)):
        db.add(Item(**item.model_dump()))
        db.commit()
    ```

    ## Use instead
    ```python
    from fastapi import Depends, FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

    engine = create_async_engine("postgresql+asyncpg://app@db/shop")
    SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
    app = FastAPI()


    async def get_db():
        async with SessionLocal() as db:
            yield db


    @app.post("/items")
    async def create_item(item: ItemIn, db: AsyncSession = Depends(get_db)):
        db.add(Item(**item.model_dump()))
        await db.commit()
    ```

    ## Fix safety
    The fix adds `await` (with parentheses where the call is a receiver:
    `(await db.execute(q)).scalars()`). Where the outer expression is already
    awaited and what follows the call is plain `Result` API
    (`await db.execute(q).scalars().all()`), the `await` moves onto the call:
    `(await db.execute(q)).scalars().all()`. It is safe: the code it replaces
    either did nothing (a dropped coroutine) or raised at once (a coroutine
    used as a result), and awaiting is what the call is for. There is no fix
    where the right form is unclear: in a generator expression (an `await`
    would make it an async generator), in a `for` over `stream()` results or
    an `async for` over a non-streaming call, and under an `await` followed by
    anything but `Result` methods.
    """

    @classmethod
    def may_fire(cls, view: "SourceView", index: "ProjectIndex") -> bool:
        return view.has_async_def and uses_database(view, index)




    CODE = "POL402"
    NAME = "unawaited-async-session-call"
    MESSAGE = "`{call}()` on {label} `{name}`{origin} is not awaited in {where}: {consequence}"
    FIX_TITLE = "Add `await`"
    FIX_AVAILABILITY = FixAvailability.SOMETIMES
    # The receiver may come from anywhere (a dependency in another module, an
    # alias), but it can only be awaited inside an `async def`.
    TRIGGERS = ("async",)

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        # Where a call's value is used at once as if it were its result, and
        # what that does to a coroutine.
        self.misuse: Dict[cst.CSTNode, str] = {}
        self.dropped: set = set()
        # `for x in call` (False) / `async for x in call` (True).
        self.iterated: Dict[cst.CSTNode, bool] = {}
        # Nodes on the receiver chain of an awaited expression, mapped to the
        # Await: in `await db.execute(q).scalars()` the await is misplaced.
        self.under_await: Dict[cst.CSTNode, cst.Await] = {}
        self.async_with_items: set = set()

    # -- where a call's value goes ----------------------------------------------------
    def visit_Expr(self, node: cst.Expr) -> None:
        self.dropped.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        super().visit_Attribute(node)
        self.misuse.setdefault(node.value, f"`.{node.attr.value}` is looked up on a coroutine")

    def visit_Subscript(self, node: cst.Subscript) -> None:
        super().visit_Subscript(node)
        self.misuse.setdefault(node.value, "a coroutine is indexed")

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        super().visit_BinaryOperation(node)
        self._operand(node.left)
        self._operand(node.right)

    def visit_UnaryOperation(self, node: cst.UnaryOperation) -> None:
        self._operand(node.expression)

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        self._operand(node.left)
        self._operand(node.right)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        self._operand(node.left)
        for target in node.comparisons:
            self._operand(target.comparator)

    def visit_If(self, node: cst.If) -> None:
        self._operand(node.test)

    def visit_While(self, node: cst.While) -> None:
        self._operand(node.test)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._operand(node.test)

    def visit_Assert(self, node: cst.Assert) -> None:
        self._operand(node.test)

    def _operand(self, expr: cst.BaseExpression) -> None:
        self.misuse.setdefault(expr, "a coroutine is used as its result")

    def visit_For(self, node: cst.For) -> None:
        super().visit_For(node)
        self.iterated[node.iter] = node.asynchronous is not None

    def visit_With(self, node: cst.With) -> None:
        super().visit_With(node)
        if node.asynchronous is not None:
            self.async_with_items.update(item.item for item in node.items)

    def visit_Await(self, node: cst.Await) -> None:
        super().visit_Await(node)
        link = node.expression
        while True:
            self.under_await[link] = node
            if isinstance(link, cst.Call):
                link = link.func
            elif isinstance(link, (cst.Attribute, cst.Subscript)):
                link = link.value
            else:
                break

    # -- the calls ------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        self.tight.add(node.func)
        scope = self.ctx.async_function()
        if scope is None or not isinstance(node.func, cst.Attribute):
            return
        if node in self.async_with_items:
            return
        outer_await = self.under_await.get(node)
        if outer_await is not None and outer_await.expression is node:
            return  # awaited, as it should be
        iterated = self.iterated.get(node)
        if outer_await is None and node not in self.dropped and node not in self.misuse and iterated is None:
            return  # stored, returned or passed on: someone may await it
        receiver = node.func.value
        if self.bound_by_comprehension(receiver):
            return
        resource = async_resource(self.ctx, receiver)
        method = node.func.attr.value
        if resource is None or not is_coroutine_method(resource, method):
            return
        consequence, fix = self._judge(node, method, outer_await, iterated)
        name = short_code(self.ctx.module, receiver)
        self.report(
            node,
            fix=fix,
            call=f"{name}.{method}",
            label=resource.label,
            name=name,
            origin=resource.origin_note(name),
            where=self.ctx.describe(scope),
            consequence=consequence,
        )

    def _judge(
        self, node: cst.Call, method: str, outer_await: Optional[cst.Await], iterated: Optional[bool]
    ) -> Tuple[str, Optional[Fix]]:
        """What goes wrong, and the fix when the right form is certain."""
        if outer_await is not None:
            consequence = self.misuse.get(node, "the await applies to something else")
            return consequence, self._moved_await(node, method, outer_await)
        if iterated is not None:
            consequence = "a coroutine is iterated"
            # `async for` needs stream()'s AsyncResult; `for` needs a Result.
            if iterated != (method in _STREAMING):
                return consequence, None
            return consequence, self._added_await(node)
        if node in self.dropped:
            return _STATEMENT, self._added_await(node)
        return self.misuse[node], self._added_await(node)

    def _added_await(self, node: cst.Call) -> Optional[Fix]:
        if self.generator_depth:
            return None
        return Fix(node=node, replacement=self.awaited(node, node), safety=FixSafety.SAFE)

    def _moved_await(self, node: cst.Call, method: str, outer: cst.Await) -> Optional[Fix]:
        """`await db.execute(q).scalars().all()` -> `(await db.execute(q)).scalars().all()`."""
        if method not in _RESULT_RETURNING or self.generator_depth:
            return None
        link: cst.BaseExpression = outer.expression
        while link is not node:
            if isinstance(link, cst.Call) and isinstance(link.func, cst.Attribute):
                if link.func.attr.value not in _RESULT_METHODS:
                    return None
                link = link.func.value
            elif isinstance(link, cst.Attribute) and link.attr.value in _RESULT_ATTRIBUTES:
                link = link.value
            else:
                return None
        inner = self.awaited(node, node)
        if not inner.lpar:
            inner = inner.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        moved = outer.expression.deep_replace(node, inner)
        assert isinstance(moved, cst.BaseExpression)
        if outer.lpar:
            moved = moved.with_changes(lpar=list(outer.lpar) + list(moved.lpar), rpar=list(moved.rpar) + list(outer.rpar))
        return Fix(node=outer, replacement=moved, safety=FixSafety.SAFE)

    VALID = [
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.ext.asyncio import AsyncSession

            app = FastAPI()

            @app.post("/items")
            async def create_item(db: AsyncSession = Depends(get_db)):
                db.add(Item())  # add() is a plain method
                await db.commit()
                return (await db.execute(select(Item))).scalars().all()
            """
        ),
        Valid(
            """
            import asyncio
            from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

            engine = create_async_engine("postgresql+asyncpg://app@db/shop")
            SessionLocal = async_sessionmaker(engine, expire_on_commit=False)

            async def load(ids):
                async with SessionLocal() as db:
                    pending = db.get(User, ids[0])  # stored: awaited below
                    user = await pending
                    return user, await asyncio.wait_for(db.get(User, ids[1]), 5)
            """
        ),
        Valid(
            """
            from sqlalchemy import create_engine
            from sqlalchemy.orm import Session

            engine = create_engine("postgresql://app@db/shop")

            async def sync_session_in_async(db: Session):
                db.commit()  # a sync session: POL105's business, not an unawaited coroutine
            """
        ),
        Valid(
            """
            from sqlalchemy.ext.asyncio import AsyncSession

            def sync_work(db: AsyncSession):
                db.commit()  # no await is possible in a plain def

            async def handler(db: AsyncSession):
                await db.run_sync(lambda session: session.commit())
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from sqlalchemy.ext.asyncio import AsyncSession

            async def save(db: AsyncSession, item):
                db.add(item)
                db.commit()
            """,
            expected_replacement="""
            from sqlalchemy.ext.asyncio import AsyncSession

            async def save(db: AsyncSession, item):
                db.add(item)
                await db.commit()
            """,
        ),
        Invalid(
            """
            from sqlalchemy.ext.asyncio import async_sessionmaker as maker, create_async_engine

            engine = create_async_engine("postgresql+asyncpg://app@db/shop")
            Session = maker(engine, expire_on_commit=False)

            async def names():
                async with Session() as db:
                    return db.execute(select(User.name)).scalars().all()
            """,
            expected_replacement="""
            from sqlalchemy.ext.asyncio import async_sessionmaker as maker, create_async_engine

            engine = create_async_engine("postgresql+asyncpg://app@db/shop")
            Session = maker(engine, expire_on_commit=False)

            async def names():
                async with Session() as db:
                    return (await db.execute(select(User.name))).scalars().all()
            """,
        ),
        Invalid(
            """
            from sqlalchemy.ext.asyncio import AsyncSession

            async def names(db: AsyncSession):
                return await db.execute(select(User.name)).scalars().all()
            """,
            expected_replacement="""
            from sqlalchemy.ext.asyncio import AsyncSession

            async def names(db: AsyncSession):
                return (await db.execute(select(User.name))).scalars().all()
            """,
        ),
        Invalid(
            """
            from contextlib import asynccontextmanager
            from fastapi import FastAPI
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine("postgresql+asyncpg://app@db/shop")

            @asynccontextmanager
            async def lifespan(app: FastAPI):
                yield
                engine.dispose()
            """,
            expected_replacement="""
            from contextlib import asynccontextmanager
            from fastapi import FastAPI
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine("postgresql+asyncpg://app@db/shop")

            @asynccontextmanager
            async def lifespan(app: FastAPI):
                yield
                await engine.dispose()
            """,
        ),
    ]
