"""POL301: create_engine()/create_async_engine() for a server database without the required pool settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from poollint import names
from poollint.context import Scope
from poollint.project import is_test_module
from poollint.rule import Fix, FixAvailability, FixSafety, Invalid, PoolRule, Valid
from poollint.rules._call_args import with_keywords
from poollint.urls import url_scheme

# Dialects whose engines get a QueuePool (AsyncAdaptedQueuePool for
# create_async_engine) unless told otherwise, so pool_size & co. apply.
# A literal URL of any other dialect (duckdb, bigquery...) is left alone:
# its pool may not take these arguments at all.
SERVER_DIALECTS = frozenset(
    {"postgresql", "mysql", "mariadb", "oracle", "mssql", "cockroachdb", "redshift", "tidb"}
)
QUEUE_POOLS = frozenset(
    {
        "sqlalchemy.pool.QueuePool",
        "sqlalchemy.pool.impl.QueuePool",
        "sqlalchemy.QueuePool",
        "sqlalchemy.pool.AsyncAdaptedQueuePool",
        "sqlalchemy.pool.impl.AsyncAdaptedQueuePool",
        "sqlalchemy.AsyncAdaptedQueuePool",
    }
)
# Builders whose first argument (or drivername=) names the dialect.
URL_BUILDERS = frozenset(
    {
        "sqlalchemy.URL.create",
        "sqlalchemy.engine.URL.create",
        "sqlalchemy.engine.url.URL.create",
        "sqlalchemy.make_url",
        "sqlalchemy.engine.make_url",
        "sqlalchemy.engine.url.make_url",
    }
)
# How many assignments are followed back from the URL argument
# (`URL = BASE_URL` then `BASE_URL = "postgresql://..."`).
_MAX_HOPS = 4


@dataclass
class _Url:
    """What is known of the URL an engine is created for."""

    # Literal templates the URL may be (`{}` for parts only known at run time).
    literals: List[str] = field(default_factory=list)
    # Some value of it is only known at run time (settings, environment...).
    runtime: bool = False
    # Source text that feeds the URL, searched for sqlite hints.
    texts: List[str] = field(default_factory=list)

    def schemes(self) -> List[Optional[str]]:
        return [url_scheme(literal) for literal in self.literals]


# A recorded value of a name: an expression of this file, or the string
# constant of another module's name.
_Value = Union[cst.BaseExpression, str, None]


class MissingPoolSettings(PoolRule):
    """
    ## What it does
    Flags `create_engine()` and `create_async_engine()` calls for a pooled
    server database (PostgreSQL, MySQL, MariaDB, SQL Server, Oracle...) that do
    not set every pool setting the project requires: by default `pool_size`,
    `max_overflow`, `pool_recycle` and `pool_pre_ping` (configurable with
    `required-settings` in `[tool.poollint.pool]`).

    It stays silent for SQLite URLs (a literal URL, or a URL expression that
    mentions sqlite, or `connect_args` with `check_same_thread`), for a
    `poolclass=` other than QueuePool/AsyncAdaptedQueuePool (NullPool and
    StaticPool take none of these settings), where `**kwargs` may carry the
    settings, and for an engine created inside a route or dependency (POL302's
    case: creating it per request is the problem). Inside other functions it
    checks only engines that outlive the call (returned, stored on an
    attribute, bound to a global): a script's throwaway engine serves one
    call. Test code (`tests/`, `test_*.py`, `conftest.py`) is skipped. A URL
    read from settings or the environment is still checked: the pool settings
    are missing whatever server it names.

    ## Why is this bad?
    SQLAlchemy's defaults are tuned for nothing in particular: 5 pooled
    connections plus 10 overflow per process, connections kept forever, and no
    check that a connection is still alive before handing it out. Behind a
    firewall, PgBouncer or a managed database that drops idle connections, the
    first request after a quiet spell gets a dead connection (`server closed
    the connection unexpectedly`); under load, every worker opens up to 15
    connections whether the database can take them or not. Writing the values
    down makes the pool's size part of the capacity plan, and `pool_recycle` /
    `pool_pre_ping` replace dead connections before a request trips over them.

    ## Example
    ```python
    from sqlalchemy import create_engine

    engine = create_engine("postgresql+psycopg://app@db/shop")
    ```

    ## Use instead
    ```python
    from sqlalchemy import create_engine

    engine = create_engine(
        "postgresql+psycopg://app@db/shop",
        pool_size=5,
        max_overflow=10,
        pool_recycle=1800,
        pool_pre_ping=True,
    )
    ```

    ## Fix safety
    The fix adds the missing keyword arguments, with the values configured in
    `[tool.poollint.pool]` (default `pool_size=5`, `max_overflow=10`,
    `pool_timeout=30`, `pool_recycle=1800`, `pool_pre_ping=True`), after the
    existing arguments and in the call's own layout. It is safe only when every
    value it adds is SQLAlchemy's own default (`pool_size=5`,
    `max_overflow=10`, `pool_timeout=30`) and the pool is known to be a
    QueuePool (a literal server URL, or `poolclass=QueuePool`): then the engine
    behaves exactly as before. It is unsafe otherwise: `pool_recycle` and
    `pool_pre_ping` change when connections are replaced, a configured size
    changes how many connections the process may open, and for a URL only known
    at run time the engine may turn out to be an in-memory SQLite one, whose
    pool rejects `max_overflow` and `pool_timeout` with a TypeError.
    """

    CODE = "POL301"
    NAME = "missing-pool-settings"
    MESSAGE = "{call}() for {database} leaves {missing} at {defaults}"
    FIX_TITLE = "Add the missing pool settings"
    FIX_AVAILABILITY = FixAvailability.ALWAYS
    TRIGGERS = ("create_engine", "create_async_engine")
    OPTIONS = (
        (
            "`required-settings` in `[tool.poollint.pool]`",
            "the settings every pooled engine must set; default "
            '`["pool_size", "max_overflow", "pool_recycle", "pool_pre_ping"]`',
        ),
        (
            "`pool_size`, `max_overflow`, `pool_timeout`, `pool_recycle`, `pool_pre_ping` in `[tool.poollint.pool]`",
            "the values the fix writes; default 5, 10, 30, 1800, true",
        ),
    )

    VALID = [
        Valid(
            """
            from sqlalchemy import create_engine

            SQLALCHEMY_DATABASE_URL = "sqlite:///./sql_app.db"
            engine = create_engine(SQLALCHEMY_DATABASE_URL, connect_args={"check_same_thread": False})
            """
        ),
        Valid(
            """
            from sqlalchemy import create_engine
            from sqlalchemy.pool import NullPool

            # PgBouncer in transaction mode does the pooling.
            engine = create_engine("postgresql://app@pgbouncer/shop", poolclass=NullPool)
            """
        ),
        Valid(
            """
            import sqlalchemy as sa

            engine = sa.create_engine(
                "postgresql://app@db/shop",
                pool_size=10,
                max_overflow=5,
                pool_recycle=900,
                pool_pre_ping=True,
            )
            """
        ),
        Valid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.config import settings

            engine = create_async_engine(settings.DATABASE_URL, **settings.ENGINE_OPTIONS)
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from sqlalchemy import create_engine

            engine = create_engine("postgresql+psycopg://app@db/shop")
            """,
            expected_replacement="""
            from sqlalchemy import create_engine

            engine = create_engine("postgresql+psycopg://app@db/shop", pool_size=5, max_overflow=10, pool_recycle=1800, pool_pre_ping=True)
            """,
            unsafe_fixes=True,
        ),
        Invalid(
            """
            import sqlalchemy as sa

            from app.config import settings

            engine = sa.create_engine(
                settings.DATABASE_URL,
                pool_size=10,
            )
            """,
            expected_replacement="""
            import sqlalchemy as sa

            from app.config import settings

            engine = sa.create_engine(
                settings.DATABASE_URL,
                pool_size=10,
                max_overflow=10,
                pool_recycle=1800,
                pool_pre_ping=True,
            )
            """,
            unsafe_fixes=True,
        ),
        Invalid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine("postgresql+asyncpg://app@db/shop", pool_pre_ping=True)
            """,
            expected_replacement="""
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine("postgresql+asyncpg://app@db/shop", pool_pre_ping=True, pool_size=5, max_overflow=10, pool_recycle=1800)
            """,
            unsafe_fixes=True,
        ),
        # pool_recycle and pool_pre_ping change behaviour: `--fix` alone leaves it.
        Invalid(
            """
            from sqlmodel import create_engine

            DATABASE_URL = "mysql+pymysql://app@db/shop"
            engine = create_engine(DATABASE_URL, echo=True)
            """
        ),
    ]

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        # Values assigned to names, per scope node (module, class or function),
        # so that `URL = "sqlite://"` then `create_engine(URL)` is understood,
        # whatever the order of definitions in the file.
        self.assigned: Dict[Tuple[cst.CSTNode, str], List[_Value]] = {}
        # Engine calls, judged once the whole file has been seen.
        self.pending: List[Tuple[cst.Call, str, Scope, Optional[Scope]]] = []
        # Inside a function, an engine is checked only when it outlives the
        # call: returned or yielded, stored on an attribute or in a container,
        # or bound to a global, directly or through the local name it is
        # assigned to. One that is used and dropped (a migration or reaper
        # script's engine) serves one call: pool sizes, recycling and pings
        # do not matter for it.
        self.escape_depth = 0
        self.escaping_calls: Set[cst.Call] = set()
        self.engine_locals: Dict[cst.Call, List[Tuple[cst.CSTNode, str]]] = {}
        self.watched: Set[Tuple[cst.CSTNode, str]] = set()
        self.escaped: Set[Tuple[cst.CSTNode, str]] = set()
        # `return eng.dialect.name` returns something of the engine's, not the engine.
        self.receivers: Set[cst.CSTNode] = set()

    # -- collecting --------------------------------------------------------------
    def _record(self, target: cst.BaseExpression, value: _Value) -> None:
        if isinstance(target, cst.Name):
            key = (self.ctx.scopes[-1].node, target.value)
            self.assigned.setdefault(key, []).append(value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._record(target.target, node.value)
        if _stores_outside(node):
            self.escape_depth += 1
            return
        function = self.ctx.function()
        if (
            function is not None
            and function.kind == "function"
            and isinstance(node.value, cst.Call)
            and self._is_engine_call(node.value)
        ):
            keys = [(function.node, t.target.value) for t in node.targets if isinstance(t.target, cst.Name)]
            self.engine_locals[node.value] = keys
            self.watched.update(keys)

    def leave_Assign(self, original_node: cst.Assign) -> None:
        if _stores_outside(original_node):
            self.escape_depth -= 1

    def visit_Return(self, node: cst.Return) -> None:
        self.escape_depth += 1

    def leave_Return(self, original_node: cst.Return) -> None:
        self.escape_depth -= 1

    def visit_Yield(self, node: cst.Yield) -> None:
        self.escape_depth += 1

    def leave_Yield(self, original_node: cst.Yield) -> None:
        self.escape_depth -= 1

    def visit_Global(self, node: cst.Global) -> None:
        self._outlives_call(node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self._outlives_call(node.names)

    def _outlives_call(self, declared: Sequence[cst.NameItem]) -> None:
        function = self.ctx.function()
        if function is not None:
            self.escaped.update((function.node, item.name.value) for item in declared)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if self.escape_depth and self.watched:
            self.receivers.add(node.value)

    def visit_Name(self, node: cst.Name) -> None:
        if self.escape_depth and self.watched and node not in self.receivers:
            function = self.ctx.function()
            if function is not None and (function.node, node.value) in self.watched:
                self.escaped.add((function.node, node.value))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._record(node.target, node.value)
        if not isinstance(node.target, cst.Name):
            self.escape_depth += 1

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        if not isinstance(original_node.target, cst.Name):
            self.escape_depth -= 1

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._record(node.target, None)

    def _is_engine_call(self, node: cst.Call) -> bool:
        qualified = self.ctx.qualified_name(node.func)
        return qualified in names.CREATE_ENGINE or qualified in names.CREATE_ASYNC_ENGINE

    def visit_Call(self, node: cst.Call) -> None:
        qualified = self.ctx.qualified_name(node.func)
        if qualified in names.CREATE_ENGINE or qualified in names.CREATE_ASYNC_ENGINE:
            call = "create_async_engine" if qualified in names.CREATE_ASYNC_ENGINE else "create_engine"
            self.pending.append((node, call, self.ctx.scopes[-1], self.ctx.function()))
            if self.escape_depth:
                self.escaping_calls.add(node)

    def leave_Module(self, original_node: cst.Module) -> None:
        if is_test_module(self.ctx.facts.module):
            return  # a test database's pool serves no traffic
        for node, call, scope, function in self.pending:
            self._check(node, call, scope, function)

    # -- judging -----------------------------------------------------------------
    def _check(self, node: cst.Call, call: str, scope: Scope, function: Optional[Scope]) -> None:
        if function is not None and function.kind == "function":
            # TODO(#3): POL302 (engine-per-request) reports these; an engine
            # made per request has a bigger problem than its settings.
            if self.ctx.index.runs_per_request(self.ctx.facts.module, function.qualname):
                return
            if not self._outlives(node):
                return
        url_arg: Optional[cst.BaseExpression] = None
        given = set()
        poolclass: Optional[cst.BaseExpression] = None
        for position, arg in enumerate(node.args):
            if arg.star:
                # `*args` / `**settings` may carry the URL or the pool settings.
                return
            if arg.keyword is None:
                if position == 0:
                    url_arg = arg.value
                continue
            given.add(arg.keyword.value)
            if arg.keyword.value == "url":
                url_arg = arg.value
            elif arg.keyword.value == "poolclass":
                poolclass = arg.value
            elif arg.keyword.value == "pool":
                # A ready-made pool: its settings were given where it was built.
                return
        if url_arg is None:
            return
        explicit_queue_pool = False
        if poolclass is not None:
            if self.ctx.qualified_name(poolclass) not in QUEUE_POOLS:
                # NullPool/StaticPool take none of these; other pools take others.
                return
            explicit_queue_pool = True
        missing = [key for key in self.ctx.settings.pool.required if key not in given]
        if not missing:
            return
        call_text = self.ctx.module.code_for_node(node).lower()
        if "sqlite" in call_text or "check_same_thread" in call_text:
            return
        url = _Url()
        self._explore(url_arg, scope, function, url, 0)
        if any("sqlite" in text.lower() for text in url.texts):
            return
        schemes = url.schemes()
        dialects = {scheme.split("+", 1)[0].lower() if scheme else None for scheme in schemes}
        if None in dialects:
            # A literal that names no dialect, or one built from parts.
            url.runtime = True
            dialects.discard(None)
        if not dialects <= SERVER_DIALECTS:
            return
        if url.runtime or not schemes:
            database = _describe_runtime(url_arg, self.ctx.module)
        else:
            database = " or ".join(sorted({s for s in schemes if s}))
        settings = self.ctx.settings.pool
        safe = all(settings.value_is_sqlalchemy_default(key) for key in missing) and (
            explicit_queue_pool or not url.runtime
        )
        self.report(
            node,
            fix=Fix(
                node=node,
                replacement=with_keywords(node, [(key, settings.values[key]) for key in missing]),
                # Spelling out SQLAlchemy's own QueuePool defaults changes
                # nothing; anything else changes how the pool behaves, and a
                # run-time URL may name an in-memory SQLite database whose
                # SingletonThreadPool rejects max_overflow and pool_timeout.
                safety=FixSafety.SAFE if safe else FixSafety.UNSAFE,
            ),
            call=call,
            database=database,
            missing=", ".join(missing),
            defaults="its default" if len(missing) == 1 else "their defaults",
        )

    def _outlives(self, node: cst.Call) -> bool:
        """Whether an engine made in a function is kept after the call returns."""
        if node in self.escaping_calls:
            return True
        return any(key in self.escaped for key in self.engine_locals.get(node, ()))

    def _explore(
        self, expr: cst.BaseExpression, scope: Scope, function: Optional[Scope], url: _Url, hops: int
    ) -> None:
        """Follow the URL expression back to the literals and names it is built from."""
        url.texts.append(self.ctx.module.code_for_node(expr))
        literal = _literal_template(expr)
        if literal is not None:
            url.literals.append(literal)
            return
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
            # The dialect is at the start: `"postgresql://" + rest`, `BASE + "/db"`.
            self._explore(expr.left, scope, function, url, hops)
            return
        if isinstance(expr, cst.Call):
            if self.ctx.qualified_name(expr.func) in URL_BUILDERS:
                driver = _builder_driver(expr)
                if driver is not None:
                    url.literals.append(driver + "://")
                    return
            url.runtime = True
            return
        if isinstance(expr, (cst.Name, cst.Attribute)) and hops < _MAX_HOPS:
            if isinstance(expr, cst.Name):
                values = self._values_of(expr, scope, function)
            else:
                values = self._imported_values(expr)
            if values:
                for value in values:
                    if value is None:
                        url.runtime = True
                    elif isinstance(value, str):
                        url.texts.append(value)
                        url.literals.append(value)
                    else:
                        self._explore(value, scope, function, url, hops + 1)
                return
        url.runtime = True

    def _values_of(self, name: cst.Name, scope: Scope, function: Optional[Scope]) -> Optional[Sequence[_Value]]:
        """The values a name may hold where the engine is created; None when unknown."""
        if function is not None:
            if function.kind == "lambda":
                return None if name.value in function.params else self._module_values(name)
            if function.fact is None:
                return None
            if name.value in function.fact.local_names:
                # Parameters and closures have no recorded value: unknown.
                return self.assigned.get((function.node, name.value))
        elif scope.kind == "class" and (scope.node, name.value) in self.assigned:
            return self.assigned[(scope.node, name.value)]
        return self._module_values(name)

    def _module_values(self, name: cst.Name) -> Optional[Sequence[_Value]]:
        own = self.assigned.get((self.ctx.module, name.value))
        if own is not None:
            return own
        if name.value in self.ctx.facts.kinds:
            return None
        return self._imported_values(name)

    def _imported_values(self, expr: cst.BaseExpression) -> Optional[Sequence[_Value]]:
        """The string constant an imported name (`URL`, `config.URL`) is bound to."""
        found = self.ctx.index.resolve(self.ctx.qualified_name(expr))
        if found is None or found[2]:
            return None
        facts, defined, _ = found
        constant = facts.string_constants.get(defined)
        return [constant] if constant is not None else None


def _stores_outside(node: cst.Assign) -> bool:
    """`self.engine = ...`, `registry["db"] = ...`: the value outlives the function."""
    return any(not isinstance(target.target, cst.Name) for target in node.targets)


def _literal_template(expr: cst.BaseExpression) -> Optional[str]:
    """A string literal's value; an f-string's literal parts with `{}` for each field."""
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(expr, cst.ConcatenatedString):
        left = _literal_template(expr.left)
        right = _literal_template(expr.right)
        return left + right if left is not None and right is not None else None
    if isinstance(expr, cst.FormattedString):
        parts = []
        for part in expr.parts:
            parts.append(part.value if isinstance(part, cst.FormattedStringText) else "{}")
        return "".join(parts)
    return None


def _builder_driver(call: cst.Call) -> Optional[str]:
    """The drivername of `URL.create("postgresql+psycopg", ...)` / `make_url("...")`."""
    target: Optional[cst.BaseExpression] = call.args[0].value if call.args and not call.args[0].keyword else None
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in ("drivername", "name_or_url"):
            target = arg.value
    literal = _literal_template(target) if target is not None else None
    if literal is None:
        return None
    return literal.partition("://")[0]


def _describe_runtime(expr: cst.BaseExpression, module: cst.Module) -> str:
    """How the message names a URL only known at run time; never its value."""
    inner = expr
    if (
        isinstance(inner, cst.Call)
        and isinstance(inner.func, cst.Name)
        and inner.func.value == "str"
        and len(inner.args) == 1
    ):
        inner = inner.args[0].value
    if isinstance(inner, (cst.Name, cst.Attribute)):
        dotted = module.code_for_node(inner)
        if "\n" not in dotted and len(dotted) <= 60:
            return f"the URL in `{dotted}`"
    return "a URL built at run time"
