"""POL103: a subprocess waited for synchronously inside an async def."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from poollint.context import param_list
from poollint.rule import FixAvailability, Invalid, Valid
from poollint.rules.event_loop._blocking import BlockingCallRule
from poollint.rules.event_loop._ruff import ASYNC220, ASYNC222, OLDEST, Overlap, ruff_resolves_alike

_WAITING_FUNCTIONS = {
    **{
        f"subprocess.{name}": f"subprocess.{name}()"
        for name in ("run", "call", "check_call", "check_output", "getoutput", "getstatusoutput")
    },
    "os.system": "os.system()",
    # The pipe it returns is read (or closed, which waits) right after.
    "os.popen": "os.popen()",
}
_POPEN = frozenset({"subprocess.Popen"})
# Starting a process returns at once; these wait for it to end.
_POPEN_WAITS = frozenset({"wait", "communicate"})


class BlockingSubprocess(BlockingCallRule):
    """
    ## What it does
    Flags calls that wait for a child process inside an `async def`:
    `subprocess.run()`, `call()`, `check_call()`, `check_output()`,
    `getoutput()`, `getstatusoutput()`, `os.system()`, `os.popen()`, and
    `.wait()` / `.communicate()` on a `subprocess.Popen` created in the same
    function. Starting a `Popen` without waiting for it is not flagged, nor
    are startup and shutdown hooks (a lifespan running migrations, an
    `on_event` handler): no request is served while they run.

    A sync function of the project whose own body calls one of these functions
    is followed one level: calling it from an `async def`
    (`render_invoice(order_id)`, from any module, in any import form) is
    reported at that call, naming the helper and the line of the call in it. A
    helper handed to `asyncio.to_thread()` or `run_in_threadpool()` (not
    called here), an async or generator helper, a decorated one (`@lru_cache`,
    `@retry`...; `@staticmethod` and `@classmethod` are fine), and the call
    inside the helper's own nested functions or lambdas are left alone.

    ## Why is this bad?
    The event loop stands still until the child process exits: no other
    request of the worker makes progress, and the sessions those requests
    hold stay checked out of the pool for the whole run of the command. A
    slow or stuck command turns into pool exhaustion for everyone.

    ## Example
    ```python
    import subprocess
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/reports")
    async def build_report():
        subprocess.run(["make-report", "--all"], check=True)
        return {"ok": True}
    ```

    ## Use instead
    ```python
    import asyncio
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/reports")
    async def build_report():
        process = await asyncio.create_subprocess_exec("make-report", "--all")
        await process.wait()
        return {"ok": True}
    ```
    Or run the blocking call in a thread (`await asyncio.to_thread(subprocess.run, ...)`),
    or make the route a plain `def`.
    """

    CODE = "POL103"
    NAME = "blocking-subprocess"
    RUFF_EQUIVALENT = ("ASYNC220", "ASYNC221", "ASYNC222")
    FLAKE8_ASYNC_EQUIVALENT = ("ASYNC220", "ASYNC221", "ASYNC222")
    RUFF_NOTE = (
        "ruff reports starting a `Popen` (ASYNC220), `os.wait*()` and `os.spawn*()` too; poollint reports"
        " the `wait()`/`communicate()` that blocks rather than the start, and follows the project's sync "
        "helpers."
    )
    FIX_TITLE = None
    FIX_AVAILABILITY = FixAvailability.NONE
    TRIGGERS = ("subprocess", "system", "popen")
    BLOCKING_CALLS = _WAITING_FUNCTIONS
    GATE_NAMES = _POPEN

    def blocking_call(self, qualified: Optional[str], node: cst.Call) -> Optional[str]:
        spelled = super().blocking_call(qualified, node)
        if spelled is not None:
            return spelled
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in _POPEN_WAITS:
            return None
        method = func.attr.value
        receiver = func.value
        if isinstance(receiver, cst.Call):
            if self.ctx.qualified_name(receiver.func) in _POPEN:
                return f"subprocess.Popen(...).{method}()"
            return None
        if isinstance(receiver, cst.Name) and not self.bound_by_comprehension(receiver):
            scope = self.ctx.async_function()
            if scope is None or scope.fact is None or not isinstance(scope.node, cst.FunctionDef):
                return None
            name = receiver.value
            if name in {p.name.value for p in param_list(scope.node.params)}:
                return None
            origin = scope.fact.origins.get(name)
            if origin is not None and origin[0] == "call" and origin[1] in _POPEN:
                return f"{name}.{method}() (subprocess.Popen)"
        return None

    def ruff_overlap(self, qualified: Optional[str], node: cst.Call) -> Overlap:
        if qualified is not None and qualified in self.BLOCKING_CALLS:
            return super().ruff_overlap(qualified, node)
        assert isinstance(node.func, cst.Attribute)
        receiver = node.func.value
        if isinstance(receiver, cst.Call):
            # `Popen(...).wait()`: ruff reports the Popen(...) in it (ASYNC220),
            # on the same line.
            return ASYNC220, OLDEST if ruff_resolves_alike(self.ctx, receiver.func) else None
        # `process.wait()`: ruff reports where the Popen was made, not here.
        return ASYNC222, None

    VALID = [
        Valid(
            """
            import asyncio

            async def handler():
                process = await asyncio.create_subprocess_exec("ls", stdout=asyncio.subprocess.PIPE)
                out, _ = await process.communicate()
                await process.wait()
                return out
            """
        ),
        Valid(
            """
            import subprocess

            async def start_worker():
                # Starting it returns at once; nobody waits here.
                return subprocess.Popen(["worker", "--daemon"])
            """
        ),
        Valid(
            """
            import asyncio
            import subprocess

            async def handler():
                await asyncio.to_thread(subprocess.run, ["ls"], check=True)
                await asyncio.to_thread(lambda: subprocess.check_output(["ls"]))
            """
        ),
        Valid(
            """
            import subprocess

            def sync_route():
                return subprocess.check_output(["ls"])
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import subprocess

            async def handler():
                return subprocess.check_output(["git", "rev-parse", "HEAD"])
            """
        ),
        Invalid(
            """
            from os import system as shell

            async def handler():
                shell("sync")
            """
        ),
        Invalid(
            """
            from subprocess import PIPE, Popen

            async def handler():
                process = Popen(["ls"], stdout=PIPE)
                out, _ = process.communicate()
                return out
            """
        ),
        Invalid(
            """
            import subprocess

            def render_invoice(order_id):
                subprocess.run(["render-invoice", str(order_id)], check=True)

            async def handler(order_id: int):
                render_invoice(order_id)
            """
        ),
    ]
