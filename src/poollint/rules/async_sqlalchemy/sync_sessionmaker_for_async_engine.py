"""POL405: a sync sessionmaker bound to an async engine (create_async_engine)."""

from __future__ import annotations

from typing import Dict, Optional, Set

import libcst as cst

from poollint import names
from poollint.gate import SESSIONMAKER_CALLS, SourceView
from poollint.project import ProjectIndex
from poollint.rule import Fix, FixAvailability, FixSafety, Invalid, PoolRule, Valid
from poollint.rules.async_sqlalchemy._async_session import short_code

_ASYNC_MAKER = "async_sessionmaker"
_SCOPED_SESSIONS = frozenset({"sqlalchemy.orm.scoped_session", "sqlalchemy.orm.scoping.scoped_session"})


class SyncSessionmakerForAsyncEngine(PoolRule):
    """
    ## What it does
    Flags `sessionmaker(bind=engine)` / `sessionmaker(engine)` where `engine`
    is a `create_async_engine()` engine (defined in the same function, the
    same module or imported from another one), and the call does not ask for
    `class_=AsyncSession`: the factory makes sync `Session` objects. A call
    given `**kwargs` (which may carry `class_`) or a `class_` poollint does not
    know is left alone.

    ## Why is this bad?
    A sync `Session` cannot use an `AsyncEngine`: its first query fails
    (the async engine's connections must be awaited), `async with
    SessionLocal() as db` raises `TypeError` because a sync session is no
    async context manager, and the code around it tends to grow workarounds
    (`engine.sync_engine`, a second sync engine with its own pool) that double
    the connections the application holds. Sessions for an async engine come
    from `async_sessionmaker` (or `sessionmaker(class_=AsyncSession)`).

    ## Example
    ```python
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.orm import sessionmaker

    engine = create_async_engine("postgresql+asyncpg://app@db/shop")
    SessionLocal = sessionmaker(bind=engine, autoflush=False)
    ```

    ## Use instead
    ```python
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    engine = create_async_engine("postgresql+asyncpg://app@db/shop")
    SessionLocal = async_sessionmaker(bind=engine, autoflush=False, expire_on_commit=False)
    ```

    ## Fix safety
    The fix replaces `sessionmaker` with `async_sessionmaker` (adding
    `from sqlalchemy.ext.asyncio import async_sessionmaker`) and keeps every
    argument: both take the same ones, and the extra ones reach the same sync
    `Session` underneath. It is unsafe although the code it replaces cannot
    work: the sessions the factory makes become `AsyncSession` objects, so
    every place that uses them must `await` their methods and use `async with`,
    and a type annotation such as `sessionmaker[Session]` no longer matches.
    There is no fix when the name `async_sessionmaker` is already taken by
    something else, when `class_=Session` asks for sync sessions explicitly,
    or inside `scoped_session(...)`, which for async sessions should become
    `async_scoped_session` with a `scopefunc` of the author's choosing.
    """

    @classmethod
    def may_fire(cls, view: "SourceView", index: "ProjectIndex") -> bool:
        return view.calls_any(SESSIONMAKER_CALLS)


    CODE = "POL405"
    NAME = "sync-sessionmaker-for-async-engine"
    MESSAGE = (
        "sessionmaker(){name} binds async engine `{engine}`{origin} but makes sync Sessions, "
        "which cannot use it: use async_sessionmaker (or class_=AsyncSession)"
    )
    FIX_TITLE = "Use `async_sessionmaker`"
    FIX_AVAILABILITY = FixAvailability.SOMETIMES
    TRIGGERS = ("sessionmaker",)

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.targets: Dict[cst.CSTNode, str] = {}
        self.scoped: Set[cst.CSTNode] = set()

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self.targets[node.value] = node.targets[0].target.value

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None and isinstance(node.target, cst.Name):
            self.targets[node.value] = node.target.value

    def visit_Call(self, node: cst.Call) -> None:
        qualified = self.ctx.qualified_name(node.func)
        if qualified in _SCOPED_SESSIONS:
            self.scoped.update(arg.value for arg in node.args)
            return
        if qualified not in names.SESSIONMAKERS:
            return
        bind: Optional[cst.BaseExpression] = None
        for position, arg in enumerate(node.args):
            if arg.star:
                return  # `**options` may carry class_
            keyword = arg.keyword.value if arg.keyword is not None else None
            if keyword == "class_" and self.ctx.qualified_name(arg.value) not in names.SESSION_CLASSES:
                # AsyncSession, or a class poollint does not know.
                return
            if keyword == "bind" or (keyword is None and position == 0):
                bind = arg.value
        if bind is None:
            return
        resource = self.ctx.resource(bind)
        if resource is None or resource.kind != "engine" or not resource.is_async:
            return
        name = self.targets.get(node)
        engine = short_code(self.ctx.module, bind)
        self.report(
            node,
            fix=self._fix(node),
            name=f" `{name}`" if name else "",
            engine=engine,
            origin=resource.origin_note(engine),
        )

    def _fix(self, node: cst.Call) -> Optional[Fix]:
        if any(arg.keyword is not None and arg.keyword.value == "class_" for arg in node.args):
            return None  # class_=Session: the user asked for sync sessions; let them choose
        if node in self.scoped:
            # scoped_session() of async sessions wants async_scoped_session and
            # a scopefunc (current_task): a choice for the author.
            return None
        if not self._async_maker_name_free():
            return None
        return Fix(
            node=node,
            replacement=node.with_changes(func=cst.Name(_ASYNC_MAKER)),
            # The sessions become AsyncSession objects: their users must await.
            safety=FixSafety.UNSAFE,
            imports=(("sqlalchemy.ext.asyncio", _ASYNC_MAKER),),
        )

    def _async_maker_name_free(self) -> bool:
        """Whether `async_sessionmaker` can name SQLAlchemy's here."""
        facts = self.ctx.facts
        imported = facts.imports.get(_ASYNC_MAKER)
        if imported is not None and imported not in names.ASYNC_SESSIONMAKERS:
            return False
        if _ASYNC_MAKER in facts.kinds:
            return False
        for scope in self.ctx.scopes:
            fact = scope.fact
            if fact is not None and (_ASYNC_MAKER in fact.local_names or _ASYNC_MAKER in fact.local_imports):
                return False
            if scope.kind == "lambda" and _ASYNC_MAKER in scope.params:
                return False
        return True

    VALID = [
        Valid(
            """
            from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
            from sqlalchemy.orm import sessionmaker

            engine = create_async_engine("postgresql+asyncpg://app@db/shop")
            SessionLocal = sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
            """
        ),
        Valid(
            """
            from sqlalchemy import create_engine
            from sqlalchemy.orm import sessionmaker

            engine = create_engine("postgresql+psycopg://app@db/shop")
            SessionLocal = sessionmaker(bind=engine)
            """
        ),
        Valid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine
            from sqlalchemy.orm import sessionmaker

            engine = create_async_engine("postgresql+asyncpg://app@db/shop")
            # The sync engine inside the async one, for sync code run with run_sync().
            SyncSession = sessionmaker(bind=engine.sync_engine)
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine
            from sqlalchemy.orm import sessionmaker

            engine = create_async_engine("postgresql+asyncpg://app@db/shop")
            SessionLocal = sessionmaker(autocommit=False, autoflush=False, bind=engine)
            """,
            expected_replacement="""
            from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
            from sqlalchemy.orm import sessionmaker

            engine = create_async_engine("postgresql+asyncpg://app@db/shop")
            SessionLocal = async_sessionmaker(autocommit=False, autoflush=False, bind=engine)
            """,
            unsafe_fixes=True,
        ),
        Invalid(
            """
            from sqlalchemy import orm
            from sqlalchemy.ext import asyncio as sa_asyncio

            def make_factory(url):
                engine = sa_asyncio.create_async_engine(url)
                return orm.sessionmaker(engine)
            """,
            expected_replacement="""
            from sqlalchemy import orm
            from sqlalchemy.ext import asyncio as sa_asyncio
            from sqlalchemy.ext.asyncio import async_sessionmaker

            def make_factory(url):
                engine = sa_asyncio.create_async_engine(url)
                return async_sessionmaker(engine)
            """,
            unsafe_fixes=True,
        ),
        Invalid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine
            from sqlalchemy.orm import Session, sessionmaker

            engine = create_async_engine("postgresql+asyncpg://app@db/shop")
            # class_=Session asks for sync sessions explicitly: flagged, no fix.
            SessionLocal = sessionmaker(bind=engine, class_=Session)
            """
        ),
    ]

