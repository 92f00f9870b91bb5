"""POL102: a synchronous HTTP call (requests, urllib, httpx, urllib3) inside an async def."""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import libcst as cst

from poollint.context import param_list
from poollint.rule import FixAvailability, Invalid, Valid
from poollint.rules.event_loop._blocking import BlockingCallRule, _target_names
from poollint.rules.event_loop._ruff import (
    ASYNC210,
    ASYNC212,
    HTTPX_CLIENT_SINCE,
    RUFF_HTTPX_CLIENT,
    RUFF_HTTPX_METHODS,
    Overlap,
    httpx_client_binding,
    only_binding,
    ruff_resolves_alike,
)

_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request")


def _module_functions() -> Dict[str, str]:
    calls: Dict[str, str] = {}
    for verb in _VERBS:
        for module in ("requests", "requests.api"):
            calls[f"{module}.{verb}"] = f"requests.{verb}()"
        for module in ("httpx", "httpx._api"):
            calls[f"{module}.{verb}"] = f"httpx.{verb}()"
    for module in ("httpx", "httpx._api"):
        calls[f"{module}.stream"] = "httpx.stream()"
    for name in ("urlopen", "urlretrieve"):
        calls[f"urllib.request.{name}"] = f"urllib.request.{name}()"
    calls["urllib3.request"] = "urllib3.request()"
    return calls


# Constructor (qualified) -> (how the message names the client, its blocking methods).
_SESSION_METHODS = frozenset(_VERBS + ("send",))
_CLIENTS: Dict[str, Tuple[str, frozenset]] = {}
for _name in ("requests.Session", "requests.sessions.Session", "requests.session", "requests.sessions.session"):
    _CLIENTS[_name] = ("requests.Session", _SESSION_METHODS)
for _name in ("httpx.Client", "httpx._client.Client"):
    _CLIENTS[_name] = ("httpx.Client", _SESSION_METHODS | {"stream"})
for _name in ("urllib3.PoolManager", "urllib3.poolmanager.PoolManager", "urllib3.ProxyManager", "urllib3.poolmanager.ProxyManager"):
    _CLIENTS[_name] = (
        "urllib3." + _name.rsplit(".", 1)[-1],
        frozenset({"request", "urlopen", "request_encode_url", "request_encode_body"}),
    )
for _name in (
    "urllib3.HTTPConnectionPool",
    "urllib3.HTTPSConnectionPool",
    "urllib3.connectionpool.HTTPConnectionPool",
    "urllib3.connectionpool.HTTPSConnectionPool",
    "urllib3.connection_from_url",
    "urllib3.connectionpool.connection_from_url",
):
    _CLIENTS[_name] = ("urllib3 connection pool", frozenset({"request", "urlopen"}))


def _client_code(constructor: Optional[str]) -> str:
    """The ASYNC code of a call on a client: ASYNC212 for httpx's, ASYNC210
    (ruff's nearest) for requests' and urllib3's."""
    return ASYNC212 if constructor is not None and constructor.startswith("httpx.") else ASYNC210


class BlockingHttp(BlockingCallRule):
    """
    ## What it does
    Flags synchronous HTTP calls made directly inside an `async def`:
    `requests.get()` and its siblings, `urllib.request.urlopen()`, the sync
    `httpx` functions, `urllib3.request()`, and the methods of a
    `requests.Session`, `httpx.Client` or `urllib3.PoolManager` visibly
    created in the function or once at module level. A client passed in as a
    parameter, or a name bound more than one way, is left alone, and so are
    startup and shutdown hooks (a lifespan, an `on_event` handler): no
    request is served while they run.

    A sync function of the project whose own body calls one of these functions
    is followed one level: calling it from an `async def`
    (`notify_partner(order)`, from any module, in any import form) is reported
    at that call, naming the helper and the line of the call in it. A helper
    handed to `asyncio.to_thread()` or `run_in_threadpool()` (not called
    here), an async or generator helper, a decorated one (`@lru_cache`,
    `@retry`...; `@staticmethod` and `@classmethod` are fine), and the call
    inside the helper's own nested functions or lambdas are left alone.

    ## Why is this bad?
    A synchronous HTTP request blocks the whole event loop until the remote
    server answers: every other request of the worker waits with it. Sessions
    and connections that those requests hold stay checked out of the pool for
    the whole wait, so one slow upstream service is enough to exhaust the
    database pool (`QueuePool limit ... reached`).

    ## Example
    ```python
    import requests
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/rates")
    async def rates():
        return requests.get("https://rates.example/eur").json()
    ```

    ## Use instead
    ```python
    import httpx
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/rates")
    async def rates():
        async with httpx.AsyncClient() as client:
            response = await client.get("https://rates.example/eur")
        return response.json()
    ```
    Or make the route a plain `def`, which FastAPI runs in its thread pool.
    """

    CODE = "POL102"
    NAME = "blocking-http"
    RUFF_EQUIVALENT = ("ASYNC210", "ASYNC212")
    FLAKE8_ASYNC_EQUIVALENT = ("ASYNC210", "ASYNC211", "ASYNC212")
    RUFF_NOTE = (
        "ruff reports the `requests`/`httpx` functions, `urlopen()`, `urllib3.request()` and the methods "
        "of an `httpx.Client` bound once by name; poollint also `requests.Session` and urllib3 pools, "
        "clients made inline or bound twice, `requests.api`, `httpx.stream()`, `urlretrieve()`, and the "
        "project's sync helpers."
    )
    FIX_TITLE = None
    FIX_AVAILABILITY = FixAvailability.NONE
    TRIGGERS = ("requests", "urllib", "httpx")
    BLOCKING_CALLS = _module_functions()
    GATE_NAMES = frozenset(_CLIENTS)

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        # Module-level name -> client constructor, or None once the name is
        # bound some other way (reassigned, `global`, a loop target...).
        self.module_clients: Dict[str, Optional[str]] = {}
        # Method calls on a module-level name, decided once the whole module
        # has been seen (the assignment may come after the function), with
        # whether ruff sees the name as poollint does (_ruff.ruff_resolves_alike).
        self.pending: List[Tuple[cst.Call, str, str, str, bool]] = []

    # -- what a module-level name holds ------------------------------------------
    def _at_module_level(self) -> bool:
        return self.ctx.scopes[-1].kind == "module"

    def _bind_module_name(self, name: str, constructor: Optional[str]) -> None:
        if name in self.module_clients and self.module_clients[name] != constructor:
            constructor = None
        self.module_clients[name] = constructor

    def _bind_module_target(self, target: cst.BaseExpression, value: Optional[cst.BaseExpression]) -> None:
        if isinstance(target, cst.Name) and isinstance(value, cst.Call):
            constructor = self.ctx.qualified_name(value.func)
            self._bind_module_name(target.value, constructor if constructor in _CLIENTS else None)
            return
        for name in _target_names(target):
            self._bind_module_name(name, None)

    def visit_Assign(self, node: cst.Assign) -> None:
        if self._at_module_level():
            for target in node.targets:
                self._bind_module_target(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self._at_module_level():
            self._bind_module_target(node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if self._at_module_level():
            self._bind_module_target(node.target, None)

    def visit_For(self, node: cst.For) -> None:
        super().visit_For(node)
        if self._at_module_level():
            self._bind_module_target(node.target, None)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if self._at_module_level() and node.asname is not None:
            self._bind_module_target(node.asname.name, None)

    def visit_Global(self, node: cst.Global) -> None:
        for item in node.names:
            self._bind_module_name(item.name.value, None)

    # -- calls ---------------------------------------------------------------------
    def blocking_call(self, qualified: Optional[str], node: cst.Call) -> Optional[str]:
        spelled = super().blocking_call(qualified, node)
        if spelled is not None or not isinstance(node.func, cst.Attribute):
            return spelled
        method = node.func.attr.value
        receiver = node.func.value
        if isinstance(receiver, cst.Call):
            client = _CLIENTS.get(self.ctx.qualified_name(receiver.func) or "")
            if client is not None and method in client[1]:
                return f"{client[0]}().{method}()"
            return None
        if isinstance(receiver, cst.Name) and not self.bound_by_comprehension(receiver):
            return self._local_client_call(receiver.value, method, node)
        return None

    def _local_client_call(self, name: str, method: str, node: cst.Call) -> Optional[str]:
        scope = self.ctx.async_function()
        if scope is None or scope.fact is None or not isinstance(scope.node, cst.FunctionDef):
            return None
        fact = scope.fact
        if name in fact.local_imports:
            return None
        if name in fact.local_names:
            # A parameter may hold anything the caller passes, whatever the
            # body assigns to it when it is None.
            if name in {p.name.value for p in param_list(scope.node.params)}:
                return None
            origin = fact.origins.get(name)
            if origin is None or origin[0] != "call":
                return None
            client = _CLIENTS.get(origin[1] or "")
            if client is not None and method in client[1]:
                return f"{name}.{method}() ({client[0]})"
            return None
        if self.ctx.facts.kinds.get(name) == "other":
            ruff_alike = ruff_resolves_alike(self.ctx, node.func)
            self.pending.append((node, name, method, self.ctx.describe(scope), ruff_alike))
        return None

    def ruff_overlap(self, qualified: Optional[str], node: cst.Call) -> Overlap:
        if qualified is not None and qualified in self.BLOCKING_CALLS:
            return super().ruff_overlap(qualified, node)
        # A client's method: ruff's ASYNC212 types only an httpx.Client bound
        # once by name; calls on a client made inline, on a requests.Session
        # or a urllib3 pool, ruff does not report.
        assert isinstance(node.func, cst.Attribute)
        receiver = node.func.value
        if isinstance(receiver, cst.Call):
            return _client_code(self.ctx.qualified_name(receiver.func)), None
        scope = self.ctx.async_function()
        if not isinstance(receiver, cst.Name) or scope is None or scope.fact is None:
            return ASYNC210, None
        origin = scope.fact.origins.get(receiver.value)
        constructor = origin[1] if origin is not None else None
        reported = (
            constructor == RUFF_HTTPX_CLIENT
            and node.func.attr.value in RUFF_HTTPX_METHODS
            and ruff_resolves_alike(self.ctx, receiver)
            and httpx_client_binding(self.ctx, only_binding(scope.node, receiver.value))
        )
        return _client_code(constructor), HTTPX_CLIENT_SINCE if reported else None

    def leave_Module(self, original_node: cst.Module) -> None:
        for node, name, method, where, ruff_alike in self.pending:
            constructor = self.module_clients.get(name)
            client = _CLIENTS.get(constructor or "")
            if client is not None and method in client[1]:
                reported = (
                    ruff_alike
                    and constructor == RUFF_HTTPX_CLIENT
                    and method in RUFF_HTTPX_METHODS
                    and httpx_client_binding(self.ctx, only_binding(original_node, name))
                )
                message = self.MESSAGE.format(call=f"{name}.{method}() (module-level {client[0]})", where=where)
                since = HTTPX_CLIENT_SINCE if reported else None
                self.ctx.report(self, node, message, None, (_client_code(constructor), since))


    VALID = [
        Valid(
            """
            import httpx

            async def handler():
                async with httpx.AsyncClient() as client:
                    return (await client.get("https://example.org")).json()
            """
        ),
        Valid(
            """
            import asyncio
            import requests

            async def handler():
                def fetch():
                    return requests.get("https://example.org")
                await asyncio.to_thread(fetch)
                await asyncio.to_thread(requests.get, "https://example.org")
                await asyncio.to_thread(lambda: requests.post("https://example.org"))
            """
        ),
        Valid(
            """
            import requests

            def sync_route():
                return requests.get("https://example.org").json()
            """
        ),
        Valid(
            """
            async def handler(requests):
                return requests.get("/items")
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import requests

            async def handler():
                return requests.get("https://example.org").json()
            """
        ),
        Invalid(
            """
            from urllib.request import urlopen as fetch

            async def handler():
                with fetch("https://example.org") as response:
                    return response.read()
            """
        ),
        Invalid(
            """
            import httpx

            async def handler():
                with httpx.Client(timeout=5) as client:
                    return client.post("https://example.org", json={}).json()
            """
        ),
        Invalid(
            """
            import requests

            http = requests.Session()

            async def handler():
                return http.get("https://example.org").json()
            """
        ),
        Invalid(
            """
            import requests

            def notify_partner(order_id):
                requests.post("https://partner.example/orders", json={"id": order_id})

            async def handler(order_id: int):
                notify_partner(order_id)
            """
        ),
    ]
