"""What the POL1xx rules share: a blocking call made directly inside an `async def`."""

from __future__ import annotations

from typing import ClassVar, Dict, List, Optional, Set

import libcst as cst

from poollint import names
from poollint.context import dotted_name, param_list
from poollint.rule import PoolRule

_APPLICATIONS = names.FASTAPI_APPS | {"starlette.applications.Starlette", "starlette.Starlette"}
_ASYNC_CONTEXT_MANAGERS = frozenset({"contextlib.asynccontextmanager"})


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


class BlockingCallRule(AsyncBodyRule):
    """Reports a call whose qualified name is in BLOCKING_CALLS, made in an
    `async def` (not in a nested sync def or lambda, which run elsewhere:
    `asyncio.to_thread(lambda: time.sleep(1))` is fine)."""

    # Qualified name -> how the message spells it.
    BLOCKING_CALLS: ClassVar[Dict[str, str]] = {}
    MESSAGE = "{call} blocks the event loop in {where}"

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
        if scope is None or self.in_startup_hook():
            return
        qualified = None if self.bound_by_comprehension(node.func) else self.ctx.qualified_name(node.func)
        spelled = self.blocking_call(qualified, node)
        if spelled is None:
            return
        self.report(node, fix=self.fix(node), call=spelled, where=self.ctx.describe(scope))

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
