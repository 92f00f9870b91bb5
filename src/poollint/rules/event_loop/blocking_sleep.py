"""POL101: time.sleep() inside an async def."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from poollint.rule import Fix, FixAvailability, FixSafety, Invalid, Valid
from poollint.rules.event_loop._blocking import BlockingCallRule


class BlockingSleep(BlockingCallRule):
    """
    ## What it does
    Flags `time.sleep()` called directly inside an `async def`, whatever the
    import form (`import time as t`, `from time import sleep as nap`).
    Startup and shutdown hooks (a lifespan, an `on_event` handler) are left
    alone: no request is served while they run.

    A sync function of the project whose own body calls `time.sleep()` is
    followed one level: calling it from an `async def`
    (`utils.wait_for_replica()`, from any module, in any import form) is
    reported at that call, naming the helper and the line of the sleep in it,
    without a fix. A helper handed to `asyncio.to_thread()` or
    `run_in_threadpool()` (not called here), an async or generator helper, a
    decorated one (`@lru_cache`, `@retry`...; `@staticmethod` and
    `@classmethod` are fine), and the sleep inside the helper's own nested
    functions or lambdas are left alone.

    ## Why is this bad?
    `time.sleep()` blocks the whole event loop, not just the coroutine that
    calls it: every other request served by the worker stops for as long as it
    sleeps. If the coroutine holds a pooled connection meanwhile, that
    connection is checked out for the whole sleep, and under load the pool runs
    dry (`QueuePool limit ... reached`).

    ## Example
    ```python
    import time
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/orders/{order_id}")
    async def read_order(order_id: int):
        time.sleep(0.5)
        return {"id": order_id}
    ```

    ## Use instead
    ```python
    import asyncio
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/orders/{order_id}")
    async def read_order(order_id: int):
        await asyncio.sleep(0.5)
        return {"id": order_id}
    ```

    ## Fix safety
    The fix is safe: `await asyncio.sleep(x)` waits as long as `time.sleep(x)`
    without blocking other requests, and `import asyncio` is added once. There
    is no fix inside a generator expression, where `await` would turn it into
    an async generator, nor where the name `asyncio` means something else
    (a parameter or local variable of that name).
    """

    CODE = "POL101"
    NAME = "blocking-sleep"
    RUFF_EQUIVALENT = ("ASYNC251",)
    FLAKE8_ASYNC_EQUIVALENT = ("ASYNC251",)
    RUFF_NOTE = (
        "ruff reports a direct `time.sleep()`, without a fix; poollint also fixes it (`await "
        "asyncio.sleep()`) and follows the project's sync helpers."
    )
    FIX_TITLE = "Use `await asyncio.sleep(...)`"
    FIX_AVAILABILITY = FixAvailability.SOMETIMES
    TRIGGERS = ("sleep",)
    BLOCKING_CALLS = {"time.sleep": "time.sleep()"}

    def fix(self, node: cst.Call) -> Optional[Fix]:
        if self.generator_depth or not self.ctx.names_module("asyncio"):
            return None
        sleep = node.with_changes(
            func=cst.Attribute(value=cst.Name("asyncio"), attr=cst.Name("sleep")),
        )
        return Fix(
            node=node,
            replacement=self.awaited(node, sleep),
            # Same duration, same arguments; only the waiting no longer blocks.
            safety=FixSafety.SAFE,
            imports=(("asyncio", None),),
        )

    VALID = [
        Valid(
            """
            import asyncio

            async def handler():
                await asyncio.sleep(1)
            """
        ),
        Valid(
            """
            import time

            def sync_route():
                time.sleep(1)
            """
        ),
        Valid(
            """
            import asyncio
            import time

            async def handler():
                def blocking_part():
                    time.sleep(1)
                await asyncio.to_thread(blocking_part)
                await asyncio.to_thread(lambda: time.sleep(1))
                await asyncio.to_thread(time.sleep, 1)
            """
        ),
        Valid(
            """
            async def handler(time):
                time.sleep(1)
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import time

            async def handler():
                time.sleep(1)
            """,
            expected_replacement="""
            import time
            import asyncio

            async def handler():
                await asyncio.sleep(1)
            """,
        ),
        Invalid(
            """
            from time import sleep as nap

            async def handler():
                nap(0.1)
            """,
            expected_replacement="""
            from time import sleep as nap
            import asyncio

            async def handler():
                await asyncio.sleep(0.1)
            """,
        ),
        Invalid(
            """
            import time as t

            async def handler():
                def helper():
                    pass
                t.sleep(2)
            """,
            expected_replacement="""
            import time as t
            import asyncio

            async def handler():
                def helper():
                    pass
                await asyncio.sleep(2)
            """,
        ),
        Invalid(
            """
            import time

            def wait_for_replica():
                time.sleep(0.5)

            async def handler():
                # No fix: the sleep is in the helper.
                wait_for_replica()
            """
        ),
    ]
