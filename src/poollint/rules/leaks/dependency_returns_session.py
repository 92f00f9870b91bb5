"""POL203: a FastAPI dependency returns a new session, which nobody closes."""

from __future__ import annotations

from typing import Iterable, Optional, Set

import libcst as cst

from poollint import names
from poollint.gate import SourceView, calls_creating, last_names, uses_database
from poollint.project import ProjectIndex, Resource
from poollint.rule import FixAvailability, Invalid, Valid
from poollint.rules.leaks._session_flow import (
    Creation,
    FunctionFlow,
    SessionFlowRule,
    origin_text,
    with_suggestion,
)


_DEPENDS_CALLS = last_names(names.DEPENDS)


class DependencyReturnsSession(SessionFlowRule):
    """
    ## What it does
    Flags a function used as a FastAPI dependency (named in `Depends()` or
    `Security()` anywhere in the project, directly, inside `Annotated[...]` or
    through an `Annotated` alias imported from another module) that `return`s
    a new session: `return SessionLocal()`, or `db = SessionLocal()` ...
    `return db`. Also flags a session factory handed to `Depends()` itself
    (`Depends(SessionLocal)`), which FastAPI calls in the same way.

    A dependency that yields its session, returns something else (a
    repository wrapping the session), or closes the session (or uses it in a
    `with` block) before returning it is left alone, and so is a decorated
    function (a cache or a wrapper may own the session).

    ## Why is this bad?
    FastAPI closes only what a dependency *yields*: it runs the code after
    the `yield` when the request is done. A returned value is simply handed to
    the route, and nothing ever calls its `close()`. Once the route has run a
    query the session holds a pooled connection until the garbage collector
    happens to collect it, so under load the pool drains and requests wait on
    `QueuePool limit ... reached`.

    ## Example
    ```python
    from fastapi import Depends, FastAPI
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session, sessionmaker

    engine = create_engine("postgresql://db/app")
    SessionLocal = sessionmaker(engine)
    app = FastAPI()

    def get_db():
        return SessionLocal()

    @app.get("/orders")
    def list_orders(db: Session = Depends(get_db)):
        return db.execute("select * from orders").all()
    ```

    ## Use instead
    ```python
    from fastapi import Depends, FastAPI
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session, sessionmaker

    engine = create_engine("postgresql://db/app")
    SessionLocal = sessionmaker(engine)
    app = FastAPI()

    def get_db():
        with SessionLocal() as db:
            yield db

    @app.get("/orders")
    def list_orders(db: Session = Depends(get_db)):
        return db.execute("select * from orders").all()
    ```

    There is no automatic fix: turning `return` into `yield` makes the
    function a generator, which changes it for every other caller (a script
    or test calling `get_db()` directly gets a generator, not a session).
    """

    CODE = "POL203"
    NAME = "dependency-returns-session"
    MESSAGE = "{dependency} hands each request a new session from {origin} that FastAPI never closes: {advice}"
    FIX_TITLE = None
    FIX_AVAILABILITY = FixAvailability.NONE
    TRIGGERS = ("Depends", "Security")

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self._value_dropped: Set[cst.CSTNode] = set()

    @classmethod
    def may_fire(cls, view: SourceView, index: ProjectIndex) -> bool:
        # Also a factory named in Depends() without a call: `Depends(SessionLocal)`.
        return uses_database(view, index) and (
            calls_creating(view, index, "session") or not view.called.isdisjoint(_DEPENDS_CALLS)
        )

    @classmethod
    def triggers(cls, index: ProjectIndex) -> Iterable[str]:
        # A dependency defined in one module and named in Depends() in
        # another: the defining file names the dependency, not Depends.
        return set(cls.TRIGGERS) | index.dependency_names()

    # -- a dependency function returning a session ----------------------------------
    def judge(self, flow: FunctionFlow) -> None:
        if flow.is_generator or flow.node.decorators:
            return
        scope = self.ctx.scopes[-1]
        if not self.ctx.is_dependency(scope):
            return
        for creation in flow.creations:
            if creation.how == "returned" or (
                creation.how == "assigned" and creation.name is not None and _only_returned(flow, creation.name)
            ):
                self.report(
                    creation.call,
                    dependency=self.ctx.describe(scope),
                    origin=origin_text(creation.resource),
                    advice=f"yield it instead: `{with_suggestion(self.ctx.module, creation, creation.name or 'db')} yield {creation.name or 'db'}`",
                )

    # -- a session factory handed to Depends() ----------------------------------------
    def visit_Arg(self, node: cst.Arg) -> None:
        super().visit_Arg(node)
        if node.keyword is not None and node.keyword.value == "dependencies" and isinstance(node.value, (cst.List, cst.Tuple)):
            # `dependencies=[Depends(SessionLocal)]`: FastAPI drops the value,
            # so nobody queries through the session and it holds no connection.
            self._value_dropped.update(element.value for element in node.value.elements)

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        if node in self._value_dropped or self.ctx.qualified_name(node.func) not in names.DEPENDS:
            return
        target: Optional[cst.BaseExpression] = None
        for position, arg in enumerate(node.args):
            if arg.star:
                return
            if arg.keyword is None and position == 0:
                target = arg.value
            elif arg.keyword is not None and arg.keyword.value == "dependency":
                target = arg.value
        if target is None:
            return
        found = self.ctx.index.factory(self.ctx.qualified_name(target))
        if found is None:
            return
        qualified, facts, factory = found
        resource = Resource(
            "session",
            factory.is_async,
            origin=qualified.rsplit(".", 1)[-1],
            origin_where=f"{facts.path}:{factory.line}",
        )
        suggestion = with_suggestion(self.ctx.module, Creation(cst.Call(func=target), resource), "db")
        spelled = " ".join(self.ctx.module.code_for_node(node).split())
        self.report(
            target,
            dependency=f"`{spelled}`" if len(spelled) <= 60 else "`Depends()` of a session factory",
            origin=origin_text(resource),
            advice=f"name a dependency that does `{suggestion} yield db` instead",
        )

    VALID = [
        Valid(
            """
            from fastapi import Depends
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()

            def get_db():
                with SessionLocal() as db:
                    yield db

            def index(db=Depends(get_db)):
                return db
            """
        ),
        Valid(
            """
            # Returns a repository, not the session; nothing here is a dependency's session.
            from fastapi import Depends
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()

            class Repository:
                def __init__(self, db):
                    self.db = db

            def get_repository():
                return Repository(SessionLocal())

            def index(repo=Depends(get_repository)):
                return repo
            """
        ),
        Valid(
            """
            # Not a dependency: a helper whose caller owns the session.
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()

            def new_session():
                return SessionLocal()
            """
        ),
        Valid(
            """
            from fastapi import Depends
            from sqlalchemy.ext.asyncio import async_sessionmaker

            AsyncSessionLocal = async_sessionmaker()

            async def get_db():
                async with AsyncSessionLocal() as db:
                    yield db

            async def index(db=Depends(get_db)):
                return db
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from fastapi import Depends
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()

            def get_db():
                db = SessionLocal()
                db.info["request"] = True
                return db

            def index(db=Depends(get_db)):
                return db
            """
        ),
        Invalid(
            """
            from typing import Annotated

            from fastapi import Depends
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

            AsyncSessionLocal = async_sessionmaker()

            async def get_db() -> AsyncSession:
                return AsyncSessionLocal()

            Db = Annotated[AsyncSession, Depends(get_db)]
            """
        ),
        Invalid(
            """
            from fastapi import Depends
            from sqlalchemy.orm import Session, sessionmaker

            SessionLocal = sessionmaker()

            def index(db: Session = Depends(SessionLocal)):
                return db
            """
        ),
    ]


def _only_returned(flow: FunctionFlow, name: str) -> bool:
    """Returned, and neither closed, managed, yielded nor handed to anyone else first."""
    return name in flow.returned and not (
        name in flow.escaped
        or name in flow.rebound
        or name in flow.managed
        or name in flow.released_on_error
        or name in flow.closed
        or name in flow.yielded
    )
