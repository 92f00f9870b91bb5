"""What POL201, POL202, POL203 and POL206 share: where each session (or
connection) a function creates goes.

These rules ask the same questions of a function: which sessions does it
create, under which local names, and what happens to those names afterwards
(closed in a `finally`, used as a context manager, yielded, returned, handed
to someone else). The answers are gathered in the rules' one walk of the file, per
function (a stack of FunctionFlow, one per `def` being walked), and judged when
the walk leaves the function, when every use of every name has been seen.

Anything the flow does not positively understand counts as an escape: the
session was handed to code we cannot see, so its owner is unclear and the
rules stay silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, FrozenSet, Iterable, List, Optional, Set

import libcst as cst

from poollint import names
from poollint.context import dotted_name
from poollint.gate import SourceView, calls_creating, session_triggers, uses_database
from poollint.project import ProjectIndex, Resource
from poollint.rule import PoolRule

if TYPE_CHECKING:
    from poollint.context import FileContext

# Calling one of these on a session in a `finally:` (or a handler that catches
# everything) gives its connection back to the pool on the error path:
# close() ends the session, rollback() ends its transaction, which releases
# the connection.
RELEASE_METHODS = frozenset({"close", "rollback"})
# Handlers that catch whatever the body raises.
_BROAD_EXCEPTIONS = frozenset({"builtins.Exception", "builtins.BaseException"})
_SESSION_CLASSES = names.SESSION_CLASSES | names.ASYNC_SESSION_CLASSES
# Calls after which a session holds a pooled connection until its transaction
# ends or it is closed. A session that never makes one holds nothing.
CONNECTING_METHODS = names.SESSION_IO_METHODS | frozenset(
    {
        "begin_nested",
        "delete",
        "stream",
        "stream_scalars",
        "run_sync",
        "bulk_save_objects",
        "bulk_insert_mappings",
        "bulk_update_mappings",
    }
)


@dataclass
class Creation:
    """A call that creates a session, and where its result went."""

    call: cst.Call
    resource: Resource
    # The local name it was assigned to (`db = SessionLocal()`), if any.
    name: Optional[str] = None
    # "assigned", "yielded" (`yield SessionLocal()`), "returned"
    # (`return SessionLocal()`) or "inline" (`SessionLocal().execute(...)`:
    # used once and dropped).
    how: str = "assigned"
    # `conn = await engine.connect()`: an AsyncEngine's connection is only
    # checked out once awaited (or entered with `async with`).
    awaited: bool = False


@dataclass
class FunctionFlow:
    """Creations and uses of local names in one function, in source order."""

    node: cst.FunctionDef
    creations: List[Creation] = field(default_factory=list)
    # Names bound by anything other than a session creation or `None`: a
    # parameter, another value, a loop or with target. Which value the name
    # holds at a given point is then unclear.
    rebound: Set[str] = field(default_factory=set)
    # Names whose session is handed to code we do not see (an argument, a
    # return value, an attribute, a closure...).
    escaped: Set[str] = field(default_factory=set)
    # `with db:` / `async with db:` / `with db.begin():`.
    managed: Set[str] = field(default_factory=set)
    # `yield db`.
    yielded: Set[str] = field(default_factory=set)
    # `return db`: the caller owns it.
    returned: Set[str] = field(default_factory=set)
    # Names released where errors go too (finally, catch-all handler).
    released_on_error: Set[str] = field(default_factory=set)
    # Names closed on the normal path only.
    closed: Set[str] = field(default_factory=set)
    # Names on which a connecting method is called (`db.execute(...)`).
    connected: Set[str] = field(default_factory=set)
    is_generator: bool = False
    # How deep we are in `finally:` blocks / catch-all handlers of this function.
    finally_depth: int = 0
    broad_handler_depth: int = 0

    def leaks_on_error(self, name: str) -> bool:
        """True when every value the name holds is a session this function
        created (or None), no code we cannot see gets hold of it, and neither
        a with statement nor a `finally:` gives it back on the error path."""
        return not (
            name in self.escaped
            or name in self.rebound
            or name in self.managed
            or name in self.released_on_error
            or name in self.returned
        )


class SessionFlowRule(PoolRule):
    """Tracks session creations and name uses per function; subclasses judge
    each function in `judge(flow)`, called as the walk leaves it.

    A subclass may track connections instead (`TRACKED_KIND`), which differ
    in what gives them back to the pool: only close(), never a rollback or
    the end of a `with conn.begin():` block.
    """

    @classmethod
    def may_fire(cls, view: "SourceView", index: "ProjectIndex") -> bool:
        # Every creation the flow tracks is a call (ProjectIndex.created_by_call).
        return uses_database(view, index) and calls_creating(view, index, cls.TRACKED_KIND)


    # The session rules of a file follow their flows in one walk: the first
    # of them (engine._dispatch_tables) tracks, and judges each function for
    # the others too. Only judge() differs between them; POL206 tracks
    # connections by other rules, so it walks alone (its own SHARES_WALK_OF).
    SHARES_WALK_OF: ClassVar[type]
    PER_RULE_HANDLERS: ClassVar[FrozenSet[str]] = frozenset()

    # The Resource kind whose creations are tracked: "session" or "connection".
    TRACKED_KIND: ClassVar[str] = "session"
    # Methods that give the pooled connection back when called where errors go too.
    RELEASE_METHODS: ClassVar[FrozenSet[str]] = RELEASE_METHODS
    # Whether `with x.begin():` gives x's connection back when the block ends.
    BEGIN_RELEASES: ClassVar[bool] = True
    # Methods that, called on a just-created resource (`F().execute()`), use it once and drop it.
    INLINE_METHODS: ClassVar[FrozenSet[str]] = CONNECTING_METHODS

    @classmethod
    def triggers(cls, index: ProjectIndex) -> Iterable[str]:
        return set(cls.TRIGGERS) | session_triggers(index)

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.flows: List[FunctionFlow] = []
        # Name nodes whose use a parent already understood (attribute access,
        # a test, a close call, a with item, a binding we recorded), and Name
        # nodes that are not variables at all (`x.attr`, `f(key=...)`).
        self._understood: Set[cst.CSTNode] = set()
        self._not_variables: Set[cst.CSTNode] = set()
        # `db.close` attributes that are called on the spot.
        self._called_release: Set[cst.CSTNode] = set()
        # Items of with statements, to tell `with Session(e).begin():` from
        # `Session(e).execute(...)`.
        self._with_items: Set[cst.CSTNode] = set()

    # -- hooks for the rules -------------------------------------------------------
    def judge(self, flow: FunctionFlow) -> None:
        raise NotImplementedError

    # -- scopes ----------------------------------------------------------------------
    def _direct_flow(self) -> Optional[FunctionFlow]:
        """The flow of the function whose own body we are in; None inside a
        lambda or class body nested in it, or outside any function."""
        if self.flows and self.ctx.scopes[-1].node is self.flows[-1].node:
            return self.flows[-1]
        return None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        # The engine has already entered the new scope: the def's own name
        # is bound in the enclosing function.
        if self.flows:
            self.flows[-1].rebound.add(node.name.value)
        self._not_variables.add(node.name)
        self.flows.append(FunctionFlow(node))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        flow = self.flows.pop()
        self.judge(flow)
        for follower in self.walk_followers:
            follower.judge(flow)  # type: ignore[attr-defined]

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if self.flows:
            self.flows[-1].rebound.add(node.name.value)
        self._not_variables.add(node.name)

    # -- error paths -----------------------------------------------------------------
    def visit_Finally(self, node: cst.Finally) -> None:
        if self.flows:
            self.flows[-1].finally_depth += 1

    def leave_Finally(self, original_node: cst.Finally) -> None:
        if self.flows:
            self.flows[-1].finally_depth -= 1

    def _is_broad(self, handler_type: Optional[cst.BaseExpression]) -> bool:
        if handler_type is None:
            return True
        types = [e.value for e in handler_type.elements] if isinstance(handler_type, cst.Tuple) else [handler_type]
        return any(self.ctx.qualified_name(t) in _BROAD_EXCEPTIONS for t in types)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if self.flows and self._is_broad(node.type):
            self.flows[-1].broad_handler_depth += 1

    def leave_ExceptHandler(self, original_node: cst.ExceptHandler) -> None:
        if self.flows and self._is_broad(original_node.type):
            self.flows[-1].broad_handler_depth -= 1

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        if self.flows and self._is_broad(node.type):
            self.flows[-1].broad_handler_depth += 1

    def leave_ExceptStarHandler(self, original_node: cst.ExceptStarHandler) -> None:
        if self.flows and self._is_broad(original_node.type):
            self.flows[-1].broad_handler_depth -= 1

    # -- bindings --------------------------------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        flow = self._direct_flow()
        if flow is None:
            return
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            target = node.targets[0].target
            self._bind(flow, target, node.value)
            return
        # `a = b = SessionLocal()`, `x, db = ...`: who owns it is unclear. The
        # target names stay unmarked, so visit_Name counts them as escapes.

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        flow = self._direct_flow()
        if flow is None or not isinstance(node.target, cst.Name):
            return
        if node.value is None:
            # A bare annotation binds nothing.
            self._understood.add(node.target)
            return
        self._bind(flow, node.target, node.value)

    def _bind(self, flow: FunctionFlow, target: cst.Name, value: cst.BaseExpression) -> None:
        self._understood.add(target)
        name = target.value
        if isinstance(value, cst.Name) and value.value == "None":
            return
        awaited = isinstance(value, cst.Await) and isinstance(value.expression, cst.Call)
        if isinstance(value, cst.Await) and isinstance(value.expression, cst.Call):
            # `conn = await engine.connect()`, `db = await new_async_session()`.
            value = value.expression
        if isinstance(value, cst.Call):
            resource = self._tracked(value)
            if resource is not None:
                flow.creations.append(Creation(value, resource, name=name, awaited=awaited))
                return
        flow.rebound.add(name)

    # -- uses ----------------------------------------------------------------------
    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._not_variables.add(node.attr)
        if isinstance(node.value, cst.Name):
            if node.attr.value == "close" and node not in self._called_release:
                # `stack.callback(db.close)`: someone else closes it.
                return
            self._understood.add(node.value)

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self._not_variables.add(node.keyword)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            if isinstance(func.value, cst.Name) and func.attr.value in CONNECTING_METHODS:
                flow = self._direct_flow()
                if flow is not None:
                    flow.connected.add(func.value.value)
            if isinstance(func.value, cst.Name) and func.attr.value in self.RELEASE_METHODS:
                self._called_release.add(func)
                flow = self._direct_flow()
                if flow is not None:
                    name = func.value.value
                    if flow.finally_depth or flow.broad_handler_depth:
                        flow.released_on_error.add(name)
                    elif func.attr.value == "close":
                        flow.closed.add(name)
            elif isinstance(func.value, cst.Call):
                self._inline_use(func.value, func.attr.value, node)

    def _inline_use(self, inner: cst.Call, method: str, outer: cst.Call) -> None:
        """`SessionLocal().execute(...)`: the session is used once and dropped."""
        flow = self._direct_flow()
        if flow is None or method not in self.INLINE_METHODS or outer in self._with_items:
            return
        resource = self._tracked(inner)
        if resource is not None:
            flow.creations.append(Creation(inner, resource, how="inline"))

    def visit_WithItem(self, node: cst.WithItem) -> None:
        self._with_items.add(node.item)
        flow = self._direct_flow()
        item = node.item
        if isinstance(item, cst.Name):
            self._understood.add(item)
            if flow is not None:
                flow.managed.add(item.value)
        elif (
            isinstance(item, cst.Call)
            and isinstance(item.func, cst.Attribute)
            and isinstance(item.func.value, cst.Name)
            and item.func.attr.value == "begin"
        ):
            # `with db.begin():` commits or rolls back, and either way the
            # session gives its connection back to the pool (a Connection
            # keeps its own until closed).
            if flow is not None and self.BEGIN_RELEASES:
                flow.managed.add(item.func.value.value)

    def visit_Yield(self, node: cst.Yield) -> None:
        flow = self._direct_flow()
        if flow is None:
            return
        flow.is_generator = True
        value = node.value
        if isinstance(value, cst.Name):
            self._understood.add(value)
            flow.yielded.add(value.value)
        elif isinstance(value, cst.Call):
            resource = self._tracked(value)
            if resource is not None:
                flow.creations.append(Creation(value, resource, how="yielded"))

    def visit_Return(self, node: cst.Return) -> None:
        flow = self._direct_flow()
        if flow is None:
            return
        value = node.value
        if isinstance(value, cst.Await) and isinstance(value.expression, cst.Call):
            value = value.expression
        if isinstance(value, cst.Name):
            self._understood.add(value)
            flow.returned.add(value.value)
        elif isinstance(value, cst.Call):
            resource = self._tracked(value)
            if resource is not None:
                flow.creations.append(Creation(value, resource, how="returned"))

    # Tests only look at the session: `if db is not None: db.close()`.
    def visit_If(self, node: cst.If) -> None:
        self._understand_test(node.test)

    def visit_While(self, node: cst.While) -> None:
        self._understand_test(node.test)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._understand_test(node.test)

    def visit_Assert(self, node: cst.Assert) -> None:
        self._understand_test(node.test)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        for operand in [node.left] + [c.comparator for c in node.comparisons]:
            if isinstance(operand, cst.Name):
                self._understood.add(operand)

    def _understand_test(self, test: cst.BaseExpression) -> None:
        if isinstance(test, cst.Name):
            self._understood.add(test)
        elif isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            self._understand_test(test.expression)
        elif isinstance(test, cst.BooleanOperation):
            self._understand_test(test.left)
            self._understand_test(test.right)

    def visit_Name(self, node: cst.Name) -> None:
        if not self.flows or node in self._not_variables:
            return
        direct = self._direct_flow()
        understood = node in self._understood
        for flow in self.flows:
            if flow is direct and understood:
                continue
            # Used in a nested function or lambda (a closure), or in a way
            # the flow does not follow: the session may live on elsewhere.
            flow.escaped.add(node.value)

    # -- resolution ----------------------------------------------------------------
    def _tracked(self, call: cst.Call) -> Optional[Resource]:
        if self.TRACKED_KIND == "session":
            return pooled_session(self.ctx, call)
        resource = self.ctx.resource(call)
        return resource if resource is not None and resource.kind == self.TRACKED_KIND else None


def pooled_session(ctx: "FileContext", call: cst.Call) -> Optional[Resource]:
    """The session `call` creates, when it draws connections from an engine's pool."""
    resource = ctx.resource(call)
    if resource is None or resource.kind != "session":
        return None
    is_class = ctx.qualified_name(call.func) in _SESSION_CLASSES
    if not _draws_from_pool(ctx, call, is_class):
        return None
    return resource


def _draws_from_pool(ctx: "FileContext", call: cst.Call, is_class: bool) -> bool:
    """Whether the session checks connections out of an engine's pool.

    A session bound to a Connection (`Session(connection)`, the "join an
    external transaction" pattern) borrows its caller's connection: closing
    the session gives nothing back to the pool, so it cannot leak one. A
    bare `Session()` is unbound and never connects.
    """
    bind: Optional[cst.BaseExpression] = None
    for arg in call.args:
        if arg.keyword is None and arg.star == "" and is_class and bind is None:
            bind = arg.value
        elif arg.keyword is not None and arg.keyword.value == "bind":
            bind = arg.value
        elif arg.keyword is not None and arg.keyword.value == "binds" and is_class:
            # Engines or connections per mapper: cannot tell.
            return False
        elif arg.star:
            return False
    if bind is None:
        # A factory carries its own bind (or gets one through configure()).
        return not is_class
    resource = ctx.resource(bind)
    if resource is not None:
        return resource.kind == "engine"
    # Unknown: trust the name only when it says engine (`self.engine`,
    # `get_engine()`); `conn`, `connection`, `testing.db` stay unjudged.
    spelled = dotted_name(bind.func if isinstance(bind, cst.Call) else bind)
    return spelled is not None and "engine" in spelled.rsplit(".", 1)[-1].lower()


def origin_text(resource: Resource) -> str:
    """`SessionLocal (app/db.py:9)`, or `Session(...)` for the class itself."""
    origin = resource.origin or "a session factory"
    if resource.origin_where:
        return f"{origin} ({resource.origin_where})"
    return f"{origin}(...)"


def with_suggestion(module: cst.Module, creation: Creation, name: str) -> str:
    """`with SessionLocal() as db:` spelled with the call as written, when short."""
    call_text = module.code_for_node(creation.call)
    if "\n" in call_text or len(call_text) > 60:
        callee = module.code_for_node(creation.call.func)
        call_text = f"{callee}(...)" if "\n" not in callee and len(callee) <= 50 else "Session(...)"
    prefix = "async with" if creation.resource.is_async else "with"
    return f"{prefix} {call_text} as {name}:"


SessionFlowRule.SHARES_WALK_OF = SessionFlowRule
