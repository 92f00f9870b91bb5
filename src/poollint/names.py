"""Qualified names of the FastAPI and SQLAlchemy symbols poollint understands.

Each set lists the public spelling and the defining module's spelling, since
code imports from either (`from sqlalchemy.orm import Session` and
`from sqlalchemy.orm.session import Session` are the same class).
"""

from __future__ import annotations

import builtins

BUILTINS = frozenset(dir(builtins))

FASTAPI_APPS = frozenset({"fastapi.FastAPI", "fastapi.applications.FastAPI"})
API_ROUTERS = frozenset({"fastapi.APIRouter", "fastapi.routing.APIRouter"})
DEPENDS = frozenset(
    {
        "fastapi.Depends",
        "fastapi.Security",
        "fastapi.params.Depends",
        "fastapi.params.Security",
        "fastapi.param_functions.Depends",
        "fastapi.param_functions.Security",
    }
)
ANNOTATED = frozenset({"typing.Annotated", "typing_extensions.Annotated"})

CREATE_ENGINE = frozenset(
    {
        "sqlalchemy.create_engine",
        "sqlalchemy.engine.create_engine",
        "sqlalchemy.engine.create.create_engine",
        "sqlmodel.create_engine",
    }
)
CREATE_ASYNC_ENGINE = frozenset(
    {"sqlalchemy.ext.asyncio.create_async_engine", "sqlalchemy.ext.asyncio.engine.create_async_engine"}
)
SESSIONMAKERS = frozenset({"sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.session.sessionmaker"})
ASYNC_SESSIONMAKERS = frozenset(
    {"sqlalchemy.ext.asyncio.async_sessionmaker", "sqlalchemy.ext.asyncio.session.async_sessionmaker"}
)
SESSION_CLASSES = frozenset(
    {
        "sqlalchemy.orm.Session",
        "sqlalchemy.orm.session.Session",
        "sqlmodel.Session",
        "sqlmodel.orm.session.Session",
    }
)
ASYNC_SESSION_CLASSES = frozenset(
    {
        "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlalchemy.ext.asyncio.session.AsyncSession",
        "sqlmodel.ext.asyncio.session.AsyncSession",
    }
)
SYNC_CONNECTION_CLASSES = frozenset(
    {"sqlalchemy.engine.Connection", "sqlalchemy.engine.base.Connection", "sqlalchemy.Connection"}
)
ASYNC_CONNECTION_CLASSES = frozenset(
    {"sqlalchemy.ext.asyncio.AsyncConnection", "sqlalchemy.ext.asyncio.engine.AsyncConnection"}
)
SYNC_ENGINE_CLASSES = frozenset({"sqlalchemy.engine.Engine", "sqlalchemy.engine.base.Engine", "sqlalchemy.Engine"})
NULL_POOLS = frozenset(
    {
        "sqlalchemy.pool.NullPool",
        "sqlalchemy.pool.impl.NullPool",
        "sqlalchemy.NullPool",
        "sqlalchemy.pool.StaticPool",
        "sqlalchemy.pool.impl.StaticPool",
        "sqlalchemy.StaticPool",
    }
)

# Methods of Session, AsyncSession, Connection and Engine that talk to the
# database (or check a connection out of the pool to do so).
SESSION_IO_METHODS = frozenset(
    {
        "execute",
        "query",
        "scalar",
        "scalars",
        "get",
        "get_one",
        "commit",
        "flush",
        "refresh",
        "merge",
        "rollback",
        "connection",
        "exec",  # SQLModel
    }
)
CONNECTION_IO_METHODS = frozenset(
    {"execute", "exec_driver_sql", "scalar", "scalars", "commit", "rollback"}
)
ENGINE_IO_METHODS = frozenset({"connect", "begin", "execute", "raw_connection"})
DATABASE_IO_METHODS = SESSION_IO_METHODS | CONNECTION_IO_METHODS | ENGINE_IO_METHODS


# Called names the gates (gate.py) check against the syntax tree rather than
# the text: a docstring showing `create_engine(...)` calls nothing. Pass 1
# records which of them the module really calls.
GATE_CALL_NAMES = frozenset(
    name.rsplit(".", 1)[-1] for name in CREATE_ENGINE | CREATE_ASYNC_ENGINE | SESSIONMAKERS | ASYNC_SESSIONMAKERS
) | {"create"}
