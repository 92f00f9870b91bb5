"""What the POL1xx rules share: a blocking call made directly inside an `async def`."""

from __future__ import annotations


from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, ClassVar, Dict, FrozenSet, Hashable, Iterable, List, Optional, Set, Tuple

import libcst as cst

from poollint import names
from poollint.context import dotted_name, param_list
from poollint.facts import FunctionFact, ModuleFacts
from poollint.project import index_table
from poollint.rule import PoolRule
from poollint.rules.async_sqlalchemy._async_session import short_code
from poollint.rules.event_loop._ruff import NO_OVERLAP, Overlap, call_code, function_overlap, ruff_resolves_alike

_APPLICATIONS = names.FASTAPI_APPS | {"starlette.applications.Starlette", "starlette.Starlette"}
_ASYNC_CONTEXT_MANAGERS = frozenset({"contextlib.asynccontextmanager"})
# Decorators under which calling the function still runs its whole body on
# the caller's thread, every time. (A functools.cache'd helper blocks once
# per set of arguments, `get_settings()` once per process: left alone.)
_TRANSPARENT_DECORATORS = frozenset({"builtins.staticmethod", "builtins.classmethod"})

if TYPE_CHECKING:
    from poollint.gate import SourceView
    from poollint.project import ProjectIndex


def _target_names(target: cst.BaseExpression) -> Set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        found: Set[str] = set()
        for element in target.elements:
            found |= _target_names(element.value)
        return found
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return set()


class AsyncBodyRule(PoolRule):
    """Knows the names comprehensions bind, which the module facts do not list
    as locals (in `[c.get(u) for c in clients]`, `c` is not the module's `c`),
    which expressions are awaited, and which functions are startup/shutdown
    hooks (a lifespan, an `on_event` handler)."""

    @classmethod
    def may_fire(cls, view: "SourceView", index: "ProjectIndex") -> bool:
        return view.has_async_def


    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.comprehension_names: List[Set[str]] = []
        self.awaited_nodes: Set[cst.CSTNode] = set()
        self.startup_hooks: Set[cst.FunctionDef] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is not None and self._is_startup_hook(node):
            self.startup_hooks.add(node)

    def in_startup_hook(self) -> bool:
        """Whether the innermost function is a lifespan or startup/shutdown
        handler: it runs before the first request or after the last one, so
        blocking there stalls nobody and holds no request's connection."""
        scope = self.ctx.async_function()
        return scope is not None and scope.node in self.startup_hooks

    def _is_startup_hook(self, node: cst.FunctionDef) -> bool:
        for decorator in node.decorators:
            call = decorator.decorator
            if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == "on_event":
                return True
        scope = self.ctx.scopes[-1]
        context_manager = any(
            self.ctx.qualified_name(d.decorator) in _ASYNC_CONTEXT_MANAGERS for d in node.decorators
        )
        generator = scope.fact is not None and scope.fact.is_generator
        if not (context_manager or generator):
            return False
        if "lifespan" in node.name.value.lower():
            return True
        # `async def lifespan(app: FastAPI)` under any name.
        return any(
            param.annotation is not None and self.ctx.qualified_name(param.annotation.annotation) in _APPLICATIONS
            for param in param_list(node.params)
        )

    def visit_Await(self, node: cst.Await) -> None:
        self.awaited_nodes.add(node.expression)

    def sync_helper(self, node: cst.Call) -> Optional[Tuple[ModuleFacts, FunctionFact]]:
        """The sync function of the project a call runs here and now, on the
        caller's thread: `helper()`, `utils.helper()`, `Service.helper()`
        resolved through the index from any module and import form. None for
        a coroutine function, a generator function (calling it runs nothing
        yet), a function under a decorator that may change how it runs, an
        awaited call, and anything that does not resolve."""
        if node in self.awaited_nodes or self.bound_by_comprehension(node.func):
            return None
        qualified = self.ctx.qualified_name(node.func)
        found = self.ctx.index.function(qualified) if qualified else None
        if found is None or not runs_when_called(found[1]):
            return None
        return found

    def visit_With(self, node: cst.With) -> None:
        # `async with engine.begin()`: the call's result is entered with an
        # await, so it belongs to an async API whatever the names say.
        if node.asynchronous is not None:
            self.awaited_nodes.update(item.item for item in node.items)

    def visit_For(self, node: cst.For) -> None:
        if node.asynchronous is not None:
            self.awaited_nodes.add(node.iter)

    def _enter_comprehension(self, node: cst.CSTNode) -> None:
        names: Set[str] = set()
        for_in = getattr(node, "for_in", None)
        while for_in is not None:
            names |= _target_names(for_in.target)
            for_in = for_in.inner_for_in
        self.comprehension_names.append(names)

    def _leave_comprehension(self) -> None:
        self.comprehension_names.pop()

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._enter_comprehension(node)

    def leave_ListComp(self, original_node: cst.ListComp) -> None:
        self._leave_comprehension()

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self._enter_comprehension(node)

    def leave_SetComp(self, original_node: cst.SetComp) -> None:
        self._leave_comprehension()

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self._enter_comprehension(node)

    def leave_DictComp(self, original_node: cst.DictComp) -> None:
        self._leave_comprehension()

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._enter_comprehension(node)

    def leave_GeneratorExp(self, original_node: cst.GeneratorExp) -> None:
        self._leave_comprehension()

    def bound_by_comprehension(self, expr: cst.BaseExpression) -> bool:
        """Whether the head of a dotted name is a comprehension's own variable."""
        dotted = dotted_name(expr)
        if dotted is None or not self.comprehension_names:
            return False
        head = dotted.split(".", 1)[0]
        return any(head in names for names in self.comprehension_names)


def runs_when_called(fn: FunctionFact) -> bool:
    """Whether calling `fn` runs its body at once on the caller's thread."""
    return not fn.is_async and not fn.is_generator and all(d in _TRANSPARENT_DECORATORS for d in fn.decorators)


@index_table("blocking_helpers")
def _blocking_helpers(index: "ProjectIndex", rule: type) -> Dict[Tuple[str, str], Tuple[str, int]]:
    """(module, qualname) of each sync function of the project that makes one
    of the rule's BLOCKING_CALLS in its own body -> (the call, its line)."""
    table: Dict[Tuple[str, str], Tuple[str, int]] = {}
    calls = rule.BLOCKING_CALLS  # type: ignore[attr-defined]
    if not calls:
        return table
    for facts in index.modules.values():
        for fn in facts.functions.values():
            if not runs_when_called(fn):
                continue
            hits = [(line, callee) for callee, line in fn.call_lines.items() if callee in calls]
            if hits:
                line, callee = min(hits)
                table[(facts.module, fn.qualname)] = (callee, line)
    return table


def _imports_any(view: "SourceView", wanted: FrozenSet[str]) -> bool:
    """Whether an import of the file can make a qualified name in `wanted`:
    names qualify only through imports (qualify_dotted), so `time.sleep`
    needs `import time`, `from time import sleep` or an import of a package
    above it (`import urllib` reaches `urllib.request.urlopen`)."""
    facts = view.facts
    if facts is None or facts.star_imports:
        return True
    imported = set(facts.imports.values())
    for fn in facts.functions.values():
        imported.update(fn.local_imports.values())
    for qualified in imported:
        prefix = qualified + "."
        if qualified in wanted or any(name.startswith(prefix) for name in wanted):
            return True
    return False


class BlockingCallRule(AsyncBodyRule):
    """Reports a call whose qualified name is in BLOCKING_CALLS, made in an
    `async def` (not in a nested sync def or lambda, which run elsewhere:
    `asyncio.to_thread(lambda: time.sleep(1))` is fine).

    One level of calls into the project is followed too: `helper()` in an
    `async def`, where `helper` is a sync function of the project (any
    module, any import form) whose own body makes one of BLOCKING_CALLS
    directly, is reported at the call, naming the helper and the line of the
    blocking call (never with a fix: the blocking call is in the helper). A
    direct call anywhere in the helper's own body counts, under an `if` too;
    calls in its nested functions and lambdas do not, nor do helpers handed
    to `to_thread()`/`run_in_threadpool()` (not called here), async helpers
    (their own body is reported where it is), generators and decorated
    helpers (see `runs_when_called`).
    """

    # Qualified name -> how the message spells it.
    BLOCKING_CALLS: ClassVar[Dict[str, str]] = {}
    MESSAGE = "{call} blocks the event loop in {where}"
    HELPER_MESSAGE: ClassVar[str] = "{helper}() calls {call} ({defined}), which blocks the event loop in {where}"

    # Gate on the names called in the file (a blocking call's or a blocking
    # helper's); rules that also follow values (a connection made elsewhere)
    # or look at other calls turn it off.
    # Qualified names of the values the rule follows (a client class, a
    # driver's connection type) besides BLOCKING_CALLS: with none of either
    # importable in the file, only a blocking helper's call can be found there.
    GATE_NAMES: ClassVar[FrozenSet[str]] = frozenset()

    @classmethod
    def may_fire(cls, view: "SourceView", index: "ProjectIndex") -> bool:
        if not view.has_async_def:
            return False
        wanted = frozenset(cls.BLOCKING_CALLS) | cls.GATE_NAMES
        if any(name.startswith("builtins.") for name in wanted) or _imports_any(view, wanted):
            return True
        helpers = frozenset(qualname.rsplit(".", 1)[-1] for _, qualname in cls.blocking_helpers(index))
        return view.calls_any(helpers)

    @classmethod
    def blocking_helpers(cls, index: "ProjectIndex") -> Dict[Tuple[str, str], Tuple[str, int]]:
        """The project's sync functions that make one of BLOCKING_CALLS
        directly, with the earliest such call; computed once per index."""
        return index.table("blocking_helpers", cls)  # type: ignore[no-any-return]

    @classmethod
    def triggers(cls, index: "ProjectIndex") -> Iterable[str]:
        # A module calling a blocking helper names it, but maybe none of TRIGGERS.
        helpers = {qualname.rsplit(".", 1)[-1] for _, qualname in cls.blocking_helpers(index)}
        return tuple(cls.TRIGGERS) + tuple(sorted(helpers))

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        # Calls in a position where `await call` would need parentheses
        # (`time.sleep(1).x`), and how deep we are in generator expressions,
        # where an `await` would turn the generator into an async one.
        self.tight: Set[cst.CSTNode] = set()
        self.generator_depth = 0

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.tight.add(node.value)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        self.tight.add(node.value)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, cst.Power):
            self.tight.add(node.left)

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        super().visit_GeneratorExp(node)
        self.generator_depth += 1

    def leave_GeneratorExp(self, original_node: cst.GeneratorExp) -> None:
        self.generator_depth -= 1
        super().leave_GeneratorExp(original_node)

    def visit_Call(self, node: cst.Call) -> None:
        self.tight.add(node.func)
        scope = self.ctx.async_function()
        if scope is None or self.in_startup_hook() or node in self.awaited_nodes:
            # An awaited call is some async API (an AsyncClient, asyncio's
            # Process, anyio.Path, an async driver), whatever its names say.
            return
        qualified = None if self.bound_by_comprehension(node.func) else self.ctx.qualified_name(node.func)
        spelled = self.blocking_call(qualified, node)
        if spelled is not None:
            message = self.MESSAGE.format(call=spelled, where=self.ctx.describe(scope))
            self.ctx.report(self, node, message, self.fix(node), self.ruff_overlap(qualified, node))
            return
        found = self.sync_helper(node)
        if found is None:
            return
        facts, helper = found
        blocking = self.blocking_helpers(self.ctx.index).get((facts.module, helper.qualname))
        if blocking is None:
            return
        callee, line = blocking
        message = self.HELPER_MESSAGE.format(
            helper=short_code(self.ctx.module, node.func),
            call=self.BLOCKING_CALLS[callee],
            defined=f"{facts.path}:{line}",
            where=self.ctx.describe(scope),
        )
        # No fix here: what blocks is in the helper. ruff does not follow
        # helpers; `# noqa: ASYNC251` still silences a sleep reached this way.
        self.ctx.report(self, node, message, None, (call_code(callee), None))

    def ruff_overlap(self, qualified: Optional[str], node: cst.Call) -> Overlap:
        """The ASYNC code of a call blocking_call() flagged, and whether ruff
        reports it too (rules/event_loop/_ruff.py)."""
        if qualified is not None and qualified in self.BLOCKING_CALLS:
            return function_overlap(self.ctx, qualified, node.func)
        return NO_OVERLAP

    def blocking_call(self, qualified: Optional[str], node: cst.Call) -> Optional[str]:
        if qualified is None:
            return None
        return self.BLOCKING_CALLS.get(qualified)

    def fix(self, node: cst.Call):  # type: ignore[no-untyped-def]
        return None

    def awaited(self, original: cst.Call, call: cst.Call) -> cst.Await:
        """`await call` in place of `original`, parenthesised where it sat in a tight spot."""
        if original in self.tight and not call.lpar:
            return cst.Await(
                expression=call,
                lpar=[cst.LeftParen()],
                rpar=[cst.RightParen()],
            )
        # The call's own parentheses now enclose the await.
        return cst.Await(
            expression=call.with_changes(lpar=[], rpar=[]),
            lpar=call.lpar,
            rpar=call.rpar,
        )


# The scope key of module-level names in ValueTrackingRule's tables.
_MODULE = "<module>"
# How deep one name's value may lean on other names' values.
_MAX_RESOLVE_DEPTH = 16


@dataclass(frozen=True)
class Term:
    """What an expression holds, written down while the walk is at it and
    judged once the whole module has been seen: a known kind (`Path(...)`),
    or the value of a name in a scope, then the steps taken from it
    (`.parent`, `/`, `.cursor()`, entering it in a `with`)."""

    kind: Optional[Hashable] = None
    name: Optional[str] = None
    scope: object = None
    steps: Tuple[str, ...] = ()
    # Where a known kind came from: the constructor's qualified name, or
    # `annotation:` and the annotation's (to tell whether ruff types it too).
    origin: Optional[str] = field(default=None, compare=False)

    def then(self, step: str) -> "Term":
        return replace(self, steps=self.steps + (step,))


class ValueTrackingRule(BlockingCallRule):
    """A blocking-call rule that also knows what local and module-level names
    hold, when every binding of the name says the same thing: a method call is
    blocking only on a receiver visibly made by a known constructor
    (`p = Path(...)`, `conn = sqlite3.connect(...)`, `cur = conn.cursor()`).

    Every binding form counts: a name also bound by a loop, a tuple target, an
    import, `global`/`nonlocal` or anything else not understood holds an
    unknown value, and the rule stays silent about it. Method calls are
    judged in `leave_Module`, once every binding is known (a loop may rebind
    a name after its use).
    """



    # Methods that may block, depending on the receiver's kind (see `method_call`).
    BLOCKING_METHODS: ClassVar[FrozenSet[str]] = frozenset()

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        # (scope key, name) -> a Term per binding (None: not understood).
        self.bindings: Dict[Tuple[object, str], List[Optional[Term]]] = {}
        # (call, receiver, method, its term, where, whether ruff sees the
        # receiver's name as poollint does: _ruff.ruff_resolves_alike)
        self.pending_methods: List[Tuple[cst.Call, cst.BaseExpression, str, Term, str, bool]] = []

    # -- what the rule knows ------------------------------------------------------
    def constructor_kind(self, qualified: str) -> Optional[Hashable]:
        """The kind of value `qualified(...)` returns, when the rule knows it."""
        return None

    def annotation_kind(self, qualified: str) -> Optional[Hashable]:
        """The kind of value a parameter annotated `qualified` holds."""
        return None

    def derive(self, kind: Hashable, step: str) -> Optional[Hashable]:
        """The kind of `value<step>` for a value of `kind`; `step` is `.attr`,
        `method()`, `/` or `with`."""
        return None

    def method_call(self, kind: Hashable, receiver: str, method: str) -> Optional[str]:
        """How the message spells `receiver.method()` when it blocks on `kind`."""
        return None

    # -- terms ----------------------------------------------------------------------
    def term(self, expr: cst.BaseExpression) -> Optional[Term]:
        if isinstance(expr, cst.Call):
            func = expr.func
            if not self.bound_by_comprehension(func):
                qualified = self.ctx.qualified_name(func)
                kind = self.constructor_kind(qualified) if qualified else None
                if kind is not None:
                    return Term(kind=kind, origin=qualified)
            if isinstance(func, cst.Attribute):
                base = self.term(func.value)
                return base.then(f"{func.attr.value}()") if base is not None else None
            return None
        if isinstance(expr, cst.Attribute):
            base = self.term(expr.value)
            return base.then(f".{expr.attr.value}") if base is not None else None
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Divide):
            base = self.term(expr.left)
            return base.then("/") if base is not None else None
        if isinstance(expr, cst.Name):
            return self._name_term(expr.value)
        return None

    def _name_term(self, name: str) -> Optional[Term]:
        if any(name in names for names in self.comprehension_names):
            return None
        scope = self.ctx.scopes[-1]
        if scope.kind == "module":
            return Term(name=name, scope=_MODULE)
        if scope.kind != "function" or scope.fact is None:
            # A lambda's or a class body's names: not followed.
            return None
        if name in scope.fact.local_imports:
            return None
        if name in scope.fact.local_names:
            # Bound here, or in an enclosing function (then the table of this
            # one lacks it, and the value stays unknown).
            return Term(name=name, scope=scope.node)
        return Term(name=name, scope=_MODULE)

    # -- bindings -------------------------------------------------------------------
    def _scope_key(self, position: int = -1) -> Optional[object]:
        scopes = self.ctx.scopes
        if len(scopes) < -position:
            return None
        scope = scopes[position]
        if scope.kind == "module":
            return _MODULE
        if scope.kind == "function":
            return scope.node
        return None  # a class body's names or a lambda's walrus: not followed

    def _bind(self, name: str, term: Optional[Term], key: Optional[object] = None) -> None:
        key = self._scope_key() if key is None else key
        if key is not None:
            self.bindings.setdefault((key, name), []).append(term)

    def _bind_target(self, target: cst.BaseExpression, term: Optional[Term]) -> None:
        if isinstance(target, cst.Name):
            self._bind(target.value, term)
        else:
            for name in _target_names(target):
                self._bind(name, None)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        # The def binds its name where it stands; the engine already entered it.
        parent = self._scope_key(-2)
        if parent is not None:
            self._bind(node.name.value, None, parent)
        for param in param_list(node.params):
            annotation = param.annotation
            qualified = self.ctx.qualified_name(annotation.annotation) if annotation is not None else None
            kind = self.annotation_kind(qualified) if qualified else None
            star = param is node.params.star_arg or param is node.params.star_kwarg
            term = Term(kind=kind, origin=f"annotation:{qualified}") if kind is not None and not star else None
            self._bind(param.name.value, term, node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        parent = self._scope_key(-2)
        if parent is not None:
            self._bind(node.name.value, None, parent)

    def visit_Assign(self, node: cst.Assign) -> None:
        term = self.term(node.value)
        for target in node.targets:
            self._bind_target(target.target, term)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind_target(node.target, self.term(node.value))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind_target(node.target, None)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind_target(node.target, None)

    def visit_For(self, node: cst.For) -> None:
        super().visit_For(node)
        self._bind_target(node.target, None)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            term = self.term(node.item)
            self._bind_target(node.asname.name, term.then("with") if term is not None else None)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._bind_target(node.name.name, None)

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        if node.name is not None:
            self._bind_target(node.name.name, None)

    def visit_Del(self, node: cst.Del) -> None:
        self._bind_target(node.target, None)

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            bound = alias.asname.name if alias.asname is not None else alias.name
            while isinstance(bound, cst.Attribute):
                bound = bound.value
            self._bind_target(bound, None)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            bound = alias.asname.name if alias.asname is not None else alias.name
            self._bind_target(bound, None)

    def visit_Global(self, node: cst.Global) -> None:
        for item in node.names:
            self._bind(item.name.value, None)
            self._bind(item.name.value, None, _MODULE)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        for item in node.names:
            for scope in self.ctx.scopes:
                if scope.kind == "function":
                    self._bind(item.name.value, None, scope.node)

    def visit_MatchAs(self, node: cst.MatchAs) -> None:
        if node.name is not None:
            self._bind_target(node.name, None)

    def visit_MatchStar(self, node: cst.MatchStar) -> None:
        if node.name is not None:
            self._bind_target(node.name, None)

    def visit_MatchMapping(self, node: cst.MatchMapping) -> None:
        if node.rest is not None:
            self._bind_target(node.rest, None)

    # -- judging --------------------------------------------------------------------
    def resolve(self, term: Term, visiting: Optional[Set[Tuple[object, str]]] = None) -> Optional[Hashable]:
        """The kind a term holds, when every binding it leans on agrees."""
        kind = term.kind if term.kind is not None else self._name_kind(term, set() if visiting is None else visiting)
        return self._after(kind, term.steps) if kind is not None else None

    def _after(self, kind: Hashable, steps: Tuple[str, ...]) -> Optional[Hashable]:
        for step in steps:
            kind = self.derive(kind, step)  # type: ignore[assignment]
            if kind is None:
                return None
        return kind

    def _name_kind(self, term: Term, visiting: Set[Tuple[object, str]]) -> Optional[Hashable]:
        key = (term.scope, term.name)
        if key in visiting or len(visiting) > _MAX_RESOLVE_DEPTH:
            return None
        values = self.bindings.get(key)
        if not values or None in values:
            return None
        kinds = set()
        # `p = p.parent`: a rebinding of the name from itself, fine when the
        # steps keep the kind the other bindings give it.
        own_steps = []
        visiting.add(key)
        try:
            for value in values:
                assert value is not None
                if value.kind is None and (value.scope, value.name) == key:
                    own_steps.append(value.steps)
                else:
                    kinds.add(self.resolve(value, visiting))
        finally:
            visiting.discard(key)
        if len(kinds) != 1 or None in kinds:
            return None
        kind = kinds.pop()
        if any(self._after(kind, steps) != kind for steps in own_steps):
            return None
        return kind

    def blocking_call(self, qualified: Optional[str], node: cst.Call) -> Optional[str]:
        spelled = super().blocking_call(qualified, node)
        if spelled is not None:
            return spelled
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in self.BLOCKING_METHODS:
            term = self.term(func.value)
            scope = self.ctx.async_function()
            if term is not None and scope is not None:
                head = _receiver_head(func.value)
                ruff_alike = head is not None and ruff_resolves_alike(self.ctx, head)
                self.pending_methods.append(
                    (node, func.value, func.attr.value, term, self.ctx.describe(scope), ruff_alike)
                )
        return None

    def method_overlap(self, receiver: cst.BaseExpression, method: str, term: Term) -> Overlap:
        """The ASYNC code of a blocking method call on a receiver of a known
        kind, and whether ruff reports it too; called once the module is seen."""
        return NO_OVERLAP

    def only_term(self, term: Term) -> Optional[Term]:
        """The value of the name `term` reads, when the name has exactly one
        binding (ruff types a name only then), else None."""
        if term.name is None:
            return None
        values = self.bindings.get((term.scope, term.name))
        return values[0] if values is not None and len(values) == 1 else None

    def spell(self, expr: cst.BaseExpression) -> str:
        """A receiver as messages show it: `conn.execute(...).fetchall`, `(BASE / ...)`."""
        if isinstance(expr, cst.Name):
            return expr.value
        if isinstance(expr, cst.Attribute):
            return f"{self.spell(expr.value)}.{expr.attr.value}"
        if isinstance(expr, cst.Call):
            return f"{self.spell(expr.func)}({'...' if expr.args else ''})"
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Divide):
            return f"({self.spell(expr.left)} / ...)"
        return short_code(self.ctx.module, expr)

    def leave_Module(self, original_node: cst.Module) -> None:
        for node, receiver, method, term, where, ruff_alike in self.pending_methods:
            kind = self.resolve(term)
            spelled = self.method_call(kind, self.spell(receiver), method) if kind is not None else None
            if spelled is not None:
                code, since = self.method_overlap(receiver, method, term)
                message = self.MESSAGE.format(call=spelled, where=where)
                self.ctx.report(self, node, message, None, (code, since if ruff_alike else None))


def _receiver_head(expr: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """The name a receiver starts from (`BASE` in `BASE.parent`, `Path` in `Path(...)`)."""
    while True:
        if isinstance(expr, cst.Name):
            return expr
        if isinstance(expr, cst.Attribute):
            expr = expr.value
        elif isinstance(expr, cst.Call):
            expr = expr.func
        elif isinstance(expr, cst.BinaryOperation):
            expr = expr.left
        else:
            return None
