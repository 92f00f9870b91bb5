"""What the pool_config rules know of a create_engine()/create_async_engine() call.

`EngineCallRule` walks the file once for all of them: it records what names
are bound to (so that `URL = "sqlite://"` then `create_engine(URL)` is
understood, whatever the order of definitions), whether an engine made in a
function outlives the call, and every engine call, judged in `check()` once
the whole file has been seen. On top of that it answers the questions the
rules share: is this engine pooled (a QueuePool for a server database), what
URL literals feed it, and does it run on every request (POL302's case).
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field
from typing import ClassVar, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from poollint import names
from poollint.context import Scope, is_main_test
from poollint.facts import usable_number
from poollint.gate import ENGINE_CALLS, SourceView
from poollint.project import ProjectIndex, index_table, is_test_module
from poollint.rule import PoolRule
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
NULL_POOL = frozenset({"sqlalchemy.pool.NullPool", "sqlalchemy.pool.impl.NullPool", "sqlalchemy.NullPool"})
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
# Words naming a connection pooler in front of the database.
_POOLER_WORDS = (
    "pgbouncer",
    "pooler",
    "supavisor",
    "supabase",
    "pgcat",
    "rds proxy",
    "rds-proxy",
    "rds_proxy",
    ":6432",
    ":6543",
)
# How many assignments are followed back from the URL argument
# (`URL = BASE_URL` then `BASE_URL = "postgresql://..."`).
_MAX_HOPS = 4


@dataclass
class EngineUrl:
    """What is known of the URL an engine is created for."""

    # Literal templates the URL may be (`{}` for parts only known at run time).
    literals: List[str] = field(default_factory=list)
    # Some value of it is only known at run time (settings, environment...).
    runtime: bool = False
    # Source text that feeds the URL, searched for sqlite hints.
    texts: List[str] = field(default_factory=list)

    def schemes(self) -> List[Optional[str]]:
        return [url_scheme(literal) for literal in self.literals]

    def mentions_sqlite(self) -> bool:
        return any("sqlite" in text.lower() for text in self.texts)


@dataclass
class EngineCall:
    """One create_engine()/create_async_engine() call of the file."""

    node: cst.Call
    is_async: bool
    scope: Scope
    function: Optional[Scope]
    # Under `if __name__ == "__main__":`: a script's engine.
    in_main_block: bool = False
    # The module-level name it is assigned to (`engine = create_engine(...)`).
    target: Optional[str] = None
    # The statements the walk was in at the call: where a finding's position
    # is looked up (it is reported after the walk, from leave_Module).
    statements: Tuple[cst.CSTNode, ...] = ()

    @property
    def name(self) -> str:
        return "create_async_engine" if self.is_async else "create_engine"

    @property
    def url_arg(self) -> Optional[cst.BaseExpression]:
        found = None
        for position, arg in enumerate(self.node.args):
            if arg.keyword is None and not arg.star and position == 0:
                found = arg.value
            elif arg.keyword is not None and arg.keyword.value == "url":
                found = arg.value
        return found

    def keyword(self, name: str) -> Optional[cst.Arg]:
        for arg in self.node.args:
            if arg.keyword is not None and arg.keyword.value == name:
                return arg
        return None

    @property
    def keywords(self) -> Set[str]:
        return {arg.keyword.value for arg in self.node.args if arg.keyword is not None}

    @property
    def has_star_args(self) -> bool:
        return any(arg.star == "*" for arg in self.node.args)

    @property
    def has_star_kwargs(self) -> bool:
        return any(arg.star == "**" for arg in self.node.args)

    @property
    def in_function(self) -> bool:
        return self.function is not None and self.function.kind == "function"


@dataclass
class PooledEngine:
    """An engine known to get a QueuePool: pool_size, max_overflow & co. apply."""

    url: EngineUrl
    # `poolclass=QueuePool` is written out: the pool is a QueuePool whatever the URL.
    explicit_queue_pool: bool
    # How messages name the database: `postgresql+psycopg`, `the URL in `settings.URL``.
    database: str


# A recorded value of a name: an expression of this file, or the string
# constant of another module's name.
_Value = Union[cst.BaseExpression, str, None]


# What EngineCallRule's walk gathers (set in its __init__).
_GATHERED = (
    "assigned",
    "engine_calls",
    "main_bodies",
    "stored_calls",
    "returned_calls",
    "engine_locals",
    "watched",
    "stored_names",
    "returned_names",
    "receivers",
    "module_targets",
)


class EngineCallRule(PoolRule):
    """Base of the pool_config rules: collects the file's engine calls and
    hands each to `check()` once the walk has left the module."""

    @classmethod
    def may_fire(cls, view: "SourceView", index: "ProjectIndex") -> bool:
        return view.calls_any(ENGINE_CALLS)


    # Test code's engines serve no traffic: most pool rules leave them alone.
    CHECKS_TEST_MODULES = False
    # One walk gathers the engine calls for every pool_config rule of a file
    # (see engine._dispatch_tables); each rule still judges them itself.
    SHARES_WALK_OF: ClassVar[type]
    PER_RULE_HANDLERS: ClassVar[FrozenSet[str]] = frozenset({"leave_Module"})

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        # Values assigned to names, per scope node (module, class or function).
        self.assigned: Dict[Tuple[cst.CSTNode, str], List[_Value]] = {}
        self.engine_calls: List[EngineCall] = []
        self.main_bodies: Set[cst.CSTNode] = set()
        self.main_depth = 0
        # Whether an engine made in a function outlives the call: stored
        # (on an attribute, in a container, in a global) or returned/yielded,
        # directly or through the local name it is assigned to.
        self.store_depth = 0
        self.return_depth = 0
        self.stored_calls: Set[cst.Call] = set()
        self.returned_calls: Set[cst.Call] = set()
        self.engine_locals: Dict[cst.Call, List[Tuple[cst.CSTNode, str]]] = {}
        self.watched: Set[Tuple[cst.CSTNode, str]] = set()
        self.stored_names: Set[Tuple[cst.CSTNode, str]] = set()
        self.returned_names: Set[Tuple[cst.CSTNode, str]] = set()
        # `return eng.dialect.name` returns something of the engine's, not the engine.
        self.receivers: Set[cst.CSTNode] = set()
        # Module-level `name = <call>`: the name facts.engines knows the engine by.
        self.module_targets: Dict[cst.Call, str] = {}

    def check(self, engine: EngineCall) -> None:
        raise NotImplementedError

    # -- collecting --------------------------------------------------------------
    def _record(self, target: cst.BaseExpression, value: _Value) -> None:
        if isinstance(target, cst.Name):
            key = (self.ctx.scopes[-1].node, target.value)
            self.assigned.setdefault(key, []).append(value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._record(target.target, node.value)
        if _stores_outside(node):
            self.store_depth += 1
            return
        if self.ctx.scopes[-1].kind == "module" and len(node.targets) == 1:
            self._module_assignment(node.targets[0].target, node.value)
        function = self.ctx.function()
        if (
            function is not None
            and function.kind == "function"
            and isinstance(node.value, cst.Call)
            and self.is_engine_call(node.value)
        ):
            keys = [(function.node, t.target.value) for t in node.targets if isinstance(t.target, cst.Name)]
            self.engine_locals[node.value] = keys
            self.watched.update(keys)

    def leave_Assign(self, original_node: cst.Assign) -> None:
        if _stores_outside(original_node):
            self.store_depth -= 1

    def _module_assignment(self, target: cst.BaseExpression, value: Optional[cst.BaseExpression]) -> None:
        if isinstance(target, cst.Name) and isinstance(value, cst.Call):
            self.module_targets[value] = target.value

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._record(node.target, node.value)
        if self.ctx.scopes[-1].kind == "module":
            self._module_assignment(node.target, node.value)
        if not isinstance(node.target, cst.Name):
            self.store_depth += 1

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        if not isinstance(original_node.target, cst.Name):
            self.store_depth -= 1

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._record(node.target, None)

    def visit_Return(self, node: cst.Return) -> None:
        self.return_depth += 1

    def leave_Return(self, original_node: cst.Return) -> None:
        self.return_depth -= 1

    def visit_Yield(self, node: cst.Yield) -> None:
        self.return_depth += 1

    def leave_Yield(self, original_node: cst.Yield) -> None:
        self.return_depth -= 1

    def visit_Global(self, node: cst.Global) -> None:
        self._declared_outside(node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self._declared_outside(node.names)

    def _declared_outside(self, declared: Sequence[cst.NameItem]) -> None:
        function = self.ctx.function()
        if function is not None:
            self.stored_names.update((function.node, item.name.value) for item in declared)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if (self.store_depth or self.return_depth) and self.watched:
            self.receivers.add(node.value)

    def visit_Name(self, node: cst.Name) -> None:
        if not (self.store_depth or self.return_depth) or not self.watched or node in self.receivers:
            return
        function = self.ctx.function()
        if function is None:
            return
        key = (function.node, node.value)
        if key in self.watched:
            if self.store_depth:
                self.stored_names.add(key)
            if self.return_depth:
                self.returned_names.add(key)

    def visit_If(self, node: cst.If) -> None:
        if is_main_test(node.test):
            self.main_bodies.add(node.body)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        if node in self.main_bodies:
            self.main_depth += 1

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        if original_node in self.main_bodies:
            self.main_depth -= 1

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        if node in self.main_bodies:
            self.main_depth += 1

    def leave_SimpleStatementSuite(self, original_node: cst.SimpleStatementSuite) -> None:
        if original_node in self.main_bodies:
            self.main_depth -= 1

    def is_engine_call(self, node: cst.Call) -> bool:
        qualified = self.ctx.qualified_name(node.func)
        return qualified in names.CREATE_ENGINE or qualified in names.CREATE_ASYNC_ENGINE

    def visit_Call(self, node: cst.Call) -> None:
        qualified = self.ctx.qualified_name(node.func)
        if qualified in names.CREATE_ENGINE or qualified in names.CREATE_ASYNC_ENGINE:
            self.engine_calls.append(
                EngineCall(
                    node=node,
                    is_async=qualified in names.CREATE_ASYNC_ENGINE,
                    scope=self.ctx.scopes[-1],
                    function=self.ctx.function(),
                    in_main_block=self.main_depth > 0,
                    target=self.module_targets.get(node),
                    statements=tuple(self.ctx.statements),
                )
            )
            if self.store_depth:
                self.stored_calls.add(node)
            if self.return_depth:
                self.returned_calls.add(node)

    def leave_Module(self, original_node: cst.Module) -> None:
        leader = getattr(self, "walk_leader", None)
        if leader is not None:
            for name in _GATHERED:
                setattr(self, name, getattr(leader, name))
        if not self.CHECKS_TEST_MODULES and is_test_module(self.ctx.facts.module):
            return
        for engine in self.engine_calls:
            with self.ctx.reporting_from(engine.statements):
                self.check(engine)

    # -- questions the rules share -------------------------------------------------
    def outlives(self, engine: EngineCall) -> bool:
        """Whether an engine made in a function is kept after the call returns."""
        return self.stored(engine) or engine.node in self.returned_calls or any(
            key in self.returned_names for key in self.engine_locals.get(engine.node, ())
        )

    def stored(self, engine: EngineCall) -> bool:
        """Whether an engine made in a function is kept outside it: on an
        attribute, in a container, in a global (a lazily built singleton)."""
        return engine.node in self.stored_calls or any(
            key in self.stored_names for key in self.engine_locals.get(engine.node, ())
        )

    def pool_matters(self, engine: EngineCall) -> bool:
        """Whether the engine's pool settings matter: it is made at import, or
        in a function that keeps it (not on every request, POL302's case: the
        pool is thrown away after each request, so are its settings; nor a
        script's throwaway engine, whose pool serves one call)."""
        if not engine.in_function:
            return True
        return self.per_request(engine) is None and self.outlives(engine)

    def per_request(self, engine: EngineCall) -> Optional[str]:
        """Where an engine made on every request is made (`async route GET /x
        (f)`, `function make_engine (called from dependency get_db)`), or None.

        POL302 reports these; the other pool rules leave them to it. An engine
        kept outside the function (a lazily built singleton), or made in a
        memoized function or one reached only through one, is made once.
        """
        function = engine.function
        if function is None or function.kind != "function" or self.stored(engine):
            return None
        module = self.ctx.facts.module
        path = self.ctx.index.request_path(module, function.qualname)
        if path is None:
            return None
        where = self.ctx.describe(function)
        root_module, root_qualname = path[0]
        if (root_module, root_qualname) != (module, function.qualname):
            root = self.ctx.index.modules[root_module].functions[root_qualname]
            where += f" (called from {self.ctx.index.describe(root_module, root_qualname, root.is_async)})"
        return where

    def qualified_engine(self, engine: EngineCall) -> Optional[str]:
        """The project-wide name of a module-level `name = create_engine(...)`,
        by which the index knows its users; None for any other engine."""
        if engine.target is None or engine.function is not None or engine.scope.kind != "module":
            return None
        if engine.target not in self.ctx.facts.engines:
            return None
        return self.ctx.facts.qualify(engine.target)

    def route_users(self, qualified: str, sync_only: bool = False) -> List[str]:
        """How messages name the routes using the engine's sessions or
        connections (`route GET /items (list_items)`), by path and line."""
        index = self.ctx.index
        users = index.sync_route_users_of_engine(qualified) if sync_only else index.users_of_engine(qualified)
        return [index.describe(facts.module, fn.qualname, fn.is_async) for facts, fn, _ in users]

    def bound_factories(self, qualified: str) -> List[str]:
        """Session factories (sessionmaker, async_sessionmaker) bound to the engine."""
        return list(self.ctx.index.table("bound_factories", qualified))

    def in_script(self) -> bool:
        return self.ctx.is_script()

    def mentions_external_pooler(self) -> bool:
        """Whether the file speaks of a pooler in front of the database
        (PgBouncer, Supabase's pooler, RDS Proxy...): then a tiny pool, no
        overflow or NullPool are deliberate, the pooler does the pooling."""
        if self._mentions_pooler is None:
            code = self.ctx.module.code.lower()
            self._mentions_pooler = any(word in code for word in _POOLER_WORDS)
        return self._mentions_pooler

    _mentions_pooler: Optional[bool] = None

    def keyword_value(self, engine: EngineCall, name: str, default: object) -> object:
        """The literal value of a keyword argument; `default` when it is not
        given, unknown (see `is_known`) when it is an expression or may come
        from `**kwargs`."""
        arg = engine.keyword(name)
        if arg is not None:
            return literal_value(arg.value)
        return _NO_VALUE if engine.has_star_kwargs else default

    def pooled(self, engine: EngineCall) -> Optional[PooledEngine]:
        """What is known of an engine that gets a QueuePool for a server
        database; None for SQLite, NullPool/StaticPool/other pools, a
        ready-made `pool=`, a URL hidden in `*args`, and unknown dialects."""
        if engine.keyword("pool") is not None:
            # A ready-made pool: its settings were given where it was built.
            return None
        explicit_queue_pool = False
        poolclass = engine.keyword("poolclass")
        if poolclass is not None:
            if self.ctx.qualified_name(poolclass.value) not in QUEUE_POOLS:
                # NullPool/StaticPool take no sizes; other pools take others.
                return None
            explicit_queue_pool = True
        server = self.server_database(engine)
        if server is not None:
            server.explicit_queue_pool = explicit_queue_pool
        return server

    def server_database(self, engine: EngineCall) -> Optional[PooledEngine]:
        """The engine's database when it is a server one (PostgreSQL, MySQL...),
        whatever its pool; None for SQLite (a URL, or source text feeding it,
        that mentions sqlite; `check_same_thread`), unknown dialects and a URL
        hidden in `*args`."""
        if engine.has_star_args:
            return None
        url_arg = engine.url_arg
        if url_arg is None:
            return None
        call_text = self.ctx.module.code_for_node(engine.node).lower()
        if "sqlite" in call_text or "check_same_thread" in call_text:
            return None
        url = self.url(engine)
        if url is None or url.mentions_sqlite():
            return None
        schemes = url.schemes()
        dialects = {scheme.split("+", 1)[0].lower() if scheme else None for scheme in schemes}
        if None in dialects:
            # A literal that names no dialect, or one built from parts.
            url.runtime = True
            dialects.discard(None)
        if not dialects <= SERVER_DIALECTS:
            return None
        if url.runtime or not schemes:
            database = _describe_runtime(url_arg, self.ctx.module)
        else:
            database = " or ".join(sorted({s for s in schemes if s}))
        return PooledEngine(url=url, explicit_queue_pool=False, database=database)

    def url(self, engine: EngineCall) -> Optional[EngineUrl]:
        """The literals and names the URL argument is built from."""
        url_arg = engine.url_arg
        if url_arg is None:
            return None
        url = EngineUrl()
        self._explore(url_arg, engine.scope, engine.function, url, 0)
        return url

    def _explore(
        self, expr: cst.BaseExpression, scope: Scope, function: Optional[Scope], url: EngineUrl, hops: int
    ) -> None:
        """Follow the URL expression back to the literals and names it is built from."""
        url.texts.append(self.ctx.module.code_for_node(expr))
        literal = literal_template(expr)
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


def literal_template(expr: cst.BaseExpression) -> Optional[str]:
    """A string literal's value; an f-string's literal parts with `{}` for each field."""
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(expr, cst.ConcatenatedString):
        left = literal_template(expr.left)
        right = literal_template(expr.right)
        return left + right if left is not None and right is not None else None
    if isinstance(expr, cst.FormattedString):
        parts = []
        for part in expr.parts:
            parts.append(part.value if isinstance(part, cst.FormattedStringText) else "{}")
        return "".join(parts)
    return None


_NO_VALUE = object()
_ARITHMETIC = {
    cst.Add: lambda a, b: a + b,
    cst.Subtract: lambda a, b: a - b,
    cst.Multiply: lambda a, b: a * b,
    cst.FloorDivide: lambda a, b: a // b if b else _NO_VALUE,
}


@functools.lru_cache(maxsize=4096)
def _number(text: str) -> object:
    # literal_eval parses a module per call: the same few numbers recur.
    try:
        return _usable(ast.literal_eval(text))
    except (ValueError, SyntaxError):
        return _NO_VALUE


def _usable(value: object) -> object:
    # `1e999`, a 5,000-digit hex literal, `9999999999 * ...` many times over:
    # valid Python that no message can print nor comparison use.
    return value if usable_number(value) else _NO_VALUE


def literal_value(expr: cst.BaseExpression) -> object:
    """The value of a literal keyword argument: a number (also `60 * 60`,
    `-1`), True/False/None or a string; `_NO_VALUE` (see `is_known`) for
    anything only known at run time."""
    if isinstance(expr, (cst.Integer, cst.Float)):
        return _number(expr.value)
    if isinstance(expr, cst.Name) and expr.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[expr.value]
    if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
        text = literal_template(expr)
        return text if text is not None else _NO_VALUE
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        inner = literal_value(expr.expression)
        return -inner if _is_number(inner) else _NO_VALUE
    if isinstance(expr, cst.BinaryOperation) and type(expr.operator) in _ARITHMETIC:
        left, right = literal_value(expr.left), literal_value(expr.right)
        if _is_number(left) and _is_number(right):
            return _usable(_ARITHMETIC[type(expr.operator)](left, right))
    return _NO_VALUE


def is_known(value: object) -> bool:
    return value is not _NO_VALUE


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _builder_driver(call: cst.Call) -> Optional[str]:
    """The drivername of `URL.create("postgresql+psycopg", ...)` / `make_url("...")`."""
    target: Optional[cst.BaseExpression] = call.args[0].value if call.args and not call.args[0].keyword else None
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in ("drivername", "name_or_url"):
            target = arg.value
    literal = literal_template(target) if target is not None else None
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


def is_migration_module(path: str) -> bool:
    """Alembic's env.py and migration scripts: they run once, from the command line."""
    parts = path.replace("\\", "/").split("/")
    return parts[-1] == "env.py" or any(part in ("alembic", "migrations", "versions") for part in parts[:-1])


@index_table("bound_factories")
def _bound_factories(index: ProjectIndex, qualified: str) -> Tuple[str, ...]:
    found = []
    for facts in index.modules.values():
        for name, factory in facts.factories.items():
            bound = index.engine(factory.engine)
            if bound is not None and bound[0] == qualified:
                found.append(name)
    return tuple(sorted(found))


EngineCallRule.SHARES_WALK_OF = EngineCallRule
