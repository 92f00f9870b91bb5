"""Qualified names of the FastAPI and SQLAlchemy symbols poollint understands.

Each set lists the public spelling and the defining module's spelling, since
code imports from either (`from sqlalchemy.orm import Session` and
`from sqlalchemy.orm.session import Session` are the same class).
"""

from __future__ import annotations

import builtins

# The builtins of the running Python, plus those newer Pythons added that the
# rules look for: the checked code may target a newer Python than the one
# poollint runs on (`anext` and `aiter` are builtins from 3.10 on).
BUILTINS = frozenset(dir(builtins)) | frozenset({"aiter", "anext", "EncodingWarning", "ExceptionGroup", "BaseExceptionGroup"})

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


# ORM objects (POL211, and the helpers pass 1 follows for it: FunctionFact.orm_result).
SELECTS = frozenset(
    {
        "sqlalchemy.select",
        "sqlalchemy.sql.select",
        "sqlalchemy.sql.expression.select",
        "sqlalchemy.future.select",
        "sqlmodel.select",
        "sqlmodel.sql.expression.select",
    }
)
ALIASED = frozenset({"sqlalchemy.orm.aliased", "sqlalchemy.orm.util.aliased"})
# Generative calls after which a select() or a Query still returns its first
# entity (`select(Order).where(...).limit(1)`); anything else
# (`with_only_columns`, `add_columns`, `subquery`...) may not.
ORM_KEEPS = frozenset(
    {
        "where",
        "filter",
        "filter_by",
        "order_by",
        "join",
        "join_from",
        "outerjoin",
        "outerjoin_from",
        "options",
        "limit",
        "offset",
        "fetch",
        "distinct",
        "group_by",
        "having",
        "with_for_update",
        "execution_options",
        "select_from",
        "params",
        "populate_existing",
    }
)
# (what the receiver is, method) -> what the call gives: "query" is
# `db.query(Order)`, "result" `db.execute(select(Order))`, "scalars"
# `db.scalars(select(Order))`; "instance" one object, "list" a list of them.
ORM_RESULT_STEPS = {
    ("query", "first"): "instance",
    ("query", "one"): "instance",
    ("query", "one_or_none"): "instance",
    ("query", "get"): "instance",
    ("query", "all"): "list",
    ("result", "scalar"): "instance",
    ("result", "scalar_one"): "instance",
    ("result", "scalar_one_or_none"): "instance",
    ("result", "scalars"): "scalars",  # without arguments: scalars(1) is another column
    ("result", "unique"): "result",
    ("scalars", "first"): "instance",
    ("scalars", "one"): "instance",
    ("scalars", "one_or_none"): "instance",
    ("scalars", "all"): "list",
    ("scalars", "fetchall"): "list",
    ("scalars", "unique"): "scalars",
}
# Class methods building an instance of their class (SQLModel, Pydantic).
ORM_CONSTRUCTORS = frozenset({"model_validate", "from_orm"})
