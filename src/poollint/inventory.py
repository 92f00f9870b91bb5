"""`poollint engines`: every engine a project creates, its pool, and who uses it.

Built from the facts of pass 1 and the project index only: nothing is parsed
twice and no rule runs. The URL is never shown: only its dialect and driver,
read by poollint.urls, or the name of the expression it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence, Tuple

from poollint.facts import EngineFact, ModuleFacts, qualify_dotted
from poollint.project import ProjectIndex, is_test_module
from poollint.urls import dialect_and_driver, sqlite_in_memory

# Bump when a field of the JSON output changes meaning or goes away; adding
# a field does not change it.
JSON_VERSION = 1

POOL_SETTINGS = ("pool_size", "max_overflow", "pool_timeout", "pool_recycle", "pool_pre_ping")
# What create_engine() uses when a setting is not given (QueuePool and
# AsyncAdaptedQueuePool for the first three; every pool for the last two).
SQLALCHEMY_DEFAULTS: Dict[str, object] = {
    "pool_size": 5,
    "max_overflow": 10,
    "pool_timeout": 30,
    "pool_recycle": -1,
    "pool_pre_ping": False,
}
_QUEUE_POOLS = ("QueuePool", "AsyncAdaptedQueuePool")
# Settings that only the queue pools take (SingletonThreadPool takes pool_size).
_QUEUE_ONLY = {"pool_size": ("SingletonThreadPool",), "max_overflow": (), "pool_timeout": ()}
_KNOWN_POOLS = frozenset(
    {"QueuePool", "AsyncAdaptedQueuePool", "NullPool", "StaticPool", "SingletonThreadPool", "AssertionPool"}
)
_POOL_MODULES = ("sqlalchemy.pool.impl.", "sqlalchemy.pool.", "sqlalchemy.")


@dataclass(frozen=True)
class Setting:
    """The effective value of one pool setting."""

    name: str
    # "literal" (written in the call), "default" (SQLAlchemy's), "runtime"
    # (an expression or **kwargs), "not_applicable" (the pool class ignores it).
    source: str
    value: object = None
    expression: Optional[str] = None

    def text(self) -> str:
        if self.source == "literal":
            return repr(self.value)
        if self.source == "default":
            return f"{self.value!r} (SQLAlchemy default)"
        if self.source == "runtime":
            return f"unknown ({self.expression})"
        return f"not used ({self.expression})"


@dataclass(frozen=True)
class Factory:
    name: str
    is_async: bool
    path: str
    line: int


@dataclass(frozen=True)
class RouteUse:
    methods: Tuple[str, ...]
    route_path: Optional[str]
    function: str
    path: str
    line: int
    via: Optional[str]  # the factory, class or engine method the session or connection came from
    via_where: Optional[str]

    def describe(self) -> str:
        where = f" {self.route_path}" if self.route_path is not None else ""
        return f"{', '.join(self.methods)}{where} ({self.function})"


@dataclass(frozen=True)
class Engine:
    path: str
    line: int
    column: int
    name: Optional[str]  # None for an engine that is returned or passed on
    function: Optional[str]  # the function creating it; None at module level
    is_async: bool
    is_test: bool
    url_source: str  # "literal", "constant", "template" or "runtime"
    dialect: Optional[str]
    driver: Optional[str]
    url_expression: Optional[str]  # what a URL known only at run time is read from
    pool_class: Optional[str]
    pool_class_source: str  # "explicit", "default" or "unknown"
    pool_class_expression: Optional[str]
    settings: Tuple[Setting, ...]
    per_process: Optional[int]  # connections one process can open; None when unbounded or unknown
    connections_note: Optional[str]  # why per_process is None
    workers: Optional[int]
    factories: Tuple[Factory, ...]
    routes: Tuple[RouteUse, ...]
    # Where `workers` comes from: "[tool.poollint.pool]", or the command of a
    # deployment file (`uvicorn --workers 4` in Dockerfile:12); None without.
    workers_from: Optional[str] = None

    @property
    def total(self) -> Optional[int]:
        if self.per_process is None:
            return None
        return self.per_process * self.workers if self.workers else self.per_process

    def setting(self, name: str) -> Setting:
        return next(s for s in self.settings if s.name == name)


def configured_workers(settings: object) -> Optional[int]:
    """`workers` of [tool.poollint.pool], where the configuration has that key."""
    workers = getattr(getattr(settings, "pool", None), "workers", None)
    return workers if isinstance(workers, int) and not isinstance(workers, bool) and workers > 0 else None


def collect_engines(
    index: ProjectIndex,
    modules: Optional[Sequence[str]] = None,
    workers: Optional[int] = None,
    deployment_workers: bool = False,
) -> List[Engine]:
    """Every engine created in `modules` (default: the whole index), by path and line.

    `workers` is the configured count; without one and with
    `deployment_workers`, each engine takes the count the deployment files
    give for its module (deployment_tables.py), when they give one.
    """
    chosen = (
        [index.modules[m] for m in modules if m in index.modules] if modules is not None else index.modules.values()
    )
    found = []
    for facts in chosen:
        count, source = workers, "[tool.poollint.pool]" if workers else None
        if workers is None and deployment_workers:
            from poollint import deployment_tables  # noqa: F401  (registers the table)

            given = index.table("deployment_workers", facts.path)
            if given is not None:
                count, source = given[0], f"`{given[1]}` in {given[2]}:{given[3]}"
        made = [_engine(index, facts, fact, name, None, facts.qualify(name), count) for name, fact in facts.engines.items()]
        made += [
            _engine(index, facts, fact, target, function or None, None, count)
            for function, target, fact in facts.other_engines
        ]
        found += [replace(engine, workers_from=source) for engine in made]
    found.sort(key=lambda e: (e.path, e.line, e.column))
    return found


def _engine(
    index: ProjectIndex,
    facts: ModuleFacts,
    fact: EngineFact,
    name: Optional[str],
    function: Optional[str],
    qualified: Optional[str],
    workers: Optional[int],
) -> Engine:
    url_source, url, url_expression = _url(index, facts, fact, function)
    dialect, driver = dialect_and_driver(url) if url is not None else (None, None)
    pool_class, pool_source, pool_expression = _pool_class(fact, dialect, url)
    settings = tuple(_setting(fact, key, pool_class, pool_source) for key in POOL_SETTINGS)
    per_process, note = _connections(fact, pool_class, pool_source, settings)
    return Engine(
        path=facts.path,
        line=fact.line,
        column=fact.column + 1,
        name=name,
        function=function,
        is_async=fact.is_async,
        is_test=is_test_module(facts.module),
        url_source=url_source,
        dialect=dialect,
        driver=driver,
        url_expression=url_expression,
        pool_class=pool_class,
        pool_class_source=pool_source,
        pool_class_expression=pool_expression,
        settings=settings,
        per_process=per_process,
        connections_note=note,
        workers=workers,
        factories=tuple(_factories(index, qualified)) if qualified else (),
        routes=tuple(_routes(index, qualified)) if qualified else (),
    )


def _url(
    index: ProjectIndex, facts: ModuleFacts, fact: EngineFact, function: Optional[str]
) -> Tuple[str, Optional[str], Optional[str]]:
    """(source, URL text to read the scheme of, expression name)."""
    if fact.url is not None:
        return "literal", fact.url, None
    if fact.url_template is not None:
        return "template", fact.url_template, None
    if fact.url_ref is None:
        return "runtime", None, None
    shown = f"{fact.url_ref}()" if fact.url_call else fact.url_ref
    if not fact.url_call:
        fn = facts.functions.get(function) if function else None
        qualified = qualify_dotted(facts, fn, fact.url_ref)
        constant = _string_constant(index, qualified)
        if constant is not None:
            return "constant", constant, shown
    return "runtime", None, shown


def _string_constant(index: ProjectIndex, qualified: Optional[str]) -> Optional[str]:
    found = index.resolve(qualified)
    if found is None or found[2]:
        return None
    facts, name, _ = found
    return facts.string_constants.get(name)


def _sqlalchemy_pool(qualified: str) -> Optional[str]:
    """`QueuePool` of `sqlalchemy.pool.QueuePool`; None for a class poollint does not know."""
    for prefix in _POOL_MODULES:
        name = qualified[len(prefix) :]
        if qualified.startswith(prefix) and name in _KNOWN_POOLS:
            return name
    return None


def _pool_class(
    fact: EngineFact, dialect: Optional[str], url: Optional[str]
) -> Tuple[Optional[str], str, Optional[str]]:
    """(pool class, "explicit"/"default"/"unknown", expression when unknown)."""
    expressions = dict(fact.expressions)
    if "pool" in fact.kwargs:
        return None, "unknown", "a ready-made pool= object"
    if "poolclass" in fact.kwargs:
        known = _sqlalchemy_pool(fact.poolclass) if fact.poolclass is not None else None
        if known is not None:
            return known, "explicit", None
        return None, "unknown", expressions.get("poolclass", "poolclass=...")
    if fact.has_star_kwargs:
        # **options may carry poolclass= as much as pool_size=.
        queue = "AsyncAdaptedQueuePool" if fact.is_async else "QueuePool"
        return queue, "default", "**kwargs"
    if dialect == "sqlite" and url is not None and sqlite_in_memory(url):
        return ("StaticPool" if fact.is_async else "SingletonThreadPool"), "default", None
    return ("AsyncAdaptedQueuePool" if fact.is_async else "QueuePool"), "default", None


def _setting(fact: EngineFact, key: str, pool_class: Optional[str], pool_source: str) -> Setting:
    expressions = dict(fact.expressions)
    if key in fact.kwargs:
        marker = object()
        value = fact.literal(key, marker)
        if value is not marker:
            return Setting(key, "literal", value)
        return Setting(key, "runtime", None, expressions.get(key, f"{key}=..."))
    if fact.has_star_kwargs:
        return Setting(key, "runtime", None, "**kwargs")
    if pool_class is not None and pool_class not in _QUEUE_POOLS and key in _QUEUE_ONLY:
        if pool_class not in _QUEUE_ONLY[key]:
            return Setting(key, "not_applicable", None, pool_class)
    if pool_source == "unknown" and key in _QUEUE_ONLY:
        return Setting(key, "runtime", None, "depends on the pool")
    return Setting(key, "default", SQLALCHEMY_DEFAULTS[key])


def _connections(
    fact: EngineFact, pool_class: Optional[str], pool_source: str, settings: Tuple[Setting, ...]
) -> Tuple[Optional[int], Optional[str]]:
    """(connections one process can hold open at once, or None and why)."""
    if pool_class in ("StaticPool", "AssertionPool"):
        return 1, None
    if pool_class == "NullPool":
        return None, "no limit: NullPool opens a new connection for every checkout"
    if pool_class == "SingletonThreadPool":
        return None, "one per thread: SingletonThreadPool"
    if pool_class not in _QUEUE_POOLS:
        return None, "unknown: " + (
            "the pool class is only known at run time" if pool_source == "unknown" else f"{pool_class}"
        )
    size, overflow = (next(s for s in settings if s.name == key) for key in ("pool_size", "max_overflow"))
    unknown = [s for s in (size, overflow) if s.source == "runtime"]
    if unknown:
        return None, "unknown: " + ", ".join(f"{s.name} from {s.expression}" for s in unknown)
    if not _is_int(size.value) or not _is_int(overflow.value):
        return None, "unknown: pool_size or max_overflow is not a number"
    if size.value <= 0:  # type: ignore[operator]
        return None, "no limit: pool_size=0 lets QueuePool open any number"
    if overflow.value < 0:  # type: ignore[operator]
        return None, "no limit: max_overflow=-1 lets QueuePool overflow without bound"
    return size.value + overflow.value, None  # type: ignore[operator]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _factories(index: ProjectIndex, engine: str) -> List[Factory]:
    found = []
    for facts in index.modules.values():
        for name, factory in facts.factories.items():
            bound = index.engine(factory.engine)
            if bound is not None and bound[0] == engine:
                found.append(Factory(name, factory.is_async, facts.path, factory.line))
    found.sort(key=lambda f: (f.path, f.line, f.name))
    return found


def _routes(index: ProjectIndex, engine: str) -> List[RouteUse]:
    found = []
    for facts, fn, resource in index.users_of_engine(engine):
        route = index.route(facts.module, fn.qualname)
        if route is None:
            continue
        found.append(
            RouteUse(
                methods=route.methods,
                route_path=route.path,
                function=fn.qualname,
                path=facts.path,
                line=fn.line,
                via=resource.origin,
                via_where=resource.origin_where,
            )
        )
    return found


# -- output -----------------------------------------------------------------------


def _label(engine: Engine) -> str:
    name = engine.name or "(unnamed engine)"
    return f"{name} in {engine.function}()" if engine.function else name


def _url_text(engine: Engine) -> str:
    if engine.url_source in ("literal", "constant", "template") and engine.dialect:
        driver = f"driver {engine.driver}" if engine.driver else "its default driver"
        text = f"dialect {engine.dialect}, {driver}"
        if engine.url_source == "constant":
            text += f" (from {engine.url_expression})"
        return text
    if engine.url_expression:
        return f"from {engine.url_expression}"
    return "from settings or an expression (known at run time)"


def _pool_text(engine: Engine) -> str:
    if engine.pool_class_source == "explicit":
        return f"{engine.pool_class} (poolclass=)"
    if engine.pool_class_source == "default":
        unless = f" unless {engine.pool_class_expression} sets poolclass" if engine.pool_class_expression else ""
        return f"{engine.pool_class} (SQLAlchemy default{unless})"
    return f"unknown ({engine.pool_class_expression})"


def _connections_text(engine: Engine) -> str:
    if engine.per_process is None:
        return engine.connections_note or "unknown"
    text = f"up to {engine.per_process} per process"
    if engine.workers:
        text += f" x {engine.workers} workers = {engine.total}"
        if engine.workers_from and engine.workers_from != "[tool.poollint.pool]":
            text += f" (workers: {engine.workers_from})"
    return text


def render_text(engines: Sequence[Engine], workers: Optional[int]) -> List[str]:
    """Human-readable lines, one block per engine, in path and line order."""
    if not engines:
        return ["No engines found."]
    lines: List[str] = []
    width = max(len(k) for k in POOL_SETTINGS + ("connections",)) + 1
    for engine in engines:
        kind = "async" if engine.is_async else "sync"
        test = ", test code" if engine.is_test else ""
        lines.append(f"{engine.path}:{engine.line}: {_label(engine)} ({kind}{test})")
        lines.append(f"  {'url:':<{width}} {_url_text(engine)}")
        lines.append(f"  {'pool:':<{width}} {_pool_text(engine)}")
        for setting in engine.settings:
            lines.append(f"  {setting.name + ':':<{width}} {setting.text()}")
        lines.append(f"  {'connections:':<{width}} {_connections_text(engine)}")
        if engine.factories:
            lines.append("  session factories:")
            for factory in engine.factories:
                kind = "async" if factory.is_async else "sync"
                lines.append(f"    {factory.name} ({kind}) {factory.path}:{factory.line}")
        if engine.routes:
            lines.append("  routes:")
            for route in engine.routes:
                via = f" via {route.via}" if route.via else ""
                lines.append(f"    {route.describe()} {route.path}:{route.line}{via}")
        lines.append("")
    lines.append(_summary(engines, workers))
    return lines


def _totals(engines: Sequence[Engine]) -> Tuple[int, bool]:
    """(connections per process, whether every engine's limit is known) over
    the engines outside test code: a test database serves no traffic."""
    serving = [e for e in engines if not e.is_test]
    per_process = sum(e.per_process or 0 for e in serving)
    return per_process, all(e.per_process is not None for e in serving)


def _deployed_total(engines: Sequence[Engine]) -> Optional[int]:
    """Connections of the engines outside test code times the worker counts
    the deployment files give each (1 where none), when some file gives one."""
    serving = [e for e in engines if not e.is_test]
    if not any(e.workers for e in serving):
        return None
    return sum((e.per_process or 0) * (e.workers or 1) for e in serving)


def _summary(engines: Sequence[Engine], workers: Optional[int]) -> str:
    per_process, complete = _totals(engines)
    deployed = None if workers else _deployed_total(engines)
    serving = [e for e in engines if not e.is_test]
    unbounded = sum(1 for e in serving if e.per_process is None)
    text = _plural(len(engines), "engine")
    if len(serving) != len(engines):
        text += f" ({len(engines) - len(serving)} in test code, not counted)"
    if not serving:
        return text + "."
    if unbounded == len(serving):
        return text + ": no known connection limit."
    text += f": {'up to' if complete else 'at least'} {per_process} connections per process"
    if workers:
        text += f", {per_process * workers} with {workers} workers"
    elif deployed is not None:
        text += f", {deployed} with the workers the deployment files start"
    if not complete:
        text += f" ({_plural(unbounded, 'engine')} without a known limit)"
    if not workers and deployed is None:
        text += "; set `workers` in [tool.poollint.pool] for the total"
    return text + "."


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def to_json(engines: Sequence[Engine], workers: Optional[int]) -> Dict[str, object]:
    """The inventory as JSON-ready data; field names are documented in docs/engines.md."""
    per_process, complete = _totals(engines)
    return {
        "version": JSON_VERSION,
        "workers": workers,
        "engines": [_engine_json(e) for e in engines],
        "total": {
            "per_process": per_process,
            "all_workers": per_process * workers if workers else _deployed_total(engines),
            "complete": complete,
        },
    }


def _engine_json(engine: Engine) -> Dict[str, object]:
    return {
        "path": engine.path,
        "line": engine.line,
        "column": engine.column,
        "name": engine.name,
        "function": engine.function,
        "async": engine.is_async,
        "test": engine.is_test,
        "url": {
            "source": engine.url_source,
            "dialect": engine.dialect,
            "driver": engine.driver,
            "expression": engine.url_expression,
        },
        "pool_class": {
            "name": engine.pool_class,
            "source": engine.pool_class_source,
            "expression": engine.pool_class_expression,
        },
        "settings": {
            s.name: {"value": s.value, "source": s.source, "expression": s.expression} for s in engine.settings
        },
        "connections": {
            "per_process": engine.per_process,
            "total": engine.total,
            "note": engine.connections_note,
            "workers": engine.workers,
            "workers_from": engine.workers_from,
        },
        "session_factories": [
            {"name": f.name, "async": f.is_async, "path": f.path, "line": f.line} for f in engine.factories
        ],
        "routes": [
            {
                "methods": list(r.methods),
                "route": r.route_path,
                "function": r.function,
                "path": r.path,
                "line": r.line,
                "via": r.via,
                "via_where": r.via_where,
            }
            for r in engine.routes
        ],
    }
