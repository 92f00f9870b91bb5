"""POL205: a request-scoped session handed to a background task."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set

import libcst as cst

from poollint.gate import SourceView, uses_database
from poollint.project import ProjectIndex
from poollint.rule import FixAvailability, Invalid, PoolRule, Valid
from poollint.rules.leaks._request_scope import (
    RequestSession,
    advice_for_session,
    background_task_arguments,
    handler_inputs,
    with_session,
)

_DEPENDENCY_PROBLEM = (
    "its dependency closes it before the task runs on FastAPI 0.106 to 0.117 or with "
    'Depends(scope="function"), and otherwise keeps the request\'s connection checked out until the task ends'
)
_WITH_PROBLEM = "the `with` block closes it before the task runs, and the task's queries then check out a connection nobody gives back"


@dataclass
class _Handler:
    """A route or dependency whose own body is being walked."""

    node: cst.FunctionDef
    where: str
    task_lists: Set[str] = field(default_factory=set)
    sessions: Dict[str, RequestSession] = field(default_factory=dict)


class SessionInBackgroundTask(PoolRule):
    """
    ## What it does
    Flags a request-scoped session passed as an argument to a background
    task: `background_tasks.add_task(func, ..., db, ...)` on a
    `BackgroundTasks` parameter (under any name) or a `BackgroundTasks()`
    created in the function, or Starlette's `BackgroundTask(func, db)`, in a
    route or dependency. A session is request-scoped when it is a parameter
    filled by a yield dependency that creates it (`db: Session =
    Depends(get_db)`, an `Annotated` alias, also from another module), or
    when the route opened it in a `with` block.

    A task that is given the session factory (or the engine) and opens its
    own session is fine, and so is a session from a dependency that returns
    it (POL203's business) or from one that got it from yet another
    dependency (poollint cannot tell who closes that one).

    ## Why is this bad?
    Background tasks run after the response is sent, when the request's
    session has been closed or is about to be. With a `with` block in the
    route, and on FastAPI 0.106 to 0.117 (or with `Depends(get_db,
    scope="function")`) for a yield dependency, the session is closed
    before the task starts: the task's queries make it check out a new
    connection that nothing closes any more, and objects loaded in the route
    are detached (`DetachedInstanceError`). On other FastAPI versions the
    dependency's exit code waits for the background tasks, so the request
    keeps its pooled connection checked out while the response is sent and
    for the whole task, however slow it is.

    ## Example
    ```python
    from fastapi import BackgroundTasks, Depends, FastAPI
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session, sessionmaker

    engine = create_engine("postgresql://db/app")
    SessionLocal = sessionmaker(engine)
    app = FastAPI()

    def get_db():
        with SessionLocal() as db:
            yield db

    def send_receipt(db: Session, order_id: int):
        ...

    @app.post("/orders/{order_id}/receipt")
    def receipt(order_id: int, background_tasks: BackgroundTasks, db: Session = Depends(get_db)):
        background_tasks.add_task(send_receipt, db, order_id)
    ```

    ## Use instead
    ```python
    from fastapi import BackgroundTasks, Depends, FastAPI
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session, sessionmaker

    engine = create_engine("postgresql://db/app")
    SessionLocal = sessionmaker(engine)
    app = FastAPI()

    def get_db():
        with SessionLocal() as db:
            yield db

    def send_receipt(order_id: int):
        with SessionLocal() as db:
            ...

    @app.post("/orders/{order_id}/receipt")
    def receipt(order_id: int, background_tasks: BackgroundTasks, db: Session = Depends(get_db)):
        background_tasks.add_task(send_receipt, order_id)
    ```
    """

    @classmethod
    def may_fire(cls, view: "SourceView", index: "ProjectIndex") -> bool:
        return uses_database(view, index)


    CODE = "POL205"
    NAME = "session-in-background-task"
    MESSAGE = "session `{name}` ({source}) is handed to a background task in {where}: {problem}; {advice}"
    FIX_TITLE = None
    FIX_AVAILABILITY = FixAvailability.NONE
    TRIGGERS = ("add_task", "BackgroundTask")

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.handlers: List[Optional[_Handler]] = []

    def _direct(self) -> Optional[_Handler]:
        """The route or dependency whose own body we are in, if any."""
        if self.handlers and self.handlers[-1] is not None and self.ctx.scopes[-1].node is self.handlers[-1].node:
            return self.handlers[-1]
        return None

    # -- what the function is given --------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        scope = self.ctx.scopes[-1]
        inputs = handler_inputs(self.ctx, scope, node)
        if inputs is None:
            self.handlers.append(None)
            return
        task_lists, sessions = inputs
        self.handlers.append(_Handler(node, self.ctx.describe(scope), task_lists, sessions))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.handlers.pop()

    def visit_WithItem(self, node: cst.WithItem) -> None:
        handler = self._direct()
        if handler is None:
            return
        found = with_session(self.ctx, node)
        if found is not None:
            handler.sessions[found[0]] = found[1]

    # -- what it hands to a task -----------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        handler = self._direct()
        if handler is None:
            return
        handed = background_task_arguments(self.ctx, node, handler.task_lists)
        for arg in handed or ():
            value = arg.value
            if isinstance(value, cst.Name) and value.value in handler.sessions:
                session = handler.sessions[value.value]
                self.report(
                    value,
                    name=value.value,
                    source=session.source,
                    where=handler.where,
                    problem=_DEPENDENCY_PROBLEM if session.how == "dependency" else _WITH_PROBLEM,
                    advice=advice_for_session(session.resource),
                )

    VALID = [
        Valid(
            """
            from fastapi import BackgroundTasks, Depends, FastAPI
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()
            app = FastAPI()

            def get_db():
                with SessionLocal() as db:
                    yield db

            def audit(factory, order_id):
                with factory() as db:
                    db.execute("insert into audit values (:id)", {"id": order_id})
                    db.commit()

            @app.post("/orders/{order_id}")
            def update(order_id: int, tasks: BackgroundTasks, db=Depends(get_db)):
                tasks.add_task(audit, SessionLocal, order_id)
            """
        ),
        Valid(
            """
            # Not a request-scoped session: a plain helper, not a route or dependency.
            from fastapi import BackgroundTasks
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()

            def schedule(tasks: BackgroundTasks, job):
                with SessionLocal() as db:
                    tasks.add_task(job, db)
            """
        ),
        Valid(
            """
            from fastapi import BackgroundTasks, Depends, FastAPI
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()
            app = FastAPI()

            def get_db():
                with SessionLocal() as db:
                    yield db

            @app.post("/orders/{order_id}")
            def update(order_id: int, tasks: BackgroundTasks, db=Depends(get_db)):
                order = db.get(dict, order_id)
                tasks.add_task(print, order_id, "updated")
                return order
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from fastapi import BackgroundTasks, Depends, FastAPI
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()
            app = FastAPI()

            def get_db():
                db = SessionLocal()
                try:
                    yield db
                finally:
                    db.close()

            def audit(db, order_id):
                db.execute("insert into audit values (:id)", {"id": order_id})

            @app.post("/orders/{order_id}")
            def update(order_id: int, jobs: BackgroundTasks, db=Depends(get_db)):
                jobs.add_task(audit, db, order_id)
            """
        ),
        Invalid(
            """
            from typing import Annotated

            from fastapi import BackgroundTasks, Depends, FastAPI
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

            AsyncSessionLocal = async_sessionmaker()
            app = FastAPI()

            async def get_db():
                async with AsyncSessionLocal() as db:
                    yield db

            Db = Annotated[AsyncSession, Depends(get_db)]

            async def audit(db, order_id):
                await db.execute("select 1")

            @app.post("/orders/{order_id}")
            async def update(order_id: int, db: Db, background_tasks: BackgroundTasks):
                background_tasks.add_task(audit, order_id=order_id, db=db)
            """
        ),
        Invalid(
            """
            from fastapi import FastAPI
            from fastapi.responses import JSONResponse
            from sqlalchemy.orm import sessionmaker
            from starlette.background import BackgroundTask

            SessionLocal = sessionmaker()
            app = FastAPI()

            def audit(db):
                db.execute("select 1")

            @app.post("/orders")
            def create():
                with SessionLocal() as db:
                    return JSONResponse({}, background=BackgroundTask(audit, db))
            """
        ),
    ]
