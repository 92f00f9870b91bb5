"""POL401: a sync create_engine() whose sessions or connections do I/O in async routes."""

from __future__ import annotations

from typing import List, Tuple

import libcst as cst

from poollint import names
from poollint.facts import FunctionFact, ModuleFacts
from poollint.gate import ENGINE_CALLS, SourceView
from poollint.project import ProjectIndex, is_test_module
from poollint.rule import FixAvailability, Invalid, PoolRule, Valid


class SyncEngineInAsyncApp(PoolRule):
    """
    ## What it does
    Flags a module-level `create_engine()` (a sync engine) whose sessions or
    connections do database I/O directly inside `async def` code that runs per
    request: an async route, an async dependency, or an async function one of
    them calls. It follows the engine across modules: a `sessionmaker` bound to
    it, a `get_db` dependency yielding sessions from that factory (or from
    `Session(engine)`), `with SessionLocal() as db` and `engine.connect()`
    inside the async function.

    Async code that only hands the session to a thread
    (`await run_in_threadpool(crud.list_items, db)`, `asyncio.to_thread`) does
    no I/O itself and does not count; neither do lifespan or startup handlers
    and async tests, which do not run per request.

    ## Why is this bad?
    A sync engine's driver blocks the thread that runs the query. In an
    `async def` route that thread is the event loop's: while one request waits
    for the database, every other request of the worker waits too, and
    requests that already hold a pooled connection cannot finish and return
    it. Under load the pool and the loop starve each other: timeouts,
    `QueuePool limit ... reached`, health checks failing. Either the engine
    should be async (`create_async_engine` with an async driver, `AsyncSession`,
    `await`) or the routes should be plain `def`, which FastAPI runs in its
    thread pool.

    ## Example
    ```python
    from fastapi import Depends, FastAPI
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session, sessionmaker

    engine = create_engine("postgresql+psycopg://app@db/shop")
    SessionLocal = sessionmaker(bind=engine)
    app = FastAPI()


    def get_db():
        with SessionLocal() as db:
            yield db


    @app.get("/items")
    async def list_items(db: Session = Depends(get_db)):
        return db.execute(text("select * from items")).all()
    ```

    ## Use instead
    ```python
    from fastapi import Depends, FastAPI
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session, sessionmaker

    engine = create_engine("postgresql+psycopg://app@db/shop")
    SessionLocal = sessionmaker(bind=engine)
    app = FastAPI()


    def get_db():
        with SessionLocal() as db:
            yield db


    @app.get("/items")
    def list_items(db: Session = Depends(get_db)):
        return db.execute(text("select * from items")).all()
    ```
    """

    @classmethod
    def may_fire(cls, view: "SourceView", index: "ProjectIndex") -> bool:
        return view.calls_any(ENGINE_CALLS)


    CODE = "POL401"
    NAME = "sync-engine-in-async-app"
    MESSAGE = "sync engine `{engine}` is used with I/O from {user} in {where}{more}: {advice}"
    FIX_AVAILABILITY = FixAvailability.NONE
    TRIGGERS = ("create_engine",)

    def visit_Assign(self, node: cst.Assign) -> None:
        self._check([t.target for t in node.targets], node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._check([node.target], node.value)

    def _check(self, targets: List[cst.BaseExpression], value: cst.BaseExpression) -> None:
        if len(self.ctx.scopes) != 1 or not isinstance(value, cst.Call):
            return  # engines made in functions or classes are not module names
        if is_test_module(self.ctx.facts.module):
            return
        if self.ctx.qualified_name(value.func) not in names.CREATE_ENGINE:
            return
        facts = self.ctx.facts
        for target in targets:
            if not isinstance(target, cst.Name):
                continue
            engine = facts.engines.get(target.value)
            if engine is None or engine.is_async or facts.kinds.get(target.value) != "engine":
                continue
            users = self._per_request_users(facts.qualify(target.value))
            if not users:
                continue
            first_facts, first_fn = users[0]
            others = len(users) - 1
            more = f" and {others} more async function{'s' if others > 1 else ''}" if others else ""
            self.report(
                value,
                engine=target.value,
                user=self.ctx.index.describe(first_facts.module, first_fn.qualname, first_fn.is_async),
                where=first_facts.path,
                more=more,
                advice=self._advice(users),
            )
            return  # one finding per create_engine() call

    def _per_request_users(self, engine: str) -> List[Tuple[ModuleFacts, FunctionFact]]:
        index = self.ctx.index
        found = [
            (facts, fn)
            for facts, fn, _resource in index.async_users_of_engine(engine)
            if index.runs_per_request(facts.module, fn.qualname) and not is_test_module(facts.module)
        ]

        def rank(item: Tuple[ModuleFacts, FunctionFact]) -> Tuple[int, str, int]:
            facts, fn = item
            is_route = index.route(facts.module, fn.qualname) is not None
            return (0 if is_route else 1, facts.path, fn.line)

        return sorted(found, key=rank)

    def _advice(self, users: List[Tuple[ModuleFacts, FunctionFact]]) -> str:
        index = self.ctx.index

        def can_be_def(facts: ModuleFacts, fn: FunctionFact) -> bool:
            route = index.route(facts.module, fn.qualname)
            if route is not None:
                # Websocket endpoints must stay async.
                return "WEBSOCKET" not in route.methods
            return index.is_dependency(facts.module, fn.qualname)

        if all(can_be_def(facts, fn) for facts, fn in users):
            # FastAPI runs plain `def` routes and dependencies in its thread pool.
            if len(users) > 1:
                return "use create_async_engine, or make them plain def"
            return "use create_async_engine, or make it a plain def"
        # A helper awaited by a route would still block the loop as a def.
        return "use create_async_engine, or run that I/O in a thread (run_in_threadpool)"

    VALID = [
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import create_engine
            from sqlalchemy.orm import Session, sessionmaker

            engine = create_engine("postgresql://app@db/shop")
            SessionLocal = sessionmaker(bind=engine)
            app = FastAPI()

            def get_db():
                with SessionLocal() as db:
                    yield db

            @app.get("/items")
            def list_items(db: Session = Depends(get_db)):
                return db.scalars(select(Item)).all()
            """
        ),
        Valid(
            """
            from fastapi import Depends, FastAPI
            from starlette.concurrency import run_in_threadpool
            from sqlalchemy import create_engine
            from sqlalchemy.orm import Session, sessionmaker

            engine = create_engine("postgresql://app@db/shop")
            SessionLocal = sessionmaker(bind=engine)
            app = FastAPI()

            def get_db():
                with SessionLocal() as db:
                    yield db

            def load_items(db):
                return db.scalars(select(Item)).all()

            @app.get("/items")
            async def list_items(db: Session = Depends(get_db)):
                return await run_in_threadpool(load_items, db)
            """
        ),
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

            engine = create_async_engine("postgresql+asyncpg://app@db/shop")
            SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
            app = FastAPI()

            async def get_db():
                async with SessionLocal() as db:
                    yield db

            @app.get("/items")
            async def list_items(db: AsyncSession = Depends(get_db)):
                return (await db.scalars(select(Item))).all()
            """
        ),
        Valid(
            """
            from contextlib import asynccontextmanager
            from fastapi import FastAPI
            from sqlalchemy import create_engine, text

            engine = create_engine("postgresql://app@db/shop")

            @asynccontextmanager
            async def lifespan(app):
                # Runs once at startup, before any request: blocking here is harmless.
                with engine.begin() as conn:
                    conn.execute(text("select 1"))
                yield

            app = FastAPI(lifespan=lifespan)
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import create_engine
            from sqlalchemy.orm import Session, sessionmaker

            engine = create_engine("postgresql://app@db/shop")
            SessionLocal = sessionmaker(bind=engine)
            app = FastAPI()

            def get_db():
                db = SessionLocal()
                try:
                    yield db
                finally:
                    db.close()

            @app.get("/items")
            async def list_items(db: Session = Depends(get_db)):
                return db.scalars(select(Item)).all()
            """
        ),
        Invalid(
            """
            import sqlalchemy as sa
            from fastapi import APIRouter

            engine = sa.create_engine("mysql+pymysql://app@db/shop")
            router = APIRouter()

            @router.get("/health")
            async def health():
                with engine.connect() as conn:
                    conn.execute(sa.text("select 1"))
                return {"ok": True}
            """
        ),
        Invalid(
            """
            from typing import Annotated
            from fastapi import Depends, FastAPI
            from sqlmodel import Session, create_engine, select

            engine = create_engine("postgresql://app@db/shop")
            app = FastAPI()

            def get_session():
                with Session(engine) as session:
                    yield session

            SessionDep = Annotated[Session, Depends(get_session)]

            @app.post("/heroes")
            async def create_hero(hero: Hero, session: SessionDep):
                session.add(hero)
                session.commit()
                return hero
            """
        ),
    ]

