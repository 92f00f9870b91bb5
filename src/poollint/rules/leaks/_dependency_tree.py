"""What POL208 and POL209 share: a route's dependency tree as FastAPI solves
it, with the sessions each dependency opens.

FastAPI solves a route's dependencies depth first, each one's own
dependencies before it, in this order: the app's and routers' `dependencies=`
(outermost first), the route decorator's `dependencies=`, then the
parameters. Within one request it calls each dependency once and hands the
same value to every use (its cache is keyed by the callable), unless a use
says `use_cache=False`. A yield dependency's code after the `yield` runs when
the request is done: on FastAPI before 0.106 and from 0.118 on, after the
response has been sent, streamed bodies included; with `scope="function"`
(0.121+), before it is sent.

The tree is built from pass-1 facts by a project-wide table (one per route),
so the cache sees one question per route and its answer. Dependencies that
do not resolve to a function, class or session factory of the project are
left out: a missing part of the tree can only hide sessions, never add one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, FrozenSet, List, Optional, Set, Tuple

import libcst as cst

from poollint.context import param_list
from poollint.facts import FunctionFact, ModuleFacts
from poollint.project import Resource, index_table

if TYPE_CHECKING:
    from poollint.project import ProjectIndex

_MAX_DEPTH = 8
_CONTEXT_MANAGERS = frozenset({"contextlib.contextmanager", "contextlib.asynccontextmanager"})


@dataclass(frozen=True)
class Opened:
    """A session a function opens in its own body."""

    # The factory or class it comes from, and where that is defined ("" when unknown).
    origin: str
    origin_where: str
    engine: Optional[str]
    engine_where: str
    is_async: bool
    # Yielded across the dependency's `yield` (or returned, never closed): it
    # lives until the request is done. Otherwise closed before the function returns.
    held: bool
    # The (qualified) callee that opens it and the line of its first call.
    callee: str
    line: int

    def same_pool(self, other: "Opened") -> bool:
        """Bound to one engine; or, where an engine is unknown, made by one factory."""
        if self.engine and self.engine == other.engine:
            return True
        return bool(self.origin_where) and (self.origin, self.origin_where) == (other.origin, other.origin_where)

    def describe_origin(self) -> str:
        return f"{self.origin} ({self.origin_where})" if self.origin_where else self.origin

    def describe_pool(self) -> str:
        if self.engine:
            where = f" ({self.engine_where})" if self.engine_where else ""
            return f"engine `{self.engine.rsplit('.', 1)[-1]}`{where}"
        return f"factory {self.describe_origin()}"


@dataclass(frozen=True)
class DepNode:
    """One use of a dependency: a Depends() in a parameter, a `dependencies=`
    list or an Annotated alias, and what the callable it names does."""

    # FastAPI's cache key: the callable, as module:qualname.
    key: str
    name: str
    where: str
    # The parameter its value fills; None for `dependencies=[...]`, whose values are dropped.
    param: Optional[str]
    # depends_options() of this use ("f" scope="function", "n" use_cache=False, "?" unsure).
    options: str
    is_generator: bool
    opened: Tuple[Opened, ...] = ()
    # Its parameters it does database I/O on, with the line of the first such call.
    io_params: Tuple[Tuple[str, int], ...] = ()
    children: Tuple["DepNode", ...] = ()
    # "param", "decorator" (the route decorator's dependencies=) or "router"
    # (an app's or router's): how the route itself reaches it (top-level nodes only).
    entry: str = "param"

    def label(self) -> str:
        return f"{self.name} ({self.where})"


@dataclass(frozen=True)
class RouteTree:
    route: str  # `GET /orders/{order_id} (read_order)`
    # Top-level uses in the order FastAPI solves them.
    entries: Tuple[DepNode, ...]
    # Sessions the route's own body opens, and its parameters it does I/O on.
    opened: Tuple[Opened, ...] = ()
    io_params: Tuple[Tuple[str, int], ...] = ()
    # Which route decorator it has: "websocket", "get", "api_route"...
    method: str = ""


@index_table("module_routes")
def _module_routes(index: "ProjectIndex", module: str) -> Tuple[str, ...]:
    """Qualified names (within `module`) of its functions that are routes."""
    facts = index.modules.get(module)
    if facts is None:
        return ()
    return tuple(q for q in sorted(facts.functions) if index.route(module, q) is not None)


@index_table("route_dependency_tree")
def _route_dependency_tree(index: "ProjectIndex", module: str, qualname: str) -> Optional[RouteTree]:
    facts = index.modules.get(module)
    fn = facts.functions.get(qualname) if facts is not None else None
    route = index.route(module, qualname)
    if facts is None or fn is None or route is None:
        return None
    builder = _Builder(index)
    entries: List[DepNode] = []
    targets = {decl.target for decl in fn.routes}
    if len(fn.routes) == 1 or (fn.routes and len(targets) == 1):
        for ref, options in builder.router_dependencies(fn.routes[0].target):
            node = builder.node(ref, None, options, 1, (), "router")
            if node is not None:
                entries.append(node)
    if len(fn.routes) == 1:
        # Two route decorators are two routes, each with its own dependencies=.
        for ref, options in facts.route_dependencies.get(qualname, ()):
            node = builder.node(ref, None, options, 1, (), "decorator")
            if node is not None:
                entries.append(node)
    entries.extend(builder.parameters(facts, fn, 1, ()))
    opened, io_params = builder.own(facts, fn)
    method = fn.routes[0].method if fn.routes else "api_route"
    return RouteTree(route.describe(), tuple(entries), opened, io_params, method)


class _Builder:
    def __init__(self, index: "ProjectIndex") -> None:
        self.index = index
        # (callable, depth) -> (opened, io_params, children): a dependency
        # shared by many others (get_db) is looked at once per depth, so
        # diamonds in the tree cost their size, not their number of paths.
        self._parts: Dict[Tuple[str, int], Tuple[Tuple[Opened, ...], Tuple[Tuple[str, int], ...], Tuple[DepNode, ...]]] = {}

    # -- the app's and routers' dependencies= ---------------------------------------
    def router_dependencies(self, target: str) -> List[Tuple[str, str]]:
        """Outermost first: the app's, then each router's down to `target`'s."""
        found: List[Tuple[str, str]] = []
        seen: Set[Tuple[str, str]] = set()
        definition = self._definition(target)
        while definition is not None and definition not in seen and len(seen) < _MAX_DEPTH:
            seen.add(definition)
            facts = self.index.modules[definition[0]]
            found[:0] = list(facts.router_dependencies.get(definition[1], ()))
            parents = self.index.table("router_parents").get(definition, ())
            # Included in two places (its routes' dependencies differ by where),
            # or by an app poollint cannot name: go no further up.
            definition = parents[0] if len(parents) == 1 and parents[0] != _UNNAMED else None
        return found

    def _definition(self, ref: Optional[str]) -> Optional[Tuple[str, str]]:
        found = self.index.resolve(ref)
        if found is None or found[2]:
            return None
        return found[0].module, found[1]

    # -- one use of a dependency --------------------------------------------------
    def parameters(
        self, facts: ModuleFacts, fn: FunctionFact, depth: int, stack: Tuple[str, ...]
    ) -> List[DepNode]:
        nodes = []
        all_options = facts.depends_options.get(fn.qualname, {})
        for name, origin in fn.origins.items():
            if origin[0] != "param":
                continue
            options = all_options.get(name, "")
            ref = origin[1]
            if ref is None:
                annotation = origin[2]
                if annotation is None:
                    continue
                if "d" not in options and self.index.kind(annotation) != "dependency_alias":
                    # A plain annotation (a model, a session type): no dependency.
                    continue
                ref = annotation
            node = self.node(ref, name, options, depth, stack, "param")
            if node is not None:
                nodes.append(node)
        return nodes

    def node(
        self, ref: str, param: Optional[str], options: str, depth: int, stack: Tuple[str, ...], entry: str
    ) -> Optional[DepNode]:
        if depth > _MAX_DEPTH:
            return None
        found = self.index.resolve(ref)
        if found is None or found[2]:
            return None
        facts, name, _ = found
        if name in facts.dependency_aliases:
            target, _annotated = facts.dependency_aliases[name]
            return self.node(target, param, options + facts.alias_options.get(name, ""), depth + 1, stack, entry)
        key = f"{facts.module}:{name}"
        if key in stack:
            return None
        if name in facts.factories:
            # Depends(SessionLocal): FastAPI calls the factory; nothing ever closes the session.
            factory = facts.factories[name]
            made = self.index.created_by_call(facts.qualify(name))
            if made is None:
                return None
            opened = self._opened(made, facts.qualify(name), factory.line, held=True)
            return DepNode(key, name, f"{facts.path}:{factory.line}", param, options, False, (opened,), entry=entry)
        fn = facts.functions.get(name)
        if fn is not None:
            part = self._parts.get((key, depth))
            if part is None:
                children = tuple(self.parameters(facts, fn, depth + 1, stack + (key,)))
                part = self.own(facts, fn) + (children,)
                self._parts[(key, depth)] = part
            opened, io_params, children = part
            return DepNode(
                key, name, f"{facts.path}:{fn.line}", param, options, fn.is_generator, opened, io_params, children, entry
            )
        if facts.kinds.get(name) == "class":
            init = facts.functions.get(f"{name}.__init__")
            line = init.line if init is not None else 0
            children = tuple(self.parameters(facts, init, depth + 1, stack + (key,))) if init is not None else ()
            where = f"{facts.path}:{line}" if line else facts.path
            return DepNode(key, name, where, param, options, False, (), (), children, entry)
        return None

    # -- what a function opens itself ---------------------------------------------
    def own(self, facts: ModuleFacts, fn: FunctionFact) -> Tuple[Tuple[Opened, ...], Tuple[Tuple[str, int], ...]]:
        opened: Dict[str, Opened] = {}
        kept = set(fn.yields_from) | set(fn.returns_from)
        for name, origin in fn.origins.items():
            if origin[0] != "call" or origin[1] is None:
                continue
            made = self.index.of_local(fn, name) or self._context_manager_session(origin[1], 0)
            if made is None or made.kind != "session":
                continue
            # A generator keeps what it opened across its yield; a plain function
            # keeps what it returns (POL203's), and closes or drops the rest.
            held = fn.is_generator or origin[1] in kept
            line = fn.call_lines.get(origin[1], fn.line)
            opened.setdefault(origin[1], self._opened(made, origin[1], line, held))
        for source in kept:
            if source in opened:
                continue
            made = self.index.created_by_call(source)
            if made is not None and made.kind == "session":
                opened[source] = self._opened(made, source, fn.call_lines.get(source, fn.line), True)
        io_params = []
        for name, origin in fn.origins.items():
            if origin[0] == "param" and name in fn.io_names:
                lines = [line for (io_name, _), line in fn.io_lines.items() if io_name == name]
                io_params.append((name, min(lines) if lines else 0))
        return tuple(sorted(opened.values(), key=lambda o: (o.line, o.callee))), tuple(io_params)

    def _opened(self, made: Resource, callee: str, line: int, held: bool) -> Opened:
        engine_where = ""
        if made.engine:
            found = self.index.resolve(made.engine)
            known = self.index.engine(made.engine)
            if found is not None and known is not None:
                engine_where = f"{found[0].path}:{known[1].line}"
        return Opened(
            origin=made.origin or callee.rsplit(".", 1)[-1],
            origin_where=made.origin_where or "",
            engine=made.engine,
            engine_where=engine_where,
            is_async=made.is_async,
            held=held,
            callee=callee,
            line=line,
        )

    def _context_manager_session(self, callee: str, depth: int) -> Optional[Resource]:
        """`with session_scope() as db`: a project @contextmanager that yields a session."""
        if depth > 2:
            return None
        found = self.index.function(callee)
        if found is None:
            return None
        _facts, fn = found
        if not fn.is_generator or not any(d in _CONTEXT_MANAGERS for d in fn.decorators):
            return None
        for source in fn.yields_from:
            made = self.index.created_by_call(source) or self._context_manager_session(source, depth + 1)
            if made is not None and made.kind == "session":
                return made
        return None




@index_table("router_parents")
def _router_parents(index: "ProjectIndex") -> Dict[Tuple[str, str], Tuple[Tuple[str, str], ...]]:
    """Router definition -> the definitions of the apps and routers it is included in."""
    found: Dict[Tuple[str, str], Set[Tuple[str, str]]] = {}
    for facts in index.modules.values():
        for parent, router, _prefix in facts.router_includes:
            child = _definition(index, router)
            if child is None:
                continue
            above = _definition(index, parent) if parent else None
            # An app built inside create_app() has no name: a parent we cannot see.
            found.setdefault(child, set()).add(above or _UNNAMED)
    return {child: tuple(sorted(parents)) for child, parents in found.items()}


_UNNAMED = ("", "")


def _definition(index: "ProjectIndex", ref: Optional[str]) -> Optional[Tuple[str, str]]:
    found = index.resolve(ref)
    if found is None or found[2]:
        return None
    return found[0].module, found[1]


@index_table("route_names")
def _route_names(index: "ProjectIndex") -> FrozenSet[str]:
    """The function names of every route: each shows in its own file (`def name`)."""
    return frozenset(
        qualname.rsplit(".", 1)[-1] for module in sorted(index.modules) for qualname in _module_routes(index, module)
    )


def route_tree(index: "ProjectIndex", module: str, qualname: str) -> Optional[RouteTree]:
    return index.table("route_dependency_tree", module, qualname)


def module_routes(index: "ProjectIndex", module: str) -> Tuple[str, ...]:
    return index.table("module_routes", module)


# -- what the rules ask of a tree -------------------------------------------------
@dataclass(frozen=True)
class Path:
    """A dependency reached from the route: the top-level use first."""

    nodes: Tuple[DepNode, ...]

    @property
    def entry(self) -> DepNode:
        return self.nodes[0]

    @property
    def last(self) -> DepNode:
        return self.nodes[-1]

    def via(self) -> str:
        """` through `user` -> get_current_user (app/deps.py:8)`, or nothing when direct."""
        head = self.entry
        if head.param:
            start = f"`{head.param}`"
        elif head.entry == "decorator":
            start = "the route decorator's dependencies="
        else:
            start = "its app's or router's dependencies="
        return " through " + " -> ".join([start] + [node.label() for node in self.nodes[:-1]])


def held_session(tree: RouteTree) -> Optional[Tuple[Path, Opened]]:
    """The first yield dependency in the tree that opens a session and keeps it
    past the response (no scope="function" on that use)."""

    def search(nodes: Tuple[DepNode, ...], path: Tuple[DepNode, ...]) -> Optional[Tuple[Path, Opened]]:
        for node in nodes:
            here = path + (node,)
            if node.is_generator and "f" not in node.options and "?" not in node.options:
                for opened in node.opened:
                    if opened.held:
                        return Path(here), opened
            found = search(node.children, here)
            if found is not None:
                return found
        return None

    return search(tree.entries, ())


@dataclass
class _Instance:
    path: Path
    opened: Optional[Opened]
    received: bool = False  # handed to a function that has run (it queries through it)


@dataclass(frozen=True)
class SecondSession:
    """Two sessions of one pool alive at once in one request."""

    first: str  # how the message names each
    second: str
    pool: str
    # Where to report: a top-level use, or (None) a session the route body opens.
    entry: Optional[DepNode]
    route_callee: Optional[str] = None
    detail: str = ""


def second_session(tree: RouteTree) -> Optional[SecondSession]:
    """Solve the tree as FastAPI does and find the first moment a request
    holds a session of a pool while it opens a second one of the same pool.

    Counted: two session-opening dependencies that FastAPI calls separately
    (two different ones, or one used with `use_cache=False`) whose sessions
    are both handed on; and a session a dependency or the route opens in its
    own body while one it was given has already been queried through (by a
    dependency that ran before, or earlier in the same body).
    """
    cache: Dict[str, _Instance] = {}
    held: List[_Instance] = []
    found: List[SecondSession] = []

    def connected_same_pool(opened: Opened) -> Optional[_Instance]:
        for instance in held:
            if instance.received and instance.opened is not None and instance.opened.same_pool(opened):
                return instance
        return None

    def given_and_queried(node_io: Tuple[Tuple[str, int], ...], given: Dict[str, _Instance], opened: Opened) -> Optional[_Instance]:
        for name, line in node_io:
            instance = given.get(name)
            if (
                instance is not None
                and instance.opened is not None
                and 0 < line < opened.line
                and instance.opened.same_pool(opened)
            ):
                return instance
        return None

    def solve(node: DepNode, path: Tuple[DepNode, ...]) -> _Instance:
        here = path + (node,)
        given: Dict[str, _Instance] = {}
        for child in node.children:
            instance = solve(child, here)
            if child.param is not None:
                given[child.param] = instance
        if "n" not in node.options and node.key in cache:
            instance = cache[node.key]
        else:
            keeps = [o for o in node.opened if o.held]
            instance = _Instance(Path(here), keeps[0] if keeps else None)
            for opened in node.opened:
                if opened.held:
                    continue
                earlier = connected_same_pool(opened) or given_and_queried(node.io_params, given, opened)
                if earlier is not None:
                    found.append(
                        SecondSession(
                            first=_held_text(earlier),
                            second=f"{node.name} ({node.where}), which opens its own session from {opened.describe_origin()}{Path(here).via()}",
                            pool=opened.describe_pool(),
                            entry=here[0],
                        )
                    )
            if instance.opened is not None:
                held.append(instance)
            # Its body ran with what it was given: it queries through those sessions.
            for received in given.values():
                received.received = True
        if node.key not in cache:
            cache[node.key] = instance
        return instance

    given: Dict[str, _Instance] = {}
    for entry in tree.entries:
        instance = solve(entry, ())
        if entry.param is not None:
            given[entry.param] = instance
    if found:
        return found[0]
    for opened in tree.opened:
        earlier = connected_same_pool(opened) or given_and_queried(tree.io_params, given, opened)
        if earlier is not None:
            return SecondSession(
                first=_held_text(earlier),
                second=f"a session from {opened.describe_origin()} that the route opens itself",
                pool=opened.describe_pool(),
                entry=None,
                route_callee=opened.callee,
            )
    for instance in given.values():
        instance.received = True
    live = [i for i in held if i.received]
    for position, later in enumerate(live):
        for earlier in live[:position]:
            if earlier is not later and earlier.opened.same_pool(later.opened):  # type: ignore[union-attr]
                return SecondSession(
                    first=_held_text(earlier),
                    second=_held_text(later),
                    pool=later.opened.describe_pool(),  # type: ignore[union-attr]
                    entry=later.path.entry,
                )
    return None


def _held_text(instance: _Instance) -> str:
    node = instance.path.last
    assert instance.opened is not None
    again = " (use_cache=False)" if "n" in node.options else ""
    return f"{node.label()}{again}{instance.path.via()}"


def entry_node(node: cst.FunctionDef, entry: str, param: Optional[str]) -> cst.CSTNode:
    """Where a finding about a top-level dependency use goes: the parameter,
    the route decorator's `dependencies=` argument, or the function's name."""
    if entry == "param" and param is not None:
        for candidate in param_list(node.params):
            if candidate.name.value == param:
                return candidate
    if entry == "decorator":
        for decorator in node.decorators:
            if isinstance(decorator.decorator, cst.Call):
                for arg in decorator.decorator.args:
                    if arg.keyword is not None and arg.keyword.value == "dependencies":
                        return arg
    return node.name
