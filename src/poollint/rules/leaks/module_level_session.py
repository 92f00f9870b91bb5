"""POL204: a session created at import time, shared by every request and thread."""

from __future__ import annotations

from typing import Dict, Iterable, List, Set, Tuple

import libcst as cst

from poollint.context import is_main_test, param_list
from poollint.gate import SourceView, calls_creating, session_triggers, uses_database
from poollint.project import ProjectIndex, is_test_module
from poollint.rule import FixAvailability, Invalid, PoolRule, Valid
from poollint.rules.leaks._session_flow import origin_text, pooled_session



class ModuleLevelSession(PoolRule):
    """
    ## What it does
    Flags a session created when a module is imported: assigned at module
    level (also inside a module-level `if`, `try` or `with`), in the body of
    a module-level class, or as the default value of a parameter
    (`def f(db=SessionLocal())`, evaluated once when the `def` runs). The
    session may come from a `sessionmaker` or `async_sessionmaker` defined
    anywhere in the project, `Session(engine)`, `AsyncSession(engine)` or a
    helper that returns a new session.

    Left alone: the factories themselves (`sessionmaker(...)`), registries
    such as `scoped_session(...)` (one session per thread or task), a
    session used in a `with` block, code under `if __name__ == "__main__":`,
    test modules (`tests/`, `test_*.py`, `conftest.py`) and scripts: modules
    under a `scripts/` or `bin/` directory, and modules with an
    `if __name__ == "__main__":` block that define no FastAPI app, router or
    route. A script runs as its own process, so nobody shares its session.
    A module that queries through the session at module level
    (`session.add(...)`, `session.commit()` as it is imported) is taken for a
    script or demo too: application modules do not do database work at
    import.

    ## Why is this bad?
    One session object then serves every request of the process, in every
    thread of FastAPI's thread pool and every task on the event loop. A
    session is not thread-safe nor safe for concurrent tasks, and it keeps
    one connection checked out from its first query until a commit,
    rollback or close that concurrent requests issue at arbitrary times:
    requests see each other's uncommitted changes, one request's error
    rolls back another's work, and a failed transaction poisons the session
    for all of them (`PendingRollbackError`).

    ## Example
    ```python
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    engine = create_engine("postgresql://db/app")
    SessionLocal = sessionmaker(engine)
    db = SessionLocal()
    ```

    ## Use instead
    ```python
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    engine = create_engine("postgresql://db/app")
    SessionLocal = sessionmaker(engine)

    def get_db():
        with SessionLocal() as db:
            yield db
    ```
    """

    @classmethod
    def may_fire(cls, view: "SourceView", index: "ProjectIndex") -> bool:
        return uses_database(view, index) and calls_creating(view, index, "session")


    CODE = "POL204"
    NAME = "module-level-session"
    MESSAGE = "session from {origin} is created {when} and shared by {sharers}: {advice}"
    FIX_TITLE = None
    FIX_AVAILABILITY = FixAvailability.NONE
    TRIGGERS = ("Session",)

    @classmethod
    def triggers(cls, index: ProjectIndex) -> Iterable[str]:
        return set(cls.TRIGGERS) | session_triggers(index)

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self._silent = is_test_module(ctx.facts.module) or ctx.is_script()
        # Bodies of `if __name__ == "__main__":` and how deep we are in them.
        self._main_bodies: Set[cst.CSTNode] = set()
        self._main_depth = 0
        # Module-level sessions, reported when the walk leaves the module
        # unless the module itself queries through them at import time.
        self._pending: List[Tuple[cst.Call, Set[str], Dict[str, str]]] = []
        self._used_at_import: Set[str] = set()

    # -- where import-time code runs ------------------------------------------------
    def _at_import_time(self) -> bool:
        """Module level or a module-level class body, outside a main block."""
        return not self._silent and self._main_depth == 0 and all(s.kind in ("module", "class") for s in self.ctx.scopes)

    def visit_If(self, node: cst.If) -> None:
        if is_main_test(node.test):
            self._main_bodies.add(node.body)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        if node in self._main_bodies:
            self._main_depth += 1

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        if original_node in self._main_bodies:
            self._main_depth -= 1

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        if node in self._main_bodies:
            self._main_depth += 1

    def leave_SimpleStatementSuite(self, original_node: cst.SimpleStatementSuite) -> None:
        if original_node in self._main_bodies:
            self._main_depth -= 1

    # -- assignments ------------------------------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        if self._at_import_time():
            targets = {t.target.value for t in node.targets if isinstance(t.target, cst.Name)}
            self._check(node.value, self._where(), "every request and thread", targets)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None and self._at_import_time():
            targets = {node.target.value} if isinstance(node.target, cst.Name) else set()
            self._check(node.value, self._where(), "every request and thread", targets)

    def visit_Call(self, node: cst.Call) -> None:
        # `session.add(...)`, `session.commit()` at module level: the module
        # does its database work as it is imported, top to bottom, as a
        # script or demo does; an app module does not.
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and len(self.ctx.scopes) == 1
        ):
            self._used_at_import.add(func.value.value)

    def leave_Module(self, original_node: cst.Module) -> None:
        for call, targets, args in self._pending:
            if not targets & self._used_at_import:
                self.report(call, **args)

    def _where(self) -> str:
        classes = [s.name for s in self.ctx.scopes if s.kind == "class"]
        if classes:
            return f"at import time in the body of class {'.'.join(classes)}"
        return "at import time"

    # -- parameter defaults -----------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        # The engine has entered the function already; its defaults run in
        # the enclosing scope, when the `def` statement runs.
        outer = self.ctx.scopes[:-1]
        if self._silent or self._main_depth or not all(s.kind in ("module", "class") for s in outer):
            return
        for param in param_list(node.params):
            if param.default is not None:
                # Names resolve in the function's scope: a parameter or local
                # spelled like the factory makes the call unsure, hence silent.
                self._check(
                    param.default,
                    f"once, when `def {node.name.value}` runs, as the default of `{param.name.value}`",
                    f"every call of {node.name.value} that omits it, in every thread",
                    set(),
                )

    def _check(self, value: cst.BaseExpression, when: str, sharers: str, targets: Set[str]) -> None:
        if not isinstance(value, cst.Call):
            return
        resource = pooled_session(self.ctx, value)
        if resource is None:
            return
        call = " ".join(self.ctx.module.code_for_node(value).split())
        if len(call) > 40:
            call = "Session(...)"
        prefix = "async with" if resource.is_async else "with"
        args = {
            "origin": origin_text(resource),
            "when": when,
            "sharers": sharers,
            "advice": f"open one per request or unit of work (`{prefix} {call} as db:`, yielded from a dependency)",
        }
        self._pending.append((value, targets, args))

    VALID = [
        Valid(
            """
            from sqlalchemy import create_engine
            from sqlalchemy.orm import scoped_session, sessionmaker

            engine = create_engine("postgresql://db/app")
            SessionLocal = sessionmaker(engine)
            ScopedSession = scoped_session(SessionLocal)
            """
        ),
        Valid(
            """
            from sqlalchemy import create_engine
            from sqlalchemy.orm import sessionmaker

            engine = create_engine("postgresql://db/app")
            SessionLocal = sessionmaker(engine)

            def seed():
                with SessionLocal() as db:
                    db.commit()

            if __name__ == "__main__":
                db = SessionLocal()
                seed()
            """
        ),
        Valid(
            """
            # A script: a main block, and no app, router or route.
            from sqlalchemy import create_engine, text
            from sqlalchemy.orm import Session

            engine = create_engine("postgresql://db/app")
            session = Session(engine)

            def main():
                session.execute(text("vacuum"))

            if __name__ == "__main__":
                main()
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from sqlalchemy import create_engine
            from sqlalchemy.orm import Session

            engine = create_engine("postgresql://db/app")
            session = Session(engine)
            """
        ),
        Invalid(
            """
            from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

            engine = create_async_engine("postgresql+asyncpg://db/app")
            AsyncSessionLocal = async_sessionmaker(engine)

            class OrderRepository:
                db = AsyncSessionLocal()
            """
        ),
        Invalid(
            """
            from sqlalchemy.orm import Session, sessionmaker

            SessionLocal = sessionmaker()

            def list_orders(db: Session = SessionLocal()):
                return db.execute("select * from orders").all()
            """
        ),
    ]
