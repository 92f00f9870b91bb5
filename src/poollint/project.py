"""The project index: the facts of every module, merged, with names resolved across modules."""

from __future__ import annotations

import os
import sys
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
import hashlib
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

from poollint import names
from poollint.facts import SLOTS, EngineFact, FactoryFact, FunctionFact, ModuleFacts, RouteDecl, qualify_dotted

# Absolute imports of these never name a project module, whatever the tree
# holds (an `app/time.py` does not shadow `import time`).
_EXTERNAL_TOP_LEVEL = frozenset(getattr(sys, "stdlib_module_names", ())) | {
    "fastapi",
    "starlette",
    "sqlalchemy",
    "sqlmodel",
    "pydantic",
    "typing_extensions",
    "requests",
    "httpx",
    "urllib3",
    "time",
    "asyncio",
    "subprocess",
    "os",
    "typing",
}
_MAX_DEPTH = 8


def _table(*rows: Tuple[frozenset, str, bool]) -> Dict[str, Tuple[str, bool]]:
    return {name: (kind, is_async) for names_, kind, is_async in rows for name in names_}


# What SQLAlchemy's own callables give when called, and what its classes mean
# as a parameter's annotation: (kind, is_async).
_CALL_RESULTS = _table(
    (names.SESSION_CLASSES, "session", False),
    (names.ASYNC_SESSION_CLASSES, "session", True),
    (names.CREATE_ENGINE, "engine", False),
    (names.CREATE_ASYNC_ENGINE, "engine", True),
)
_ANNOTATED_TYPES = _table(
    (names.SESSION_CLASSES, "session", False),
    (names.ASYNC_SESSION_CLASSES, "session", True),
    (names.SYNC_CONNECTION_CLASSES, "connection", False),
    (names.ASYNC_CONNECTION_CLASSES, "connection", True),
)


def _known_resource(ref: str, table: Dict[str, Tuple[str, bool]]) -> Optional["Resource"]:
    found = table.get(ref)
    return Resource(found[0], found[1], origin=ref.rsplit(".", 1)[-1]) if found else None


@dataclass(frozen=True)
class Resource:
    """What a value is, as far as the pool is concerned."""

    kind: str  # "session", "connection" or "engine"
    is_async: bool
    # Where it came from, for messages: the factory or class that made it.
    origin: Optional[str] = None
    origin_where: Optional[str] = None
    # The engine (qualified name) it draws connections from, when known.
    engine: Optional[str] = None

    def origin_note(self, name: str) -> str:
        """` (from AsyncSessionLocal, app/db.py:7)` after a value called `name`, or
        nothing when it adds nothing (the value is the factory itself)."""
        parts = []
        if self.origin and self.origin != name:
            parts.append(f"from {self.origin}")
        if self.origin_where:
            parts.append(self.origin_where)
        return f" ({', '.join(parts)})" if parts else ""

    @property
    def label(self) -> str:
        return f"{'async' if self.is_async else 'sync'} {self.kind}"


@dataclass(frozen=True, **SLOTS)
class RouteInfo:
    methods: Tuple[str, ...]
    path: Optional[str]
    function: str

    def describe(self) -> str:
        where = f" {self.path}" if self.path is not None else ""
        return f"{', '.join(self.methods)}{where} ({self.function})"


def module_name_for(path: Path, root: Optional[Path]) -> Tuple[str, bool]:
    """The dotted module name of a file, and whether it is a package's __init__."""
    path = Path(path)
    is_package = path.stem == "__init__"
    parts: List[str]
    # realpath, not Path.resolve(): on Python < 3.13 resolve() raises
    # RuntimeError for a symlink loop, and a file `a.py -> a.py` is one.
    resolved = Path(os.path.realpath(path))
    try:
        rel = resolved.relative_to(os.path.realpath(root)) if root is not None else None
    except ValueError:
        rel = None
    if rel is not None:
        parts = list(rel.with_suffix("").parts)
    else:
        # Outside the root: climb while the directory is a package.
        parts = [path.stem]
        parent = resolved.parent
        while (parent / "__init__.py").exists() and parent.parent != parent:
            parts.insert(0, parent.name)
            parent = parent.parent
    if is_package:
        parts = parts[:-1]
    return ".".join(p for p in parts if p), is_package


# Project-wide tables rules derive from the facts ("the project's blocking
# helpers"), by name: `index.table(name, *args)` computes each once per index,
# and the cache can ask for it again by name on a later run.
_TABLES: Dict[str, Callable[..., Any]] = {}


def index_table(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `fn(index, *args)` as the table `name`."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        _TABLES[name] = fn
        return fn

    return register


class ProjectIndex:
    def __init__(self, modules: Iterable[ModuleFacts] = (), deployment: Iterable[Any] = ()) -> None:
        self.modules: Dict[str, ModuleFacts] = {}
        for facts in modules:
            self.modules[facts.module] = facts
        # Facts of the deployment files (deployment.DeploymentFacts) by path:
        # rules read them through index tables (index.table), whose answers
        # the cache fingerprints like any other question.
        self.deployment: Dict[str, Any] = {facts.path: facts for facts in deployment}
        self._suffixes: Optional[Dict[str, List[str]]] = None
        self._routes: Optional[Dict[Tuple[str, str], RouteInfo]] = None
        self._dependencies: Optional[Set[Tuple[str, str]]] = None
        self._triggers: Dict[type, Tuple[bytes, ...]] = {}
        self._created: Dict[Optional[str], Optional[Resource]] = {}
        self._creating: Set[str] = set()
        self._resolved: Dict[Optional[str], Optional[Tuple[ModuleFacts, str, str]]] = {}
        self._per_request: Optional[Set[Tuple[str, str]]] = None
        self._request_parents: Optional[Dict[Tuple[str, str], Optional[Tuple[str, str]]]] = None
        # Engine -> its users. Rules ask once per create_engine() call in every
        # file: computed per engine once, or each file would scan the project.
        self._async_users: Optional[Dict[str, List[Tuple[ModuleFacts, FunctionFact, Resource]]]] = None
        self._users: Dict[str, List[Tuple[ModuleFacts, FunctionFact, Resource]]] = {}
        self._tables: Dict[Tuple[Any, ...], Any] = {}
        self._includes: Optional[Dict[Tuple[str, str], List[Tuple[Optional[str], str]]]] = None
        self._function_modules: Optional[Dict[int, str]] = None
        self._fingerprint: Optional[str] = None

    def table(self, name: str, *args: Any) -> Any:
        """The registered table `name` (see index_table) for `args`, computed once."""
        key = (name,) + args
        if key not in self._tables:
            self._tables[key] = _TABLES[name](self, *args)
        return self._tables[key]

    def module_of_function(self, fn: FunctionFact) -> Optional[str]:
        """The module whose facts hold `fn` (by identity)."""
        if self._function_modules is None:
            self._function_modules = {
                id(f): facts.module for facts in self.modules.values() for f in facts.functions.values()
            }
        return self._function_modules.get(id(fn))

    def fingerprint(self) -> str:
        """A digest of every module's facts (names, paths and source digests)."""
        if self._fingerprint is None:
            rows = sorted((m, f.path, f.digest) for m, f in self.modules.items())
            self._fingerprint = hashlib.blake2b(repr(rows).encode(), digest_size=16).hexdigest()
        return self._fingerprint

    def triggers_of(self, rule: type) -> Tuple[bytes, ...]:
        """A rule's trigger substrings for this project, encoded, computed once per rule.

        Empty means the rule cannot fire anywhere in this project (a
        dependency rule in a project without dependencies).
        """
        found = self._triggers.get(rule)
        if found is None:
            found = tuple(sorted({t.encode() for t in rule.triggers(self)}))  # type: ignore[attr-defined]
            self._triggers[rule] = found
        return found

    def session_maker_names(self) -> Set[str]:
        """Names of the project's session factories and of helpers returning a new session."""
        found: Set[str] = set()
        for facts in self.modules.values():
            found.update(facts.factories)
            for fn in facts.functions.values():
                if not fn.is_generator and any(self.created_by_call(r) for r in fn.returns_from):
                    found.add(fn.qualname.rsplit(".", 1)[-1])
        return found

    def with_module(self, facts: ModuleFacts) -> "ProjectIndex":
        """A copy in which one module's facts are replaced (after a fix changed it)."""
        modules = dict(self.modules)
        modules[facts.module] = facts
        return ProjectIndex(modules.values(), self.deployment.values())

    # -- modules and names ---------------------------------------------------
    def module(self, name: str) -> Optional[ModuleFacts]:
        if name in self.modules:
            return self.modules[name]
        if not name or name.split(".", 1)[0] in _EXTERNAL_TOP_LEVEL:
            return None
        if self._suffixes is None:
            self._suffixes = {}
            for module in self.modules:
                parts = module.split(".")
                for i in range(1, len(parts)):
                    self._suffixes.setdefault(".".join(parts[i:]), []).append(module)
        # `from app.db import X` run from a parent directory: the index root
        # sits above the package, so match by the end of the dotted path.
        candidates = self._suffixes.get(name, [])
        return self.modules[candidates[0]] if len(candidates) == 1 else None

    def resolve(self, qualified: Optional[str], depth: int = 0) -> Optional[Tuple[ModuleFacts, str, str]]:
        if depth == 0:
            if qualified not in self._resolved:
                self._resolved[qualified] = self._resolve(qualified, 0)
            return self._resolved[qualified]
        return self._resolve(qualified, depth)

    def _resolve(self, qualified: Optional[str], depth: int) -> Optional[Tuple[ModuleFacts, str, str]]:
        """(module, name, rest) of the project definition a qualified name refers to.

        Follows re-exports (`from .db import SessionLocal` in a package's
        __init__). `rest` is what follows the definition's name: resolving
        `app.db.engine.connect` gives (app.db, "engine", "connect").
        """
        if not qualified or depth > _MAX_DEPTH:
            return None
        parts = qualified.split(".")
        for split in range(len(parts) - 1, 0, -1):
            facts = self.module(".".join(parts[:split]))
            if facts is None:
                continue
            name, rest = parts[split], ".".join(parts[split + 1 :])
            if name in facts.kinds:
                return facts, name, rest
            if name in facts.imports:
                target = facts.imports[name]
                return self.resolve(f"{target}.{rest}" if rest else target, depth + 1)
            for star in facts.star_imports:
                found = self.resolve(f"{star}.{qualified[len(facts.module) + 1 :]}", depth + 1)
                if found:
                    return found
            return None
        return None

    def kind(self, qualified: Optional[str]) -> Optional[str]:
        found = self.resolve(qualified)
        if found is None or found[2]:
            return None
        facts, name, _ = found
        return facts.kinds.get(name)

    def engine(self, qualified: Optional[str]) -> Optional[Tuple[str, EngineFact]]:
        found = self.resolve(qualified)
        if found is None or found[2] or found[1] not in found[0].engines:
            return None
        facts, name, _ = found
        return facts.qualify(name), facts.engines[name]

    def factory(self, qualified: Optional[str]) -> Optional[Tuple[str, ModuleFacts, FactoryFact]]:
        found = self.resolve(qualified)
        if found is None or found[2] or found[1] not in found[0].factories:
            return None
        facts, name, _ = found
        return facts.qualify(name), facts, facts.factories[name]

    def function(self, qualified: Optional[str]) -> Optional[Tuple[ModuleFacts, FunctionFact]]:
        found = self.resolve(qualified)
        if found is None:
            return None
        facts, name, rest = found
        qualname = f"{name}.{rest}" if rest else name
        fn = facts.functions.get(qualname)
        return (facts, fn) if fn is not None else None

    # -- what values are -----------------------------------------------------
    def created_by_call(self, callee: Optional[str], depth: int = 0) -> Optional[Resource]:
        """What calling `callee(...)` gives, when it is a session, connection or engine."""
        # Helpers returning helpers' results branch at every level: without
        # remembering answers the walk is exponential in real projects. A
        # call already being worked out (a cycle) gives no answer.
        if callee in self._created:
            return self._created[callee]
        if callee in self._creating:
            return None
        self._creating.add(callee)  # type: ignore[arg-type]
        try:
            result = self._created_by_call(callee, depth)
        finally:
            self._creating.discard(callee)  # type: ignore[arg-type]
        self._created[callee] = result
        return result

    def _created_by_call(self, callee: Optional[str], depth: int) -> Optional[Resource]:
        if not callee or depth > _MAX_DEPTH:
            return None
        known = _known_resource(callee, _CALL_RESULTS)
        if known is not None:
            return known
        found = self.resolve(callee)
        if found is None:
            return None
        facts, name, rest = found
        if name in facts.factories and not rest:
            factory = facts.factories[name]
            return Resource(
                "session",
                factory.is_async,
                origin=name,
                origin_where=f"{facts.path}:{factory.line}",
                engine=self._qualified_engine(factory.engine),
            )
        if name in facts.engines and rest in ("connect", "begin", "raw_connection"):
            engine = facts.engines[name]
            return Resource(
                "connection",
                engine.is_async and rest != "raw_connection",
                origin=f"{name}.{rest}",
                origin_where=f"{facts.path}:{engine.line}",
                engine=facts.qualify(name),
            )
        fn = facts.functions.get(f"{name}.{rest}" if rest else name)
        if fn is not None and not fn.is_generator:
            # A helper that returns a new session: calling it creates one.
            for source in fn.returns_from:
                resource = self.created_by_call(source, depth + 1)
                if resource is not None:
                    return resource
        return None

    def _qualified_engine(self, ref: Optional[str]) -> Optional[str]:
        found = self.engine(ref)
        return found[0] if found else None

    def of_global(self, qualified: Optional[str]) -> Optional[Resource]:
        """What a module-level name is: an engine, or a session created at import time."""
        found = self.resolve(qualified)
        if found is None or found[2]:
            return None
        facts, name, _ = found
        if name in facts.engines:
            engine = facts.engines[name]
            return Resource(
                "engine",
                engine.is_async,
                origin=name,
                origin_where=f"{facts.path}:{engine.line}",
                engine=facts.qualify(name),
            )
        return None

    def of_annotation(self, ref: Optional[str], depth: int = 0) -> Optional[Resource]:
        if not ref or depth > _MAX_DEPTH:
            return None
        known = _known_resource(ref, _ANNOTATED_TYPES)
        if known is not None:
            return known
        alias = self._alias(ref)
        if alias is not None:
            dependency, annotated = alias
            return self.of_dependency(dependency, depth + 1) or self.of_annotation(annotated, depth + 1)
        return None

    def _alias(self, ref: str) -> Optional[Tuple[str, Optional[str]]]:
        found = self.resolve(ref)
        if found is None or found[2]:
            return None
        facts, name, _ = found
        return facts.dependency_aliases.get(name)

    def of_dependency(self, ref: Optional[str], depth: int = 0) -> Optional[Resource]:
        """The resource a dependency (the callable in Depends()) hands to the route."""
        if not ref or depth > _MAX_DEPTH:
            return None
        alias = self._alias(ref)
        if alias is not None:
            return self.of_dependency(alias[0], depth + 1) or self.of_annotation(alias[1], depth + 1)
        found = self.function(ref)
        if found is None:
            return None
        _, fn = found
        for source in fn.yields_from + fn.returns_from:
            resource = self.created_by_call(source, depth + 1)
            if resource is not None:
                if len(set(fn.result_binds)) == 1:
                    return self._bound_to(resource, fn.result_binds[0])
                return resource
        return None

    def dependency_function(self, ref: Optional[str], depth: int = 0) -> Optional[Tuple[ModuleFacts, FunctionFact]]:
        """The function a Depends() reference names, following Annotated aliases
        (`Db = Annotated[Session, Depends(get_db)]`, also from other modules)."""
        if not ref or depth > _MAX_DEPTH:
            return None
        alias = self._alias(ref)
        if alias is not None:
            return self.dependency_function(alias[0], depth + 1)
        return self.function(ref)

    def _bound_to(self, resource: Resource, bind: Optional[str]) -> Resource:
        """A session made by Session(engine) draws from that engine."""
        if resource.kind != "session" or resource.engine is not None or bind is None:
            return resource
        engine = self._qualified_engine(bind)
        return replace(resource, engine=engine) if engine else resource

    def of_local(self, fn: FunctionFact, name: str) -> Optional[Resource]:
        """What a local name of a function holds, from how it was bound."""
        origin = fn.origins.get(name)
        if origin is None:
            return None
        how, ref, annotation = origin
        if how == "call":
            resource = self.created_by_call(ref)
            if resource is not None:
                return self._bound_to(resource, fn.session_binds.get(name))
            return None
        return self.of_dependency(ref) or self.of_annotation(annotation)

    # -- routes and dependencies ---------------------------------------------
    def route(self, module: str, qualname: str) -> Optional[RouteInfo]:
        if self._routes is None:
            self._routes = self._collect_routes()
        return self._routes.get((module, qualname))

    def _collect_routes(self) -> Dict[Tuple[str, str], RouteInfo]:
        routes: Dict[Tuple[str, str], RouteInfo] = {}
        for facts in self.modules.values():
            for fn in facts.functions.values():
                for decl in fn.routes:
                    if self._is_app_or_router(decl.target):
                        info = _route_info(decl, fn.qualname, self._prefix(decl.target))
                        routes.setdefault((facts.module, fn.qualname), info)
            for endpoint, decl in facts.route_registrations:
                if not self._is_app_or_router(decl.target):
                    continue
                found = self.function(endpoint)
                if found is not None:
                    target_facts, fn = found
                    info = _route_info(decl, fn.qualname, self._prefix(decl.target))
                    routes.setdefault((target_facts.module, fn.qualname), info)
        return routes

    def describe(self, module: str, qualname: str, is_async: bool) -> str:
        """`async route GET /items/{item_id} (read_item)`, `async dependency get_db`, `function helper`."""
        prefix = "async " if is_async else ""
        route = self.route(module, qualname)
        if route is not None:
            return f"{prefix}route {route.describe()}"
        name = qualname.rsplit(".", 1)[-1]
        if self.is_dependency(module, qualname):
            return f"{prefix}dependency {name}"
        return f"{prefix}function {name}"

    def _definition(self, ref: Optional[str]) -> Optional[Tuple[str, str]]:
        found = self.resolve(ref)
        if found is None or found[2]:
            return None
        return found[0].module, found[1]

    def _prefix(self, target: str, depth: int = 0) -> str:
        """The path prefix of every route of an app or router: the prefixes given
        to include_router() up the chain, then the router's own prefix."""
        definition = self._definition(target)
        if definition is None or depth > _MAX_DEPTH:
            return ""
        module, name = definition
        own = self.modules[module].router_prefixes.get(name, "")
        if self._includes is None:
            # Router definition -> where it is included: built once, or every
            # route would scan every module.
            self._includes = {}
            for facts in self.modules.values():
                for parent, router, prefix in facts.router_includes:
                    included = self._definition(router)
                    if included is not None:
                        self._includes.setdefault(included, []).append((parent, prefix))
        above = set()
        for parent, prefix in self._includes.get(definition, ()):
            above.add((self._prefix(parent, depth + 1) if parent else "") + prefix)
        # Included at two different prefixes: the route has two paths; name neither.
        return (above.pop() if len(above) == 1 else "") + own

    def _is_app_or_router(self, target: str) -> bool:
        if target in ("<local>.app", "<local>.router"):
            return True
        return self.kind(target) in ("app", "router")

    def _dependency_set(self) -> Set[Tuple[str, str]]:
        if self._dependencies is None:
            found: Set[Tuple[str, str]] = set()
            for facts in self.modules.values():
                for ref in facts.dependency_refs:
                    resolved = self.function(ref)
                    if resolved is not None:
                        found.add((resolved[0].module, resolved[1].qualname))
            self._dependencies = found
        return self._dependencies

    def is_dependency(self, module: str, qualname: str) -> bool:
        return (module, qualname) in self._dependency_set()

    def dependency_names(self) -> Set[str]:
        """The bare names of every function used as a dependency in the project."""
        return {qualname.rsplit(".", 1)[-1] for _, qualname in self._dependency_set()}

    def runs_per_request(self, module: str, qualname: str) -> bool:
        """Whether a function runs per request: a route, a dependency, or a
        function one of them calls (directly or through other calls)."""
        if self._per_request is None:
            self._per_request = self._collect_per_request()
        return (module, qualname) in self._per_request

    def _collect_per_request(self) -> Set[Tuple[str, str]]:
        if self._routes is None:
            self._routes = self._collect_routes()
        self.is_dependency("", "")  # fills self._dependencies
        assert self._dependencies is not None
        found: Set[Tuple[str, str]] = set(self._routes) | set(self._dependencies)
        todo = list(found)
        while todo:
            module, qualname = todo.pop()
            facts = self.modules.get(module)
            fn = facts.functions.get(qualname) if facts is not None else None
            if fn is None:
                continue
            for callee in fn.calls:
                resolved = self.function(callee)
                if resolved is None:
                    continue
                key = (resolved[0].module, resolved[1].qualname)
                if key not in found:
                    found.add(key)
                    todo.append(key)
        return found

    def request_path(self, module: str, qualname: str) -> Optional[List[Tuple[str, str]]]:
        """The calls by which a function runs per request: [(module, qualname)]
        from a route or dependency down to the function itself; None when no
        route or dependency reaches it.

        A memoized function (functools.cache, lru_cache...) runs once per set of
        arguments, and one declaring `global`/`nonlocal` names may keep what it
        computes (`if _engine is None: _engine = make_engine()`): neither is
        followed into, and the path never ends at a memoized function.
        """
        if self._request_parents is None:
            self._request_parents = self._collect_request_parents()
        key = (module, qualname)
        facts = self.modules.get(module)
        fn = facts.functions.get(qualname) if facts is not None else None
        if key not in self._request_parents or fn is None or fn.memoized:
            return None
        path = [key]
        parent = self._request_parents[key]
        while parent is not None:
            path.append(parent)
            parent = self._request_parents[parent]
        return list(reversed(path))

    def _collect_request_parents(self) -> Dict[Tuple[str, str], Optional[Tuple[str, str]]]:
        """Breadth first from every route and dependency: who first reaches whom."""
        if self._routes is None:
            self._routes = self._collect_routes()
        self.is_dependency("", "")  # fills self._dependencies
        assert self._dependencies is not None
        roots = sorted(set(self._routes) | self._dependencies)
        parents: Dict[Tuple[str, str], Optional[Tuple[str, str]]] = {root: None for root in roots}
        todo = deque(roots)
        while todo:
            key = todo.popleft()
            fn = self.modules[key[0]].functions.get(key[1]) if key[0] in self.modules else None
            if fn is None or fn.memoized or fn.declares_global:
                continue
            for callee in sorted(fn.calls):
                resolved = self.function(callee)
                if resolved is None:
                    continue
                target = (resolved[0].module, resolved[1].qualname)
                if target not in parents:
                    parents[target] = key
                    todo.append(target)
        return parents

    def sync_route_users_of_engine(self, engine: str) -> List[Tuple[ModuleFacts, FunctionFact, Resource]]:
        """Plain `def` routes using a session or connection of `engine` (see
        users_of_engine): FastAPI runs each in its thread pool, so as many run
        at once as the pool has threads."""
        return [user for user in self.users_of_engine(engine) if not user[1].is_async]

    def async_users_of_engine(self, engine: str) -> List[Tuple[ModuleFacts, FunctionFact, Resource]]:
        """Async functions that do I/O on a session or connection drawn from
        `engine`, or on the engine itself (`engine.connect()`)."""
        if self._async_users is None:
            self._async_users = self._collect_async_users()
        return list(self._async_users.get(engine, ()))

    def _collect_async_users(self) -> Dict[str, List[Tuple[ModuleFacts, FunctionFact, Resource]]]:
        """Every engine's async users, in one scan of the project (each function
        counted once, for the first sync resource of that engine it uses)."""
        users: Dict[str, List[Tuple[ModuleFacts, FunctionFact, Resource]]] = {}
        for facts in self.modules.values():
            for fn in facts.functions.values():
                if not fn.is_async:
                    continue
                engines_seen: Set[str] = set()
                for name in sorted(fn.io_names):
                    if name in fn.local_names:
                        resource = self.of_local(fn, name)
                    else:
                        resource = self.of_global(qualify_dotted(facts, fn, name))
                    if resource is None or resource.is_async or resource.engine is None:
                        continue
                    if resource.engine in engines_seen:
                        continue
                    engines_seen.add(resource.engine)
                    users.setdefault(resource.engine, []).append((facts, fn, resource))
        return users

    def users_of_engine(self, engine: str) -> List[Tuple[ModuleFacts, FunctionFact, Resource]]:
        """Routes that use a session or connection drawn from `engine`, sync or
        async: one they are given (Depends(), Annotated aliases), one they
        create (`SessionLocal()`, `Session(engine)`, `engine.connect()`), or
        one used by a dependency they declare, a project function they call
        or a function nested in them.
        The resource is the first such use found; sorted by path and line."""
        if engine in self._users:
            return list(self._users[engine])
        if self._routes is None:
            self._routes = self._collect_routes()
        seen: Dict[Tuple[str, str], Optional[Resource]] = {}
        users = []
        for module, qualname in self._routes:
            facts = self.modules[module]
            fn = facts.functions.get(qualname)
            resource = self._engine_use(facts, fn, engine, seen, 0) if fn is not None else None
            if resource is not None:
                users.append((facts, fn, resource))
        users.sort(key=lambda user: (user[0].path, user[1].line, user[1].qualname))
        self._users[engine] = users  # type: ignore[assignment]
        return list(users)  # type: ignore[arg-type]

    def _engine_use(
        self,
        facts: ModuleFacts,
        fn: FunctionFact,
        engine: str,
        seen: Dict[Tuple[str, str], Optional[Resource]],
        depth: int,
    ) -> Optional[Resource]:
        key = (facts.module, fn.qualname)
        if key in seen:
            return seen[key]
        seen[key] = None  # a call cycle finds nothing new
        if depth > _MAX_DEPTH:
            return None
        found: Optional[Resource] = None
        for name in sorted(fn.origins):
            resource = self.of_local(fn, name)
            if resource is not None and resource.kind != "engine" and resource.engine == engine:
                found = resource
                break
        callees = sorted(fn.calls)
        if found is None:
            for callee in callees:
                resource = self.created_by_call(callee)
                if resource is not None and resource.kind != "engine" and resource.engine == engine:
                    found = resource
                    break
        if found is None:
            dependencies = []
            for ref in fn.depends:
                alias = self._alias(ref)
                dependencies.append(alias[0] if alias is not None else ref)
            targets = [t for t in map(self.function, dependencies + callees) if t is not None]
            # Closures defined in the function run on its behalf (handed to gather(), say).
            nested = f"{fn.qualname}."
            targets += [(facts, f) for name, f in sorted(facts.functions.items()) if name.startswith(nested)]
            for target_facts, target_fn in targets:
                found = self._engine_use(target_facts, target_fn, engine, seen, depth + 1)
                if found is not None:
                    break
        seen[key] = found
        return found


def is_test_module(module: str) -> bool:
    """Test code (`tests/...`, `test_*.py`, `conftest.py`): it serves no requests."""
    return any(
        part in ("test", "tests", "conftest") or part.startswith("test_") for part in module.split(".")
    )


def _route_info(decl: RouteDecl, qualname: str, prefix: str = "") -> RouteInfo:
    if decl.methods:
        methods = decl.methods
    elif decl.method == "api_route":
        methods = ("GET",)
    else:
        methods = (decl.method.upper(),)
    path = prefix + decl.path if decl.path is not None else None
    # One table entry per route of the project: share what routes have in common.
    methods = _ROUTE_METHODS.setdefault(methods, methods)
    return RouteInfo(methods=methods, path=path, function=sys.intern(qualname.rsplit(".", 1)[-1]))


_ROUTE_METHODS: Dict[Tuple[str, ...], Tuple[str, ...]] = {}
