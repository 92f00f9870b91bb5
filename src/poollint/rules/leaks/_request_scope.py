"""What POL205 and POL211 share: which sessions of a route or dependency are
request-scoped, and which calls hand values to a background task.

A session is request-scoped when something other than the function closes
it when the request ends: a parameter filled by a yield dependency that
creates it (`db: Session = Depends(get_db)`, an `Annotated` alias, also from
another module), or a session the function opened in a `with` block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Set, Tuple

import libcst as cst

from poollint.context import Scope, param_list
from poollint.project import Resource
from poollint.rules.leaks._session_flow import pooled_session

if TYPE_CHECKING:
    from poollint.context import FileContext

BACKGROUND_TASKS = frozenset(
    {"fastapi.BackgroundTasks", "fastapi.background.BackgroundTasks", "starlette.background.BackgroundTasks"}
)
# `BackgroundTask(func, *args, **kwargs)`, handed to a response's `background=`.
BACKGROUND_TASK = frozenset({"starlette.background.BackgroundTask"})


@dataclass
class RequestSession:
    """A session the request owns and closes when it ends."""

    # "dependency" (a yield dependency made it) or "with" (the function's own `with` block).
    how: str
    # The dependency's name, or the callee of the `with` item as written.
    label: str
    resource: Resource

    @property
    def source(self) -> str:
        """How messages name where it came from."""
        if self.how == "dependency":
            return f"from yield dependency {self.label}"
        return f"from `with {self.label}(...)`"


def handler_inputs(
    ctx: "FileContext", scope: Scope, node: cst.FunctionDef
) -> Optional[Tuple[Set[str], Dict[str, RequestSession]]]:
    """For a route or dependency: the names of its `BackgroundTasks` (parameters
    under any name, or created in it) and its parameters that are
    request-scoped sessions. None for any other function."""
    if scope.fact is None or not (ctx.route(scope) or ctx.is_dependency(scope)):
        return None
    task_lists: Set[str] = set()
    sessions: Dict[str, RequestSession] = {}
    index = ctx.index
    for param in param_list(node.params):
        name = param.name.value
        if param.annotation is not None and ctx.qualified_name(param.annotation.annotation) in BACKGROUND_TASKS:
            task_lists.add(name)
            continue
        origin = scope.fact.origins.get(name)
        if origin is None or origin[0] != "param":
            continue
        found = index.dependency_function(origin[1] or origin[2])
        if found is None or not found[1].is_generator:
            continue
        dep_facts, dependency = found
        resource = index.of_dependency(dep_facts.qualify(dependency.qualname))
        if resource is not None and resource.kind == "session":
            short = dependency.qualname.rsplit(".", 1)[-1]
            sessions[name] = RequestSession("dependency", short, resource)
    for name, origin in scope.fact.origins.items():
        if origin[0] == "call" and origin[1] in BACKGROUND_TASKS:
            task_lists.add(name)
    return task_lists, sessions


def with_session(ctx: "FileContext", node: cst.WithItem) -> Optional[Tuple[str, RequestSession]]:
    """`with SessionLocal() as db:` in the function whose own body is walked:
    ("db", its session), when the name is bound that way only."""
    if node.asname is None or not isinstance(node.asname.name, cst.Name) or not isinstance(node.item, cst.Call):
        return None
    name = node.asname.name.value
    fact = ctx.scopes[-1].fact
    origin = fact.origins.get(name) if fact is not None else None
    if origin is None or origin[0] != "call":
        # Bound some other way too: which session it holds is unclear.
        return None
    resource = pooled_session(ctx, node.item)
    if resource is None:
        return None
    return name, RequestSession("with", ctx.module.code_for_node(node.item.func), resource)


def background_task_arguments(ctx: "FileContext", node: cst.Call, task_lists: Set[str]) -> Optional[List[cst.Arg]]:
    """The arguments `node` hands to the task function when it is
    `tasks.add_task(func, ...)` on one of `task_lists` or Starlette's
    `BackgroundTask(func, ...)`; None for any other call. Starred arguments
    (which poollint cannot see into) and the function itself are left out."""
    func = node.func
    is_task = (
        isinstance(func, cst.Attribute)
        and isinstance(func.value, cst.Name)
        and func.attr.value == "add_task"
        and func.value.value in task_lists
    )
    if not is_task and ctx.qualified_name(func) not in BACKGROUND_TASK:
        return None
    handed: List[cst.Arg] = []
    for position, arg in enumerate(node.args):
        if arg.star or (arg.keyword is None and position == 0):
            continue
        if arg.keyword is not None and arg.keyword.value == "func":
            continue
        handed.append(arg)
    return handed


def advice_for_session(resource: Resource) -> str:
    if resource.origin and resource.origin_where:
        return f"pass {resource.origin} and let the task open its own session"
    return "let the task open its own session"
