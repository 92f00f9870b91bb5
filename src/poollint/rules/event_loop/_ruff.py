"""Which findings of POL101-POL104 ruff's flake8-async rules report too.

Each finding of these rules carries the ASYNC code of its kind of call (for
`# noqa: ASYNC251` to silence it) and whether ruff reports that very call.
The second is an under-estimate on purpose: where poollint cannot be sure that
ruff sees the call (an alias ruff cannot follow, a name bound twice, a method
on an object ruff cannot type), the finding says ruff does not, and poollint
keeps reporting it. Reporting a call twice costs a line of output; dropping
one that ruff does not report loses the finding.

A finding ruff reports carries the ruff release from which it does (most
since 0.5, when the ASYNC2xx codes got their numbers; a few only in recent
releases), so that it is left to ruff only where the project runs such a ruff.

Checked against ruff 0.17.6: which qualified names each ASYNC2xx rule matches,
that a name resolves through imports in any form and alias (`import time as t`,
`from time import sleep as nap`, imports inside the function, builtins), that
a receiver is typed from its only binding (`client = httpx.Client()`,
`path = Path(...)`, a parameter annotated `Path`), and that ruff's async
context ends at a lambda, a nested `def` and a class body, but not at a
comprehension.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, FrozenSet, Optional, Tuple

import libcst as cst

from poollint.context import dotted_name
# The ASYNC2xx codes appeared in ruff 0.5.0: a call reported since then needs
# no knowledge of the project's ruff.
from poollint.ruff_config import OLDEST

if TYPE_CHECKING:
    from poollint.context import FileContext

ASYNC210 = "ASYNC210"  # blocking-http-call-in-async-function
ASYNC212 = "ASYNC212"  # blocking-http-call-httpx-in-async-function
ASYNC220 = "ASYNC220"  # create-subprocess-in-async-function
ASYNC221 = "ASYNC221"  # run-process-in-async-function
ASYNC222 = "ASYNC222"  # wait-for-process-in-async-function
ASYNC230 = "ASYNC230"  # blocking-open-call-in-async-function
ASYNC240 = "ASYNC240"  # blocking-path-method-in-async-function
ASYNC251 = "ASYNC251"  # blocking-sleep-in-async-function

_HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request", "connect", "trace")

# Qualified name -> the code ruff reports a direct call of it with.
RUFF_CALLS: Dict[str, str] = {
    "time.sleep": ASYNC251,
    **{f"{module}.{verb}": ASYNC210 for module in ("requests", "httpx") for verb in _HTTP_VERBS},
    "urllib.request.urlopen": ASYNC210,
    "urllib3.request": ASYNC210,
    **{
        f"subprocess.{name}": ASYNC221
        for name in ("run", "call", "check_call", "check_output", "getoutput", "getstatusoutput")
    },
    "os.system": ASYNC221,
    "os.popen": ASYNC220,
    "subprocess.Popen": ASYNC220,
    # ruff spells the builtin `open` and `builtins.open` alike.
    "builtins.open": ASYNC230,
    "io.open": ASYNC230,
}

# The kind of the calls poollint flags and ruff does not, for `# noqa: ASYNCxxx`.
_NEAREST: Dict[str, str] = {"codecs.open": ASYNC230}
_NEAREST_PREFIXES = (
    ("requests.", ASYNC210),
    ("httpx.", ASYNC210),
    ("urllib.", ASYNC210),
    ("urllib3.", ASYNC210),
    ("subprocess.", ASYNC221),
)

# Receivers ruff types as a pathlib path: a call of one of these, a parameter
# annotated with one, or a name whose only binding is either.
RUFF_PATH_CLASSES: FrozenSet[str] = frozenset(
    {
        "pathlib.Path",
        "pathlib.PosixPath",
        "pathlib.WindowsPath",
        "pathlib.PurePath",
        "pathlib.PurePosixPath",
        "pathlib.PureWindowsPath",
    }
)
# ASYNC230 knows only `pathlib.Path(...)` itself, and no annotation.
RUFF_OPEN_PATH_CLASS = "pathlib.Path"
RUFF_PATH_METHODS: Dict[str, str] = {
    "read_text": ASYNC240,
    "read_bytes": ASYNC240,
    "write_text": ASYNC240,
    "write_bytes": ASYNC240,
    "open": ASYNC230,
}

RUFF_HTTPX_CLIENT = "httpx.Client"
RUFF_HTTPX_METHODS: FrozenSet[str] = frozenset(
    {"close", "delete", "get", "head", "options", "patch", "post", "put", "request", "send", "stream"}
)


# A ruff release: (0, 17, 6).
Version = Tuple[int, ...]
# Calls ruff reports only from a later release: left to ruff only where the
# project says it runs that release or a newer one (ruff_config.py).
CALLS_SINCE: Dict[str, Version] = {
    # astral-sh/ruff#28015: not reported up to 0.16.4.
    "requests.request": (0, 17, 0),
    "httpx.request": (0, 17, 0),
}
HTTPX_CLIENT_SINCE: Version = (0, 15, 0)  # ASYNC212 stable
# ASYNC240 was in preview from 0.13.2; it is stable in 0.17.6, the release
# checked, and no earlier release is assumed.
PATH_METHODS_SINCE: Version = (0, 17, 6)

# (the ASYNC code of the call's kind or None, the ruff release from which ruff
# reports this very call, or None where no ruff does)
Overlap = Tuple[Optional[str], Optional[Version]]
NO_OVERLAP: Overlap = (None, None)


def call_code(qualified: str) -> Optional[str]:
    """The ASYNC code of this kind of call, whether or not ruff reports it."""
    found = RUFF_CALLS.get(qualified) or _NEAREST.get(qualified)
    if found is not None:
        return found
    for prefix, code in _NEAREST_PREFIXES:
        if qualified.startswith(prefix):
            return code
    return None


def function_overlap(ctx: "FileContext", qualified: str, func: cst.BaseExpression) -> Overlap:
    """A direct call of `qualified` (how poollint resolved `func`)."""
    if qualified in RUFF_CALLS and ruff_resolves_alike(ctx, func):
        return call_code(qualified), CALLS_SINCE.get(qualified, OLDEST)
    return call_code(qualified), None


def in_ruff_async_context(ctx: "FileContext") -> bool:
    """ruff's async context is the innermost scope being an `async def`: a
    class body or lambda inside one is not (a comprehension is)."""
    scope = ctx.scopes[-1]
    return scope.kind == "function" and scope.is_async


def ruff_resolves_alike(ctx: "FileContext", expr: cst.BaseExpression) -> bool:
    """Whether ruff resolves the head of `expr` here to the binding poollint
    did: poollint looks at the innermost function and the module, ruff at
    every enclosing function too, so a name an enclosing function binds may
    mean something else to ruff."""
    if not in_ruff_async_context(ctx):
        return False
    dotted = dotted_name(expr)
    if dotted is None:
        return False
    head = dotted.split(".", 1)[0]
    for scope in ctx.scopes[:-1]:
        if scope.kind == "lambda":
            return False
        if scope.kind == "function":
            fact = scope.fact
            if fact is None or head in fact.local_names or head in fact.local_imports:
                return False
    return True


def only_binding(owner: cst.CSTNode, name: str) -> Optional[cst.CSTNode]:
    """The one statement (or parameter) binding `name` in the scope of
    `owner` (a function or the module), as ruff's `only_binding` asks; None
    when there are none or several. Counts every binding form, and for the
    module a `global name` in any function, so that it errs towards "several"."""
    counter = _BindingCounter(name, owner)
    owner.visit(counter)
    return counter.bindings[0] if len(counter.bindings) == 1 else None


class _BindingCounter(cst.CSTVisitor):
    def __init__(self, name: str, owner: cst.CSTNode) -> None:
        super().__init__()
        self.name = name
        self.owner = owner
        self.bindings: list = []
        self.depth = 0  # nested scopes entered below the owner

    def _add(self, node: cst.CSTNode) -> None:
        if self.depth == 0:
            self.bindings.append(node)

    def _names(self, target: cst.BaseExpression) -> bool:
        if isinstance(target, cst.Name):
            return target.value == self.name
        if isinstance(target, (cst.Tuple, cst.List)):
            return any(self._names(element.value) for element in target.elements)
        if isinstance(target, cst.StarredElement):
            return self._names(target.value)
        return False

    # -- scopes ----------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        if node is self.owner:
            for param in _params(node.params):
                if param.name.value == self.name:
                    self._add(param)
            return True
        if node.name.value == self.name:
            self._add(node)
        self.depth += 1
        return True

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        if original_node is not self.owner:
            self.depth -= 1

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        if node.name.value == self.name:
            self._add(node)
        self.depth += 1
        return True

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.depth -= 1

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Global(self, node: cst.Global) -> None:
        # `global name` in a function binds the module's name wherever it assigns.
        if isinstance(self.owner, cst.Module) and any(item.name.value == self.name for item in node.names):
            self.bindings.append(node)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        if any(item.name.value == self.name for item in node.names):
            self.bindings.append(node)

    # -- binding forms ------------------------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if self._names(target.target):
                self._add(node)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self._names(node.target):
            self._add(node)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if self._names(node.target):
            self._add(node)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        if self._names(node.target):
            self._add(node)

    def visit_For(self, node: cst.For) -> None:
        if self._names(node.target):
            self._add(node)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        # A comprehension's own variable, not the scope's; named anyway to err
        # towards "several" rather than follow comprehension scoping.
        if self._names(node.target):
            self._add(node)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None and self._names(node.asname.name):
            self._add(node)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None and self._names(node.name.name):
            self._add(node)

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        if node.name is not None and self._names(node.name.name):
            self._add(node)

    def visit_Del(self, node: cst.Del) -> None:
        if self._names(node.target):
            self._add(node)

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            bound = alias.asname.name if alias.asname is not None else alias.name
            while isinstance(bound, cst.Attribute):
                bound = bound.value
            if isinstance(bound, cst.Name) and bound.value == self.name:
                self._add(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            self._add(node)
            return
        for alias in node.names:
            bound = alias.asname.name if alias.asname is not None else alias.name
            if isinstance(bound, cst.Name) and bound.value == self.name:
                self._add(node)

    def visit_MatchAs(self, node: cst.MatchAs) -> None:
        if node.name is not None and node.name.value == self.name:
            self._add(node)

    def visit_MatchStar(self, node: cst.MatchStar) -> None:
        if node.name is not None and node.name.value == self.name:
            self._add(node)

    def visit_MatchMapping(self, node: cst.MatchMapping) -> None:
        if node.rest is not None and node.rest.value == self.name:
            self._add(node)


def _params(params: cst.Parameters) -> list:
    found = list(params.posonly_params) + list(params.params) + list(params.kwonly_params)
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            found.append(star)
    return found


def httpx_client_binding(ctx: "FileContext", binding: Optional[cst.CSTNode]) -> bool:
    """Whether ruff types the value of this only binding as `httpx.Client`:
    `name = httpx.Client(...)`, `name: httpx.Client = ...`, `with
    httpx.Client(...) as name`."""
    if isinstance(binding, cst.Assign):
        return _calls(ctx, binding.value, RUFF_HTTPX_CLIENT)
    if isinstance(binding, cst.AnnAssign):
        annotated = ctx.qualified_name(binding.annotation.annotation) == RUFF_HTTPX_CLIENT
        return annotated or (binding.value is not None and _calls(ctx, binding.value, RUFF_HTTPX_CLIENT))
    if isinstance(binding, cst.WithItem):
        return _calls(ctx, binding.item, RUFF_HTTPX_CLIENT)
    return False


def _calls(ctx: "FileContext", expr: cst.BaseExpression, qualified: str) -> bool:
    return isinstance(expr, cst.Call) and ctx.qualified_name(expr.func) == qualified
