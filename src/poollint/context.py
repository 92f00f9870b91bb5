"""What a rule knows while it walks one file: scopes, names and the project index."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, Iterator, List, Optional, Set, Tuple, Union

import libcst as cst

from poollint.facts import FunctionFact, ModuleFacts, qualify_dotted
from poollint.project import ProjectIndex, Resource, RouteInfo

if TYPE_CHECKING:
    from poollint.config import Settings
    from poollint.rule import Fix, PoolRule


@dataclass
class Scope:
    node: cst.CSTNode
    kind: str  # "module", "class", "function" or "lambda"
    qualname: str
    is_async: bool = False
    fact: Optional[FunctionFact] = None
    # Parameters of a lambda, which the facts do not cover.
    params: Set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.qualname.rsplit(".", 1)[-1]


# A message, or a function building it from `line_of(node)` once positions are known.
Message = Union[str, Callable[[Callable[[cst.CSTNode], int]], str]]


# Directories whose modules run as programs, never inside the app.
SCRIPT_DIRECTORIES = frozenset({"scripts", "script", "bin"})
EVENT_LOOP_RUNNERS = frozenset({"asyncio.run", "anyio.run", "trio.run", "uvloop.run"})


def is_main_test(test: cst.BaseExpression) -> bool:
    """`__name__ == "__main__"`, either way round."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    target = test.comparisons[0]
    if not isinstance(target.operator, cst.Equal):
        return False
    sides = (test.left, target.comparator)
    has_name = any(isinstance(s, cst.Name) and s.value == "__name__" for s in sides)
    has_main = any(isinstance(s, cst.SimpleString) and s.evaluated_value == "__main__" for s in sides)
    return has_name and has_main


def has_main_block(module: cst.Module) -> bool:
    return any(isinstance(stmt, cst.If) and is_main_test(stmt.test) for stmt in module.body)


def in_script_directory(path: str) -> bool:
    return any(part in SCRIPT_DIRECTORIES for part in path.replace("\\", "/").split("/")[:-1])


@dataclass
class RawReport:
    code: str
    node: cst.CSTNode
    message: Message
    fix: Optional["Fix"]
    # The statements the walk was in when the rule reported, innermost last:
    # where the position lookup searches for the node first.
    hints: Tuple[cst.CSTNode, ...] = ()
    # The ruff/flake8-async code of this kind of blocking call (`# noqa:
    # ASYNC251` silences it), and the ruff release from which ruff reports
    # this very call, None where none does (rules/event_loop/_ruff.py);
    # poollint then leaves it to ruff (ruff_config.py).
    ruff_code: Optional[str] = None
    ruff_since: Optional[Tuple[int, ...]] = None


def dotted_name(expr: cst.BaseExpression) -> Optional[str]:
    # Exact type checks: isinstance against libcst's classes goes through
    # ABCMeta, and every rule asks this of every call.
    if type(expr) is cst.Name:
        return expr.value  # type: ignore[attr-defined]
    parts: List[str] = []
    while type(expr) is cst.Attribute:
        parts.append(expr.attr.value)  # type: ignore[attr-defined]
        expr = expr.value  # type: ignore[attr-defined]
    if type(expr) is cst.Name:
        parts.append(expr.value)  # type: ignore[attr-defined]
        return ".".join(reversed(parts))
    return None


class FileContext:
    """Shared by every rule of one file during one walk.

    The engine calls `enter`/`exit` around each scope-making node, before any
    rule visits it and after every rule has left it, so rules always see the
    scope stack of the node they are looking at.
    """

    def __init__(
        self,
        path: Path,
        facts: ModuleFacts,
        index: ProjectIndex,
        settings: "Settings",
        module: cst.Module,
    ) -> None:
        self.path = path
        self.facts = facts
        self.index = index
        self.settings = settings
        self.module = module
        self.scopes: List[Scope] = [Scope(module, "module", "")]
        self.reports: List[RawReport] = []
        self.statements: List[cst.CSTNode] = []
        self._qualified: Dict[Tuple[int, int], Optional[str]] = {}
        self._is_script: Optional[bool] = None

    # -- scopes ------------------------------------------------------------------
    def enter(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.FunctionDef):
            qualname = self._child_qualname(node.name.value)
            self.scopes.append(
                Scope(
                    node,
                    "function",
                    qualname,
                    is_async=node.asynchronous is not None,
                    fact=self.facts.functions.get(qualname),
                )
            )
        elif isinstance(node, cst.ClassDef):
            self.scopes.append(Scope(node, "class", self._child_qualname(node.name.value)))
        elif isinstance(node, cst.Lambda):
            params = {p.name.value for p in _all_params(node.params)}
            self.scopes.append(Scope(node, "lambda", self.scopes[-1].qualname, params=params))

    @contextmanager
    def reporting_from(self, statements: Tuple[cst.CSTNode, ...]) -> Iterator[None]:
        """Reports made inside are looked up from `statements` (those the walk
        was in when the reported node was seen), not from where the walk is now."""
        saved = self.statements
        self.statements = list(statements)
        try:
            yield
        finally:
            self.statements = saved

    def enter_statement(self, node: cst.CSTNode) -> None:
        self.statements.append(node)

    def exit_statement(self, node: cst.CSTNode) -> None:
        self.statements.pop()

    def exit(self, node: cst.CSTNode) -> None:
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            self.scopes.pop()

    def _child_qualname(self, name: str) -> str:
        parent = self.scopes[-1].qualname
        return f"{parent}.{name}" if parent else name

    def function(self) -> Optional[Scope]:
        """The innermost function or lambda; class bodies run in their function."""
        for scope in reversed(self.scopes):
            if scope.kind in ("function", "lambda"):
                return scope
        return None

    def async_function(self) -> Optional[Scope]:
        """The innermost function when it is an `async def`, else None."""
        scope = self.function()
        return scope if scope is not None and scope.kind == "function" and scope.is_async else None

    # -- names -------------------------------------------------------------------
    def qualified_name(self, expr: cst.BaseExpression) -> Optional[str]:
        """`t.sleep` -> "time.sleep" after `import time as t`; None when unsure."""
        # Every rule asks about every call: answer once per node and scope.
        key = (id(expr), id(self.scopes[-1]))
        if key in self._qualified:
            return self._qualified[key]
        found = self._qualify(expr)
        self._qualified[key] = found
        return found

    def _qualify(self, expr: cst.BaseExpression) -> Optional[str]:
        dotted = dotted_name(expr)
        if dotted is None:
            return None
        head = dotted.split(".", 1)[0]
        fact = None
        for scope in reversed(self.scopes):
            if scope.kind == "lambda" and head in scope.params:
                return None
            if scope.kind == "function":
                if scope.fact is None:
                    # A function the facts did not see: unsure.
                    return None
                fact = scope.fact
                break
        return qualify_dotted(self.facts, fact, dotted)

    def names_module(self, name: str) -> bool:
        """Whether `name` here means the module `name` once `import name` is
        added: it is imported as itself, or bound nowhere on the way out.
        A fix that writes `asyncio.sleep` needs this; a parameter called
        `asyncio` would otherwise be what it calls."""
        qualified = self.qualified_name(cst.Name(name))
        if qualified == name:
            return True
        if qualified is not None:
            return False
        for scope in reversed(self.scopes):
            if scope.kind == "lambda" and name in scope.params:
                return False
            if scope.kind == "function":
                if scope.fact is None or name in scope.fact.local_names or name in scope.fact.local_imports:
                    return False
                break
        return name not in self.facts.kinds and name not in self.facts.imports

    def resource(self, expr: cst.BaseExpression) -> Optional[Resource]:
        """What `expr` is for the pool: a session, connection or engine, when known."""
        if isinstance(expr, cst.Call):
            return self.index.created_by_call(self.qualified_name(expr.func))
        if isinstance(expr, cst.Name):
            scope = self.function()
            if scope is not None:
                if scope.kind == "lambda":
                    if expr.value in scope.params:
                        return None
                elif scope.fact is not None and expr.value in scope.fact.local_names:
                    return self.index.of_local(scope.fact, expr.value)
            return self.index.of_global(self.qualified_name(expr))
        if isinstance(expr, cst.Attribute):
            return self.index.of_global(self.qualified_name(expr))
        return None

    # -- routes and dependencies -------------------------------------------------
    def route(self, scope: Scope) -> Optional[RouteInfo]:
        if scope.kind != "function":
            return None
        return self.index.route(self.facts.module, scope.qualname)

    def is_dependency(self, scope: Scope) -> bool:
        return scope.kind == "function" and self.index.is_dependency(self.facts.module, scope.qualname)

    def describe(self, scope: Scope) -> str:
        """`async route GET /items/{item_id} (read_item)`, `async function helper`."""
        if scope.kind != "function":
            return "lambda"
        return self.index.describe(self.facts.module, scope.qualname, scope.is_async)

    # -- what kind of file -------------------------------------------------------
    def is_script(self) -> bool:
        """Whether the file is a program rather than application code: under a
        `scripts/` or `bin/` directory; or serving no request (no FastAPI app,
        router or route) while it has an `if __name__ == "__main__":` block or
        does its work at import time (a module-level `with` block or
        `asyncio.run(...)`, as demos do). Blocking, leaking or an odd pool in
        a one-shot program costs no request anything."""
        if self._is_script is None:
            facts = self.facts
            serves_requests = any(kind in ("app", "router") for kind in facts.kinds.values()) or any(
                fn.routes for fn in facts.functions.values()
            )
            self._is_script = in_script_directory(facts.path) or (
                not serves_requests
                and (has_main_block(self.module) or any(self._runs_at_import(s) for s in self.module.body))
            )
        return self._is_script

    def _runs_at_import(self, stmt: cst.CSTNode) -> bool:
        if isinstance(stmt, cst.With):
            return True
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                    dotted = dotted_name(small.value.func)
                    if dotted and qualify_dotted(self.facts, None, dotted) in EVENT_LOOP_RUNNERS:
                        return True
        return False

    # -- reporting ---------------------------------------------------------------
    def report(
        self,
        rule: "PoolRule",
        node: cst.CSTNode,
        message: Message,
        fix: Optional["Fix"],
        ruff: Tuple[Optional[str], Optional[Tuple[int, ...]]] = (None, None),
    ) -> None:
        self.reports.append(RawReport(rule.CODE, node, message, fix, tuple(self.statements), *ruff))


def _all_params(params: cst.Parameters) -> List[cst.Param]:
    found = list(params.posonly_params) + list(params.params) + list(params.kwonly_params)
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            found.append(star)
    return found


def param_list(params: cst.Parameters) -> List[cst.Param]:
    return _all_params(params)


def node_text(module: cst.Module, node: cst.CSTNode) -> str:
    return module.code_for_node(node)


Position = Tuple[int, int]
