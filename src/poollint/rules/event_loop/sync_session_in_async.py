"""POL105: a sync SQLAlchemy Session, Connection or Engine does I/O inside an async def."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

import libcst as cst

from poollint import names
from poollint.context import Scope
from poollint.facts import ROUTE_METHODS, FunctionFact
from poollint.gate import SourceView, uses_database
from poollint.project import ProjectIndex, Resource, index_table
from poollint.rule import Fix, FixAvailability, FixSafety, Invalid, Valid
from poollint.rules.event_loop._blocking import AsyncBodyRule

_IO_METHODS = {
    "session": names.SESSION_IO_METHODS,
    "connection": names.CONNECTION_IO_METHODS,
    "engine": names.ENGINE_IO_METHODS,
}
# Calls that need the event loop of the calling thread (or hand work to it):
# in a worker thread they fail or no longer mean what they meant.
_LOOP_BOUND_PREFIXES = (
    "asyncio.",
    "anyio.",
    "trio.",
    "sniffio.",
    "starlette.concurrency.",
    "fastapi.concurrency.",
)
_MAX_NAME = 40
_HELPER_MESSAGE = (
    "{helper}() opens a {label}{origin} and does I/O ({call}) in {defined}, blocking the event loop in {where}"
)
_ASYNC_RETURN_TYPES = ("Async", "Awaitable", "Coroutine")


@dataclass
class _Finding:
    node: cst.Call
    message_args: Dict[str, str]
    # A whole message, for findings MESSAGE does not fit (a helper opening its own session).
    message: Optional[str] = None


@dataclass
class _AsyncFunction:
    """What the fix needs to know about an `async def`'s own body (not its nested scopes)."""

    awaits: bool = False
    needs_loop: bool = False
    findings: List[_Finding] = field(default_factory=list)


def _one_line(code: str) -> str:
    text = " ".join(code.split())
    return text if len(text) <= _MAX_NAME else text[: _MAX_NAME - 3] + "..."


class SyncSessionInAsync(AsyncBodyRule):
    """
    ## What it does
    Flags database I/O (`execute`, `query`, `scalar(s)`, `get`, `commit`,
    `flush`, `refresh`, `connect`, `begin`...) on a synchronous SQLAlchemy
    `Session`, `Connection` or `Engine` inside an `async def`. The session may
    come from a dependency (`db: Session = Depends(get_db)`, an `Annotated`
    alias, also from another module), a session factory (`SessionLocal()`,
    `with SessionLocal() as db`), or a module-level engine
    (`with engine.connect() as conn`). A sync helper of the project that
    does I/O on a session parameter (`crud.get_users(db)`) counts too: it
    runs on the event loop's thread all the same, and so does one that opens
    its own sync session or connection and does I/O on it
    (`def count(): with SessionLocal() as db: return db.scalar(...)`, also a
    classmethod or staticmethod called as `Orders.count()`): the call is
    reported, naming the line of that I/O. A helper handed to
    `run_in_threadpool()`/`asyncio.to_thread()`, an async helper, and one
    that only builds a query are left alone. Startup and shutdown hooks
    (a lifespan, an `on_event` handler) are left alone: no request is served
    while they run.

    ## Why is this bad?
    A sync session talks to the database on the event loop's thread: while
    the query runs (or waits for a free connection from the pool), no other
    request of the worker makes progress. Under load the requests that hold
    connections cannot finish because the loop is blocked by one that waits
    for a connection: the pool times out (`QueuePool limit ... reached`)
    although the database is idle.

    ## Example
    ```python
    from fastapi import Depends, FastAPI
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session, sessionmaker

    engine = create_engine("postgresql+psycopg://app@db/app")
    SessionLocal = sessionmaker(engine)
    app = FastAPI()

    def get_db():
        with SessionLocal() as db:
            yield db

    @app.get("/items")
    async def list_items(db: Session = Depends(get_db)):
        return db.scalars(select(Item)).all()
    ```

    ## Use instead
    ```python
    from fastapi import Depends, FastAPI
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session, sessionmaker

    engine = create_engine("postgresql+psycopg://app@db/app")
    SessionLocal = sessionmaker(engine)
    app = FastAPI()

    def get_db():
        with SessionLocal() as db:
            yield db

    @app.get("/items")
    def list_items(db: Session = Depends(get_db)):
        return db.scalars(select(Item)).all()
    ```
    Or move to `create_async_engine`, `async_sessionmaker` and `await`.

    ## Fix safety
    The fix turns the route or dependency into a plain `def`, which FastAPI
    runs in its thread pool instead of on the event loop. It is unsafe because
    the function now runs in a worker thread: thread-local state and
    `contextvars` it sets are not seen by the rest of the request, CPU-bound
    code in it now competes for the GIL from another thread, and the
    thread pool holds 40 threads by default (AnyIO's limit), which then caps
    how many of these requests run at once and may need a pool of the same
    size. Moving the route to the thread pool also takes a blocking helper
    it calls off the event loop, so the same fix is offered when what blocks
    is a helper's own session. It is offered only for a route or dependency
    whose own body has no `await`, `async for`, `async with` or async
    comprehension, calls nothing
    from asyncio/anyio and no async function of the project, is not called
    directly anywhere in the project (its callers would `await` it), has no
    decorator besides the route's own, and whose return annotation names no
    async type (`AsyncIterator[...]`). A route that is a generator and a
    websocket route are left alone; an async generator dependency becomes a
    sync generator dependency, which FastAPI supports. Comments and
    decorators are kept.
    """

    @classmethod
    def may_fire(cls, view: "SourceView", index: "ProjectIndex") -> bool:
        return view.has_async_def and uses_database(view, index)


    CODE = "POL105"
    NAME = "sync-session-in-async"
    RUFF_NOTE = (
        "No ruff rule knows which objects are SQLAlchemy sessions; flake8-async's ASYNC200 flags calls "
        "matching patterns you configure, whatever the object."
    )
    MESSAGE = "{label} `{name}`{origin} does I/O ({call}) in {where}"
    FIX_TITLE = "Make it a plain `def` (FastAPI runs it in its thread pool)"
    FIX_AVAILABILITY = FixAvailability.SOMETIMES
    # The session may come from anywhere (an alias imported under any name);
    # only an `async def` is certain to be there.
    TRIGGERS = ("async",)

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.functions: Dict[cst.FunctionDef, _AsyncFunction] = {}

    # -- the own body of each async def ------------------------------------------
    def _current(self) -> Optional[_AsyncFunction]:
        scope = self.ctx.function()
        if scope is None or scope.kind != "function":
            return None
        return self.functions.get(scope.node)  # type: ignore[arg-type]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        if node.asynchronous is not None:
            self.functions[node] = _AsyncFunction()

    def visit_Await(self, node: cst.Await) -> None:
        super().visit_Await(node)
        self._mark_awaits()

    def visit_For(self, node: cst.For) -> None:
        super().visit_For(node)
        if node.asynchronous is not None:
            self._mark_awaits()

    def visit_With(self, node: cst.With) -> None:
        super().visit_With(node)
        if node.asynchronous is not None:
            self._mark_awaits()

    def visit_CompFor(self, node: cst.CompFor) -> None:
        if node.asynchronous is not None:
            self._mark_awaits()

    def _mark_awaits(self) -> None:
        state = self._current()
        if state is not None:
            state.awaits = True

    # -- calls ---------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        state = self._current()
        if state is None:
            return
        if not state.needs_loop and self._needs_the_loop(node):
            state.needs_loop = True
        if self.in_startup_hook():
            return
        finding = self._io_call(node)
        if finding is not None:
            state.findings.append(finding)

    def _needs_the_loop(self, node: cst.Call) -> bool:
        qualified = self.ctx.qualified_name(node.func)
        if qualified is None:
            return False
        if qualified.startswith(_LOOP_BOUND_PREFIXES):
            return True
        # Calling an async function of the project without awaiting it makes
        # a coroutine for someone else to await: it needs this loop too.
        found = self.ctx.index.function(qualified)
        return found is not None and found[1].is_async

    def _io_call(self, node: cst.Call) -> Optional[_Finding]:
        if node in self.awaited_nodes:
            # Awaited: an async session, whatever poollint inferred.
            return None
        func = node.func
        if isinstance(func, cst.Attribute):
            finding = self._method_io(node, func)
            if finding is not None:
                return finding
        return self._helper_io(node) or self._helper_opens_session(node)

    def _method_io(self, node: cst.Call, func: cst.Attribute) -> Optional[_Finding]:
        """`db.execute(...)` on a sync session, connection or engine."""
        receiver = func.value
        resource = self._sync_resource(receiver)
        if resource is None:
            return None
        method = func.attr.value
        if method not in _IO_METHODS.get(resource.kind, ()):
            return None
        name = _one_line(self.ctx.module.code_for_node(receiver))
        return self._finding(node, resource, name, f"{name}.{method}")

    def _helper_io(self, node: cst.Call) -> Optional[_Finding]:
        """`crud.get_users(db)`: a sync helper of the project doing I/O on the
        sync session it is handed, still on the event loop's thread."""
        if not node.args:
            return None
        found = self.sync_helper(node)
        if found is None:
            return None
        helper = found[1]
        if not any(self._sync_io_param(helper, name) for name in helper.io_names):
            return None
        for arg in node.args:
            if arg.star:
                continue
            resource = self._sync_resource(arg.value)
            if resource is not None and resource.kind in ("session", "connection"):
                name = _one_line(self.ctx.module.code_for_node(arg.value))
                helper_name = _one_line(self.ctx.module.code_for_node(node.func))
                return self._finding(node, resource, name, f"via {helper_name}()")
        return None

    def _helper_opens_session(self, node: cst.Call) -> Optional[_Finding]:
        """`count()`: a sync helper of the project that opens its own sync
        session or connection and does I/O on it, on the event loop's thread."""
        found = self.sync_helper(node)
        if found is None:
            return None
        facts, helper = found
        opened = _own_session_io(self.ctx.index, helper)
        if opened is None:
            return None
        line, name, method, resource = opened
        scope = self.ctx.async_function()
        assert scope is not None
        message = _HELPER_MESSAGE.format(
            helper=_one_line(self.ctx.module.code_for_node(node.func)),
            label=resource.label,
            origin=resource.origin_note(name),
            call=f"{name}.{method}",
            defined=f"{facts.path}:{line}",
            where=self.ctx.describe(scope),
        )
        return _Finding(node, {}, message)

    def _sync_io_param(self, helper: FunctionFact, name: str) -> bool:
        origin = helper.origins.get(name)
        if origin is None or origin[0] != "param":
            return False
        resource = self.ctx.index.of_local(helper, name)
        return resource is not None and not resource.is_async and resource.kind in ("session", "connection")

    def _sync_resource(self, expr: cst.BaseExpression) -> Optional[Resource]:
        if self.bound_by_comprehension(expr):
            return None
        resource = self.ctx.resource(expr)
        if resource is None or resource.is_async:
            return None
        return resource

    def _finding(self, node: cst.Call, resource: Resource, name: str, call: str) -> _Finding:
        scope = self.ctx.async_function()
        assert scope is not None
        return _Finding(
            node,
            {
                "label": resource.label,
                "name": name,
                "origin": resource.origin_note(name),
                "call": call,
                "where": self.ctx.describe(scope),
            },
        )

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        state = self.functions.pop(original_node, None)
        if state is None or not state.findings:
            return
        scope = self.ctx.scopes[-1]
        fix = self._fix(original_node, scope, state)
        for finding in state.findings:
            if finding.message is not None:
                self.ctx.report(self, finding.node, finding.message, fix)
            else:
                self.report(finding.node, fix=fix, **finding.message_args)

    def _fix(self, node: cst.FunctionDef, scope: Scope, state: _AsyncFunction) -> Optional[Fix]:
        if state.awaits or state.needs_loop or scope.fact is None:
            return None
        route = self.ctx.route(scope)
        if route is not None:
            if scope.fact.is_generator or "WEBSOCKET" in route.methods:
                return None
            if not all(_is_route_decorator(d) for d in node.decorators):
                return None
        elif self.ctx.is_dependency(scope):
            # Another decorator may need a coroutine function (caches, retries...).
            if node.decorators:
                return None
        else:
            # A plain async helper has callers that await it.
            return None
        if node.returns is not None and any(
            word in self.ctx.module.code_for_node(node.returns.annotation) for word in _ASYNC_RETURN_TYPES
        ):
            # `-> AsyncIterator[Session]` would turn into a lie.
            return None
        if self._called_directly(scope):
            return None
        return Fix(
            node=node,
            replacement=node.with_changes(asynchronous=None),
            # The function moves from the event loop to a worker thread.
            safety=FixSafety.UNSAFE,
        )

    def _called_directly(self, scope: Scope) -> bool:
        """Whether any function of the project calls this one (and so awaits it)."""
        index = self.ctx.index
        for callee in sorted(index.table("callees_named", scope.name)):
            found = index.function(callee)
            if found is not None and found[0].module == self.ctx.facts.module and found[1].qualname == scope.qualname:
                return True
        return False

    VALID = [
        Valid(
            """
            from contextlib import asynccontextmanager

            from fastapi import FastAPI
            from sqlalchemy import create_engine, text
            from sqlalchemy.orm import sessionmaker

            engine = create_engine("postgresql://app@db/app")
            SessionLocal = sessionmaker(engine)

            @asynccontextmanager
            async def lifespan(app: FastAPI):
                # Runs before the first request: blocking here stalls nobody.
                with SessionLocal() as db:
                    db.execute(text("insert into roles values ('admin') on conflict do nothing"))
                    db.commit()
                yield

            app = FastAPI(lifespan=lifespan)
            """
        ),
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

            engine = create_async_engine("postgresql+asyncpg://app@db/app")
            SessionLocal = async_sessionmaker(engine)
            app = FastAPI()

            async def get_db():
                async with SessionLocal() as db:
                    yield db

            @app.get("/items/{item_id}")
            async def read_item(item_id: int, db: AsyncSession = Depends(get_db)):
                return await db.get(Item, item_id)
            """
        ),
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session

            app = FastAPI()

            @app.get("/items")
            def list_items(db: Session = Depends(get_db)):
                return db.query(Item).all()
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from sqlalchemy import create_engine, text
            from starlette.concurrency import run_in_threadpool

            engine = create_engine("postgresql://app@db/app")
            app = FastAPI()

            @app.get("/health")
            async def health():
                def ping():
                    with engine.connect() as conn:
                        conn.execute(text("select 1"))
                await run_in_threadpool(ping)
                await run_in_threadpool(lambda: engine.connect().close())
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session

            app = FastAPI()

            @app.get("/items")
            async def list_items(db: Session = Depends(get_db)):
                return db.query(Item).all()
            """,
            # Without --unsafe-fixes the code stays as it is.
        ),
        Invalid(
            """
            from typing import Annotated

            from fastapi import Depends, FastAPI
            from sqlalchemy import create_engine
            from sqlalchemy.orm import Session, sessionmaker

            engine = create_engine("postgresql://app@db/app")
            SessionLocal = sessionmaker(engine)
            app = FastAPI()

            def get_db():
                with SessionLocal() as db:
                    yield db

            DbSession = Annotated[Session, Depends(get_db)]

            @app.post("/items")
            # Runs in the thread pool once it is a plain def.
            async def create_item(db: DbSession):
                db.add(Item())
                db.commit()
            """,
            expected_replacement="""
            from typing import Annotated

            from fastapi import Depends, FastAPI
            from sqlalchemy import create_engine
            from sqlalchemy.orm import Session, sessionmaker

            engine = create_engine("postgresql://app@db/app")
            SessionLocal = sessionmaker(engine)
            app = FastAPI()

            def get_db():
                with SessionLocal() as db:
                    yield db

            DbSession = Annotated[Session, Depends(get_db)]

            @app.post("/items")
            # Runs in the thread pool once it is a plain def.
            def create_item(db: DbSession):
                db.add(Item())
                db.commit()
            """,
            unsafe_fixes=True,
        ),
        Invalid(
            """
            import httpx
            from fastapi import FastAPI
            from sqlalchemy import create_engine, text

            engine = create_engine("postgresql://app@db/app")
            app = FastAPI()

            @app.get("/report")
            async def report():
                with engine.connect() as conn:
                    rows = conn.execute(text("select * from orders")).all()
                async with httpx.AsyncClient() as client:
                    await client.post("https://reports.example", json=[list(r) for r in rows])
            """,
            # No fix: the body awaits, so it cannot become a plain def.
            unsafe_fixes=True,
        ),
    ]


def _own_session_io(index: ProjectIndex, helper: FunctionFact) -> Optional[Tuple[int, str, str, Resource]]:
    """The earliest I/O a function does on a sync session or connection it
    opens itself (`with SessionLocal() as db: db.execute(...)`), as (line,
    name, method, what the name holds). A session handed in as a parameter
    is the caller's business (see `_helper_io`); one it only builds a query
    from, or an async one, blocks nothing."""
    for (name, method), line in sorted(helper.io_lines.items(), key=lambda item: (item[1], item[0])):
        origin = helper.origins.get(name)
        if origin is None or origin[0] != "call":
            continue
        resource = index.of_local(helper, name)
        if resource is None or resource.is_async or resource.kind not in ("session", "connection"):
            continue
        if method in _IO_METHODS[resource.kind]:
            return line, name, method, resource
    return None


@index_table("callees_by_last_name")
def _callees_by_last_name(index: ProjectIndex) -> Dict[str, FrozenSet[str]]:
    """Every callee named anywhere in the project, by its last dotted part."""
    table: Dict[str, Set[str]] = {}
    for facts in index.modules.values():
        for fn in facts.functions.values():
            for callee in fn.calls:
                table.setdefault(callee.rsplit(".", 1)[-1], set()).add(callee)
    return {name: frozenset(found) for name, found in table.items()}


@index_table("callees_named")
def _callees_named(index: ProjectIndex, last: str) -> FrozenSet[str]:
    """The callees of the project whose last dotted part is `last` (asked per
    name, so a cached file depends only on the names it asked about)."""
    return index.table("callees_by_last_name").get(last, frozenset())  # type: ignore[no-any-return]


def _is_route_decorator(decorator: cst.Decorator) -> bool:
    call = decorator.decorator
    return (
        isinstance(call, cst.Call)
        and isinstance(call.func, cst.Attribute)
        and call.func.attr.value in ROUTE_METHODS
    )
