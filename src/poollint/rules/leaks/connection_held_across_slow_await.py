"""POL207: a session or connection keeps its pooled connection across a slow await."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

import libcst as cst

from poollint.context import dotted_name
from poollint.gate import SourceView, uses_database
from poollint.project import ProjectIndex
from poollint.rule import FixAvailability, Invalid, LineOf, PoolRule, Valid

# Classes whose instances make slow awaits, as the message spells them.
_HTTP_CLIENTS = {
    "httpx.AsyncClient": "httpx.AsyncClient",
    "httpx._client.AsyncClient": "httpx.AsyncClient",
    "aiohttp.ClientSession": "aiohttp.ClientSession",
    "aiohttp.client.ClientSession": "aiohttp.ClientSession",
}
_HTTP_METHODS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "request", "send", "stream", "ws_connect"}
)
_QUEUES = {
    f"{module}.{name}": f"asyncio.{name}"
    for module in ("asyncio", "asyncio.queues")
    for name in ("Queue", "PriorityQueue", "LifoQueue")
}
_QUEUE_METHODS = frozenset({"get", "put", "join"})
# Locks, semaphores, conditions: waiting to acquire them (`async with lock:`,
# `await lock.acquire()`) or for them (`await condition.wait()`).
_LOCKS = {
    f"{module}.{name}": f"{module.split('.')[0]}.{name}"
    for module, names in (
        ("asyncio", ("Lock", "Semaphore", "BoundedSemaphore", "Condition")),
        ("asyncio.locks", ("Lock", "Semaphore", "BoundedSemaphore", "Condition")),
        ("anyio", ("Lock", "Semaphore", "Condition", "CapacityLimiter")),
    )
    for name in names
}
_LOCK_METHODS = frozenset({"acquire", "wait", "wait_for"})
_EVENTS = {"asyncio.Event": "asyncio.Event", "asyncio.locks.Event": "asyncio.Event", "anyio.Event": "anyio.Event"}
_EVENT_METHODS = frozenset({"wait"})
_LOOPS = {
    "asyncio.get_running_loop": "loop",
    "asyncio.get_event_loop": "loop",
    "asyncio.events.get_running_loop": "loop",
    "asyncio.events.get_event_loop": "loop",
}
_LOOP_METHODS = frozenset({"run_in_executor"})
_METHODS_OF: List[Tuple[Dict[str, str], FrozenSet[str]]] = [
    (_HTTP_CLIENTS, _HTTP_METHODS),
    (_QUEUES, _QUEUE_METHODS),
    (_LOCKS, _LOCK_METHODS),
    (_EVENTS, _EVENT_METHODS),
    (_LOOPS, _LOOP_METHODS),
]
# Functions whose await waits on something else than the database.
_SLOW_FUNCTIONS = {
    "asyncio.sleep": "asyncio.sleep()",
    "asyncio.tasks.sleep": "asyncio.sleep()",
    "anyio.sleep": "anyio.sleep()",
    "trio.sleep": "trio.sleep()",
    "asyncio.to_thread": "asyncio.to_thread()",
    "asyncio.threads.to_thread": "asyncio.to_thread()",
    "anyio.to_thread.run_sync": "anyio.to_thread.run_sync()",
    "starlette.concurrency.run_in_threadpool": "run_in_threadpool()",
    "fastapi.concurrency.run_in_threadpool": "run_in_threadpool()",
}
_SLEEPS = frozenset({"asyncio.sleep", "asyncio.tasks.sleep", "anyio.sleep", "trio.sleep"})
# Awaiting these waits for the awaitables they are given: slow when one is.
_WRAPPERS = {
    "asyncio.wait_for": "asyncio.wait_for",
    "asyncio.tasks.wait_for": "asyncio.wait_for",
    "asyncio.gather": "asyncio.gather",
    "asyncio.tasks.gather": "asyncio.gather",
    "asyncio.shield": "asyncio.shield",
    "asyncio.tasks.shield": "asyncio.shield",
}
_SLOW_TYPES = {**_HTTP_CLIENTS, **_QUEUES, **_LOCKS, **_EVENTS}

# Awaited calls on a session or connection that check a connection out (or
# use the one it holds), and calls after which it holds none.
_IO_METHODS = {
    "session": frozenset(
        {"execute", "scalar", "scalars", "get", "get_one", "flush", "refresh", "merge", "stream", "stream_scalars", "run_sync", "connection", "exec"}
    ),
    "connection": frozenset(
        {"execute", "exec_driver_sql", "scalar", "scalars", "stream", "stream_scalars", "run_sync", "commit", "rollback"}
    ),
}
# A session's commit/rollback ends its transaction, which gives the
# connection back to the pool; a Connection keeps its own until closed.
_RELEASE_METHODS = {
    "session": frozenset({"commit", "rollback", "close", "reset", "invalidate"}),
    "connection": frozenset({"close", "invalidate"}),
}


@dataclass
class _Held:
    """A session or connection of the function, and where it did its I/O."""

    kind: str
    origin: str
    # For a connection the function checks out itself, the checkout is its first I/O.
    checked_out_on_creation: bool = False
    # (node, block, what it was): I/O that certainly happened, in blocks still open.
    events: List[Tuple[cst.CSTNode, cst.CSTNode, str]] = field(default_factory=list)


@dataclass
class _Function:
    node: cst.FunctionDef
    where: str
    held: Dict[str, _Held] = field(default_factory=dict)
    blocks: List[cst.CSTNode] = field(default_factory=list)


class ConnectionHeldAcrossSlowAwait(PoolRule):
    """
    ## What it does
    Flags an `await` that waits on something other than the database (an
    outbound HTTP request with `httpx.AsyncClient` or an `aiohttp`
    `ClientSession`, `asyncio.sleep()`, `asyncio.to_thread()`,
    `run_in_threadpool()`, `anyio.to_thread.run_sync()`,
    `loop.run_in_executor()`, an `asyncio.Queue` get/put, a lock, semaphore,
    condition or event wait, or `asyncio.wait_for()`/`gather()` of one of
    these) in an async route or dependency, while an `AsyncSession` or
    `AsyncConnection` of that function holds a pooled connection.

    A session holds one from its first awaited I/O (`execute`, `scalar(s)`,
    `get`, `flush`, `refresh`...) until `commit()`, `rollback()` or
    `close()`: sessions begin their transaction lazily, so a session that has
    not queried yet holds nothing. A connection the function checks out
    (`async with engine.connect() as conn`, `conn = await engine.connect()`)
    holds one from that moment until it is closed; commit() keeps it. A
    session or connection from a dependency counts from its first awaited
    I/O in the function.

    Only straight-line evidence counts: the I/O must come before the await
    in the same block or an enclosing one, and nothing that may have ended
    the transaction (a commit, rollback or close anywhere before, also in a
    branch; handing the session to another function) may lie between them.
    A name bound more than one way, or used in a nested function, is not
    followed.

    ## Why is this bad?
    While the request waits on the other service, the thread or the timer,
    its connection sits idle in a transaction and no other request can use
    it. Every in-flight request holds one connection for the whole wait, so
    a slow upstream (an API taking seconds, a long sleep in a retry loop)
    turns into `QueuePool limit ... reached` for the whole app although the
    database is idle; on PostgreSQL the open transaction also holds its locks
    and its snapshot for that long.

    ## Example
    ```python
    import httpx
    from fastapi import Depends, FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

    engine = create_async_engine("postgresql+asyncpg://db/app")
    SessionLocal = async_sessionmaker(engine)
    app = FastAPI()

    async def get_db():
        async with SessionLocal() as db:
            yield db

    @app.post("/orders/{order_id}/ship")
    async def ship(order_id: int, db: AsyncSession = Depends(get_db)):
        order = await db.get(Order, order_id)
        async with httpx.AsyncClient() as client:
            await client.post("https://carrier.example/shipments", json={"id": order_id})
        order.shipped = True
        await db.commit()
    ```

    ## Use instead
    ```python
    import httpx
    from fastapi import Depends, FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

    engine = create_async_engine("postgresql+asyncpg://db/app")
    SessionLocal = async_sessionmaker(engine)
    app = FastAPI()

    async def get_db():
        async with SessionLocal() as db:
            yield db

    @app.post("/orders/{order_id}/ship")
    async def ship(order_id: int, db: AsyncSession = Depends(get_db)):
        order = await db.get(Order, order_id)
        await db.commit()  # ends the transaction: the connection goes back to the pool
        async with httpx.AsyncClient() as client:
            await client.post("https://carrier.example/shipments", json={"id": order_id})
        order = await db.get(Order, order_id)
        order.shipped = True
        await db.commit()
    ```
    """

    @classmethod
    def may_fire(cls, view: "SourceView", index: "ProjectIndex") -> bool:
        return view.has_async_def and uses_database(view, index)


    CODE = "POL207"
    NAME = "connection-held-across-slow-await"
    MESSAGE = (
        "{label} `{name}` ({origin}) holds a pooled connection across await {call} "
        "({since} line {line}) in {where}"
    )
    FIX_TITLE = None
    FIX_AVAILABILITY = FixAvailability.NONE
    TRIGGERS = (
        "httpx",
        "aiohttp",
        "sleep",
        "to_thread",
        "run_in_threadpool",
        "run_sync",
        "run_in_executor",
        "Queue",
        "Lock",
        "Semaphore",
        "Condition",
        "CapacityLimiter",
        "Event",
        "wait_for",
        "gather",
    )

    @classmethod
    def triggers(cls, index: ProjectIndex) -> Iterable[str]:
        """Also the names of module-level clients, queues and locks of the
        project (`http = httpx.AsyncClient()` in one module, `await
        http.get(...)` in another) and the names other modules import them as."""
        found = set(cls.TRIGGERS)
        for facts in index.modules.values():
            for name, callee in facts.constructed.items():
                if callee in _SLOW_TYPES:
                    found.add(name)
        for facts in index.modules.values():
            for local, qualified in facts.imports.items():
                if local not in found and _constructed(index, qualified) in _SLOW_TYPES:
                    found.add(local)
        return found

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.functions: List[Optional[_Function]] = []
        # Inside a conditional expression, a short-circuit operand or a
        # comprehension, I/O may not happen: it does not count.
        self.conditional_depth = 0
        self.withs: List[cst.With] = []
        # Name nodes whose use a parent understood (`db.execute`), and Name
        # nodes that are not variables (`x.db`, `f(db=...)`).
        self._understood: Set[cst.CSTNode] = set()
        self._not_variables: Set[cst.CSTNode] = set()

    # -- the function and its resources ----------------------------------------------
    def _direct(self) -> Optional[_Function]:
        if self.functions and self.functions[-1] is not None and self.ctx.scopes[-1].node is self.functions[-1].node:
            return self.functions[-1]
        return None

    def _enclosing(self) -> Optional[_Function]:
        for function in reversed(self.functions):
            if function is not None:
                return function
        return None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._not_variables.add(node.name)
        scope = self.ctx.scopes[-1]
        fact = scope.fact
        if (
            node.asynchronous is None
            or fact is None
            or not (self.ctx.route(scope) or self.ctx.is_dependency(scope))
        ):
            self.functions.append(None)
            return
        function = _Function(node, self.ctx.describe(scope))
        index = self.ctx.index
        for name, origin in fact.origins.items():
            resource = index.of_local(fact, name)
            if resource is None or not resource.is_async or resource.kind not in _IO_METHODS:
                continue
            how, ref, annotation = origin
            if how == "param":
                found = index.dependency_function(ref or annotation)
                if found is None:
                    # A bare `db: AsyncSession`: who fills it in is unclear.
                    continue
                function.held[name] = _Held(resource.kind, f"from {found[1].qualname.rsplit('.', 1)[-1]}")
            else:
                function.held[name] = _Held(
                    resource.kind,
                    f"from {resource.origin or 'a session factory'}",
                    checked_out_on_creation=resource.kind == "connection",
                )
        self.functions.append(function)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.functions.pop()

    def visit_Param(self, node: cst.Param) -> None:
        self._not_variables.add(node.name)

    # -- blocks: I/O in a block that has ended may not have happened -----------------
    def _enter_block(self, node: cst.CSTNode) -> None:
        function = self._direct()
        if function is not None:
            function.blocks.append(node)

    def _leave_block(self, node: cst.CSTNode) -> None:
        function = self._direct()
        if function is not None and function.blocks and function.blocks[-1] is node:
            function.blocks.pop()
            for held in function.held.values():
                held.events = [event for event in held.events if event[1] is not node]

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._enter_block(node)

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self._leave_block(original_node)

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self._enter_block(node)

    def leave_SimpleStatementSuite(self, original_node: cst.SimpleStatementSuite) -> None:
        self._leave_block(original_node)

    def _enter_conditional(self, node: cst.CSTNode) -> None:
        self.conditional_depth += 1

    def _leave_conditional(self, node: cst.CSTNode) -> None:
        self.conditional_depth -= 1

    visit_IfExp = _enter_conditional
    leave_IfExp = _leave_conditional
    visit_BooleanOperation = _enter_conditional
    leave_BooleanOperation = _leave_conditional
    visit_ListComp = _enter_conditional
    leave_ListComp = _leave_conditional
    visit_SetComp = _enter_conditional
    leave_SetComp = _leave_conditional
    visit_DictComp = _enter_conditional
    leave_DictComp = _leave_conditional
    visit_GeneratorExp = _enter_conditional
    leave_GeneratorExp = _leave_conditional

    def _record_io(self, function: _Function, held: _Held, node: cst.CSTNode, what: str = "first I/O on") -> None:
        if self.conditional_depth == 0 and function.blocks:
            held.events.append((node, function.blocks[-1], what))

    # -- uses of the session's name ---------------------------------------------------
    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._not_variables.add(node.attr)
        if isinstance(node.value, cst.Name):
            self._understood.add(node.value)

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self._not_variables.add(node.keyword)

    def visit_Name(self, node: cst.Name) -> None:
        if node in self._not_variables:
            return
        function = self._enclosing()
        if function is None or node.value not in function.held:
            return
        if self._direct() is not function:
            # Used in a nested function or lambda: it may commit or query
            # at any time; stop following it.
            del function.held[node.value]
        elif node not in self._understood:
            # Handed to a call, aliased, stored...: the callee may have
            # committed or closed it.
            function.held[node.value].events.clear()

    def visit_Call(self, node: cst.Call) -> None:
        function = self._direct()
        func = node.func
        if function is None or not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Name):
            return
        held = function.held.get(func.value.value)
        if held is not None and func.attr.value in _RELEASE_METHODS[held.kind]:
            held.events.clear()

    # -- bindings -----------------------------------------------------------------------
    def leave_Assign(self, original_node: cst.Assign) -> None:
        function = self._direct()
        if function is None:
            return
        for target in original_node.targets:
            if isinstance(target.target, cst.Name) and target.target.value in function.held:
                held = function.held[target.target.value]
                # A new session or connection under the old name.
                held.events.clear()
                if held.checked_out_on_creation and isinstance(original_node.value, cst.Await):
                    self._record_io(function, held, original_node.value, "checked out on")

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        function = self._direct()
        if function is None or original_node.value is None or not isinstance(original_node.target, cst.Name):
            return
        held = function.held.get(original_node.target.value)
        if held is not None:
            held.events.clear()
            if held.checked_out_on_creation and isinstance(original_node.value, cst.Await):
                self._record_io(function, held, original_node.value, "checked out on")

    def visit_With(self, node: cst.With) -> None:
        self.withs.append(node)

    def leave_WithItem(self, original_node: cst.WithItem) -> None:
        function = self._direct()
        if function is None or not self.withs or self.withs[-1].asynchronous is None:
            return
        asname = original_node.asname
        if asname is not None and isinstance(asname.name, cst.Name) and asname.name.value in function.held:
            held = function.held[asname.name.value]
            held.events.clear()
            if held.checked_out_on_creation:
                self._record_io(function, held, original_node.item, "checked out on")
            return
        slow = self._slow_with_item(original_node.item)
        if slow is not None:
            self._report_if_held(function, original_node.item, slow)

    def leave_With(self, original_node: cst.With) -> None:
        self.withs.pop()
        function = self._direct()
        if function is None:
            return
        for item in original_node.items:
            names: List[str] = []
            if item.asname is not None and isinstance(item.asname.name, cst.Name):
                names.append(item.asname.name.value)
            expr = item.item
            if isinstance(expr, cst.Name):
                names.append(expr.value)
            elif (
                isinstance(expr, cst.Call)
                and isinstance(expr.func, cst.Attribute)
                and isinstance(expr.func.value, cst.Name)
                and expr.func.attr.value == "begin"
            ):
                held = function.held.get(expr.func.value.value)
                if held is not None and held.kind == "session":
                    # The end of `async with db.begin():` commits or rolls back.
                    names.append(expr.func.value.value)
            for name in names:
                if name in function.held:
                    # Closed (or its transaction ended) with the block.
                    function.held[name].events.clear()

    # -- awaits -------------------------------------------------------------------------
    def leave_Await(self, original_node: cst.Await) -> None:
        function = self._direct()
        if function is None:
            return
        expr = original_node.expression
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and isinstance(expr.func.value, cst.Name):
            held = function.held.get(expr.func.value.value)
            if held is not None:
                # The session's own call: I/O, a release, or neither; never slow.
                if expr.func.attr.value in _IO_METHODS[held.kind]:
                    self._record_io(function, held, original_node)
                return
        slow = self._slow(expr)
        if slow is not None:
            self._report_if_held(function, original_node, slow)

    def _report_if_held(self, function: _Function, node: cst.CSTNode, slow: str) -> None:
        for name, held in function.held.items():
            if not held.events:
                continue
            first, _, since = held.events[0]
            self.report(
                node,
                label=f"async {held.kind}",
                name=name,
                origin=held.origin,
                call=slow,
                since=since,
                line=LineOf(first),
                where=function.where,
            )
            return

    # -- what is slow ---------------------------------------------------------------------
    def _slow(self, expr: cst.BaseExpression) -> Optional[str]:
        """How the message spells a slow awaitable, or None."""
        if not isinstance(expr, cst.Call):
            return None
        qualified = self.ctx.qualified_name(expr.func)
        if qualified in _SLOW_FUNCTIONS:
            if qualified in _SLEEPS and _sleeps_zero(expr):
                # `asyncio.sleep(0)` only yields to the event loop.
                return None
            return _SLOW_FUNCTIONS[qualified]
        if qualified in _WRAPPERS:
            for arg in expr.args:
                if arg.keyword is None and not arg.star:
                    inner = self._slow(arg.value)
                    if inner is not None:
                        return f"{_WRAPPERS[qualified]}({inner})"
            return None
        func = expr.func
        if not isinstance(func, cst.Attribute):
            return None
        kind = self._type_of(func.value)
        if kind is None:
            return None
        for types, methods in _METHODS_OF:
            if kind in types and func.attr.value in methods:
                return f"{types[kind]}.{func.attr.value}()"
        return None

    def _slow_with_item(self, item: cst.BaseExpression) -> Optional[str]:
        """`async with lock:`, `async with client.stream(...)`, `async with session.get(url)`."""
        if isinstance(item, cst.Call):
            return self._slow(item)
        kind = self._type_of(item)
        if kind in _LOCKS:
            return f"{_LOCKS[kind]}.acquire() (async with)"
        return None

    def _type_of(self, expr: cst.BaseExpression) -> Optional[str]:
        """The class (qualified) an expression is an instance of, when the
        function or the module visibly made it so."""
        if isinstance(expr, cst.Call):
            return self.ctx.qualified_name(expr.func)
        if isinstance(expr, cst.Name):
            scope = self.ctx.scopes[-1]
            fact = scope.fact
            if fact is None:
                return None
            if expr.value in fact.local_names:
                origin = fact.origins.get(expr.value)
                if origin is None:
                    return None
                return origin[1] if origin[0] == "call" else origin[2]
        if dotted_name(expr) is None:
            return None
        return _constructed(self.ctx.index, self.ctx.qualified_name(expr))

    VALID = [
        Valid(
            """
            import httpx
            from fastapi import Depends, FastAPI
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

            SessionLocal = async_sessionmaker()
            app = FastAPI()

            async def get_db():
                async with SessionLocal() as db:
                    yield db

            @app.post("/orders/{order_id}/ship")
            async def ship(order_id: int, db: AsyncSession = Depends(get_db)):
                # No I/O yet: the session holds no connection during the call.
                async with httpx.AsyncClient() as client:
                    await client.post("https://carrier.example/shipments")
                await db.execute("update orders set shipped = true")
                await db.commit()
            """
        ),
        Valid(
            """
            import asyncio
            from fastapi import Depends, FastAPI
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

            SessionLocal = async_sessionmaker()
            app = FastAPI()

            async def get_db():
                async with SessionLocal() as db:
                    yield db

            @app.post("/orders/{order_id}/retry")
            async def retry(order_id: int, db: AsyncSession = Depends(get_db)):
                await db.execute("update orders set attempts = attempts + 1")
                await db.commit()  # the connection goes back to the pool here
                await asyncio.sleep(5)
            """
        ),
        Valid(
            """
            import asyncio
            from fastapi import Depends, FastAPI
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

            SessionLocal = async_sessionmaker()
            app = FastAPI()

            async def get_db():
                async with SessionLocal() as db:
                    yield db

            @app.get("/orders")
            async def orders(flag: bool, db: AsyncSession = Depends(get_db)):
                if flag:
                    # Only in this branch: not certain to have happened below.
                    await db.execute("select 1")
                await asyncio.sleep(1)
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import httpx
            from fastapi import Depends, FastAPI
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

            SessionLocal = async_sessionmaker()
            app = FastAPI()

            async def get_db():
                async with SessionLocal() as db:
                    yield db

            @app.post("/orders/{order_id}/ship")
            async def ship(order_id: int, db: AsyncSession = Depends(get_db)):
                order = await db.get(dict, order_id)
                async with httpx.AsyncClient() as client:
                    await client.post("https://carrier.example/shipments", json=order)
            """
        ),
        Invalid(
            """
            import asyncio
            from fastapi import FastAPI
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine("postgresql+asyncpg://db/app")
            app = FastAPI()

            @app.post("/jobs")
            async def run_job():
                async with engine.connect() as conn:
                    await asyncio.sleep(2)
            """
        ),
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
            from starlette.concurrency import run_in_threadpool

            SessionLocal = async_sessionmaker()
            app = FastAPI()

            async def get_db():
                async with SessionLocal() as db:
                    yield db

            def render_pdf(rows):
                return b""

            @app.get("/report")
            async def report(db: AsyncSession = Depends(get_db)):
                rows = (await db.execute("select * from orders")).all()
                return await run_in_threadpool(render_pdf, rows)
            """
        ),
    ]


def _constructed(index: ProjectIndex, qualified: Optional[str]) -> Optional[str]:
    """The class a module-level name of the project was made from (`client = httpx.AsyncClient()`)."""
    found = index.resolve(qualified)
    if found is None or found[2]:
        return None
    facts, name, _ = found
    return facts.constructed.get(name)


def _sleeps_zero(call: cst.Call) -> bool:
    if not call.args:
        return False
    first = call.args[0].value
    return isinstance(first, (cst.Integer, cst.Float)) and float(first.value) == 0
