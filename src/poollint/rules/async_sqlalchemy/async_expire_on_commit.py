"""POL404: an async_sessionmaker (or sessionmaker(class_=AsyncSession)) left with expire_on_commit=True."""

from __future__ import annotations

from typing import Dict, FrozenSet, List, Optional, Set, Tuple

import libcst as cst

from poollint import names
from poollint.gate import SESSIONMAKER_CALLS, SourceView
from poollint.project import ProjectIndex, index_table, is_test_module
from poollint.rule import Fix, FixAvailability, FixSafety, Invalid, PoolRule, Valid
from poollint.rules._call_args import with_keywords


class AsyncExpireOnCommit(PoolRule):
    """
    ## What it does
    Flags `async_sessionmaker(...)`, and `sessionmaker(..., class_=AsyncSession)`,
    that do not pass `expire_on_commit`, so the sessions they make expire every
    loaded object on commit. Any explicit value is left alone (a deliberate
    `expire_on_commit=True` is a decision), and so is a call given `**kwargs`
    or a factory whose `.configure(...)` is called elsewhere in the project,
    which may set it. Test code (`tests/`, `test_*.py`, `conftest.py`) is
    skipped: a test suite builds factories to exercise defaults, or mirrors
    the application's own, where the finding belongs.

    ## Why is this bad?
    After `await session.commit()` an expired object reloads its attributes
    on first access. In async code that reload is implicit I/O, which
    SQLAlchemy cannot do behind an attribute access: `user.name` after the
    commit raises `MissingGreenlet: greenlet_spawn has not been called`,
    typically in FastAPI's response serialisation, after the route returned.
    Code that works around it with a `refresh()` per object pays a round trip
    (and a pooled connection) for data it already had. SQLAlchemy's asyncio
    documentation recommends `expire_on_commit=False` for async sessions.

    ## Example
    ```python
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    engine = create_async_engine("postgresql+asyncpg://app@db/shop")
    SessionLocal = async_sessionmaker(engine)
    ```

    ## Use instead
    ```python
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    engine = create_async_engine("postgresql+asyncpg://app@db/shop")
    SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
    ```

    ## Fix safety
    The fix adds `expire_on_commit=False` after the existing arguments, in the
    call's own layout. It is unsafe because it changes what objects hold
    after a commit: they keep the values they had instead of reloading them,
    so values the database sets on commit (server defaults, triggers,
    columns another transaction changed) are not seen until a `refresh()`.
    """

    @classmethod
    def may_fire(cls, view: "SourceView", index: "ProjectIndex") -> bool:
        return view.calls_any(SESSIONMAKER_CALLS)


    CODE = "POL404"
    NAME = "async-expire-on-commit"
    MESSAGE = (
        "{call}(){name} leaves expire_on_commit=True: reading an object's attribute after "
        "commit reloads it with implicit I/O, which fails in async code (MissingGreenlet)"
    )
    FIX_TITLE = "Add `expire_on_commit=False`"
    FIX_AVAILABILITY = FixAvailability.ALWAYS
    TRIGGERS = ("async_sessionmaker", "AsyncSession")

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.targets: Dict[cst.CSTNode, str] = {}
        # (call, how it is spelled, the module-level name it is bound to)
        self.pending: List[Tuple[cst.Call, str, Optional[str]]] = []
        # Names whose `.configure()` may set expire_on_commit in this module.
        self.configured: Set[str] = set()

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self.targets[node.value] = node.targets[0].target.value

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None and isinstance(node.target, cst.Name):
            self.targets[node.value] = node.target.value

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "configure" and isinstance(func.value, cst.Name):
            if any(arg.star == "**" or _keyword(arg) == "expire_on_commit" for arg in node.args):
                self.configured.add(func.value.value)
            return
        spelled = self._async_factory(node)
        if spelled is None:
            return
        if any(arg.star or _keyword(arg) == "expire_on_commit" for arg in node.args):
            return
        name = self.targets.get(node) if len(self.ctx.scopes) == 1 else None
        self.pending.append((node, spelled, name))

    def _async_factory(self, node: cst.Call) -> Optional[str]:
        """How the call is spelled, when it makes a factory of async sessions."""
        qualified = self.ctx.qualified_name(node.func)
        if qualified in names.ASYNC_SESSIONMAKERS:
            return "async_sessionmaker"
        if qualified in names.SESSIONMAKERS:
            for arg in node.args:
                if _keyword(arg) == "class_" and self.ctx.qualified_name(arg.value) in names.ASYNC_SESSION_CLASSES:
                    return "sessionmaker"
        return None

    def leave_Module(self, original_node: cst.Module) -> None:
        if is_test_module(self.ctx.facts.module):
            # Test suites build factories to test defaults, or mirror the
            # application's, which is where the finding belongs.
            return
        for node, spelled, name in self.pending:
            if name is not None and (name in self.configured or self._configured_elsewhere(name)):
                continue
            self.report(
                node,
                fix=Fix(
                    node=node,
                    replacement=with_keywords(node, [("expire_on_commit", False)]),
                    # Objects keep their pre-commit values instead of reloading them.
                    safety=FixSafety.UNSAFE,
                ),
                call=spelled,
                name=f" `{name}`" if name else "",
            )

    def _configured_elsewhere(self, name: str) -> bool:
        """Whether a function anywhere calls `<this factory>.configure(...)`."""
        return self.ctx.index.table("factory_configured", self.ctx.facts.module, name)  # type: ignore[no-any-return]

    VALID = [
        Valid(
            """
            from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

            engine = create_async_engine("postgresql+asyncpg://app@db/shop")
            SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
            """
        ),
        Valid(
            """
            from sqlalchemy.ext.asyncio import async_sessionmaker

            # An explicit True is a decision: the code refreshes what it reads.
            SessionLocal = async_sessionmaker(expire_on_commit=True)
            """
        ),
        Valid(
            """
            from sqlalchemy.orm import sessionmaker

            # A sync factory: expired objects reload on access as they should.
            SessionLocal = sessionmaker()
            """
        ),
        Valid(
            """
            from sqlalchemy.ext.asyncio import async_sessionmaker

            from app.config import SESSION_OPTIONS

            SessionLocal = async_sessionmaker(**SESSION_OPTIONS)
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

            engine = create_async_engine("postgresql+asyncpg://app@db/shop")
            SessionLocal = async_sessionmaker(engine)
            """,
            expected_replacement="""
            from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

            engine = create_async_engine("postgresql+asyncpg://app@db/shop")
            SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
            """,
            unsafe_fixes=True,
        ),
        Invalid(
            """
            from sqlalchemy.ext.asyncio import AsyncSession
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker(
                bind=engine,
                class_=AsyncSession,
            )
            """,
            expected_replacement="""
            from sqlalchemy.ext.asyncio import AsyncSession
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker(
                bind=engine,
                class_=AsyncSession,
                expire_on_commit=False,
            )
            """,
            unsafe_fixes=True,
        ),
        Invalid(
            """
            from sqlalchemy.ext import asyncio as sa_asyncio

            factory = sa_asyncio.async_sessionmaker()
            """,
            # Without --unsafe-fixes the code stays as it is.
        ),
    ]


def _keyword(arg: cst.Arg) -> Optional[str]:
    return arg.keyword.value if arg.keyword is not None else None


@index_table("configured_factories")
def _configured_factories(index: ProjectIndex) -> FrozenSet[Tuple[str, str]]:
    """(module, name) of every factory some function calls `.configure(...)` on."""
    found = set()
    for other in index.modules.values():
        for fn in other.functions.values():
            for callee in fn.calls:
                if not callee.endswith(".configure"):
                    continue
                resolved = index.resolve(callee)
                if resolved is not None:
                    found.add((resolved[0].module, resolved[1]))
    return frozenset(found)


@index_table("factory_configured")
def _factory_configured(index: ProjectIndex, module: str, name: str) -> bool:
    # Asked per factory: a cached file depends on its own factories only.
    return (module, name) in index.table("configured_factories")
