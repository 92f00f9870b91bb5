"""POL202: a yield dependency that closes its session after the yield without try/finally."""

from __future__ import annotations

from typing import Optional, Sequence

import libcst as cst

from poollint.rule import Fix, FixAvailability, FixSafety, Invalid, Valid
from poollint.rules.leaks._session_flow import (
    Creation,
    FunctionFlow,
    SessionFlowRule,
    origin_text,
    with_suggestion,
)


class DependencyYieldWithoutFinally(SessionFlowRule):
    """
    ## What it does
    Flags a generator used as a FastAPI dependency (named in `Depends()` or
    `Security()` anywhere in the project, directly, inside `Annotated[...]` or
    through an `Annotated` alias imported from another module) that creates a
    session, yields it, and closes it after the yield with no `try`/`finally`
    and no `with`, or never closes it at all.

    A generator that no `Depends()` names is left alone: whoever iterates it
    owns the session, and poollint cannot see how.

    ## Why is this bad?
    When the route (or a later dependency) raises, FastAPI throws the
    exception into the dependency's generator at the `yield`. Code after the
    `yield` that is not in a `finally:` never runs, so `db.close()` is skipped
    and the session keeps its pooled connection checked out. Every failing
    request then leaks one connection, and after `pool_size + max_overflow`
    errors the whole app waits on `QueuePool limit ... reached`.

    ## Example
    ```python
    from fastapi import Depends, FastAPI
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session, sessionmaker

    engine = create_engine("postgresql://db/app")
    SessionLocal = sessionmaker(engine)
    app = FastAPI()

    def get_db():
        db = SessionLocal()
        yield db
        db.close()

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

    ## Fix safety
    The fix is safe, and offered only for the plain three-statement body
    (`db = Factory()`, `yield db`, `db.close()`, or the async form with
    `await db.close()`; a docstring before them is kept). It becomes
    `with Factory() as db: yield db` (`async with` for an async session).
    `Session.__exit__` and `AsyncSession.__aexit__` call `close()`, so when
    the route succeeds the session is closed at the same point as before; when
    it raises, the session is now closed too and the exception propagates
    unchanged, since neither `__exit__` swallows it. Comments on the creating
    line and the yield are carried over; a comment on the close line would be
    lost, so the fix is then unsafe. Any other body (more statements, a
    commit after the yield, an annotated assignment) is reported without a
    fix.
    """

    CODE = "POL202"
    NAME = "dependency-yield-without-finally"
    MESSAGE = "{where} yields a session from {origin} {problem}: use `{suggestion} yield {name}`"
    FIX_TITLE = "Create the session in a `with` block around the `yield`"
    FIX_AVAILABILITY = FixAvailability.SOMETIMES
    # Only a generator can be a yield dependency.
    TRIGGERS = ("yield",)

    @classmethod
    def triggers(cls, index):  # type: ignore[no-untyped-def]
        # Only a dependency can be reported, and a file defining one names it.
        return index.dependency_names()

    def judge(self, flow: FunctionFlow) -> None:
        if not flow.is_generator:
            return
        scope = self.ctx.scopes[-1]
        if not self.ctx.is_dependency(scope):
            return
        where = self.ctx.describe(scope)
        for creation in flow.creations:
            if creation.how == "yielded":
                self.report(
                    creation.call,
                    where=where,
                    origin=origin_text(creation.resource),
                    problem="and never closes it",
                    suggestion=with_suggestion(self.ctx.module, creation, "db"),
                    name="db",
                )
                continue
            name = creation.name
            if creation.how != "assigned" or name is None:
                continue
            if name not in flow.yielded or not flow.leaks_on_error(name):
                continue
            if name in flow.closed:
                problem = "and closes it after the yield with no try/finally: close() is skipped when the route raises"
            else:
                problem = "and never closes it"
            self.report(
                creation.call,
                fix=self._fix(flow, creation),
                where=where,
                origin=origin_text(creation.resource),
                problem=problem,
                suggestion=with_suggestion(self.ctx.module, creation, name),
                name=name,
            )

    def _fix(self, flow: FunctionFlow, creation: Creation) -> Optional[Fix]:
        """`db = F()` / `yield db` / `db.close()` as the whole body -> `with F() as db: yield db`."""
        body = flow.node.body
        if not isinstance(body, cst.IndentedBlock):
            return None
        statements: Sequence[cst.BaseStatement] = body.body
        start = 1 if statements and _is_docstring(statements[0]) else 0
        rest = statements[start:]
        if len(rest) != 3 or not all(_single(line) for line in rest):
            return None
        assign_line, yield_line, close_line = rest
        assert isinstance(assign_line, cst.SimpleStatementLine)
        assert isinstance(yield_line, cst.SimpleStatementLine)
        assert isinstance(close_line, cst.SimpleStatementLine)
        name = creation.name
        assign = assign_line.body[0]
        if not (
            isinstance(assign, cst.Assign)
            and assign.value is creation.call
            and len(assign.targets) == 1
            and isinstance(assign.targets[0].target, cst.Name)
            and assign.targets[0].target.value == name
        ):
            return None
        yielded = yield_line.body[0]
        if not (
            isinstance(yielded, cst.Expr)
            and isinstance(yielded.value, cst.Yield)
            and isinstance(yielded.value.value, cst.Name)
            and yielded.value.value.value == name
        ):
            return None
        closing = close_line.body[0]
        if not isinstance(closing, cst.Expr):
            return None
        awaited = isinstance(closing.value, cst.Await)
        close_call = closing.value.expression if isinstance(closing.value, cst.Await) else closing.value
        if not (
            isinstance(close_call, cst.Call)
            and not close_call.args
            and isinstance(close_call.func, cst.Attribute)
            and isinstance(close_call.func.value, cst.Name)
            and close_call.func.value.value == name
            and close_call.func.attr.value == "close"
        ):
            return None
        # An AsyncSession closed without await (or a sync one awaited) is a
        # different bug; `async with` needs an `async def`.
        if awaited != creation.resource.is_async or (awaited and flow.node.asynchronous is None):
            return None
        with_block = cst.With(
            items=[cst.WithItem(item=creation.call, asname=cst.AsName(name=cst.Name(name)))],
            # The yield statement is kept as it is, with its own comments.
            body=cst.IndentedBlock(body=[yield_line], header=assign_line.trailing_whitespace),
            asynchronous=cst.Asynchronous() if awaited else None,
            leading_lines=assign_line.leading_lines,
        )
        return Fix(
            node=body,
            replacement=body.with_changes(body=[*statements[:start], with_block]),
            # Session.__exit__ / AsyncSession.__aexit__ call close(): the same
            # close on success, and now on error too; the exception is not
            # swallowed.
            safety=FixSafety.SAFE,
        )

    VALID = [
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()
            app = FastAPI()

            def get_db():
                db = SessionLocal()
                try:
                    yield db
                finally:
                    db.close()

            @app.get("/")
            def index(db=Depends(get_db)):
                return db.execute("select 1").all()
            """
        ),
        Valid(
            """
            from typing import Annotated
            from fastapi import Depends
            from sqlalchemy.ext.asyncio import async_sessionmaker

            AsyncSessionLocal = async_sessionmaker()

            async def get_db():
                async with AsyncSessionLocal() as db:
                    yield db

            DbSession = Annotated[object, Depends(get_db)]
            """
        ),
        Valid(
            """
            # Not named in any Depends(): whoever iterates it owns the session.
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()

            def session_scope():
                db = SessionLocal()
                yield db
                db.close()
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()
            app = FastAPI()

            def get_db():
                \"\"\"One session per request.\"\"\"
                db = SessionLocal()  # bound to the primary
                yield db
                db.close()

            @app.get("/")
            def index(db=Depends(get_db)):
                return db.execute("select 1").all()
            """,
            expected_replacement="""
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()
            app = FastAPI()

            def get_db():
                \"\"\"One session per request.\"\"\"
                with SessionLocal() as db:  # bound to the primary
                    yield db

            @app.get("/")
            def index(db=Depends(get_db)):
                return db.execute("select 1").all()
            """,
        ),
        Invalid(
            """
            from typing import Annotated
            from fastapi import Depends
            from sqlalchemy.ext.asyncio import async_sessionmaker

            AsyncSessionLocal = async_sessionmaker()

            async def get_db():
                db = AsyncSessionLocal()
                yield db
                await db.close()

            DbSession = Annotated[object, Depends(get_db)]
            """,
            expected_replacement="""
            from typing import Annotated
            from fastapi import Depends
            from sqlalchemy.ext.asyncio import async_sessionmaker

            AsyncSessionLocal = async_sessionmaker()

            async def get_db():
                async with AsyncSessionLocal() as db:
                    yield db

            DbSession = Annotated[object, Depends(get_db)]
            """,
        ),
        Invalid(
            """
            # A commit after the yield: reported, but no automatic fix.
            from fastapi import Security
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()

            def get_db():
                db = SessionLocal()
                yield db
                db.commit()
                db.close()

            def index(db=Security(get_db)):
                return db
            """
        ),
        Invalid(
            """
            from fastapi import Depends
            from sqlalchemy.orm import Session

            from .db import engine

            def get_db():
                yield Session(engine)

            def index(db=Depends(get_db)):
                return db
            """
        ),
    ]


def _single(line: cst.BaseStatement) -> bool:
    return isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1


def _is_docstring(line: cst.BaseStatement) -> bool:
    return (
        isinstance(line, cst.SimpleStatementLine)
        and len(line.body) == 1
        and isinstance(line.body[0], cst.Expr)
        and isinstance(line.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )
