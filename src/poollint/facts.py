"""Pass 1: the facts of one module that other modules' rules need.

Gathered with Python's `ast`, which parses about ten times faster than libcst:
the project index needs every module's imports, engines, session factories,
routes and dependencies, but only the files a rule may fire on are worth a
libcst tree. Facts are plain picklable data, so they can be cached by content
hash and shipped between processes.
"""

from __future__ import annotations

import ast
import bisect
import re
import sys
from dataclasses import dataclass, field, fields
from typing import Dict, FrozenSet, Iterator, List, Optional, Set, Tuple

from poollint import names
from poollint.statements import encode as statement_table
from poollint.urls import password_urls

# A run holds the facts of every module of the project (10,000 files: most of
# its memory). Where Python has them (3.10+), slots save each fact its __dict__.
SLOTS = {"slots": True} if sys.version_info >= (3, 10) else {}

ROUTE_METHODS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "trace", "api_route", "websocket"}
)


@dataclass(frozen=True, **SLOTS)
class EngineFact:
    line: int
    is_async: bool
    url: Optional[str]  # the URL when it is a string literal
    kwargs: FrozenSet[str]
    has_star_kwargs: bool
    poolclass: Optional[str]  # qualified name of poolclass=..., when it resolves
    # Keyword arguments given as literals (pool_size=5, echo=True, pool_recycle=-1);
    # a keyword missing here but present in `kwargs` has a value known only at run time.
    literals: Tuple[Tuple[str, object], ...] = ()
    column: int = 0
    # Where a URL that is not a literal comes from, for the engine inventory:
    # the dotted name given (`settings.DATABASE_URL`, also inside `str(...)`)
    # or called (`get_url`, shown as `get_url()`), and an f-string's template.
    url_ref: Optional[str] = None
    url_call: bool = False
    url_template: Optional[str] = None
    # Source text of pool settings given as expressions (`pool_size=settings.POOL_SIZE`).
    expressions: Tuple[Tuple[str, str], ...] = ()

    def literal(self, name: str, default: object = None) -> object:
        for key, value in self.literals:
            if key == name:
                return value
        return default


@dataclass(frozen=True, **SLOTS)
class FactoryFact:
    line: int
    is_async: bool
    engine: Optional[str]  # qualified name of the engine it is bound to


@dataclass(frozen=True, **SLOTS)
class RouteDecl:
    target: str  # qualified name of the object whose method decorates (app, router)
    method: str  # get/post/.../api_route/websocket
    path: Optional[str]
    methods: Tuple[str, ...] = ()  # methods=[...] of api_route / add_api_route


@dataclass(**SLOTS)
class FunctionFact:
    qualname: str
    line: int
    is_async: bool
    is_generator: bool
    routes: List[RouteDecl] = field(default_factory=list)
    # Qualified names named in Depends()/Security() of the parameters, directly,
    # inside Annotated[...] or through an Annotated alias (the alias's name).
    depends: List[str] = field(default_factory=list)
    # Where a local name's value comes from: ("param", dependency, annotation)
    # for a parameter, ("call", callee, None) for `x = callee(...)` or
    # `with callee(...) as x`. A name bound in two different ways is absent.
    origins: Dict[str, Tuple[str, Optional[str], Optional[str]]] = field(default_factory=dict)
    # Callees (qualified) whose result the function yields / returns.
    yields_from: List[str] = field(default_factory=list)
    returns_from: List[str] = field(default_factory=list)
    # Callees (qualified) called anywhere in the body, for project-wide
    # questions such as "which async functions use sessions of this engine".
    # Read by iteration and `in` only: once gathered it is often `call_lines`
    # itself, whose keys are the same callees.
    calls: Set[str] = field(default_factory=set)
    # Local names on which a database I/O method is called (`db.execute()`).
    io_names: Set[str] = field(default_factory=set)
    # (local name, I/O method) -> line of its first such call in the function's
    # own body, for "count() ... does I/O (db.execute) in app/models.py:12".
    io_lines: Dict[Tuple[str, str], int] = field(default_factory=dict)
    # Names bound in the function (parameters, assignments, loop/with targets);
    # inside it they shadow module names.
    local_names: Set[str] = field(default_factory=set)
    local_imports: Dict[str, str] = field(default_factory=dict)
    # Local name -> engine (qualified) handed to the Session()/AsyncSession()
    # call that created it: `with Session(engine) as session`.
    session_binds: Dict[str, str] = field(default_factory=dict)
    # Engines (qualified) handed to Session() calls whose result the function
    # yields or returns (`with Session(engine) as s: yield s`).
    result_binds: List[str] = field(default_factory=list)
    # Callee (qualified) -> line of its first call in the function's own body
    # (not in nested functions or lambdas), for "helper() calls time.sleep()
    # (app/utils.py:12)". A function defined twice keeps what both definitions call.
    call_lines: Dict[str, int] = field(default_factory=dict)
    # Qualified names of its decorators ("" where one does not resolve).
    decorators: List[str] = field(default_factory=list)
    # Decorated with functools.cache/lru_cache & co.: its result is computed
    # once per set of arguments, not on every call.
    memoized: bool = False
    # Declares `global`/`nonlocal` names: what it computes may be kept across calls.
    declares_global: bool = False
    # A module-level function whose every returned value is an ORM object
    # loaded through (or added to) one of its parameters, as a session:
    # (parameter, its position or -1, the class (qualified), whether a list).
    # `def get_order(db, order_id): return db.get(Order, order_id)` gives
    # ("db", 0, "app.models.Order", False). Checked by POL211, which asks the
    # index whether the class is one of the project's.
    orm_result: Optional[Tuple[str, int, str, bool]] = None


@dataclass(**SLOTS)
class ModuleFacts:
    module: str
    path: str
    imports: Dict[str, str] = field(default_factory=dict)
    star_imports: List[str] = field(default_factory=list)
    # Module-level names with a value poollint understands: "app", "router",
    # "engine", "factory", "session", "dependency_alias"; "function"/"class" for
    # definitions and "other" for anything else assigned (it shadows an import).
    kinds: Dict[str, str] = field(default_factory=dict)
    engines: Dict[str, EngineFact] = field(default_factory=dict)
    factories: Dict[str, FactoryFact] = field(default_factory=dict)
    # Annotated alias name -> (dependency, annotated type).
    dependency_aliases: Dict[str, Tuple[str, Optional[str]]] = field(default_factory=dict)
    # Annotated alias name -> options of its Depends() when not the defaults
    # (see FunctionFact.depends_options).
    alias_options: Dict[str, str] = field(default_factory=dict)
    # FastAPI(dependencies=[...]) / APIRouter(dependencies=[...]) at module
    # level: name -> ((dependency, options), ...), in order.
    router_dependencies: Dict[str, Tuple[Tuple[str, str], ...]] = field(default_factory=dict)
    # Function qualname -> {parameter: options of its Depends()/Security()}
    # where they are not the defaults (depends_options()). Kept per module,
    # not per function: few functions have any, and every FunctionFact slot
    # costs memory on all of them.
    depends_options: Dict[str, Dict[str, str]] = field(default_factory=dict)
    # Function qualname -> ((dependency, options), ...) of the
    # `dependencies=[Depends(...)]` in its route decorators, in order.
    route_dependencies: Dict[str, Tuple[Tuple[str, str], ...]] = field(default_factory=dict)
    # APIRouter(prefix="/orders") -> {"router": "/orders"}, for route names.
    router_prefixes: Dict[str, str] = field(default_factory=dict)
    functions: Dict[str, FunctionFact] = field(default_factory=dict)
    # Every callable named in a Depends()/Security() anywhere in the module.
    dependency_refs: Set[str] = field(default_factory=set)
    # (parent app/router or None, included router, prefix) for
    # parent.include_router(router, prefix="/api").
    router_includes: List[Tuple[Optional[str], str, str]] = field(default_factory=list)
    # (endpoint, route) for app.add_api_route(path, endpoint, methods=[...]).
    route_registrations: List[Tuple[str, RouteDecl]] = field(default_factory=list)
    # Engines created anywhere but in a module-level `name = create_engine(...)`:
    # (function qualname, or "" at module level; the name or attribute the
    # engine is assigned to, if any; the engine).
    other_engines: List[Tuple[str, Optional[str], EngineFact]] = field(default_factory=list)
    # Module-level names bound once, and only, to a string literal; an
    # f-string keeps its literal parts, with `{}` for each replacement field.
    string_constants: Dict[str, str] = field(default_factory=dict)
    # Module-level name -> the callee (qualified) every assignment of it
    # calls (`client = httpx.AsyncClient()`, `lock = asyncio.Lock()`); None
    # when it is assigned anything else too.
    constructed: Dict[str, Optional[str]] = field(default_factory=dict)
    # Which of names.GATE_CALL_NAMES the module calls (a call, not a mention),
    # and whether a string that is not a docstring holds `<db scheme>://`.
    gate_calls: FrozenSet[str] = frozenset()
    database_url: bool = False
    # Whether such a string may carry a password (POL501's gate): a string
    # literal where urls.password_urls() finds one, or an f-string with a URL.
    password_url: bool = False
    # What the module's calls make, wherever they are (module level, class
    # bodies, functions, lambdas, defaults): "sync_engine", "sync_factory",
    # "sync_session", "async_factory", "async_session", and "unknown" for a
    # create_engine()/sessionmaker() call that does not resolve to SQLAlchemy's;
    # "sync_session" also for a module-level subclass of Session, and
    # "async_attrs" when the text names AsyncAttrs. Whether a project's
    # sessions are all AsyncSession (POL406) is read from these.
    session_uses: FrozenSet[str] = frozenset()
    # Qualnames of the generator functions that have a `yield` inside a
    # `with`/`async with` block or the `try:` of a `try ... finally`: closing
    # such a generator (or finalizing it) runs code that can close what it
    # yielded. Code after a bare `yield` does not run then.
    cleanup_generators: Set[str] = field(default_factory=set)
    # Digest of the source the facts were read from: with the module name and
    # path it identifies the facts (the cache compares answers by it).
    digest: str = ""
    # Where each statement starts (statements.py), for positions.py: pass 2
    # then places findings without parsing the file with `ast` again.
    statements: Optional[bytes] = None

    def qualify(self, name: str) -> str:
        return f"{self.module}.{name}" if self.module else name


def resolve_relative(module: str, is_package: bool, level: int, target: Optional[str]) -> str:
    """The absolute module named by `from <level dots><target> import ...` in `module`."""
    if level == 0:
        return target or ""
    parts = module.split(".") if module else []
    # In a package's __init__, one dot names the package itself.
    drop = level - 1 if is_package else level
    base = parts[: len(parts) - drop] if drop <= len(parts) else []
    if target:
        base = base + [target]
    return ".".join(base)


def import_bindings(
    node: ast.AST, module: str, is_package: bool
) -> List[Tuple[str, str]]:
    """(local name, qualified name) pairs an import statement binds."""
    pairs: List[Tuple[str, str]] = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                pairs.append((alias.asname, alias.name))
            else:
                head = alias.name.split(".", 1)[0]
                pairs.append((head, head))
    elif isinstance(node, ast.ImportFrom):
        base = resolve_relative(module, is_package, node.level or 0, node.module)
        for alias in node.names:
            if alias.name == "*":
                continue
            pairs.append((alias.asname or alias.name, f"{base}.{alias.name}" if base else alias.name))
    return pairs


def dotted_name(expr: ast.AST) -> Optional[str]:
    parts: List[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if isinstance(expr, ast.Name):
        parts.append(expr.id)
        return ".".join(reversed(parts))
    return None


def _literal(expr: ast.AST) -> Tuple[bool, object]:
    """(True, value) for a constant, a negated number or a literal string; (False, None) otherwise."""
    if isinstance(expr, ast.Constant):
        return (True, expr.value) if usable_number(expr.value) else (False, None)
    if (
        isinstance(expr, ast.UnaryOp)
        and isinstance(expr.op, ast.USub)
        and isinstance(expr.operand, ast.Constant)
        and isinstance(expr.operand.value, (int, float))
        and not isinstance(expr.operand.value, bool)
        and usable_number(expr.operand.value)
    ):
        return True, -expr.operand.value
    return False, None


# Far above any pool size or timeout, far below Python's int-to-str limit.
_LARGEST_USABLE_INT = 10**100


def usable_number(value: object) -> bool:
    """False for a literal no setting can mean and no message can print: an
    int past Python's int-to-str digit limit (a long hex literal parses but
    `str()` of it raises), an infinite or NaN float (`int()` of it raises),
    a complex number (compared with `<`, it raises). Any other value: True."""
    if isinstance(value, complex):
        return False
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    if isinstance(value, int):
        return -_LARGEST_USABLE_INT < value < _LARGEST_USABLE_INT
    return True


def _string(expr: Optional[ast.AST]) -> Optional[str]:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    return None


# Decorators under which a function's result is computed once per set of arguments.
_MEMOIZERS = frozenset(
    {
        "functools.cache",
        "functools.lru_cache",
        "functools.cached_property",
        "cachetools.cached",
        "cachetools.func.lru_cache",
        "cachetools.func.ttl_cache",
        "async_lru.alru_cache",
    }
)


# Keywords of create_engine() whose source text the engine inventory shows
# when their value is only known at run time.
_SHOWN_EXPRESSIONS = frozenset(
    {"pool_size", "max_overflow", "pool_timeout", "pool_recycle", "pool_pre_ping", "poolclass"}
)


def _url_source(expr: Optional[ast.AST]) -> Tuple[Optional[str], bool]:
    """(dotted name, called) a URL expression is read from: `settings.URL`,
    `str(settings.URL)`, `get_url()`; (None, False) for anything else."""
    if (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Name)
        and expr.func.id == "str"
        and len(expr.args) == 1
        and not expr.keywords
    ):
        expr = expr.args[0]
    if isinstance(expr, ast.Call):
        called = dotted_name(expr.func)
        return called, called is not None
    return dotted_name(expr) if expr is not None else None, False


def _string_template(expr: Optional[ast.AST]) -> Optional[str]:
    """A string literal's value; an f-string's literal parts with `{}` for each field."""
    if isinstance(expr, ast.JoinedStr):
        parts = []
        for value in expr.values:
            text = _string(value)
            parts.append("{}" if text is None else text)
        return "".join(parts)
    return _string(expr)


class _Collector:
    def __init__(self, module: str, path: str, is_package: bool, text: str) -> None:
        self.facts = ModuleFacts(module=module, path=path)
        self.text = text
        # Asked once per function: searching the whole text each time made
        # pass 1 quadratic in the size of a file (a 5 MB module took minutes).
        self.says_depends = "Depends" in text or "Security" in text
        self.is_package = is_package
        # (function qualname, local name) -> "app"/"router" for apps and
        # routers built inside a factory function such as create_app().
        self._local_apps: Dict[Tuple[str, str], str] = {}

    # -- name resolution -------------------------------------------------
    def qualify(self, expr: ast.AST, fn: Optional[FunctionFact] = None) -> Optional[str]:
        dotted = dotted_name(expr)
        return qualify_dotted(self.facts, fn, dotted) if dotted else None

    # -- module level ------------------------------------------------------
    def collect(self, tree: ast.Module) -> ModuleFacts:
        statements = list(_module_level_statements(tree.body))
        # Imports and assignments first: function bodies run later, so a
        # name imported below a function is still visible inside it.
        for stmt in statements:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                if isinstance(stmt, ast.ImportFrom) and any(a.name == "*" for a in stmt.names):
                    self.facts.star_imports.append(
                        resolve_relative(self.facts.module, self.is_package, stmt.level or 0, stmt.module)
                    )
                for local, qualified in import_bindings(stmt, self.facts.module, self.is_package):
                    self.facts.imports[local] = qualified
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.facts.kinds[stmt.name] = "function"
            elif isinstance(stmt, ast.ClassDef):
                self.facts.kinds[stmt.name] = "class"
            else:
                for target in _assigned_names(stmt):
                    self.facts.kinds.setdefault(target, "other")
        constants: Dict[str, Optional[str]] = {}
        for stmt in statements:
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        self._module_value(target.id, stmt.value)
                        literal = _string_template(stmt.value)
                        if constants.get(target.id, literal) != literal:
                            literal = None
                        constants[target.id] = literal
                    elif isinstance(stmt.value, ast.Call):
                        self._attribute_engine(stmt.value, dotted_name(target))
            elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
                self._route_registration(stmt.value, None)
            else:
                for target in _assigned_names(stmt):
                    constants[target] = None
        for stmt in statements:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._function(stmt, prefix="", enclosing=None)
            elif isinstance(stmt, ast.ClassDef):
                self._class(stmt, prefix="", enclosing=None)
        # Depends() may sit anywhere (defaults, Annotated aliases, decorator
        # and router arguments): a whole-module walk, for the files that say it.
        walk = _walk(tree) if self.says_depends else ()
        for node in walk:
            if isinstance(node, ast.Call):
                ref = self._dependency_ref(node, None)
                if ref:
                    self.facts.dependency_refs.add(ref)
        self.facts.string_constants = {
            name: value for name, value in constants.items() if value is not None and self.facts.kinds.get(name) == "other"
        }
        return self.facts

    def _module_value(self, name: str, value: ast.AST) -> None:
        facts = self.facts
        kind = "other"
        if isinstance(value, ast.Call):
            callee = self.qualify(value.func)
            if callee in names.FASTAPI_APPS or callee in names.API_ROUTERS:
                dependencies = self._dependencies_keyword(value, None)
                if dependencies:
                    facts.router_dependencies[name] = dependencies
            if callee in names.FASTAPI_APPS:
                kind = "app"
            elif callee in names.API_ROUTERS:
                kind = "router"
                for kw in value.keywords:
                    prefix = _string(kw.value) if kw.arg == "prefix" else None
                    if prefix:
                        facts.router_prefixes[name] = prefix
            elif callee in names.CREATE_ENGINE or callee in names.CREATE_ASYNC_ENGINE:
                kind = "engine"
                facts.engines[name] = self._engine(value, callee in names.CREATE_ASYNC_ENGINE)
            elif callee in names.SESSIONMAKERS or callee in names.ASYNC_SESSIONMAKERS:
                kind = "factory"
                facts.factories[name] = self._factory(value, callee)
            elif callee in names.SESSION_CLASSES or callee in names.ASYNC_SESSION_CLASSES:
                kind = "session"
            elif callee is not None and callee.startswith(facts.module + ".") and callee[len(facts.module) + 1 :] in facts.factories:
                kind = "session"
        elif isinstance(value, ast.Subscript) and self.qualify(value.value) in names.ANNOTATED:
            ref = self._annotated_dependency(value, None)
            if ref:
                kind = "dependency_alias"
                first = value.slice.elts[0] if isinstance(value.slice, ast.Tuple) else value.slice
                facts.dependency_aliases[name] = (ref, self.qualify(first))
                options = depends_options(self._annotated_depends_call(value, None))  # type: ignore[arg-type]
                if options:
                    facts.alias_options[name] = options
        # A name assigned twice keeps what poollint understood of it.
        if kind != "other" or facts.kinds.get(name) is None:
            facts.kinds[name] = kind
        called = self.qualify(value.func) if isinstance(value, ast.Call) else None
        if facts.constructed.get(name, called) != called:
            called = None
        facts.constructed[name] = called

    def _attribute_engine(self, call: ast.Call, target: Optional[str]) -> None:
        """`app.state.engine = create_engine(...)` at module level."""
        callee = self.qualify(call.func)
        if callee in names.CREATE_ENGINE or callee in names.CREATE_ASYNC_ENGINE:
            fact = self._engine(call, callee in names.CREATE_ASYNC_ENGINE)
            self.facts.other_engines.append(("", target, fact))

    def _engine(self, call: ast.Call, is_async: bool, fn: Optional[FunctionFact] = None) -> EngineFact:
        url = _string(call.args[0]) if call.args else None
        url_expr: Optional[ast.AST] = call.args[0] if call.args else None
        kwargs = set()
        literals = []
        expressions = []
        star = False
        poolclass = None
        for kw in call.keywords:
            if kw.arg is None:
                star = True
                continue
            kwargs.add(kw.arg)
            known, value = _literal(kw.value)
            if known:
                literals.append((kw.arg, value))
            elif kw.arg in _SHOWN_EXPRESSIONS:
                try:
                    text = ast.unparse(kw.value)
                except (ValueError, RecursionError):
                    # Python reads these but cannot write them back: a hex
                    # literal past the int-to-str digit limit, an expression
                    # nested hundreds deep. Far too long to show either way,
                    # and no reason to give up on the whole file.
                    text = "\n"
                if len(text) <= 80 and "\n" not in text:
                    expressions.append((kw.arg, text))
            if kw.arg == "url" and url is None:
                url = _string(kw.value)
                url_expr = kw.value
            if kw.arg == "poolclass":
                poolclass = self.qualify(kw.value, fn)
        url_ref, url_call = _url_source(url_expr) if url is None else (None, False)
        return EngineFact(
            line=call.lineno,
            is_async=is_async,
            url=url,
            kwargs=_compact(frozenset(kwargs)),  # type: ignore[arg-type]
            has_star_kwargs=star or any(isinstance(a, ast.Starred) for a in call.args),
            poolclass=poolclass,
            literals=tuple(literals),
            column=call.col_offset,
            url_ref=url_ref,
            url_call=url_call,
            url_template=_string_template(url_expr) if url is None and isinstance(url_expr, ast.JoinedStr) else None,
            expressions=tuple(expressions),
        )

    def _factory(self, call: ast.Call, callee: str) -> FactoryFact:
        is_async = callee in names.ASYNC_SESSIONMAKERS
        engine = self.qualify(call.args[0]) if call.args else None
        for kw in call.keywords:
            if kw.arg == "bind":
                engine = self.qualify(kw.value)
            elif kw.arg == "class_" and self.qualify(kw.value) in names.ASYNC_SESSION_CLASSES:
                is_async = True
        return FactoryFact(line=call.lineno, is_async=is_async, engine=engine)

    # -- dependencies ------------------------------------------------------
    def _dependency_ref(self, call: ast.Call, fn: Optional[FunctionFact]) -> Optional[str]:
        if self.qualify(call.func, fn) not in names.DEPENDS:
            return None
        target = call.args[0] if call.args else None
        for kw in call.keywords:
            if kw.arg == "dependency":
                target = kw.value
        return self.qualify(target, fn) if target is not None else None

    def _annotated_dependency(self, sub: ast.Subscript, fn: Optional[FunctionFact]) -> Optional[str]:
        elts = sub.slice.elts if isinstance(sub.slice, ast.Tuple) else []
        for meta in elts[1:]:
            if isinstance(meta, ast.Call):
                ref = self._dependency_ref(meta, fn)
                if ref:
                    return ref
        return None

    def _annotated_depends_call(self, sub: ast.Subscript, fn: Optional[FunctionFact]) -> Optional[ast.Call]:
        """The first Depends()/Security() call among `Annotated[T, ...]`'s metadata."""
        elts = sub.slice.elts if isinstance(sub.slice, ast.Tuple) else []
        for meta in elts[1:]:
            if isinstance(meta, ast.Call) and self.qualify(meta.func, fn) in names.DEPENDS:
                return meta
        return None

    def _dependencies_keyword(self, call: ast.Call, fn: Optional[FunctionFact]) -> Tuple[Tuple[str, str], ...]:
        """(dependency, options) of `dependencies=[Depends(a), Depends(b)]`."""
        found: List[Tuple[str, str]] = []
        for kw in call.keywords:
            if kw.arg != "dependencies" or not isinstance(kw.value, (ast.List, ast.Tuple)):
                continue
            for element in kw.value.elts:
                if isinstance(element, ast.Call):
                    ref = self._dependency_ref(element, fn)
                    if ref:
                        found.append((ref, depends_options(element)))
        return tuple(found)

    def _depends_options(self, node: ast.AST) -> Dict[str, str]:
        """Parameter -> depends_options() of the Depends() in its default or Annotated[...]."""
        args = node.args  # type: ignore[attr-defined]
        params = args.posonlyargs + args.args + args.kwonlyargs
        defaults: List[Optional[ast.AST]] = [None] * (len(args.posonlyargs) + len(args.args) - len(args.defaults))
        defaults += list(args.defaults) + list(args.kw_defaults)
        found: Dict[str, str] = {}
        for param, default in zip(params, defaults):
            call: Optional[ast.Call] = None
            if isinstance(default, ast.Call) and self.qualify(default.func) in names.DEPENDS:
                call = default
            elif isinstance(param.annotation, ast.Subscript) and self.qualify(param.annotation.value) in names.ANNOTATED:
                call = self._annotated_depends_call(param.annotation, None)
            options = depends_options(call) if call is not None else ""
            if options:
                found[param.arg] = options
        return found

    def _parameters(self, node: ast.AST) -> List[Tuple[str, Optional[str], Optional[str]]]:
        """(name, dependency, annotation) of each parameter, qualified where they resolve."""
        args = node.args  # type: ignore[attr-defined]
        params = args.posonlyargs + args.args + args.kwonlyargs
        defaults: List[Optional[ast.AST]] = [None] * (len(args.posonlyargs) + len(args.args) - len(args.defaults))
        defaults += list(args.defaults) + list(args.kw_defaults)
        found = []
        for param, default in zip(params, defaults):
            dependency = None
            if isinstance(default, ast.Call):
                dependency = self._dependency_ref(default, None)
            annotation = param.annotation
            annotation_ref = None
            if isinstance(annotation, ast.Subscript) and self.qualify(annotation.value) in names.ANNOTATED:
                dependency = dependency or self._annotated_dependency(annotation, None)
                first = annotation.slice.elts[0] if isinstance(annotation.slice, ast.Tuple) else annotation.slice
                annotation_ref = self.qualify(first)
            elif annotation is not None:
                # Perhaps an Annotated alias from another module: the index decides.
                annotation_ref = self.qualify(annotation)
            found.append((param.arg, dependency, annotation_ref))
        return found

    # -- functions ---------------------------------------------------------
    def _class(self, node: ast.ClassDef, prefix: str, enclosing: Optional[FunctionFact]) -> None:
        qual = f"{prefix}{node.name}."
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._function(stmt, qual, enclosing)
            elif isinstance(stmt, ast.ClassDef):
                self._class(stmt, qual, enclosing)

    def _function(self, node: ast.AST, prefix: str, enclosing: Optional[FunctionFact]) -> None:
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        qualname = f"{prefix}{node.name}"
        fn = FunctionFact(
            qualname=qualname,
            line=node.lineno,
            is_async=isinstance(node, ast.AsyncFunctionDef),
            is_generator=False,
        )
        if enclosing is not None:
            # Closures see the enclosing function's names.
            fn.local_names |= enclosing.local_names
            fn.local_imports.update(enclosing.local_imports)
        args = node.args
        for arg in args.posonlyargs + args.args + args.kwonlyargs:
            fn.local_names.add(arg.arg)
        for arg in (args.vararg, args.kwarg):
            if arg is not None:
                fn.local_names.add(arg.arg)
        body_nodes = _own_nodes(node.body)
        nested_scopes = False
        for sub in body_nodes:
            kind = type(sub)
            if kind is ast.Import or kind is ast.ImportFrom:
                for local, qualified in import_bindings(sub, self.facts.module, self.is_package):
                    fn.local_imports[local] = qualified
                    fn.local_names.discard(local)
            elif kind in _SCOPE_STATEMENTS:
                fn.local_names.add(sub.name)  # type: ignore[attr-defined]
                nested_scopes = True
            elif kind in _BINDING_STATEMENTS:
                fn.local_names.update(_assigned_names(sub))
            elif kind is ast.NamedExpr and type(sub.target) is ast.Name:  # type: ignore[attr-defined]
                fn.local_names.add(sub.target.id)  # type: ignore[attr-defined]
        fn.decorators = [
            self.qualify(d.func if isinstance(d, ast.Call) else d, enclosing) or "" for d in node.decorator_list
        ]
        for decorator in node.decorator_list:
            route = self._route_decl(decorator, enclosing)
            if route:
                fn.routes.append(route)
                listed = self._dependencies_keyword(decorator, enclosing)
                if listed:
                    self.facts.route_dependencies[qualname] = self.facts.route_dependencies.get(qualname, ()) + listed
            wrapper = decorator.func if isinstance(decorator, ast.Call) else decorator
            if self.qualify(wrapper, enclosing) in _MEMOIZERS:
                fn.memoized = True
        conflicting: Set[str] = set()
        for name, dependency, annotation in self._parameters(node):
            if dependency or annotation:
                fn.origins[name] = ("param", dependency, annotation)
            ref = dependency or annotation
            if ref:
                fn.depends.append(ref)
        if self.says_depends:
            options = self._depends_options(node)
            if options:
                self.facts.depends_options[qualname] = {**options, **self.facts.depends_options.get(qualname, {})}
        created: Dict[str, str] = {}  # local name -> callee that created its value
        binds: Dict[str, Optional[str]] = {}  # local name -> engine given to Session()
        engine_calls: List[Tuple[ast.Call, bool]] = []
        assigned_to: Dict[int, str] = {}  # id of an assigned call -> its (dotted) target
        for sub in body_nodes:
            kind = type(sub)
            if kind is ast.Yield or kind is ast.YieldFrom:
                fn.is_generator = True
            elif kind is ast.Global or kind is ast.Nonlocal:
                fn.declares_global = True
            if kind is ast.Call:
                callee = self.qualify(sub.func, fn)
                if callee:
                    fn.calls.add(callee)
                    if sub.lineno < fn.call_lines.get(callee, sub.lineno + 1):
                        fn.call_lines[callee] = sub.lineno
                    if callee in names.CREATE_ENGINE or callee in names.CREATE_ASYNC_ENGINE:
                        engine_calls.append((sub, callee in names.CREATE_ASYNC_ENGINE))
                func = sub.func
                if (
                    isinstance(func, ast.Attribute)
                    and isinstance(func.value, ast.Name)
                    and func.attr in names.DATABASE_IO_METHODS
                ):
                    fn.io_names.add(func.value.id)
                    io_key = (func.value.id, func.attr)
                    if sub.lineno < fn.io_lines.get(io_key, sub.lineno + 1):
                        fn.io_lines[io_key] = sub.lineno
                if enclosing is None:
                    self._route_registration(sub, fn)
            if kind is ast.Assign or kind is ast.AnnAssign:
                value = sub.value
                # `conn = await engine.connect()`: the name holds what the awaited call gives.
                called = value.value if isinstance(value, ast.Await) else value
                callee = self.qualify(called.func, fn) if isinstance(called, ast.Call) else None
                targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
                if callee is not None and len(targets) == 1:
                    target_name = dotted_name(targets[0])
                    if target_name:
                        assigned_to[id(value)] = target_name
                for target in targets:
                    if not isinstance(target, ast.Name):
                        conflicting.update(_assigned_names(sub))
                    elif callee:
                        _bind(created, conflicting, target.id, callee)
                        _bind_engine(binds, target.id, self._session_bind(called, callee, fn))
                        if callee in names.FASTAPI_APPS:
                            self._local_apps[(qualname, target.id)] = "app"
                        elif callee in names.API_ROUTERS:
                            self._local_apps[(qualname, target.id)] = "router"
                    elif value is not None:
                        conflicting.add(target.id)
            elif kind is ast.With or kind is ast.AsyncWith:
                for item in sub.items:
                    var = item.optional_vars
                    callee = self.qualify(item.context_expr.func, fn) if isinstance(item.context_expr, ast.Call) else None
                    if isinstance(var, ast.Name) and callee:
                        _bind(created, conflicting, var.id, callee)
                        _bind_engine(binds, var.id, self._session_bind(item.context_expr, callee, fn))
                    elif var is not None:
                        conflicting.update(_assigned_names(ast.Assign(targets=[var], value=None)))
            elif kind is ast.For or kind is ast.AsyncFor or kind is ast.AugAssign or kind is ast.NamedExpr:
                target = sub.target
                conflicting.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        for name, callee in created.items():
            if name in fn.origins:
                conflicting.add(name)
            else:
                fn.origins[name] = ("call", callee, None)
        for name in conflicting:
            fn.origins.pop(name, None)
        fn.session_binds = {name: engine for name, engine in binds.items() if engine and name in fn.origins}
        for call, is_async in engine_calls:
            self.facts.other_engines.append((qualname, assigned_to.get(id(call)), self._engine(call, is_async, fn)))
        for sub in body_nodes:
            kind = type(sub)
            if (kind is ast.Yield or kind is ast.Return) and sub.value is not None:
                source = self._value_source(sub.value, created, fn)
                if source:
                    (fn.yields_from if kind is ast.Yield else fn.returns_from).append(source)
                if isinstance(sub.value, ast.Name) and sub.value.id in fn.session_binds:
                    fn.result_binds.append(fn.session_binds[sub.value.id])
                elif isinstance(sub.value, ast.Call) and source:
                    engine = self._session_bind(sub.value, source, fn)
                    if engine:
                        fn.result_binds.append(engine)
        if enclosing is None and not prefix and not fn.is_generator and fn.io_names and _has_param_in(node, fn.io_names):
            # Only module-level functions doing I/O on a parameter can load through it.
            fn.orm_result = _orm_result(self, node, fn, body_nodes)
        if fn.is_generator and _yields_under_cleanup(node.body):
            self.facts.cleanup_generators.add(qualname)
        existing = self.facts.functions.get(qualname)
        if existing is not None:
            # Two definitions under one name (if/else, overloads): keep what
            # both say, so a shadowing name stays shadowed.
            existing.local_names |= fn.local_names
            existing.routes += fn.routes
            existing.depends += fn.depends
            existing.calls |= fn.calls
            existing.io_names |= fn.io_names
            existing.call_lines = {c: n for c, n in existing.call_lines.items() if c in fn.call_lines}
            existing.io_lines = {k: n for k, n in existing.io_lines.items() if k in fn.io_lines}
            existing.decorators += fn.decorators
            existing.memoized |= fn.memoized
            existing.declares_global |= fn.declares_global
            if existing.orm_result != fn.orm_result:
                existing.orm_result = None
        else:
            self.facts.functions[qualname] = fn
        if nested_scopes:
            for stmt in _own_statements(node.body):
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self._function(stmt, f"{qualname}.", fn)
                elif isinstance(stmt, ast.ClassDef):
                    self._class(stmt, f"{qualname}.", fn)

    def _session_bind(self, call: ast.AST, callee: str, fn: FunctionFact) -> Optional[str]:
        """The engine (qualified) of `Session(engine)` / `Session(bind=engine)`."""
        if not isinstance(call, ast.Call):
            return None
        if callee not in names.SESSION_CLASSES and callee not in names.ASYNC_SESSION_CLASSES:
            return None
        bind = call.args[0] if call.args else None
        for kw in call.keywords:
            if kw.arg == "bind":
                bind = kw.value
        return self.qualify(bind, fn) if bind is not None else None

    def _value_source(self, value: ast.AST, created: Dict[str, str], fn: FunctionFact) -> Optional[str]:
        if isinstance(value, ast.Name):
            return created.get(value.id)
        if isinstance(value, ast.Call):
            return self.qualify(value.func, fn)
        return None

    def _route_decl(self, decorator: ast.AST, enclosing: Optional[FunctionFact]) -> Optional[RouteDecl]:
        if not isinstance(decorator, ast.Call) or not isinstance(decorator.func, ast.Attribute):
            return None
        method = decorator.func.attr
        if method not in ROUTE_METHODS:
            return None
        target = self._route_target(decorator.func.value, enclosing)
        if target is None:
            return None
        path = _string(decorator.args[0]) if decorator.args else None
        methods: Tuple[str, ...] = ()
        for kw in decorator.keywords:
            if kw.arg == "path" and path is None:
                path = _string(kw.value)
            elif kw.arg == "methods" and isinstance(kw.value, (ast.List, ast.Tuple, ast.Set)):
                methods = tuple(s.upper() for s in map(_string, kw.value.elts) if s)
        return RouteDecl(target=target, method=method, path=path, methods=methods)

    def _route_target(self, expr: ast.AST, enclosing: Optional[FunctionFact]) -> Optional[str]:
        if enclosing is not None and isinstance(expr, ast.Name) and expr.id in enclosing.local_names:
            # An app or router built inside a factory function (create_app()).
            local_kind = self._local_apps.get((enclosing.qualname, expr.id))
            return f"<local>.{local_kind}" if local_kind else None
        return self.qualify(expr, enclosing)

    def _router_include(self, call: ast.Call, fn: Optional[FunctionFact]) -> None:
        router_expr = call.args[0] if call.args else None
        prefix = ""
        for kw in call.keywords:
            if kw.arg == "router":
                router_expr = kw.value
            elif kw.arg == "prefix":
                prefix = _string(kw.value) or ""
        router = self.qualify(router_expr, fn) if router_expr is not None else None
        if router:
            # An app built inside create_app() has no name here: it is the root.
            parent = self.qualify(call.func.value, fn)  # type: ignore[attr-defined]
            self.facts.router_includes.append((parent, router, prefix))

    def _route_registration(self, call: ast.Call, fn: Optional[FunctionFact]) -> None:
        if isinstance(call.func, ast.Attribute) and call.func.attr == "include_router":
            self._router_include(call, fn)
            return
        if not isinstance(call.func, ast.Attribute) or call.func.attr != "add_api_route":
            return
        target = self.qualify(call.func.value, fn)
        endpoint_expr = call.args[1] if len(call.args) > 1 else None
        path = _string(call.args[0]) if call.args else None
        methods: Tuple[str, ...] = ()
        for kw in call.keywords:
            if kw.arg == "endpoint":
                endpoint_expr = kw.value
            elif kw.arg == "path":
                path = _string(kw.value)
            elif kw.arg == "methods" and isinstance(kw.value, (ast.List, ast.Tuple, ast.Set)):
                methods = tuple(s.upper() for s in map(_string, kw.value.elts) if s)
        endpoint = self.qualify(endpoint_expr, fn) if endpoint_expr is not None else None
        if target and endpoint:
            self.facts.route_registrations.append(
                (endpoint, RouteDecl(target=target, method="api_route", path=path, methods=methods))
            )


def _has_param_in(node: ast.AST, wanted: Set[str]) -> bool:
    args = node.args  # type: ignore[attr-defined]
    return any(a.arg in wanted for a in args.posonlyargs + args.args + args.kwonlyargs)


def _orm_result(
    collector: "_Collector", node: ast.AST, fn: FunctionFact, body_nodes: List[ast.AST]
) -> Optional[Tuple[str, int, str, bool]]:
    """FunctionFact.orm_result: every `return value` (but `return None`) of
    the function's own body gives the same class's objects, loaded through
    the same parameter (`db.get(Order, id)`, `db.scalars(select(Order)...)
    .first()`, `db.query(Order)...all()`, awaited or not, also through
    local names bound once), or an object `Order(...)` the parameter add()s."""
    args = node.args  # type: ignore[attr-defined]
    positional = [a.arg for a in args.posonlyargs + args.args]
    params = set(positional) | {a.arg for a in args.kwonlyargs}
    returns = [sub for sub in body_nodes if type(sub) is ast.Return and sub.value is not None]
    if not returns:
        return None
    bound: Dict[str, List[ast.AST]] = {}
    added: Dict[str, Set[str]] = {}
    for sub in body_nodes:
        kind = type(sub)
        if kind is ast.Assign and len(sub.targets) == 1 and type(sub.targets[0]) is ast.Name:  # type: ignore[attr-defined]
            bound.setdefault(sub.targets[0].id, []).append(sub.value)  # type: ignore[attr-defined]
        elif kind is ast.AnnAssign and type(sub.target) is ast.Name and sub.value is not None:  # type: ignore[attr-defined]
            bound.setdefault(sub.target.id, []).append(sub.value)  # type: ignore[attr-defined]
        elif kind in _BINDING_STATEMENTS or kind is ast.NamedExpr:
            for name in _assigned_names(sub) if kind is not ast.NamedExpr else {getattr(sub.target, "id", "")}:  # type: ignore[attr-defined]
                bound.setdefault(name, []).append(None)  # type: ignore[arg-type]
        elif kind is ast.Call:
            func = sub.func  # type: ignore[attr-defined]
            if (
                type(func) is ast.Attribute
                and func.attr == "add"
                and type(func.value) is ast.Name
                and len(sub.args) == 1  # type: ignore[attr-defined]
                and type(sub.args[0]) is ast.Name  # type: ignore[attr-defined]
            ):
                added.setdefault(sub.args[0].id, set()).add(func.value.id)  # type: ignore[attr-defined]

    def value(expr: Optional[ast.AST], depth: int) -> Optional[Tuple[str, Optional[str], str]]:
        """(kind, session parameter, class) of what `expr` gives, as POL211 reads it."""
        if expr is None or depth > 8:
            return None
        if type(expr) is ast.Await:
            expr = expr.value  # type: ignore[attr-defined]
        if type(expr) is ast.Name:
            name = expr.id  # type: ignore[attr-defined]
            values = bound.get(name, ())
            if len(values) != 1 or name in params:
                return None
            found = value(values[0], depth + 1)
            if found is not None and found[0] == "created":
                sessions = added.get(name, set())
                if len(sessions) != 1 or not sessions <= params:
                    return None
                return ("instance", next(iter(sessions)), found[2])
            return found
        if type(expr) is not ast.Call:
            return None
        func = expr.func  # type: ignore[attr-defined]
        callee = collector.qualify(func, fn)
        positional_args = [a for a in expr.args if type(a) is not ast.Starred]  # type: ignore[attr-defined]
        if callee in names.SELECTS:
            first = positional_args[0] if positional_args else None
            entity = collector.qualify(first, fn) if first is not None else None
            return ("select", None, entity) if entity else None
        if type(func) is not ast.Attribute:
            # `Order(...)`: the index tells later whether it is a class.
            return ("created", None, callee) if callee else None
        method = func.attr
        receiver = func.value
        if method in names.ORM_CONSTRUCTORS:
            # `User.model_validate(data)` builds a User, as `User(...)` does.
            entity = collector.qualify(receiver, fn)
            return ("created", None, entity) if entity else None
        if type(receiver) is ast.Name and receiver.id in params:
            first = positional_args[0] if positional_args else None
            if method in ("get", "get_one", "query"):
                entity = collector.qualify(first, fn) if first is not None else None
                if entity is None or (method == "query" and (len(expr.args) != 1 or expr.keywords)):  # type: ignore[attr-defined]
                    return None
                return ("query" if method == "query" else "instance", receiver.id, entity)
            if method in ("scalar", "scalars", "execute"):
                statement = value(first, depth + 1)
                if statement is None or statement[0] != "select":
                    return None
                kind = {"scalar": "instance", "scalars": "scalars", "execute": "result"}[method]
                return (kind, receiver.id, statement[2])
            return None
        base = value(receiver, depth + 1)
        if base is None:
            return None
        if base[0] in ("select", "query") and method in names.ORM_KEEPS:
            return base
        if method == "scalars" and expr.args:  # type: ignore[attr-defined]
            return None
        step = names.ORM_RESULT_STEPS.get((base[0], method))
        return (step, base[1], base[2]) if step else None

    found: Optional[Tuple[str, Optional[str], str]] = None
    for ret in returns:
        if type(ret.value) is ast.Constant and ret.value.value is None:  # type: ignore[attr-defined]
            continue
        this = value(ret.value, 0)  # type: ignore[attr-defined]
        if this is None or this[0] not in ("instance", "list") or this[1] is None:
            return None
        if found is not None and this != found:
            return None
        found = this
    if found is None:
        return None
    kind, session, entity = found
    assert session is not None
    index = positional.index(session) if session in positional else -1
    return (session, index, entity, kind == "list")


def depends_options(call: Optional[ast.Call]) -> str:
    """How a Depends()/Security() call departs from the defaults, in letters:
    "d" no dependency given (`Depends()`: FastAPI calls the annotation),
    "f" scope="function" (its exit code runs before the response is sent),
    "n" use_cache=False (a new value for every use in one request),
    "?" a value only known at run time. "" for the defaults."""
    if call is None:
        return ""
    flags = ""
    if not call.args and not any(kw.arg == "dependency" for kw in call.keywords):
        flags += "d"
    for kw in call.keywords:
        if kw.arg is None:
            flags += "?"
        elif kw.arg in ("use_cache", "scope"):
            known, value = _literal(kw.value)
            if not known:
                flags += "?"
            elif kw.arg == "use_cache" and value is False:
                flags += "n"
            elif kw.arg == "scope" and value == "function":
                flags += "f"
    return flags


def qualify_dotted(facts: ModuleFacts, fn: Optional[FunctionFact], dotted: str) -> Optional[str]:
    """The qualified name a dotted name (`t.sleep`) has in a module or function.

    None when its head is a local variable or unknown: rules stay silent then.
    """
    head, _, rest = dotted.partition(".")
    if fn is not None:
        if head in fn.local_imports:
            base = fn.local_imports[head]
            return f"{base}.{rest}" if rest else base
        if head in fn.local_names:
            return None
    if head in facts.kinds:
        # Defined (or reassigned) in the module: it shadows any import.
        base = facts.qualify(head)
    elif head in facts.imports:
        base = facts.imports[head]
    elif head in names.BUILTINS:
        base = f"builtins.{head}"
    else:
        return None
    return f"{base}.{rest}" if rest else base


def _bind(created: Dict[str, str], conflicting: Set[str], name: str, callee: str) -> None:
    if created.get(name, callee) != callee:
        conflicting.add(name)
    created[name] = callee


def _bind_engine(binds: Dict[str, Optional[str]], name: str, engine: Optional[str]) -> None:
    # A name bound to sessions of two engines (or to something else too) has none.
    binds[name] = engine if binds.get(name, engine) == engine else None


def _module_level_statements(body: List[ast.stmt]):
    """Statements that run at import time, looking into if/try/with blocks."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If):
            yield from _module_level_statements(stmt.body)
            yield from _module_level_statements(stmt.orelse)
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            yield from _module_level_statements(stmt.body)  # type: ignore[attr-defined]
            for handler in stmt.handlers:  # type: ignore[attr-defined]
                yield from _module_level_statements(handler.body)
            yield from _module_level_statements(stmt.orelse)  # type: ignore[attr-defined]
            yield from _module_level_statements(stmt.finalbody)  # type: ignore[attr-defined]
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            yield from _module_level_statements(stmt.body)


_BLOCK_FIELDS = ("body", "orelse", "handlers", "cases", "finalbody")


def _yields_under_cleanup(body: List[ast.stmt], guarded: bool = False) -> bool:
    """Whether a `yield` of this body (not of nested functions or classes)
    sits in a with block or in the `try:` (or `else:`) of a try with a
    `finally:`: where closing the generator runs cleanup code."""
    for stmt in body:
        kind = type(stmt)
        if kind in _SCOPE_STATEMENTS:
            continue
        if kind is ast.With or kind is ast.AsyncWith:
            if _yields_under_cleanup(stmt.body, True):  # type: ignore[attr-defined]
                return True
            continue
        blocks = [name for name in _BLOCK_FIELDS if getattr(stmt, name, None)]
        if not blocks:
            if guarded and any(type(sub) in (ast.Yield, ast.YieldFrom) for sub in _walk(stmt)):
                return True
            continue
        inner = guarded or bool(getattr(stmt, "finalbody", None))
        for name in blocks:
            for child in getattr(stmt, name):
                # Handlers and cases hold statements under an extra node.
                statements = child.body if isinstance(child, (ast.excepthandler, getattr(ast, "match_case", ()))) else [child]
                # A `finally:` covers the try's body, else and handlers.
                if _yields_under_cleanup(statements, guarded if name == "finalbody" else inner):
                    return True
    return False


def _own_statements(body: List[ast.stmt]):
    """Statements of a function body, not descending into nested scopes."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for name in ("body", "orelse", "finalbody"):
            yield from _own_statements(getattr(stmt, name, []) or [])
        for handler in getattr(stmt, "handlers", []) or []:
            yield from _own_statements(handler.body)
        for case in getattr(stmt, "cases", []) or []:
            yield from _own_statements(case.body)


# Nodes no fact is ever read from: skipping them (and every `ctx` field)
# halves the number of nodes pass 1 visits.
_LEAF_TYPES = (ast.Name, ast.Constant, ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)


def _concrete_node_types() -> FrozenSet[type]:
    found: Set[type] = set()
    todo: List[type] = [ast.AST]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return frozenset(found)


# The walks test `type(x) in _WALKED` (a set lookup) rather than isinstance
# against a tuple of abstract classes: pass 1 asks it of every child of every node.
_WALKED = frozenset(t for t in _concrete_node_types() if not issubclass(t, _LEAF_TYPES))
_CHILD_FIELDS: Dict[type, Tuple[str, ...]] = {}


def _child_fields(cls: type) -> Tuple[str, ...]:
    fields = _CHILD_FIELDS.get(cls)
    if fields is None:
        fields = tuple(
            reversed([f for f in cls._fields if f not in ("ctx", "type_comment")])  # type: ignore[attr-defined]
        )
        _CHILD_FIELDS[cls] = fields
    return fields


def _push_children(node: ast.AST, stack: List[ast.AST]) -> None:
    """Push the walked children of `node`, last first (so they pop in order)."""
    walked = _WALKED
    push = stack.append
    for name in _CHILD_FIELDS.get(type(node)) or _child_fields(type(node)):
        value = getattr(node, name, None)
        if type(value) is list:
            for item in reversed(value):
                if type(item) in walked:
                    push(item)
        elif type(value) in walked:
            push(value)


def _walk(node: ast.AST):
    """Every non-leaf node below `node`, like ast.walk but cheaper."""
    stack: List[ast.AST] = [node]
    while stack:
        current = stack.pop()
        yield current
        _push_children(current, stack)


def _own_nodes(body: List[ast.stmt]) -> List[ast.AST]:
    """The non-leaf nodes of a function body that belong to the function's own scope, in order."""
    found: List[ast.AST] = []
    keep = found.append
    stack: List[ast.AST] = list(reversed(body))
    pop = stack.pop
    while stack:
        node = pop()
        keep(node)
        kind = type(node)
        if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            # Decorators and defaults run in the enclosing scope.
            stack.extend(node.decorator_list)  # type: ignore[attr-defined]
            args = node.args  # type: ignore[attr-defined]
            stack.extend(d for d in args.defaults + args.kw_defaults if d is not None)
        elif kind is ast.ClassDef:
            stack.extend(node.decorator_list)  # type: ignore[attr-defined]
            stack.extend(node.bases)  # type: ignore[attr-defined]
        elif kind is not ast.Lambda:
            _push_children(node, stack)
    return found


_SCOPE_STATEMENTS = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})
# The statements _assigned_names() finds a name in.
_BINDING_STATEMENTS = frozenset(
    {ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor, ast.With, ast.AsyncWith, ast.Try}
)


def _assigned_names(stmt: ast.AST) -> Set[str]:
    found: Set[str] = set()
    targets: List[ast.AST] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        targets = [stmt.target]
    elif isinstance(stmt, (ast.For, ast.AsyncFor)):
        targets = [stmt.target]
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        targets = [item.optional_vars for item in stmt.items if item.optional_vars is not None]
    elif isinstance(stmt, ast.ExceptHandler) and stmt.name:
        found.add(stmt.name)
    for target in targets:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Name):
                found.add(sub.id)
    if isinstance(stmt, ast.Try):
        for handler in stmt.handlers:
            if handler.name:
                found.add(handler.name)
    return found


def collect_facts(
    source: bytes, module: str, path: str, is_package: bool = False, tree: Optional[ast.Module] = None
) -> ModuleFacts:
    """Facts of one module; raises SyntaxError/ValueError when it does not parse.

    `tree` is `source` already parsed by `ast` (flake8 hands its plugins one),
    read and never changed."""
    if tree is None:
        tree = ast.parse(source, filename=path)
    # A text view for cheap "does it say X" checks; decoding errors were ast's to report.
    text = source.decode("latin-1")
    try:
        facts = _Collector(module, path, is_package, text).collect(tree)
        _gate_facts(facts, tree, source)
        facts.session_uses = _session_uses(facts, tree, source)
        facts.statements = statement_table(tree)
        _compact_facts(facts)
    except RecursionError:
        raise
    except Exception as exc:  # a bug here, not a problem of the file
        raise FactsError(f"{type(exc).__name__}: {exc}") from exc
    return facts


class _EmptyMapping(dict):  # type: ignore[type-arg]
    """The one empty dict every fact without entries shares: read-only, or a
    write through one function's facts would show in all of them."""

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise TypeError("facts are read-only once gathered")

    __setitem__ = __delitem__ = update = setdefault = pop = popitem = clear = _refuse  # type: ignore[assignment]


_EMPTY_MAPPING = _EmptyMapping()


class _EmptyList(list):  # type: ignore[type-arg]
    """The one empty list facts without entries share, read-only like _EmptyMapping."""

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise TypeError("facts are read-only once gathered")

    append = extend = insert = remove = pop = clear = sort = reverse = _refuse  # type: ignore[assignment]
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse  # type: ignore[assignment]


_EMPTY_LIST = _EmptyList()
_EMPTY_FROZENSET: FrozenSet[str] = frozenset()


def _compact(value: object) -> object:
    """`value` with its strings interned and empty dicts and sets shared.

    A project's facts are held for the whole run (and by every worker): on
    10,000 files most of their size was empty containers and copies of the
    same qualified names.
    """
    if isinstance(value, str):
        return sys.intern(value)
    if isinstance(value, (set, frozenset)):
        if not value:
            # Unlike (), frozenset() is a new object every time since 3.10.
            return _EMPTY_FROZENSET
        frozen = frozenset(_compact(item) for item in value)
        return _SHARED.setdefault(frozen, frozen)
    if isinstance(value, dict):
        if not value:
            return _EMPTY_MAPPING
        return {_compact(key): _compact(item) for key, item in value.items()}
    if isinstance(value, tuple):
        compacted = tuple(_compact(item) for item in value)
        try:
            return _SHARED.setdefault(compacted, compacted)
        except TypeError:  # holds something unhashable
            return compacted
    if isinstance(value, list):
        return [_compact(item) for item in value] if value else _EMPTY_LIST
    return value


# Equal tuples and frozensets of facts, one object each (a process holds the
# facts of every module: the same ("db", "execute") and the same sets of
# callees recur across functions and files).
_SHARED: Dict[object, object] = {}


def release_shared() -> None:
    """Forget the table of shared values once every module's facts are in:
    the facts keep what they share, and the table itself (a tenth of the
    facts' size) would otherwise live to the end of the run."""
    _SHARED.clear()


_FUNCTION_FIELDS = tuple(f.name for f in fields(FunctionFact))
# `functions` is compacted function by function.
_MODULE_FIELDS = tuple(f.name for f in fields(ModuleFacts) if f.name != "functions")


def _compact_facts(facts: ModuleFacts) -> None:
    for fn in facts.functions.values():
        for name in _FUNCTION_FIELDS:
            setattr(fn, name, _compact(getattr(fn, name)))
        if fn.calls == fn.call_lines.keys():
            # Iterating a dict gives its keys: most functions need one table of callees.
            fn.calls = fn.call_lines  # type: ignore[assignment]
    for name in _MODULE_FIELDS:
        setattr(facts, name, _compact(getattr(facts, name)))
    facts.functions = {sys.intern(name): fn for name, fn in facts.functions.items()}


class FactsError(Exception):
    """Gathering the facts of a file that parsed failed: a bug in poollint."""


_GATE_CALLED = re.compile(
    rb"\b(" + b"|".join(sorted(n.encode() for n in names.GATE_CALL_NAMES - {"create"})) + rb")\s*\("
)
_URL_CREATE = re.compile(rb"\bURL\b")
_NEWLINE = re.compile(rb"\n")
# A URL scheme (`postgresql+asyncpg`) ending where `://` starts.
_SCHEME_BEFORE = re.compile(rb"(?<![A-Za-z0-9_+.\-])([A-Za-z][A-Za-z0-9_]*)(?:\+[A-Za-z0-9_]+)?\Z")


def _schemes(source: bytes) -> List[Tuple[int, str]]:
    """(offset, scheme) of every `scheme://` in `source`. Found from each
    `://` backwards: a regex tried at every identifier of the file cost more
    than the rest of pass 1's text checks together."""
    found = []
    end = source.find(b"://")
    while end >= 0:
        match = _SCHEME_BEFORE.search(source, max(0, end - 128), end)
        if match is not None:
            found.append((match.start(), match.group(1).decode("ascii")))
        end = source.find(b"://", end + 3)
    return found


def _gate_facts(facts: ModuleFacts, tree: ast.Module, source: bytes) -> None:
    """gate_calls and database_url, from the text outside docstrings (and bare
    string statements): `create_engine(` in a docstring calls nothing. Only
    statements are walked, never expressions; a comment still counts, which
    only ever lets a file through."""
    from poollint.urls import DATABASE_SCHEMES

    imports = dict(facts.imports)
    for fn in facts.functions.values():
        imports.update(fn.local_imports)
    # `from sqlalchemy import create_engine as make_engine`: the call shows another name.
    aliases = {
        local: qualified.rsplit(".", 1)[-1]
        for local, qualified in imports.items()
        if qualified.rsplit(".", 1)[-1] in names.GATE_CALL_NAMES and local not in names.GATE_CALL_NAMES
    }
    call_matches = [(m.start(), m.group(1).decode("ascii")) for m in _GATE_CALLED.finditer(source)]
    if aliases:
        # Aliases are identifiers, which need not be ASCII: the pattern holds
        # their UTF-8, and a byte above 0x7f before one belongs to a longer name.
        alias_pattern = re.compile(
            rb"(?<![A-Za-z0-9_\x80-\xff])(" + b"|".join(re.escape(a.encode()) for a in sorted(aliases)) + rb")\s*\("
        )
        call_matches += [(m.start(), aliases[m.group(1).decode("utf-8")]) for m in alias_pattern.finditer(source)]
    if b"create" in source and _URL_CREATE.search(source) is not None:
        call_matches += [(m.start(), "create") for m in re.finditer(rb"\bcreate\s*\(", source)]
    url_matches = [start for start, scheme in _schemes(source) if scheme.lower() in DATABASE_SCHEMES]
    if not (call_matches or url_matches):
        return
    bare = _bare_string_lines(tree)
    starts = [0] + [m.end() for m in _NEWLINE.finditer(source)]

    def outside(offset: int) -> bool:
        return bisect.bisect_right(starts, offset) not in bare

    facts.gate_calls = frozenset(name for offset, name in call_matches if outside(offset))
    url_lines = {bisect.bisect_right(starts, offset) for offset in url_matches if outside(offset)}
    facts.database_url = bool(url_lines)
    if url_lines:
        if b"\r" in source.replace(b"\r\n", b""):
            # A lone CR ends a line for Python, not for `starts`: lines unsure.
            facts.password_url = True
        else:
            facts.password_url = any(_may_carry_password(node) for node in _nodes_on_lines(tree, url_lines))


def _may_carry_password(node: ast.AST) -> bool:
    kind = type(node)
    if kind is ast.Constant:
        value = node.value  # type: ignore[attr-defined]
        return type(value) is str and "://" in value and any(password_urls(value))
    if kind is ast.JoinedStr:
        # POL501 reads an f-string's literal parts unevaluated: any URL may do.
        return any(
            type(part) is ast.Constant and "://" in str(part.value) for part in node.values  # type: ignore[attr-defined]
        )
    return False


_BODY_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")


def _nodes_on_lines(tree: ast.Module, lines: Set[int]) -> Iterator[ast.AST]:
    """The expression nodes of the statements spanning any of `lines`, but
    docstrings: statements holding a block are entered, not walked whole, so
    a URL in a long class costs the statements around it only."""
    first, last = min(lines), max(lines)
    stack: List[ast.AST] = list(tree.body)
    while stack:
        stmt = stack.pop()
        start = getattr(stmt, "lineno", None)
        if start is not None:
            end = getattr(stmt, "end_lineno", None) or start
            if end < first or start > last or not any(start <= line <= end for line in lines):
                continue
        if type(stmt) is ast.Expr and type(stmt.value) in (ast.Constant, ast.JoinedStr):  # type: ignore[attr-defined]
            continue  # a docstring: POL501 leaves it alone
        blocks = [name for name in _BODY_FIELDS if getattr(stmt, name, None)]
        if not blocks:
            yield from ast.walk(stmt)
            continue
        for name in blocks:
            stack.extend(getattr(stmt, name))
        for name, value in ast.iter_fields(stmt):
            if name in _BODY_FIELDS:
                continue
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, ast.AST):
                    yield from ast.walk(item)


def _bare_string_lines(tree: ast.Module) -> Set[int]:
    """Lines of string literals standing alone as statements (docstrings)."""
    lines: Set[int] = set()
    stack: List[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            for child in getattr(node, name, ()) or ():
                if isinstance(child, ast.Expr) and isinstance(child.value, (ast.Constant, ast.JoinedStr)):
                    end = getattr(child, "end_lineno", None) or child.lineno
                    lines.update(range(child.lineno, end + 1))
                elif isinstance(child, ast.AST):
                    stack.append(child)
    return lines


# What calls that make engines, session factories and sessions show in the
# source: SQLAlchemy's names (`\b` keeps `sessionmaker` out of
# `async_sessionmaker`), and aliases the module imports them under.
_SESSION_MAKING = (
    names.CREATE_ENGINE | names.SESSIONMAKERS | names.ASYNC_SESSIONMAKERS | names.SESSION_CLASSES | names.ASYNC_SESSION_CLASSES
)
_SESSION_MAKING_CALLED = re.compile(
    rb"\b(" + b"|".join(sorted({n.rsplit(".", 1)[-1].encode() for n in _SESSION_MAKING})) + rb")\s*\("
)
# Names too specific to be anything but SQLAlchemy's (or a wrapper of it):
# called without resolving to SQLAlchemy, they may make a sync engine or factory.
_SYNC_MAKER_NAMES = frozenset({"create_engine", "sessionmaker"})


def _session_uses(facts: ModuleFacts, tree: ast.Module, source: bytes) -> FrozenSet[str]:
    """ModuleFacts.session_uses: only the statements on lines that show such
    a call are walked, each with the function it runs in (for local imports)."""
    found: Set[str] = set()
    if b"AsyncAttrs" in source:
        found.add("async_attrs")
    if b"ession" not in source and b"engine" not in source:
        return frozenset(found)
    offsets = [m.start() for m in _SESSION_MAKING_CALLED.finditer(source)]
    imports = dict(facts.imports)
    for fn in facts.functions.values():
        imports.update(fn.local_imports)
    aliases = sorted(
        local for local, qualified in imports.items() if qualified in _SESSION_MAKING and local != qualified.rsplit(".", 1)[-1]
    )
    if aliases:
        pattern = re.compile(rb"\b(" + b"|".join(re.escape(a.encode()) for a in aliases) + rb")\s*\(")
        offsets += [m.start() for m in pattern.finditer(source)]
    if b"Session" in source:
        for stmt in tree.body:
            if isinstance(stmt, ast.ClassDef) and any(
                qualify_dotted(facts, None, base) in names.SESSION_CLASSES
                for base in filter(None, map(dotted_name, stmt.bases))
            ):
                found.add("sync_session")
    if not offsets:
        return frozenset(found)
    lines: List[int] = []
    line, previous = 1, 0
    for offset in sorted(offsets):
        line += source.count(b"\n", previous, offset)
        previous = offset
        if not lines or lines[-1] != line:
            lines.append(line)
    stack: List[Tuple[ast.AST, Optional[FunctionFact], str]] = [(stmt, None, "") for stmt in reversed(tree.body)]
    while stack:
        stmt, fn, prefix = stack.pop()
        start = getattr(stmt, "lineno", None)
        if start is not None:
            end = getattr(stmt, "end_lineno", None) or start
            at = bisect.bisect_left(lines, start)
            if at == len(lines) or lines[at] > end:
                continue
        kind = type(stmt)
        if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            args = stmt.args  # type: ignore[attr-defined]
            # Decorators and defaults run in the enclosing scope.
            for expr in stmt.decorator_list + args.defaults + [d for d in args.kw_defaults if d is not None]:  # type: ignore[attr-defined]
                _classify_calls(facts, fn, expr, found)
            qualname = prefix + stmt.name  # type: ignore[attr-defined]
            inner = facts.functions.get(qualname)
            stack.extend((s, inner, qualname + ".") for s in reversed(stmt.body))  # type: ignore[attr-defined]
            continue
        if kind is ast.ClassDef:
            for expr in stmt.decorator_list + stmt.bases + [k.value for k in stmt.keywords]:  # type: ignore[attr-defined]
                _classify_calls(facts, fn, expr, found)
            # A class body sees the names of the function around it.
            stack.extend((s, fn, f"{prefix}{stmt.name}.") for s in reversed(stmt.body))  # type: ignore[attr-defined]
            continue
        blocks = [name for name in _BODY_FIELDS if getattr(stmt, name, None)]
        for name in reversed(blocks):
            stack.extend((s, fn, prefix) for s in reversed(getattr(stmt, name)))
        for name, value in ast.iter_fields(stmt):
            if name in _BODY_FIELDS:
                continue
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, ast.AST):
                    _classify_calls(facts, fn, item, found)
    return frozenset(found)


def _classify_calls(facts: ModuleFacts, fn: Optional[FunctionFact], expr: ast.AST, found: Set[str]) -> None:
    for node in ast.walk(expr):
        if type(node) is not ast.Call:
            continue
        dotted = dotted_name(node.func)  # type: ignore[attr-defined]
        if dotted is None:
            continue
        qualified = qualify_dotted(facts, fn, dotted)
        if qualified in names.CREATE_ENGINE:
            found.add("sync_engine")
        elif qualified in names.SESSIONMAKERS:
            # class_=AsyncSession; without it (or with `**options`) the sessions may be sync.
            async_class = any(
                kw.arg == "class_" and _qualified(facts, fn, kw.value) in names.ASYNC_SESSION_CLASSES
                for kw in node.keywords  # type: ignore[attr-defined]
            )
            found.add("async_factory" if async_class else "sync_factory")
        elif qualified in names.ASYNC_SESSIONMAKERS:
            found.add("async_factory")
        elif qualified in names.SESSION_CLASSES:
            found.add("sync_session")
        elif qualified in names.ASYNC_SESSION_CLASSES:
            found.add("async_session")
        elif dotted.rsplit(".", 1)[-1] in _SYNC_MAKER_NAMES and not (
            qualified is not None and dotted.split(".", 1)[0] in facts.kinds
        ):
            # A parameter, a star import, a re-export or another spelling
            # (`sqlalchemy.future.create_engine`): it may well be sync.
            found.add("unknown")


def _qualified(facts: ModuleFacts, fn: Optional[FunctionFact], expr: ast.AST) -> Optional[str]:
    dotted = dotted_name(expr)
    return qualify_dotted(facts, fn, dotted) if dotted else None
