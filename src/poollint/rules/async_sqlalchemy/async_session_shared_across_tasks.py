"""POL403: one AsyncSession (or AsyncConnection) used by coroutines that run concurrently."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from poollint.context import param_list
from poollint.gate import SourceView, uses_database
from poollint.project import ProjectIndex, Resource
from poollint.rule import FixAvailability, Invalid, Valid
from poollint.rules.async_sqlalchemy._async_session import (
    ASYNC_CONNECTION_COROUTINES,
    ASYNC_SESSION_COROUTINES,
    async_resource,
    short_code,
)
from poollint.rules.event_loop._blocking import AsyncBodyRule

# Run all their awaitables at once: every argument (`gather`), or every item
# of the first argument (`wait`, `as_completed`).
_GATHERS = frozenset({"asyncio.gather", "asyncio.tasks.gather"})
_COLLECTION_WAITS = frozenset(
    {"asyncio.wait", "asyncio.tasks.wait", "asyncio.as_completed", "asyncio.tasks.as_completed"}
)
# Start one task that runs alongside the caller until it is awaited.
_TASK_STARTERS = frozenset(
    {"asyncio.create_task", "asyncio.tasks.create_task", "asyncio.ensure_future", "asyncio.tasks.ensure_future"}
)
_LOOP_GETTERS = frozenset(
    {"asyncio.get_running_loop", "asyncio.get_event_loop", "asyncio.events.get_running_loop", "asyncio.events.get_event_loop"}
)
# `async with X() as tg`: tasks started on `tg` run until the block ends.
_TASK_GROUPS = frozenset(
    {
        "asyncio.TaskGroup",
        "asyncio.taskgroups.TaskGroup",
        "anyio.create_task_group",
        "anyio.abc.create_task_group",
        "trio.open_nursery",
    }
)
_GROUP_METHODS = frozenset({"create_task", "start_soon", "start"})
# Awaited, these wait for the awaitable they are given.
_AWAIT_WRAPPERS = frozenset({"asyncio.wait_for", "asyncio.tasks.wait_for", "asyncio.shield", "asyncio.tasks.shield"})
# Methods by which a coroutine uses the session it is given.
_USE_METHODS = ASYNC_SESSION_COROUTINES | ASYNC_CONNECTION_COROUTINES | {"begin", "begin_nested"}
_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)

# Names a piece of code uses a session under, and whether it may use it more
# than once at the same time (in a comprehension: one coroutine per item).
Uses = Dict[str, bool]
# (branching node, branch): code in two branches of one `if` never runs together.
Path = Tuple[Tuple[int, int], ...]


@dataclass
class _Frame:
    """Collects the uses inside one argument, list item, assigned value or nested scope."""

    node: cst.CSTNode
    uses: Uses = field(default_factory=dict)
    comprehension_depth: int = 0
    # For a nested def or lambda: the names it binds itself, which are not the outer ones.
    bound: Optional[Set[str]] = None

    def add(self, name: str, many: bool = False) -> None:
        self.uses[name] = self.uses.get(name, False) or many or self.comprehension_depth > 0


@dataclass
class _Task:
    """A task started in the function and still running, as far as the code says."""

    call: cst.Call
    uses: Uses
    # The name its handle is kept under (`task = ...`, `tasks.append(...)`).
    handle: Optional[str]
    # The `async with` block of its task group: it ends with the block.
    group: Optional[cst.With]
    path: Path
    loops: Tuple[cst.CSTNode, ...]


@dataclass
class _Function:
    node: cst.FunctionDef
    is_async: bool
    tasks: List[_Task] = field(default_factory=list)
    # Nested defs by name -> the outer names they use a session under.
    closures: Dict[str, Uses] = field(default_factory=dict)
    # Names bound to the awaitables they hold, one Uses per awaitable:
    # `coros = [fetch(db, i) for i in ids]` -> [{"db": True}].
    assigned: Dict[str, List[Uses]] = field(default_factory=dict)
    groups: Dict[str, cst.With] = field(default_factory=dict)
    loop_names: Set[str] = field(default_factory=set)
    loops: List[cst.CSTNode] = field(default_factory=list)


class AsyncSessionSharedAcrossTasks(AsyncBodyRule):
    """
    ## What it does
    Flags one `AsyncSession` (or `AsyncConnection`), under one name, used by
    coroutines that run at the same time: awaitables gathered together, tasks
    whose lifetimes overlap, or a task and the function that started it.
    That is:

    - two or more awaitables given to `asyncio.gather()`, `asyncio.wait()` or
      `asyncio.as_completed()` that use it (`gather(load_user(db),
      load_orders(db))`), or one per item of a comprehension
      (`gather(*[db.get(User, i) for i in ids])`), also through a list built
      first (`coros = [...]` or `coros.append(...)` in a loop, then
      `gather(*coros)`);
    - a task started with `asyncio.create_task()`, `ensure_future()`,
      `loop.create_task()`, or on a task group (`async with
      asyncio.TaskGroup() as tg: tg.create_task(...)`, anyio's `start_soon`)
      while another task using it still runs, tasks using it started in a
      loop, and the function's own awaited use of it while such a task still
      runs.

    A coroutine uses the session when it is handed the session
    (`refresh(db, ...)`), calls one of its methods (`db.execute(...)`), or is
    a nested function or lambda of the current one that does either. A task
    stops counting once its handle is used in any other way than appending it
    to a list (awaited, gathered, returned...), or when its task group's
    block ends. Code in two branches of one `if`/`match`/`except` never runs
    together. A session factory handed to each task (`load(SessionLocal)`)
    is what this rule asks for.

    ## Why is this bad?
    An `AsyncSession` is not safe for concurrent use: it drives one
    connection, and one connection runs one statement at a time. Two
    coroutines sharing it fail with `InterfaceError: another operation is in
    progress` (asyncpg), `IllegalStateChangeError` or `This session is
    provisioning a new connection; concurrent operations are not permitted`,
    or worse, interleave their flushes and transactions so that one task's
    rollback undoes the other's work. Under load these failures come and go
    with timing. Each concurrent task needs its own session from the factory
    (each draws its own connection from the pool, so size the pool for it),
    or the work must be awaited one step after the other.

    ## Example
    ```python
    import asyncio

    from fastapi import Depends, FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession

    app = FastAPI()


    @app.get("/dashboard")
    async def dashboard(db: AsyncSession = Depends(get_db)):
        users, orders = await asyncio.gather(count_users(db), count_orders(db))
        return {"users": users, "orders": orders}
    ```

    ## Use instead
    ```python
    import asyncio

    from fastapi import FastAPI

    from app.db import SessionLocal

    app = FastAPI()


    async def count_with_own_session(count):
        async with SessionLocal() as db:
            return await count(db)


    @app.get("/dashboard")
    async def dashboard():
        users, orders = await asyncio.gather(
            count_with_own_session(count_users), count_with_own_session(count_orders)
        )
        return {"users": users, "orders": orders}
    ```
    """

    @classmethod
    def may_fire(cls, view: "SourceView", index: "ProjectIndex") -> bool:
        return view.has_async_def and uses_database(view, index)


    CODE = "POL403"
    NAME = "async-session-shared-across-tasks"
    MESSAGE = (
        "{label} `{name}`{origin} is used by {what} in {where}: "
        "it runs one operation at a time, give each task its own {kind}"
    )
    FIX_AVAILABILITY = FixAvailability.NONE
    TRIGGERS = ("gather", "create_task", "ensure_future", "start_soon", "as_completed", "asyncio", "anyio", "trio")

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.functions: List[_Function] = []
        self.frames: List[_Frame] = []
        # Starter calls -> "gather", "collection", "task" or "group"; and the
        # group they start on.
        self.starters: Dict[cst.Call, Tuple[str, Optional[cst.With]]] = {}
        # Argument and list-item nodes whose uses a starter reads, and what they held.
        self.units: Set[cst.CSTNode] = set()
        self.unit_uses: Dict[cst.CSTNode, Uses] = {}
        self.assign_frames: Set[cst.CSTNode] = set()
        # Names that are not a mention of a task handle: assignment targets,
        # attribute receivers (`task.cancel()`), items appended to a list.
        self.not_mentions: Set[cst.CSTNode] = set()
        self.appended: Dict[cst.CSTNode, str] = {}
        # The item argument of `X.append(...)`/`X.extend(...)`, by list name.
        self.collectors: Dict[cst.CSTNode, str] = {}
        # Where a started task's handle goes: the assignment target or the list.
        self.handles: List[Optional[str]] = []
        self.handle_pushers: Set[cst.CSTNode] = set()
        self.branch_of: Dict[cst.CSTNode, Tuple[int, int]] = {}
        self.path: List[Tuple[int, int]] = []
        self.reported: Set[cst.CSTNode] = set()

    # -- scopes ------------------------------------------------------------------------
    def _function(self) -> Optional[_Function]:
        """The state of the `async def` whose own body we are in."""
        if self.functions and self.ctx.scopes[-1].node is self.functions[-1].node:
            state = self.functions[-1]
            return state if state.is_async else None
        return None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        self._bind(cst.Name(node.name.value))
        self.functions.append(_Function(node, is_async=node.asynchronous is not None))
        self.frames.append(_Frame(node, bound={p.name.value for p in param_list(node.params)}))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.functions.pop()
        frame = self.frames.pop()
        if self.functions:
            # A nested def runs when it is called, not where it is defined.
            self.functions[-1].closures[original_node.name.value] = _free(frame)

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.frames.append(_Frame(node, bound={p.name.value for p in param_list(node.params)}))

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        frame = self.frames.pop()
        self._merge(_free(frame))

    def _merge(self, uses: Uses) -> None:
        if self.frames:
            for name, many in uses.items():
                self.frames[-1].add(name, many)

    def _bind(self, target: cst.BaseExpression) -> None:
        """Names a nested function binds are its own, not its closure's."""
        for frame in reversed(self.frames):
            if frame.bound is not None:
                frame.bound.update(_names_in(target))
                return

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        for frame in reversed(self.frames):
            if frame.bound is not None:
                frame.bound.difference_update(item.name.value for item in node.names)
                return

    # -- branches that never run together -----------------------------------------------
    def visit_If(self, node: cst.If) -> None:
        self._enter_branch(node)
        self.branch_of[node.body] = (id(node), 0)
        if node.orelse is not None:
            self.branch_of[node.orelse] = (id(node), 1)

    def leave_If(self, original_node: cst.If) -> None:
        self._leave_branch(original_node)

    def visit_Try(self, node: cst.Try) -> None:
        for number, handler in enumerate(node.handlers, start=1):
            self.branch_of[handler] = (id(node), number)
        if node.orelse is not None:
            self.branch_of[node.orelse] = (id(node), 0)

    def visit_Match(self, node: cst.Match) -> None:
        for number, case in enumerate(node.cases):
            self.branch_of[case] = (id(node), number)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._enter_branch(node)

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self._leave_branch(original_node)

    def visit_Else(self, node: cst.Else) -> None:
        self._enter_branch(node)

    def leave_Else(self, original_node: cst.Else) -> None:
        self._leave_branch(original_node)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._enter_branch(node)
        if node.name is not None:
            self._bind(node.name.name)

    def leave_ExceptHandler(self, original_node: cst.ExceptHandler) -> None:
        self._leave_branch(original_node)

    def visit_MatchCase(self, node: cst.MatchCase) -> None:
        self._enter_branch(node)

    def leave_MatchCase(self, original_node: cst.MatchCase) -> None:
        self._leave_branch(original_node)

    def _enter_branch(self, node: cst.CSTNode) -> None:
        branch = self.branch_of.get(node)
        if branch is not None:
            self.path.append(branch)

    def _leave_branch(self, node: cst.CSTNode) -> None:
        if node in self.branch_of:
            self.path.pop()

    # -- code that no longer runs after a task's branch returns -------------------------
    def leave_Return(self, original_node: cst.Return) -> None:
        self._leave_branch_early()

    def leave_Raise(self, original_node: cst.Raise) -> None:
        self._leave_branch_early()

    def _leave_branch_early(self) -> None:
        """After `return`/`raise`, the rest of the function does not run
        alongside the tasks this branch started."""
        state = self._function()
        if state is None:
            return
        here = tuple(self.path)
        state.tasks = [t for t in state.tasks if t.path[: len(here)] != here]

    # -- loops ---------------------------------------------------------------------------
    def visit_For(self, node: cst.For) -> None:
        super().visit_For(node)
        self._bind(node.target)
        self.not_mentions.update(_name_nodes(node.target))
        state = self._function()
        if state is not None:
            state.loops.append(node)

    def leave_For(self, original_node: cst.For) -> None:
        self._leave_loop(original_node)

    def visit_While(self, node: cst.While) -> None:
        state = self._function()
        if state is not None:
            state.loops.append(node)

    def leave_While(self, original_node: cst.While) -> None:
        self._leave_loop(original_node)

    def _leave_loop(self, loop: cst.CSTNode) -> None:
        state = self._function()
        if state is None or not state.loops or state.loops[-1] is not loop:
            return
        state.loops.pop()
        for task in state.tasks:
            if loop in task.loops and task.call not in self.reported:
                # Still running when the next iteration starts another one.
                for name, resource in self._sessions(task.uses):
                    self._report(task.call, name, resource, "tasks started in a loop, which run together")
                    break

    # -- bindings -------------------------------------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind(target.target)
            self.not_mentions.update(_name_nodes(target.target))
        self._push_handle(node, _handle_of([t.target for t in node.targets]))
        self._value_frame(node, [t.target for t in node.targets], node.value)
        state = self._function()
        if state is not None and isinstance(node.value, cst.Call):
            if self.ctx.qualified_name(node.value.func) in _LOOP_GETTERS:
                state.loop_names.update(_names_in(node.targets[0].target))

    def leave_Assign(self, original_node: cst.Assign) -> None:
        self._pop_handle(original_node)
        self._leave_value_frame(original_node, [t.target for t in original_node.targets], original_node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind(node.target)
        self.not_mentions.update(_name_nodes(node.target))
        self._push_handle(node, _handle_of([node.target]))
        if node.value is not None:
            self._value_frame(node, [node.target], node.value)

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        self._pop_handle(original_node)
        if original_node.value is not None:
            self._leave_value_frame(original_node, [original_node.target], original_node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind(node.asname.name)
            self.not_mentions.update(_name_nodes(node.asname.name))

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            self._bind(alias.asname.name if alias.asname else cst.Name(_head(alias.name)))

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            name = alias.asname.name if alias.asname else alias.name
            if isinstance(name, cst.Name):
                self._bind(name)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._bind(node.name)

    def _value_frame(self, node: cst.CSTNode, targets: List[cst.BaseExpression], value: cst.BaseExpression) -> None:
        if len(targets) == 1 and isinstance(targets[0], cst.Name):
            self.assign_frames.add(node)
            self.frames.append(_Frame(node))
            if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
                self.units.update(value.elements)

    def _leave_value_frame(self, node: cst.CSTNode, targets: List[cst.BaseExpression], value: cst.BaseExpression) -> None:
        if node not in self.assign_frames:
            return
        frame = self.frames.pop()
        state = self._function()
        name = targets[0].value  # type: ignore[attr-defined]
        if state is not None:
            if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
                state.assigned[name] = [self.unit_uses.get(e, {}) for e in value.elements]
            elif isinstance(value, _COMPREHENSIONS) or (isinstance(value, cst.Call) and value not in self.starters):
                state.assigned[name] = [frame.uses]
            else:
                # An awaited result, a task, anything else: no awaitable to follow.
                state.assigned.pop(name, None)
        self._merge(frame.uses)

    def _push_handle(self, node: cst.CSTNode, handle: Optional[str]) -> None:
        self.handles.append(handle)
        self.handle_pushers.add(node)

    def _pop_handle(self, node: cst.CSTNode) -> None:
        if node in self.handle_pushers:
            self.handles.pop()

    # -- comprehensions ------------------------------------------------------------------
    def _enter_comprehension(self, node: cst.CSTNode) -> None:
        super()._enter_comprehension(node)
        if self.frames:
            self.frames[-1].comprehension_depth += 1

    def _leave_comprehension(self) -> None:
        super()._leave_comprehension()
        if self.frames:
            self.frames[-1].comprehension_depth -= 1

    # -- what each awaitable uses ------------------------------------------------------------
    def visit_Arg(self, node: cst.Arg) -> None:
        self.frames.append(_Frame(node))
        self._use_name(node.value)

    def leave_Arg(self, original_node: cst.Arg) -> None:
        frame = self.frames.pop()
        if original_node in self.units:
            # A starter's argument: its uses belong to the task, not the caller.
            self.unit_uses[original_node] = frame.uses
            return
        collected_into = self.collectors.get(original_node)
        state = self._function()
        if collected_into is not None and state is not None and collected_into in state.assigned:
            # `coros.append(fetch(db, i))`: one more awaitable in the list,
            # one per iteration inside a loop.
            repeated = bool(state.loops)
            state.assigned[collected_into].append({name: many or repeated for name, many in frame.uses.items()})
        self._merge(frame.uses)

    def visit_Element(self, node: cst.Element) -> None:
        if node in self.units:
            self.frames.append(_Frame(node))
        self._use_name(node.value)

    def leave_Element(self, original_node: cst.Element) -> None:
        if original_node in self.units:
            frame = self.frames.pop()
            self.unit_uses[original_node] = frame.uses
            self._merge(frame.uses)

    def _use_name(self, value: cst.BaseExpression) -> None:
        """A name handed over as a value: the session itself, or a nested def that uses one."""
        if not isinstance(value, cst.Name) or not self.frames or self.bound_by_comprehension(value):
            return
        self.frames[-1].add(value.value)
        closure = self._closure(value.value)
        for name, many in closure.items():
            self.frames[-1].add(name, many)

    def _closure(self, name: str) -> Uses:
        for state in reversed(self.functions):
            if name in state.closures:
                return state.closures[name]
        return {}

    def visit_Await(self, node: cst.Await) -> None:
        super().visit_Await(node)
        self.frames.append(_Frame(node))

    def leave_Await(self, original_node: cst.Await) -> None:
        frame = self.frames.pop()
        # What is awaited inside a gather's or task's argument, or inside an
        # item appended to a list of awaitables, is done before they start:
        # it is the enclosing function's use, not theirs.
        target = len(self.frames) - 1
        for position in range(len(self.frames) - 1, -1, -1):
            outer = self.frames[position]
            if outer.bound is not None:
                break
            if outer.node in self.units or outer.node in self.collectors:
                target = position - 1
        if target >= 0:
            for name, many in frame.uses.items():
                self.frames[target].add(name, many)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.not_mentions.add(node.attr)
        if isinstance(node.value, cst.Name):
            self.not_mentions.add(node.value)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            if func.attr.value in _USE_METHODS and self.frames and not self.bound_by_comprehension(func.value):
                self.frames[-1].add(func.value.value)
            if func.attr.value in ("append", "add", "extend", "insert"):
                self._push_handle(node, func.value.value)
                for arg in node.args:
                    if isinstance(arg.value, cst.Name):
                        self.appended[arg.value] = func.value.value
                if node.args:
                    self.collectors[node.args[-1]] = func.value.value
        elif isinstance(func, cst.Name) and self.frames:
            for name, many in self._closure(func.value).items():
                self.frames[-1].add(name, many)
        for arg in node.args:
            if arg.keyword is not None:
                self.not_mentions.add(arg.keyword)
        state = self._function()
        if state is None:
            return
        kind = self._starter(node, state)
        if kind is not None:
            self.starters[node] = kind
            self._mark_units(node, kind[0])
        elif node in self.awaited_nodes:
            self._own_use(node, state)

    def _starter(self, node: cst.Call, state: _Function) -> Optional[Tuple[str, Optional[cst.With]]]:
        qualified = self.ctx.qualified_name(node.func)
        if qualified in _GATHERS:
            return "gather", None
        if qualified in _COLLECTION_WAITS:
            return "collection", None
        if qualified in _TASK_STARTERS:
            return "task", None
        func = node.func
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        receiver = func.value
        if isinstance(receiver, cst.Name) and receiver.value in state.groups and method in _GROUP_METHODS:
            return "group", state.groups[receiver.value]
        if method == "create_task":
            if isinstance(receiver, cst.Name) and receiver.value in state.loop_names:
                return "task", None
            if isinstance(receiver, cst.Call) and self.ctx.qualified_name(receiver.func) in _LOOP_GETTERS:
                return "task", None
        return None

    def _mark_units(self, node: cst.Call, kind: str) -> None:
        if kind == "collection":
            positional = [a for a in node.args if a.keyword is None and not a.star]
            if positional:
                self.units.add(positional[0])
                if isinstance(positional[0].value, (cst.List, cst.Tuple, cst.Set)):
                    self.units.update(positional[0].value.elements)
            return
        for arg in node.args:
            if arg.keyword is not None and kind != "group":
                continue  # return_exceptions=, name=, context=
            self.units.add(arg)
            if arg.star == "*" and isinstance(arg.value, (cst.List, cst.Tuple, cst.Set)):
                self.units.update(arg.value.elements)

    # -- judging ---------------------------------------------------------------------------
    def leave_Call(self, original_node: cst.Call) -> None:
        if original_node in self.handle_pushers:
            self.handles.pop()
        starter = self.starters.get(original_node)
        state = self._function()
        if starter is None or state is None:
            return
        kind, group = starter
        if kind in ("gather", "collection"):
            self._gathered(original_node, kind, state)
        else:
            self._started(original_node, group, state)

    def _awaitables(self, node: cst.Call, kind: str, state: _Function) -> List[Uses]:
        """What each awaitable a gather/wait call runs uses."""
        found: List[Uses] = []
        args = [a for a in node.args if a.keyword is None]
        if kind == "collection":
            args = [a for a in args if not a.star][:1]
        for arg in args:
            value = arg.value
            spread = arg.star == "*" or kind == "collection"
            if spread and isinstance(value, (cst.List, cst.Tuple, cst.Set)):
                found.extend(self.unit_uses.get(e, {}) for e in value.elements)
            elif isinstance(value, cst.Name) and value.value in state.assigned:
                held = state.assigned[value.value]
                found.extend(held if spread else [_joined(held)])
            else:
                found.append(self.unit_uses.get(arg, {}))
        return found

    def _gathered(self, node: cst.Call, kind: str, state: _Function) -> None:
        awaitables = self._awaitables(node, kind, state)
        spelled = short_code(self.ctx.module, node.func, 30)
        counts: Dict[str, int] = {}
        for uses in awaitables:
            for name, many in uses.items():
                counts[name] = counts.get(name, 0) + (2 if many else 1)
        merged = _joined(awaitables)
        for name, resource in self._sessions(merged):
            running = self._running(state, name)
            if running is not None:
                what = f"{spelled}() while the task `{_task_text(self.ctx.module, running)}` still runs"
            elif counts[name] >= 2:
                if any(uses.get(name) for uses in awaitables):
                    what = f"one coroutine per item, run together by {spelled}()"
                else:
                    what = f"{counts[name]} coroutines run together by {spelled}()"
            else:
                continue
            self._report(node, name, resource, what)
            break
        if node not in self.awaited_nodes:
            self._track(node, merged, None, state)

    def _started(self, node: cst.Call, group: Optional[cst.With], state: _Function) -> None:
        uses = _joined([self.unit_uses.get(arg, {}) for arg in node.args if arg in self.units])
        for name, resource in self._sessions(uses):
            running = self._running(state, name)
            if running is not None:
                what = f"this task and the task `{_task_text(self.ctx.module, running)}`, which still runs"
            elif uses[name] or self.comprehension_names:
                what = "one task per item, run together"
            else:
                continue
            self._report(node, name, resource, what)
            break
        # An awaited anyio `tg.start()` returns once the task has started; it keeps running.
        awaited_to_the_end = node in self.awaited_nodes and group is None
        if not awaited_to_the_end:
            self._track(node, uses, group, state)

    def _track(self, node: cst.Call, uses: Uses, group: Optional[cst.With], state: _Function) -> None:
        if uses:
            handle = self.handles[-1] if self.handles else None
            state.tasks.append(_Task(node, uses, handle, group, tuple(self.path), tuple(state.loops)))

    def _own_use(self, node: cst.Call, state: _Function) -> None:
        """An awaited call of the function's own that uses a session while a task still runs."""
        if not state.tasks:
            return
        calls = [node]
        if self.ctx.qualified_name(node.func) in _AWAIT_WRAPPERS and node.args and isinstance(node.args[0].value, cst.Call):
            calls.append(node.args[0].value)
        uses: Uses = {}
        for call in calls:
            func = call.func
            if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.attr.value in _USE_METHODS:
                uses[func.value.value] = False
            for arg in call.args:
                if isinstance(arg.value, cst.Name):
                    uses[arg.value.value] = False
                    uses.update(self._closure(arg.value.value))
            if isinstance(func, cst.Name):
                uses.update(self._closure(func.value))
        for name, resource in self._sessions(uses):
            running = self._running(state, name)
            if running is not None:
                what = f"this call while the task `{_task_text(self.ctx.module, running)}` still runs"
                self._report(node, name, resource, what)
                return

    def _running(self, state: _Function, name: str) -> Optional[_Task]:
        here = tuple(self.path)
        for task in state.tasks:
            if name in task.uses and not _exclusive(task.path, here):
                return task
        return None

    def _sessions(self, uses: Uses) -> List[Tuple[str, Resource]]:
        """The names among `uses` that hold an async session or connection, in order."""
        found = []
        for name in uses:
            resource = async_resource(self.ctx, cst.Name(name))
            if resource is not None and resource.kind in ("session", "connection"):
                found.append((name, resource))
        return found

    def _report(self, node: cst.Call, name: str, resource: Resource, what: str) -> None:
        if node in self.reported:
            return
        self.reported.add(node)
        scope = self.ctx.function()
        assert scope is not None
        self.report(
            node,
            label=resource.label,
            name=name,
            origin=resource.origin_note(name),
            what=what,
            where=self.ctx.describe(scope),
            kind=resource.kind,
        )

    # -- when tasks stop running -----------------------------------------------------------
    def visit_With(self, node: cst.With) -> None:
        super().visit_With(node)
        state = self._function()
        if state is None or node.asynchronous is None:
            return
        for item in node.items:
            if (
                item.asname is not None
                and isinstance(item.asname.name, cst.Name)
                and isinstance(item.item, cst.Call)
                and self.ctx.qualified_name(item.item.func) in _TASK_GROUPS
            ):
                state.groups[item.asname.name.value] = node

    def leave_With(self, original_node: cst.With) -> None:
        state = self._function()
        if state is None:
            return
        # The block waits for every task of its group.
        state.tasks = [t for t in state.tasks if t.group is not original_node]
        state.groups = {n: w for n, w in state.groups.items() if w is not original_node}

    def visit_Name(self, node: cst.Name) -> None:
        state = self._function()
        if state is None or not state.tasks or node in self.not_mentions:
            return
        handles = {t.handle for t in state.tasks}
        if node.value not in handles:
            return
        target = self.appended.get(node)
        if target is not None:
            for task in state.tasks:
                if task.handle == node.value:
                    task.handle = target
            return
        # Awaited, gathered, returned, stored: whoever has it now may wait for it.
        state.tasks = [t for t in state.tasks if t.handle != node.value]

    VALID = [
        Valid(
            """
            import asyncio
            from sqlalchemy.ext.asyncio import AsyncSession

            async def report(db: AsyncSession):
                # One after the other: never two operations at once.
                users = await count_users(db)
                orders = await count_orders(db)
                return users, orders
            """
        ),
        Valid(
            """
            import asyncio
            from app.db import SessionLocal

            async def with_own_session(count):
                async with SessionLocal() as db:
                    return await count(db)

            async def report():
                # Each coroutine opens its own session from the factory.
                return await asyncio.gather(with_own_session(count_users), with_own_session(count_orders))
            """
        ),
        Valid(
            """
            import asyncio
            from sqlalchemy.ext.asyncio import AsyncSession

            async def refresh_all(db: AsyncSession, ids, client):
                # Only one of the gathered coroutines touches the session.
                user, profile = await asyncio.gather(db.get(User, ids[0]), client.get_profile(ids[0]))
                task = asyncio.create_task(audit(db))
                await task
                await db.commit()
                return user, profile
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import asyncio
            from sqlalchemy.ext.asyncio import AsyncSession

            async def report(db: AsyncSession):
                return await asyncio.gather(count_users(db), count_orders(db))
            """
        ),
        Invalid(
            """
            import asyncio
            from sqlalchemy.ext.asyncio import AsyncSession

            async def load(db: AsyncSession, ids):
                return await asyncio.gather(*[db.get(User, i) for i in ids])
            """
        ),
        Invalid(
            """
            import asyncio
            from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

            engine = create_async_engine("postgresql+asyncpg://app@db/shop")
            SessionLocal = async_sessionmaker(engine, expire_on_commit=False)

            async def import_rows(rows):
                async with SessionLocal() as db:
                    async with asyncio.TaskGroup() as tg:
                        for row in rows:
                            tg.create_task(save_row(db, row))
            """
        ),
        Invalid(
            """
            import asyncio
            from sqlalchemy.ext.asyncio import AsyncSession

            async def checkout(db: AsyncSession, order):
                audit = asyncio.create_task(write_audit(db, order))
                await db.execute(update_stock(order))
                await audit
            """
        ),
    ]


def _free(frame: _Frame) -> Uses:
    """The uses of a nested scope that refer to the enclosing function's names."""
    bound = frame.bound or set()
    return {name: many for name, many in frame.uses.items() if name not in bound}


def _joined(all_uses: List[Uses]) -> Uses:
    joined: Uses = {}
    for uses in all_uses:
        for name, many in uses.items():
            joined[name] = joined.get(name, False) or many
    return joined


def _exclusive(first: Path, second: Path) -> bool:
    """Whether two places sit in different branches of one if/match/try."""
    branches = dict(first)
    return any(node in branches and branches[node] != branch for node, branch in second)


def _names_in(target: cst.BaseExpression) -> Set[str]:
    return {n.value for n in _name_nodes(target)}


def _name_nodes(target: cst.BaseExpression) -> List[cst.Name]:
    if isinstance(target, cst.Name):
        return [target]
    if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
        # `tasks[key] = ...` stores into `tasks`, it does not read it.
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        found: List[cst.Name] = []
        for element in target.elements:
            found.extend(_name_nodes(element.value))
        return found
    if isinstance(target, cst.StarredElement):
        return _name_nodes(target.value)
    return []


def _handle_of(targets: List[cst.BaseExpression]) -> Optional[str]:
    """`task = ...` -> "task"; `tasks[key] = ...` -> "tasks"."""
    if len(targets) != 1:
        return None
    target = targets[0]
    if isinstance(target, cst.Subscript):
        target = target.value
    return target.value if isinstance(target, cst.Name) else None


def _head(name: cst.BaseExpression) -> str:
    while isinstance(name, cst.Attribute):
        name = name.value
    return name.value if isinstance(name, cst.Name) else ""


def _task_text(module: cst.Module, task: _Task) -> str:
    return short_code(module, task.call, 50)
