"""POL208: a streaming or websocket route holds a yield dependency's session for the whole stream."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

import libcst as cst

from poollint.gate import SourceView
from poollint import deployment_tables  # noqa: F401  (registers fastapi_exits_before_response)
from poollint.project import ProjectIndex
from poollint.rule import FixAvailability, Invalid, PoolRule, Valid
from poollint.rules.leaks._dependency_tree import RouteTree, entry_node, held_session, module_routes, route_tree

# Responses whose body is sent while the route's dependencies are still open.
_STREAMING = frozenset(
    {
        "starlette.responses.StreamingResponse",
        "fastapi.responses.StreamingResponse",
        "fastapi.StreamingResponse",
    }
)
_EVENT_SOURCE = frozenset(
    {
        "sse_starlette.EventSourceResponse",
        "sse_starlette.sse.EventSourceResponse",
        "fastapi.sse.EventSourceResponse",
        "fastapi.responses.EventSourceResponse",
    }
)
# A StreamingResponse over content already in memory is sent as fast as any
# other response: its stream is no longer than a plain response's send.
_IN_MEMORY = frozenset({"io.BytesIO", "io.StringIO", "builtins.iter", "builtins.open"})
_LITERALS = (cst.SimpleString, cst.ConcatenatedString, cst.List, cst.Tuple, cst.FormattedString)


@dataclass
class _Route:
    node: cst.FunctionDef
    tree: RouteTree
    is_generator: bool
    # Local name -> the call assigned to it in the route's own body.
    assigned: Dict[str, cst.Call] = field(default_factory=dict)
    # What it streams, in the message's words, once seen.
    streams: Optional[str] = None


class SessionDependencyOnStreamingRoute(PoolRule):
    """
    ## What it does
    Flags a streaming or websocket route that depends on a yield dependency
    opening a session, which then stays open for the whole stream.

    The dependency may be reached directly or through other dependencies
    (parameters, `Annotated` aliases, class dependencies, a route's or
    router's `dependencies=[...]`, across modules). A route streams when it returns a
    `StreamingResponse` (FastAPI's or Starlette's, over anything but content
    already in memory such as `io.BytesIO`) or an `EventSourceResponse`
    (sse-starlette's or FastAPI's), when it is a generator endpoint (FastAPI
    streams what it yields), or when it is a websocket route. The finding is
    reported at the parameter (or `dependencies=`) through which the session
    comes in, and names the dependency, where it is defined and the factory
    of its session.

    A use with `Depends(get_db, scope="function")` (FastAPI 0.121+) is left
    alone: FastAPI closes that session before the response is sent. So is a
    streaming route that opens its own short-lived session inside its
    generator, and a route whose dependencies return (rather than yield) a
    session, which is POL203's business. A streaming (not websocket) route
    is left alone too where a requirements or lock file of the project
    (read as for POL311) keeps FastAPI between 0.106 and 0.117: those
    versions close the session before the response is sent.

    ## Why is this bad?
    FastAPI runs a yield dependency's code after `yield` (the `with` block's
    exit, `db.close()`) when the request is done. Before 0.106 and again
    since 0.118 that is after the response has been sent, streamed bodies
    included: the session opened for the request stays open until the last
    byte has gone out, and for a websocket until the socket closes. If
    anything queried through it (an authentication dependency looking up the
    user will have), it holds a pooled connection, idle in transaction, for
    the whole stream. A handful of slow clients, LLM token streams or open
    dashboards is enough to check out every connection of the pool while
    doing no database work at all, and every other request then waits on
    `QueuePool limit ... reached`.

    ## Where it comes from
    Streaming endpoints (server-sent events for chat and progress updates,
    CSV exports, websocket feeds) added to apps whose `get_db` dependency
    and authentication were written for short requests. Each open stream
    quietly pins one connection; the outage starts when the number of
    concurrent streams reaches the pool size, and shows up as timeouts on
    unrelated, ordinary endpoints while the database itself sits idle with
    sessions "idle in transaction".

    ## Example
    ```python
    from fastapi import Depends, FastAPI
    from fastapi.responses import StreamingResponse
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session, sessionmaker

    engine = create_engine("postgresql://db/app")
    SessionLocal = sessionmaker(engine)
    app = FastAPI()

    def get_db():
        with SessionLocal() as db:
            yield db

    @app.get("/orders/export")
    def export_orders(db: Session = Depends(get_db)):
        def rows():
            for row in db.execute(text("select * from orders")):
                yield f"{row.id},{row.total}\\n"
        return StreamingResponse(rows(), media_type="text/csv")
    ```

    ## Use instead
    ```python
    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import sessionmaker

    engine = create_engine("postgresql://db/app")
    SessionLocal = sessionmaker(engine)
    app = FastAPI()

    @app.get("/orders/export")
    def export_orders():
        def rows():
            with SessionLocal() as db:
                for row in db.execute(text("select * from orders")):
                    yield f"{row.id},{row.total}\\n"
        return StreamingResponse(rows(), media_type="text/csv")
    ```

    The generator's session is open only while it reads; if the stream
    waits on something else between reads (a model generating tokens), load
    what it needs first and close the session before streaming.
    """

    CODE = "POL208"
    NAME = "session-dependency-on-streaming-route"
    MESSAGE = (
        "{route} {stream} while yield dependency {dependency}{via} holds a session from {origin}: "
        "FastAPI closes it only after {end}, so each open {what} can keep a pooled connection checked out, "
        "idle in transaction, until then; {advice}"
    )
    FIX_TITLE = None
    FIX_AVAILABILITY = FixAvailability.NONE
    TRIGGERS = ("StreamingResponse", "EventSourceResponse", "websocket", "yield")
    # The FastAPI version decides when yield dependencies close (see above).
    READS_DEPLOYMENT_FILES = True

    @classmethod
    def may_fire(cls, view: SourceView, index: ProjectIndex) -> bool:
        if view.facts is None:
            return True
        for qualname in module_routes(index, view.facts.module):
            tree = route_tree(index, view.facts.module, qualname)
            if tree is not None and held_session(tree) is not None:
                return True
        return False

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.routes: List[Optional[_Route]] = []

    def _direct(self) -> Optional[_Route]:
        """The route whose own body the walk is in (not a nested function)."""
        if self.routes and self.routes[-1] is not None and self.ctx.scopes[-1].node is self.routes[-1].node:
            return self.routes[-1]
        return None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        scope = self.ctx.scopes[-1]
        tree = None
        if scope.fact is not None and self.ctx.route(scope) is not None:
            tree = route_tree(self.ctx.index, self.ctx.facts.module, scope.qualname)
        if tree is None or held_session(tree) is None:
            self.routes.append(None)
            return
        route = _Route(node, tree, scope.fact.is_generator)  # type: ignore[union-attr]
        if tree.method == "websocket":
            route.streams = "serves a websocket"
        elif route.is_generator:
            route.streams = "streams what it yields"
        self.routes.append(route)

    def visit_Assign(self, node: cst.Assign) -> None:
        route = self._direct()
        if route is None or len(node.targets) != 1 or not isinstance(node.value, cst.Call):
            return
        target = node.targets[0].target
        if isinstance(target, cst.Name):
            route.assigned[target.value] = node.value

    def visit_Return(self, node: cst.Return) -> None:
        route = self._direct()
        if route is None or route.streams is not None:
            return
        value = node.value
        if isinstance(value, cst.Name):
            value = route.assigned.get(value.value)
        if not isinstance(value, cst.Call):
            return
        callee = self.ctx.qualified_name(value.func)
        if callee in _EVENT_SOURCE:
            route.streams = "returns an EventSourceResponse"
        elif callee in _STREAMING and not self._in_memory(_content(value), route):
            route.streams = "returns a StreamingResponse"

    def _in_memory(self, content: Optional[cst.BaseExpression], route: _Route) -> bool:
        if isinstance(content, _LITERALS):
            return True
        if isinstance(content, cst.Name) and content.value in route.assigned:
            content = route.assigned[content.value]
        if isinstance(content, cst.Call):
            return self.ctx.qualified_name(content.func) in _IN_MEMORY
        return False

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        route = self.routes.pop()
        if route is None or route.streams is None:
            return
        found = held_session(route.tree)
        if found is None:
            return
        path, opened = found
        websocket = route.tree.method == "websocket"
        if not websocket and self.ctx.index.table("fastapi_exits_before_response", self.ctx.facts.path):
            return
        self.report(
            entry_node(route.node, path.entry.entry, path.entry.param),
            route=route.tree.route,
            stream=route.streams,
            dependency=path.last.label(),
            via=path.via(),
            origin=opened.describe_origin(),
            end="the socket closes" if websocket else "the stream ends",
            what="socket" if websocket else "stream",
            advice=(
                "open a short-lived session for each message instead"
                if websocket
                else "open a short-lived session inside the generator instead"
            ),
        )

    VALID = [
        Valid(
            """
            # The generator opens its own short-lived session.
            from fastapi import FastAPI
            from fastapi.responses import StreamingResponse as Stream
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()
            app = FastAPI()

            @app.get("/orders/export")
            def export_orders():
                def rows():
                    with SessionLocal() as db:
                        yield from db.execute("select id from orders").scalars()
                return Stream(rows())
            """
        ),
        Valid(
            """
            # scope="function": FastAPI closes the session before the response is sent.
            from typing import Annotated

            from fastapi import Depends, FastAPI
            from fastapi.responses import StreamingResponse
            from sqlalchemy.orm import Session, sessionmaker

            SessionLocal = sessionmaker()
            app = FastAPI()

            def get_db():
                with SessionLocal() as db:
                    yield db

            ShortDb = Annotated[Session, Depends(get_db, scope="function")]

            @app.get("/orders/export")
            def export_orders(db: ShortDb):
                lines = [f"{o}\\n" for o in db.execute("select id from orders").scalars()]

                def rows():
                    yield from lines

                return StreamingResponse(rows())
            """
        ),
        Valid(
            """
            # Not a streaming route: the session is closed once the response is sent.
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session, sessionmaker

            SessionLocal = sessionmaker()
            app = FastAPI()

            def get_db():
                with SessionLocal() as db:
                    yield db

            @app.get("/orders")
            def list_orders(db: Session = Depends(get_db)):
                return db.execute("select id from orders").scalars().all()
            """
        ),
        Valid(
            """
            # Streams bytes already in memory: sent as fast as any response.
            import io

            from fastapi import Depends, FastAPI
            from fastapi.responses import StreamingResponse
            from sqlalchemy.orm import Session, sessionmaker

            SessionLocal = sessionmaker()
            app = FastAPI()

            def get_db():
                with SessionLocal() as db:
                    yield db

            @app.get("/orders/{order_id}/invoice")
            def invoice(order_id: int, db: Session = Depends(get_db)):
                pdf = db.execute("select pdf from invoices where id = :id", {"id": order_id}).scalar()
                return StreamingResponse(io.BytesIO(pdf), media_type="application/pdf")
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from fastapi.responses import StreamingResponse
            from sqlalchemy.orm import Session, sessionmaker

            SessionLocal = sessionmaker()
            app = FastAPI()

            def get_db():
                db = SessionLocal()
                try:
                    yield db
                finally:
                    db.close()

            @app.get("/orders/export")
            def export_orders(db: Session = Depends(get_db)):
                def rows():
                    for order_id in db.execute("select id from orders").scalars():
                        yield f"{order_id}\\n"
                return StreamingResponse(rows(), media_type="text/csv")
            """
        ),
        Invalid(
            """
            # Through an Annotated alias and an authentication dependency, into an SSE stream.
            from typing import Annotated

            from fastapi import Depends, FastAPI
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
            from sse_starlette.sse import EventSourceResponse as Events

            AsyncSessionLocal = async_sessionmaker()
            app = FastAPI()

            async def get_db():
                async with AsyncSessionLocal() as db:
                    yield db

            Db = Annotated[AsyncSession, Depends(get_db)]

            async def current_user(db: Db):
                return await db.get(dict, 1)

            @app.get("/chat")
            async def chat(user=Depends(current_user)):
                async def tokens():
                    yield {"data": "hello"}
                return Events(tokens())
            """
        ),
        Invalid(
            """
            # A websocket route keeps its dependencies open until the socket closes.
            from fastapi import Depends, FastAPI, WebSocket
            from sqlalchemy.orm import Session, sessionmaker

            SessionLocal = sessionmaker()
            app = FastAPI()

            def get_db():
                with SessionLocal() as db:
                    yield db

            @app.websocket("/orders/live")
            async def live_orders(socket: WebSocket, db: Session = Depends(get_db)):
                await socket.accept()
                while True:
                    await socket.send_text(await socket.receive_text())
            """
        ),
    ]


def _content(call: cst.Call) -> Optional[cst.BaseExpression]:
    for position, arg in enumerate(call.args):
        if arg.keyword is not None and arg.keyword.value == "content":
            return arg.value
        if arg.keyword is None and not arg.star and position == 0:
            return arg.value
    return None
