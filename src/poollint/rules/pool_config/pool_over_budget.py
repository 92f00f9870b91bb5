"""POL306: the pools of all engines, times the workers, exceed the database's max_connections."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Dict, List, Optional, Set, Tuple

from poollint.facts import EngineFact, ModuleFacts, qualify_dotted
from poollint.inventory import Engine, collect_engines
from poollint.project import ProjectIndex, is_test_module
from poollint.rule import Invalid, Valid
from poollint.context import in_script_directory
from poollint.rules.pool_config._engine_call import EngineCall, EngineCallRule, is_migration_module
from poollint.urls import dialect_and_driver

_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306, "mssql": 1433, "oracle": 1521}


@dataclass(frozen=True)
class _Counted:
    """One engine's share of the budget."""

    module: str
    name: str
    path: str
    line: int
    pool_size: Optional[int]  # None for a pool of one (StaticPool)
    max_overflow: Optional[int]
    per_process: Optional[int]  # None: unbounded or unknown

    def term(self, workers: int, here: str) -> str:
        where = "" if self.path == here else f" ({self.path}:{self.line})"
        size = f"({self.pool_size} + {self.max_overflow})" if self.pool_size is not None else "1"
        return f"{self.name}{where} {size} x {workers} worker{'s' if workers != 1 else ''}"


@dataclass(frozen=True)
class _Overrun:
    """A group of engines of one database whose pools exceed its budget."""

    engines: Tuple[_Counted, ...]
    total: int
    largest: _Counted


# Per project index: (max_connections, workers) -> the overruns found.
_CACHE: "weakref.WeakKeyDictionary[ProjectIndex, Dict[Tuple[int, int], List[_Overrun]]]" = weakref.WeakKeyDictionary()


class PoolOverBudget(EngineCallRule):
    """
    ## What it does
    When `max-connections` is set in `[tool.poollint.pool]`, adds up the
    connections the application's engines can open, per database: for each
    module-level engine of a module the application imports (from the module
    defining its FastAPI app, each app on its own; or, for an app built in a
    factory function, from the modules defining routers and routes),
    `pool_size + max_overflow` (literal, or SQLAlchemy's defaults 5 and 10
    when not given), times `workers` (default 1: each worker process has its
    own pools). When the sum exceeds `max-connections` it reports once, at
    the largest engine, with the arithmetic and the engines it adds up.

    Engines are grouped by the database they connect to: the same host and
    port in literal URLs, or the same settings expression
    (`settings.DATABASE_URL`); a replica is budgeted apart. A group with an
    engine whose size is unknown (read from settings or `**kwargs`, a
    `poolclass` known only at run time, NullPool's unbounded pool, a
    `pool_size=0` or `max_overflow=-1` without limit) is not reported: it
    cannot be added up. SQLite engines, engines made inside functions, test
    code, migrations and scripts are not counted.

    ## Why is this bad?
    Every worker process (gunicorn/uvicorn `--workers`, every replica of the
    container) opens its own pools, and each pool may grow to `pool_size +
    max_overflow` connections under load. When the total is larger than the
    database's `max_connections`, a traffic spike makes the database refuse
    connections (`FATAL: sorry, too many clients already`, `Too many
    connections`), and every worker fails at once, including the ones that
    were within their share.

    ## Example
    ```python
    # pyproject.toml: [tool.poollint.pool] max-connections = 100, workers = 4
    from fastapi import FastAPI
    from sqlalchemy import create_engine

    app = FastAPI()
    engine = create_engine("postgresql+psycopg://app@db/shop", pool_size=20, max_overflow=10)
    ```

    ## Use instead
    ```python
    # pyproject.toml: [tool.poollint.pool] max-connections = 100, workers = 4
    from fastapi import FastAPI
    from sqlalchemy import create_engine

    app = FastAPI()
    engine = create_engine("postgresql+psycopg://app@db/shop", pool_size=15, max_overflow=5)
    ```
    """

    CODE = "POL306"
    NAME = "pool-over-budget"
    MESSAGE = (
        "the pools can open more connections than the database accepts: {terms} = {total} connections > "
        "max-connections {limit}"
    )
    TRIGGERS = ("create_engine", "create_async_engine")
    OPTIONS = (
        (
            "`max-connections` in `[tool.poollint.pool]`",
            "the connections the database accepts; the rule runs only when it is set",
        ),
        (
            "`workers` in `[tool.poollint.pool]`",
            "worker processes (or replicas) each opening their own pools; default 1",
        ),
    )

    EXAMPLE_POOL_SETTINGS = {"max_connections": 100, "workers": 4}

    # The examples run with `max-connections = 100` and `workers = 4`.
    VALID = [
        Valid(
            """
            from fastapi import FastAPI
            from sqlalchemy import create_engine

            app = FastAPI()
            engine = create_engine("postgresql://app@db/shop", pool_size=15, max_overflow=5)
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from sqlalchemy import create_engine

            from app.config import settings

            app = FastAPI()
            engine = create_engine("postgresql://app@db/shop", pool_size=settings.POOL_SIZE)
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from sqlalchemy import create_engine

            app = FastAPI()
            engine = create_engine("sqlite:///./app.db", pool_size=200)
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from fastapi import FastAPI
            from sqlalchemy import create_engine

            app = FastAPI()
            engine = create_engine("postgresql://app@db/shop", pool_size=100, max_overflow=10)
            """
        ),
        Invalid(
            """
            from fastapi import APIRouter
            from sqlalchemy.ext.asyncio import create_async_engine

            router = APIRouter()
            engine = create_async_engine("postgresql+asyncpg://app@db/shop", pool_size=60, max_overflow=60)
            """
        ),
        Invalid(
            """
            from fastapi import FastAPI
            from sqlalchemy import create_engine

            app = FastAPI()
            engine = create_engine("mysql+pymysql://app@db/shop", pool_size=50, max_overflow=50)
            reports = create_engine("mysql+pymysql://app@db/shop", pool_size=40)
            """
        ),
    ]

    def check(self, engine: EngineCall) -> None:
        pool = self.ctx.settings.pool
        limit = pool.max_connections
        if limit is None or engine.target is None or engine.function is not None:
            # No budget configured: PostgreSQL's usual 100 is not assumed.
            return
        workers = pool.workers or 1
        module = self.ctx.facts.module
        for overrun in _overruns(self.ctx.index, limit, workers):
            largest = overrun.largest
            if (largest.module, largest.name) != (module, engine.target):
                continue
            here = self.ctx.facts.path
            self.report(
                engine.node,
                terms=" + ".join(counted.term(workers, here) for counted in overrun.engines),
                total=overrun.total,
                limit=limit,
            )


def _overruns(index: ProjectIndex, limit: int, workers: int) -> List[_Overrun]:
    cached = _CACHE.setdefault(index, {})
    key = (limit, workers)
    if key not in cached:
        cached[key] = _find_overruns(index, limit, workers)
    return cached[key]


def _find_overruns(index: ProjectIndex, limit: int, workers: int) -> List[_Overrun]:
    """Per application (process), per database, the engines over budget;
    one overrun per largest engine."""
    found: Dict[Tuple[str, str], _Overrun] = {}
    for modules in _applications(index):
        for overrun in _overruns_of(index, modules, limit, workers):
            key = (overrun.largest.module, overrun.largest.name)
            if key not in found or found[key].total < overrun.total:
                found[key] = overrun
    return list(found.values())


def _overruns_of(index: ProjectIndex, modules: Set[str], limit: int, workers: int) -> List[_Overrun]:
    groups: Dict[object, List[_Counted]] = {}
    unknown: Set[object] = set()
    for engine in collect_engines(index, sorted(modules)):
        facts = _facts_at(index, engine.path)
        if facts is None or engine.function is not None or engine.name not in facts.engines:
            continue
        if engine.dialect == "sqlite":
            continue
        group = _database_key(index, facts, facts.engines[engine.name], engine)
        counted = _counted(facts, engine)
        if counted is None:
            unknown.add(group)
            continue
        groups.setdefault(group, []).append(counted)
    found = []
    for group, engines in groups.items():
        if group in unknown:
            # An engine of this database cannot be added up: say nothing.
            continue
        total = sum(counted.per_process for counted in engines) * workers  # type: ignore[misc]
        if total > limit:
            engines.sort(key=lambda c: (c.path, c.line))
            largest = max(engines, key=lambda c: c.per_process)  # type: ignore[arg-type, return-value]
            found.append(_Overrun(tuple(engines), total, largest))
    return found


def _counted(facts: ModuleFacts, engine: Engine) -> Optional[_Counted]:
    if engine.per_process is None or engine.name is None:
        return None
    if engine.pool_class in ("QueuePool", "AsyncAdaptedQueuePool"):
        size, overflow = engine.setting("pool_size").value, engine.setting("max_overflow").value
        return _Counted(facts.module, engine.name, engine.path, engine.line, size, overflow, engine.per_process)  # type: ignore[arg-type]
    return _Counted(facts.module, engine.name, engine.path, engine.line, None, None, engine.per_process)


def _facts_at(index: ProjectIndex, path: str) -> Optional[ModuleFacts]:
    for facts in index.modules.values():
        if facts.path == path:
            return facts
    return None


def _database_key(index: ProjectIndex, facts: ModuleFacts, fact: EngineFact, engine: Engine) -> object:
    """What identifies the database an engine connects to, as far as the
    source tells: the server of a literal URL, or the expression a URL is
    read from; engines that match on neither are budgeted apart."""
    url = fact.url
    if url is None and fact.url_ref is not None and not fact.url_call:
        qualified = qualify_dotted(facts, None, fact.url_ref)
        found = index.resolve(qualified)
        if found is not None and not found[2]:
            url = found[0].string_constants.get(found[1])
    if url is not None and "{" not in url:
        server = _server(url)
        if server is not None:
            return ("server",) + server
    if fact.url_template is not None:
        return ("template", fact.url_template)
    if fact.url_ref is not None:
        return ("expression", fact.url_ref, fact.url_call)
    return ("engine", facts.module, engine.name)


def _server(url: str) -> Optional[Tuple[str, int]]:
    """(host, port) of a URL; the credentials are read past, never kept."""
    dialect, _ = dialect_and_driver(url)
    rest = url.partition("://")[2]
    location = rest.split("/", 1)[0].split("?", 1)[0]
    host_port = location.rsplit("@", 1)[-1]
    if not host_port:
        return None
    host, sep, port = host_port.rpartition(":") if not host_port.endswith("]") else (host_port, "", "")
    if not sep:
        host, port = host_port, ""
    if port and not (port.isascii() and port.isdigit() and len(port) <= 9):
        # int() rejects "²" and thousands of digits, which isdigit() lets through.
        return None
    default = _DEFAULT_PORTS.get(dialect or "", 0)
    return host.lower(), int(port) if port else default


def _applications(index: ProjectIndex) -> List[Set[str]]:
    """The modules each application process imports: one per module defining
    a FastAPI app (two apps in one repository are deployed apart), or, with
    apps built in factories, one for all modules defining routers and routes.
    Test code, migrations and scripts are never part of one."""
    candidates = [facts for facts in index.modules.values() if _counts(facts)]
    apps = [facts.module for facts in candidates if "app" in facts.kinds.values()]
    if apps:
        return [_imported_from(index, [app]) for app in sorted(apps)]
    routed = [
        facts.module
        for facts in candidates
        if "router" in facts.kinds.values() or any(fn.routes for fn in facts.functions.values())
    ]
    return [_imported_from(index, routed)] if routed else []


def _counts(facts: ModuleFacts) -> bool:
    return not (is_test_module(facts.module) or is_migration_module(facts.path) or in_script_directory(facts.path))


def _imported_from(index: ProjectIndex, roots: List[str]) -> Set[str]:
    """The modules `roots` import, directly or not (module-level and
    function-level imports, the packages above each module)."""
    seen: Set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        facts = index.modules.get(name)
        if facts is None or not _counts(facts):
            continue
        imported = list(facts.imports.values()) + list(facts.star_imports)
        for fn in facts.functions.values():
            imported.extend(fn.local_imports.values())
        for qualified in imported:
            module = _module_of(index, qualified)
            if module is not None:
                todo.extend(_with_packages(module))
    return {name for name in seen if name in index.modules and _counts(index.modules[name])}


def _module_of(index: ProjectIndex, qualified: str) -> Optional[str]:
    parts = qualified.split(".")
    for end in range(len(parts), 0, -1):
        facts = index.module(".".join(parts[:end]))
        if facts is not None:
            return facts.module
    return None


def _with_packages(module: str) -> List[str]:
    """A module and the packages above it, which importing it runs too."""
    parts = module.split(".")
    return [".".join(parts[:end]) for end in range(len(parts), 0, -1)]
