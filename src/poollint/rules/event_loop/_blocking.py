"""What the POL1xx rules share: a blocking call made directly inside an `async def`."""

from __future__ import annotations

from typing import ClassVar, Dict, Optional, Set

import libcst as cst

from poollint.rule import PoolRule


class BlockingCallRule(PoolRule):
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
        self.generator_depth += 1

    def leave_GeneratorExp(self, original_node: cst.GeneratorExp) -> None:
        self.generator_depth -= 1

    def visit_Call(self, node: cst.Call) -> None:
        self.tight.add(node.func)
        scope = self.ctx.async_function()
        if scope is None:
            return
        qualified = self.ctx.qualified_name(node.func)
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
