"""POL209: one request holds two sessions of one pool at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional, Set

import libcst as cst

from poollint.gate import SourceView
from poollint.project import ProjectIndex
from poollint.rule import FixAvailability, Invalid, PoolRule, Valid
from poollint.rules.leaks._dependency_tree import (
    DepNode,
    RouteTree,
    entry_node,
    module_routes,
    route_tree,
    second_session,
)


@dataclass
class _Route:
    node: cst.FunctionDef
    tree: RouteTree
    # The route body's own calls of a callee that opens a session, in order.
    openings: List[cst.Call]
    callees: Set[str]


class SeveralSessionsPerRequest(PoolRule):
    """
    ## What it does
    Flags a route whose dependencies give one request two sessions of the
    same pool at once.

    That is: two different session dependencies (yield
    dependencies that open a session, or a session factory in `Depends()`),
    or one used again with `use_cache=False`, whose sessions are both handed
    on; or a dependency, or the route itself, that opens a session of its
    own while a session it or an earlier dependency was given has already
    been queried through. Dependencies are followed through parameters,
    `Annotated` aliases, class dependencies and `dependencies=[...]` lists,
    across modules, in the order FastAPI solves them. The message names both
    sessions' dependencies and where they are defined.

    Two sessions are of the same pool when their factories are bound to the
    same engine; where an engine cannot be told, only sessions of one and
    the same factory count. A dependency used twice in one request is one
    session (FastAPI calls it once and hands the value to every use), and a
    dependency that opens and closes its own session before anything queried
    through another one holds one connection at a time: both are left alone.

    ## Why is this bad?
    A session checks a connection out of the pool at its first query and
    keeps it until it commits, rolls back or closes. A request that holds one
    connection and asks for a second needs two at once, and under load every
    request in flight does the same: once `pool_size + max_overflow`
    requests each hold their first connection, all of them wait for a second
    that nobody will give back. Nothing moves until `pool_timeout` expires
    and they fail together; the pool looks exhausted while the database
    does nothing.

    ## Where it comes from
    Apps that grew a second way to get a session: an authentication or
    tenant dependency with its own `get_session` beside the routes'
    `get_db`, an audit-log dependency opening a fresh session so that its
    writes commit separately, or `use_cache=False` added to get "a clean
    session". Each works in development with one request at a time; in
    production the pool deadlocks under the first traffic spike, and the
    errors are pool timeouts on every endpoint at once.

    ## Example
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

    def get_auth_db():
        with SessionLocal() as db:
            yield db

    def current_user(db: Session = Depends(get_auth_db)):
        return db.execute("select * from users limit 1").one()

    @app.get("/orders")
    def list_orders(user=Depends(current_user), db: Session = Depends(get_db)):
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

    def current_user(db: Session = Depends(get_db)):
        return db.execute("select * from users limit 1").one()

    @app.get("/orders")
    def list_orders(user=Depends(current_user), db: Session = Depends(get_db)):
        return db.execute("select * from orders").all()
    ```
    """

    CODE = "POL209"
    NAME = "several-sessions-per-request"
    MESSAGE = (
        "{route} holds two sessions from {pool} at once in one request: {first}, and {second}; "
        "under load every request holds one connection while it waits for a second, and once the pool "
        "is exhausted they wait on each other until pool_timeout: share one session"
    )
    FIX_TITLE = None
    FIX_AVAILABILITY = FixAvailability.NONE
    TRIGGERS = ("Depends", "Security")

    @classmethod
    def triggers(cls, index: ProjectIndex) -> Iterable[str]:
        # A route whose dependencies all come from its router's dependencies=
        # (another module) need not say Depends: its own name is in its file.
        return set(cls.TRIGGERS) | index.table("route_names")

    @classmethod
    def may_fire(cls, view: SourceView, index: ProjectIndex) -> bool:
        if view.facts is None:
            return True
        for qualname in module_routes(index, view.facts.module):
            tree = route_tree(index, view.facts.module, qualname)
            if tree is not None and _openings(tree.entries) + len(tree.opened) >= 2:
                return True
        return False

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.routes: List[Optional[_Route]] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        scope = self.ctx.scopes[-1]
        tree = None
        if scope.fact is not None and self.ctx.route(scope) is not None:
            tree = route_tree(self.ctx.index, self.ctx.facts.module, scope.qualname)
        if tree is None:
            self.routes.append(None)
            return
        self.routes.append(_Route(node, tree, [], {opened.callee for opened in tree.opened}))

    def visit_Call(self, node: cst.Call) -> None:
        route = self.routes[-1] if self.routes else None
        if route is None or not route.callees or self.ctx.scopes[-1].node is not route.node:
            return
        if self.ctx.qualified_name(node.func) in route.callees:
            route.openings.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        route = self.routes.pop()
        if route is None:
            return
        found = second_session(route.tree)
        if found is None:
            return
        target: cst.CSTNode
        if found.entry is not None:
            target = entry_node(route.node, found.entry.entry, found.entry.param)
        else:
            calls = [c for c in route.openings if self.ctx.qualified_name(c.func) == found.route_callee]
            target = calls[0] if calls else route.node.name
        self.report(target, route=route.tree.route, pool=found.pool, first=found.first, second=found.second)

    VALID = [
        Valid(
            """
            # One session dependency used twice: FastAPI calls it once per request.
            from typing import Annotated

            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session, sessionmaker

            SessionLocal = sessionmaker()
            app = FastAPI()

            def get_db():
                with SessionLocal() as db:
                    yield db

            Db = Annotated[Session, Depends(get_db)]

            def current_user(db: Db):
                return db.get(dict, 1)

            @app.get("/orders")
            def list_orders(db: Db, user=Depends(current_user)):
                return db.execute("select * from orders").all()
            """
        ),
        Valid(
            """
            # Two engines: a primary and a read replica, two pools.
            from fastapi import Depends, FastAPI
            from sqlalchemy import create_engine as make_engine
            from sqlalchemy.orm import Session, sessionmaker

            primary = make_engine("postgresql://primary/app")
            replica = make_engine("postgresql://replica/app")
            WriteSession = sessionmaker(primary)
            ReadSession = sessionmaker(replica)
            app = FastAPI()

            def get_db():
                with WriteSession() as db:
                    yield db

            def get_read_db():
                with ReadSession() as db:
                    yield db

            @app.post("/orders/{order_id}/copy")
            def copy_order(order_id: int, db: Session = Depends(get_db), read: Session = Depends(get_read_db)):
                db.add(read.get(dict, order_id))
                db.commit()
            """
        ),
        Valid(
            """
            # The dependency's own session is closed before anything else queries.
            from fastapi import Depends, FastAPI, Header
            from sqlalchemy.orm import Session, sessionmaker

            SessionLocal = sessionmaker()
            app = FastAPI()

            def get_db():
                with SessionLocal() as db:
                    yield db

            def current_user(token: str = Header()):
                with SessionLocal() as auth:
                    return auth.execute("select * from users where token = :t", {"t": token}).one()

            @app.get("/orders")
            def list_orders(user=Depends(current_user), db: Session = Depends(get_db)):
                return db.execute("select * from orders").all()
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session, sessionmaker

            SessionLocal = sessionmaker()
            app = FastAPI()

            def get_db():
                with SessionLocal() as db:
                    yield db

            def get_session():
                db = SessionLocal()
                try:
                    yield db
                finally:
                    db.close()

            @app.post("/orders")
            def create_order(db: Session = Depends(get_db), audit: Session = Depends(get_session)):
                db.execute("insert into orders default values")
                audit.execute("insert into audit default values")
            """
        ),
        Invalid(
            """
            # use_cache=False makes the second use a second session.
            from typing import Annotated

            from fastapi import Depends, FastAPI
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

            AsyncSessionLocal = async_sessionmaker()
            app = FastAPI()

            async def get_db():
                async with AsyncSessionLocal() as db:
                    yield db

            Db = Annotated[AsyncSession, Depends(get_db)]
            FreshDb = Annotated[AsyncSession, Depends(get_db, use_cache=False)]

            @app.post("/orders")
            async def create_order(db: Db, log: FreshDb):
                await db.execute("insert into orders default values")
                await log.execute("insert into audit default values")
            """
        ),
        Invalid(
            """
            # The route opens its own session while the user's lookup holds one.
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session, sessionmaker as maker

            SessionLocal = maker()
            app = FastAPI()

            def get_db():
                with SessionLocal() as db:
                    yield db

            def current_user(db: Session = Depends(get_db)):
                return db.get(dict, 1)

            @app.get("/orders")
            def list_orders(user=Depends(current_user)):
                with SessionLocal() as db:
                    return db.execute("select * from orders").all()
            """
        ),
    ]


def _openings(nodes: Iterable[DepNode]) -> int:
    """How many session openings the tree holds, counting each use: an upper
    bound of the sessions one request can have."""
    return sum(len(node.opened) + _openings(node.children) for node in nodes)
