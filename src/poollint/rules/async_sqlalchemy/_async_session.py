"""What the POL4xx rules share about AsyncSession, AsyncConnection and AsyncEngine."""

from __future__ import annotations

from typing import Dict, FrozenSet, Optional

import libcst as cst

from poollint.context import FileContext
from poollint.project import Resource

# Methods that are `async def` (or return an awaitable that does nothing until
# awaited) in SQLAlchemy 2.x, per kind of async resource. `begin()`,
# `begin_nested()` and `connect()` are left out: they return objects that are
# also async context managers, so `async with engine.connect()` is right.
ASYNC_SESSION_COROUTINES = frozenset(
    {
        "execute",
        "scalar",
        "scalars",
        "get",
        "get_one",
        "stream",
        "stream_scalars",
        "delete",
        "delete_all",
        "merge",
        "merge_all",
        "flush",
        "refresh",
        "run_sync",
        "connection",
        "commit",
        "rollback",
        "close",
        "aclose",
        "reset",
        "invalidate",
        "exec",  # SQLModel's AsyncSession
    }
)
ASYNC_CONNECTION_COROUTINES = frozenset(
    {
        "execute",
        "scalar",
        "scalars",
        "exec_driver_sql",
        "stream",
        "stream_scalars",
        "run_sync",
        "commit",
        "rollback",
        "close",
        "aclose",
        "invalidate",
        "get_raw_connection",
        "get_isolation_level",
        "execution_options",
        "start",
    }
)
ASYNC_ENGINE_COROUTINES = frozenset({"dispose", "raw_connection"})

COROUTINE_METHODS: Dict[str, FrozenSet[str]] = {
    "session": ASYNC_SESSION_COROUTINES,
    "connection": ASYNC_CONNECTION_COROUTINES,
    "engine": ASYNC_ENGINE_COROUTINES,
}


def async_resource(ctx: FileContext, expr: cst.BaseExpression) -> Optional[Resource]:
    """The async session, connection or engine `expr` is, when the index says so."""
    resource = ctx.resource(expr)
    if resource is None or not resource.is_async:
        return None
    return resource


def is_coroutine_method(resource: Resource, method: str) -> bool:
    return method in COROUTINE_METHODS.get(resource.kind, frozenset())


def short_code(module: cst.Module, node: cst.CSTNode, limit: int = 40) -> str:
    text = " ".join(module.code_for_node(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
