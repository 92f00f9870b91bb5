"""POL211: an ORM instance loaded through a request-scoped session handed to a background task."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Set, Tuple, Union

import libcst as cst

from poollint import names
from poollint.gate import SourceView, uses_database
from poollint.project import ProjectIndex
from poollint.rule import FixAvailability, Invalid, PoolRule, Valid
from poollint.rules.leaks._request_scope import (
    RequestSession,
    background_task_arguments,
    handler_inputs,
    with_session,
)

_TASK_STARTERS = frozenset(
    {"asyncio.create_task", "asyncio.tasks.create_task", "asyncio.ensure_future", "asyncio.tasks.ensure_future"}
)
_STARTER_NAMES = frozenset({"add_task", "BackgroundTask", "create_task", "ensure_future"})
# Benign uses of a task that nobody awaits: `task.add_done_callback(...)`,
# `background.add(task)` on a set that is not local to the route.
_TASK_KEEPING = frozenset({"add_done_callback", "set_name"})


@dataclass(frozen=True)
class _Value:
    """What an expression of the handler gives, as far as its ORM objects go.

    kind: "select" (a select() of an entity first), "query" (`db.query(Order)`
    and its generative calls), "result" (`db.execute(select(Order))`),
    "scalars" (`db.scalars(select(Order))`), "instance" or "list" (of instances).
    """

    kind: str
    entity: str
    session: Optional[str] = None
    # select(): whether the entity is its only column (SQLModel's exec() needs that).
    single: bool = False


@dataclass(frozen=True)
class _Self:
    """A name's binding that derives from the name itself (`stmt = stmt.where(...)`),
    with the methods it calls on it."""

    methods: FrozenSet[str] = frozenset()


_Found = Union[_Value, _Self, None]


@dataclass
class _Candidate:
    """A name handed to a task, judged when the walk leaves the handler."""

    node: cst.BaseExpression
    statements: Tuple[cst.CSTNode, ...]
    # "background" (BackgroundTasks, BackgroundTask) or "create_task".
    via: str
    # For create_task(): the starting call, whose task must be left to run on its own.
    starter: Optional[cst.Call] = None


@dataclass
class _Handler:
    """A route or dependency whose own body is being walked."""

    node: cst.FunctionDef
    where: str
    task_lists: Set[str] = field(default_factory=set)
    sessions: Dict[str, RequestSession] = field(default_factory=dict)
    # Local name -> what each of its bindings assigns: ("value", expr) for
    # `name = expr`, ("item", expr) for `for name in expr`.
    bindings: Dict[str, List[Tuple[str, cst.BaseExpression]]] = field(default_factory=dict)
    # Names bound in ways not followed (tuple targets, `with ... as`, walrus,
    # parameters, imports, nested definitions, `global`/`nonlocal`).
    opaque: Set[str] = field(default_factory=set)
    candidates: List[_Candidate] = field(default_factory=list)
    # Local name -> the request-scoped session it was add()ed to, and the call.
    added: Dict[str, Tuple[str, str]] = field(default_factory=dict)
    # create_task() calls standing alone as statements, and those whose task
    # is kept in a name (the call -> the name).
    dropped_tasks: Set[cst.Call] = field(default_factory=set)
    task_names: Dict[cst.Call, str] = field(default_factory=dict)
    # Names read anywhere in the handler, but for bindings, task arguments
    # and the benign uses of a task.
    read: Set[str] = field(default_factory=set)
    values: Dict[str, _Found] = field(default_factory=dict)


class OrmObjectToBackgroundTask(PoolRule):
    """
    ## What it does
    Flags an ORM instance loaded through a request-scoped session and passed
    as an argument to a background task: `background_tasks.add_task(func,
    order)` (a `BackgroundTasks` parameter under any name, or one created in
    the function), Starlette's `BackgroundTask(func, order)`, or
    `asyncio.create_task(coro(order))` whose task the route leaves running,
    in a route or dependency.

    The object visibly comes from that session: `db.get(Order, id)`,
    `db.scalars(select(Order)...).first()`/`.one()`, `db.execute(select(Order))
    .scalar_one()`, `db.query(Order).filter(...).first()`, the same awaited on
    an `AsyncSession`, a list of them (`.all()`), an item or loop variable of
    such a list, also through a statement or result kept in a variable; an
    `Order(...)` the function `add()`s to the session; or what a function of
    the project returns when it loads (or adds) such objects through the
    session it is given (`crud.get_order(db, order_id)`, in any module). The
    class must be one of the project's. The session is request-scoped as for
    POL205: a parameter filled by a yield dependency that creates it
    (`Depends(get_db)`, an `Annotated` alias, also from another module), or
    a session the function opened in a `with` block.

    Attribute values (`order.id`, `order.email`), columns (`select(Order.id)`),
    rows of several columns, dicts or Pydantic models built from the object,
    objects never added to a session and objects from sessions the task opens
    itself are left alone, as are names bound in more than one way and the
    session itself (POL205's).

    ## Why is this bad?
    An ORM instance belongs to the session that loaded it, and the task runs
    after the response, when that session is closed (a `with` block; a yield
    dependency on FastAPI 0.106 to 0.117 or with `Depends(scope="function")`)
    or is about to be. A closed session detaches its objects: reading an
    attribute that is not loaded yet (a relationship, a deferred column, or
    any column once a commit expired them) raises `DetachedInstanceError`.
    Where the dependency's session is still open, the task's lazy loads run
    on the request's session and keep its pooled connection checked out for
    as long as the task takes; on an `AsyncSession` they raise
    `MissingGreenlet`. A task started with `asyncio.create_task()` outlives
    the request in the same way.

    ## Where it comes from
    A route saves an order, commits, and schedules the confirmation mail with
    the order object itself. Every test passes: the suite overrides `get_db`
    with one session kept open for the whole test, so the task still finds
    the order attached. In production the request's session is closed by the
    time the task reads `order.customer.email`, and the mails stop with
    `DetachedInstanceError`; or, on a FastAPI version that keeps the session
    open, each slow mail holds one of the pool's connections until it is
    sent, and a burst of orders empties the pool for every other request.

    ## Example
    ```python
    from fastapi import BackgroundTasks, Depends, FastAPI
    from sqlalchemy import create_engine
    from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

    engine = create_engine("postgresql://db/app")
    SessionLocal = sessionmaker(engine)
    app = FastAPI()

    class Base(DeclarativeBase):
        pass

    class Order(Base):
        __tablename__ = "orders"

    def get_db():
        with SessionLocal() as db:
            yield db

    def send_confirmation(order: Order):
        ...

    @app.post("/orders/{order_id}/confirm")
    def confirm(order_id: int, background_tasks: BackgroundTasks, db: Session = Depends(get_db)):
        order = db.get(Order, order_id)
        db.commit()
        background_tasks.add_task(send_confirmation, order)
    ```

    ## Use instead
    ```python
    from fastapi import BackgroundTasks, Depends, FastAPI
    from sqlalchemy import create_engine
    from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

    engine = create_engine("postgresql://db/app")
    SessionLocal = sessionmaker(engine)
    app = FastAPI()

    class Base(DeclarativeBase):
        pass

    class Order(Base):
        __tablename__ = "orders"

    def get_db():
        with SessionLocal() as db:
            yield db

    def send_confirmation(order_id: int):
        with SessionLocal() as db:
            order = db.get(Order, order_id)
            ...

    @app.post("/orders/{order_id}/confirm")
    def confirm(order_id: int, background_tasks: BackgroundTasks, db: Session = Depends(get_db)):
        order = db.get(Order, order_id)
        db.commit()
        background_tasks.add_task(send_confirmation, order.id)
    ```
    """

    CODE = "POL211"
    NAME = "orm-object-to-background-task"
    MESSAGE = (
        "`{name}`, {what} {how} session `{session}` ({source}), is handed to {task} in {where}: {problem}; {advice}"
    )
    FIX_TITLE = None
    FIX_AVAILABILITY = FixAvailability.NONE
    TRIGGERS = tuple(sorted(_STARTER_NAMES))

    @classmethod
    def may_fire(cls, view: "SourceView", index: "ProjectIndex") -> bool:
        return view.calls_any(_STARTER_NAMES) and uses_database(view, index)

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.handlers: List[Optional[_Handler]] = []
        self._benign: Set[cst.Name] = set()

    def _direct(self) -> Optional[_Handler]:
        """The route or dependency whose own body we are in, if any."""
        if self.handlers and self.handlers[-1] is not None and self.ctx.scopes[-1].node is self.handlers[-1].node:
            return self.handlers[-1]
        return None

    def _enclosing(self) -> List[_Handler]:
        return [handler for handler in self.handlers if handler is not None]

    # -- scopes ----------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        # The engine has entered the new scope: its name is bound one level up.
        for handler in self._enclosing():
            if handler.node is self.ctx.scopes[-2].node:
                handler.opaque.add(node.name.value)
        scope = self.ctx.scopes[-1]
        inputs = handler_inputs(self.ctx, scope, node)
        if inputs is None:
            self.handlers.append(None)
            return
        task_lists, sessions = inputs
        handler = _Handler(node, self.ctx.describe(scope), task_lists, sessions)
        handler.opaque.update(param.name.value for param in _params(node.params))
        self.handlers.append(handler)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        handler = self.handlers.pop()
        if handler is not None:
            self._judge(handler)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        handler = self._direct()
        if handler is not None:
            handler.opaque.add(node.name.value)

    # -- bindings --------------------------------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        handler = self._direct()
        if handler is None:
            return
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                handler.bindings.setdefault(target.target.value, []).append(("value", node.value))
                self._benign.add(target.target)
            else:
                handler.opaque.update(_target_names(target.target))
        if (
            len(node.targets) == 1
            and isinstance(node.targets[0].target, cst.Name)
            and isinstance(node.value, cst.Call)
        ):
            handler.task_names[node.value] = node.targets[0].target.value

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        handler = self._direct()
        if handler is None or node.value is None:
            return
        if isinstance(node.target, cst.Name):
            handler.bindings.setdefault(node.target.value, []).append(("value", node.value))
            self._benign.add(node.target)
        else:
            handler.opaque.update(_target_names(node.target))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._opaque(node.target)

    def visit_For(self, node: cst.For) -> None:
        handler = self._direct()
        if handler is None:
            return
        if isinstance(node.target, cst.Name):
            handler.bindings.setdefault(node.target.value, []).append(("item", node.iter))
        else:
            handler.opaque.update(_target_names(node.target))

    def visit_CompFor(self, node: cst.CompFor) -> None:
        # A comprehension's variable is its own, but shadows the handler's inside it.
        self._opaque(node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        handler = self._direct()
        if handler is None:
            return
        if node.asname is not None:
            handler.opaque.update(_target_names(node.asname.name))
        found = with_session(self.ctx, node)
        if found is not None:
            handler.sessions[found[0]] = found[1]

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._opaque(node.target)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._opaque(node.name.name)

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        if node.name is not None:
            self._opaque(node.name.name)

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        handler = self._direct()
        if handler is None:
            return
        if node.asname is not None:
            handler.opaque.update(_target_names(node.asname.name))
        else:
            head = node.name
            while isinstance(head, cst.Attribute):
                head = head.value
            if isinstance(head, cst.Name):
                handler.opaque.add(head.value)

    def visit_Global(self, node: cst.Global) -> None:
        for handler in self._enclosing():
            handler.opaque.update(item.name.value for item in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        for handler in self._enclosing():
            handler.opaque.update(item.name.value for item in node.names)

    def visit_MatchAs(self, node: cst.MatchAs) -> None:
        if node.name is not None:
            self._opaque(node.name)

    def visit_MatchStar(self, node: cst.MatchStar) -> None:
        if node.name is not None:
            self._opaque(node.name)

    def visit_MatchMapping(self, node: cst.MatchMapping) -> None:
        if node.rest is not None:
            self._opaque(node.rest)

    def _opaque(self, target: cst.BaseExpression) -> None:
        handler = self._direct()
        if handler is not None:
            handler.opaque.update(_target_names(target))

    # -- what goes to a task ---------------------------------------------------------
    def visit_Expr(self, node: cst.Expr) -> None:
        handler = self._direct()
        if handler is not None and isinstance(node.value, cst.Call):
            handler.dropped_tasks.add(node.value)

    def visit_Call(self, node: cst.Call) -> None:
        handlers = self._enclosing()
        if not handlers:
            return
        func = node.func
        if isinstance(func, cst.Attribute):
            if func.attr.value in _TASK_KEEPING and isinstance(func.value, cst.Name):
                self._benign.add(func.value)
            elif func.attr.value == "add" and len(node.args) == 1 and isinstance(node.args[0].value, cst.Name):
                receiver = func.value
                scope = self.ctx.scopes[-1]
                local = isinstance(receiver, cst.Name) and (
                    scope.fact is None or receiver.value in scope.fact.local_names
                )
                if not local:
                    # `background_tasks.add(task)` on a module-level set, as asyncio's docs do.
                    self._benign.add(node.args[0].value)
        handler = self._direct()
        if handler is None:
            return
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in ("add", "add_all")
            and isinstance(func.value, cst.Name)
            and func.value.value in handler.sessions
            and len(node.args) == 1
        ):
            self._added(handler, func.value.value, node)
            return
        handed = background_task_arguments(self.ctx, node, handler.task_lists)
        if handed is not None:
            self._hand_over(handler, handed, "background", None)
            return
        if node.args and self.ctx.qualified_name(func) in _TASK_STARTERS:
            coroutine = node.args[0].value
            if isinstance(coroutine, cst.Call) and not node.args[0].star and node.args[0].keyword is None:
                self._hand_over(handler, [a for a in coroutine.args if not a.star], "create_task", node)

    def _added(self, handler: _Handler, session: str, call: cst.Call) -> None:
        """`db.add(order)`, `db.add_all([order, line])`: the names now belong to `session`."""
        value = call.args[0].value
        if call.func.attr.value == "add":  # type: ignore[attr-defined]
            names = [value]
        elif isinstance(value, (cst.List, cst.Tuple)):
            names = [element.value for element in value.elements]
        else:
            return
        for name in names:
            if isinstance(name, cst.Name):
                handler.added.setdefault(name.value, (session, _short(self.ctx.module.code_for_node(call))))

    def _hand_over(self, handler: _Handler, args: List[cst.Arg], via: str, starter: Optional[cst.Call]) -> None:
        statements = tuple(self.ctx.statements)
        for arg in args:
            value = arg.value
            if isinstance(value, cst.Name):
                if value.value in handler.sessions:
                    # A session itself is POL205's: one finding per argument.
                    continue
                self._benign.add(value)
            handler.candidates.append(_Candidate(value, statements, via, starter))

    def visit_Name(self, node: cst.Name) -> None:
        if node in self._benign:
            return
        for handler in self._enclosing():
            handler.read.add(node.value)

    # -- judging -----------------------------------------------------------------------
    def _judge(self, handler: _Handler) -> None:
        for candidate in handler.candidates:
            value = self._value(handler, candidate.node, frozenset())
            if not isinstance(value, _Value) or value.kind not in ("instance", "list") or value.session is None:
                continue
            if candidate.via == "create_task" and not self._left_running(handler, candidate.starter):
                continue
            session = handler.sessions[value.session]
            name = _short(self.ctx.module.code_for_node(candidate.node))
            how = self._how(handler, candidate.node, value)
            one = value.kind == "instance"
            with self.ctx.reporting_from(candidate.statements):
                self.report(
                    candidate.node,
                    name=name,
                    what=f"the {value.entity} instance" if one else f"the {value.entity} instances",
                    how=how,
                    session=value.session,
                    source=session.source,
                    task="a background task" if candidate.via == "background" else "asyncio.create_task()",
                    where=handler.where,
                    problem=_problem(value, session, candidate.via),
                    advice=(
                        "pass its primary key and load it in a session the task opens"
                        if one
                        else "pass their primary keys and load them in a session the task opens"
                    ),
                )

    def _left_running(self, handler: _Handler, starter: Optional[cst.Call]) -> bool:
        """Whether the route leaves the task started by `starter` running: the
        call stands alone, or its task is kept in a name used for nothing but
        done-callbacks and a set that outlives the request."""
        if starter is None:
            return False
        if starter in handler.dropped_tasks:
            return True
        name = handler.task_names.get(starter)
        return name is not None and name not in handler.read

    def _how(self, handler: _Handler, node: cst.BaseExpression, value: _Value) -> str:
        """How the object came to the session, for the message: `loaded by` the
        (first) binding of the name handed over (or of the list it indexes);
        `added by` the session's add()."""
        base = node.value if isinstance(node, cst.Subscript) else node
        if isinstance(base, cst.Name) and base.value in handler.added:
            return f"added by `{handler.added[base.value][1]}` to"
        if not isinstance(base, cst.Name):
            # The expression handed over says how already.
            return "loaded through"
        how, expr = handler.bindings[base.value][0]
        text = _short(self.ctx.module.code_for_node(expr))
        return f"loaded by `{text}` through" if how == "value" else f"loaded by `for {base.value} in {text}` through"

    # -- what values are -------------------------------------------------------------
    def _name_value(self, handler: _Handler, name: str, resolving: FrozenSet[str]) -> _Found:
        if name in resolving:
            return _Self()
        if name in handler.values:
            return handler.values[name]
        found = self._bound_value(handler, name, resolving | {name})
        if not resolving:
            handler.values[name] = found
        return found

    def _bound_value(self, handler: _Handler, name: str, resolving: FrozenSet[str]) -> _Found:
        """What every binding of `name` gives, when they all agree."""
        bindings = handler.bindings.get(name)
        if not bindings or name in handler.opaque or name in handler.sessions:
            return None
        values: List[_Value] = []
        derived: Set[str] = set()
        for how, expr in bindings:
            found = self._value(handler, expr, resolving)
            if how == "item":
                found = _item_of(found)
            if found is None:
                return None
            if isinstance(found, _Self):
                derived |= found.methods
            else:
                values.append(found)
        if any(v.kind == "created" for v in values):
            # `Order(...)` is attached to a session only once added to it.
            added = handler.added.get(name)
            if added is None or derived:
                return None
            values = [_Value("instance", v.entity, added[0]) if v.kind == "created" else v for v in values]
        if not values or any(v != values[0] for v in values):
            return None
        if derived:
            # `stmt = stmt.where(...)`: only generative calls that keep the entity.
            if values[0].kind not in ("select", "query") or not derived <= names.ORM_KEEPS:
                return None
        return values[0]

    def _value(self, handler: _Handler, expr: cst.BaseExpression, resolving: FrozenSet[str]) -> _Found:
        if isinstance(expr, cst.Await):
            expr = expr.expression
        if isinstance(expr, cst.Name):
            return self._name_value(handler, expr.value, resolving)
        if isinstance(expr, cst.Subscript):
            base = self._value(handler, expr.value, resolving)
            if (
                isinstance(base, _Value)
                and base.kind == "list"
                and len(expr.slice) == 1
                and isinstance(expr.slice[0].slice, cst.Index)
            ):
                return _Value("instance", base.entity, base.session)
            return None
        if not isinstance(expr, cst.Call):
            return None
        func = expr.func
        qualified = self.ctx.qualified_name(func)
        if qualified in names.SELECTS:
            positional = [a for a in expr.args if a.keyword is None]
            if not positional or positional[0].star:
                return None
            entity = self._entity(positional[0].value)
            if entity is None:
                return None
            return _Value("select", entity, single=len(expr.args) == 1)
        created = self._class_name(qualified)
        if created is None and isinstance(func, cst.Attribute) and func.attr.value in names.ORM_CONSTRUCTORS:
            # `Order.model_validate(data)` builds an Order, as `Order(...)` does.
            created = self._class_name(self.ctx.qualified_name(func.value))
        if created is not None:
            # `Order(...)`: an ORM object once a session add()s it.
            return _Value("created", created)
        helper = self._helper_result(handler, qualified, expr)
        if helper is not None:
            return helper
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        receiver = func.value
        if isinstance(receiver, cst.Name) and receiver.value in handler.sessions:
            return self._session_call(handler, receiver.value, method, expr, resolving)
        base = self._value(handler, receiver, resolving)
        if isinstance(base, _Self):
            return _Self(base.methods | {method})
        if base is None:
            return None
        if base.kind in ("select", "query") and method in names.ORM_KEEPS:
            return base
        if method == "scalars" and expr.args:
            return None
        step = names.ORM_RESULT_STEPS.get((base.kind, method))
        if step is None:
            return None
        return base if step == base.kind else _Value(step, base.entity, base.session)

    def _session_call(
        self, handler: _Handler, session: str, method: str, call: cst.Call, resolving: FrozenSet[str]
    ) -> _Found:
        """`db.get(Order, id)`, `db.scalars(stmt)`, `db.query(Order)`... on a request-scoped session."""
        positional = [a for a in call.args if a.keyword is None and not a.star]
        if not positional:
            return None
        first = positional[0].value
        if method in ("get", "get_one", "query"):
            entity = self._entity(first)
            if entity is None:
                return None
            if method == "query":
                # Several entities or columns give rows, not instances.
                if len(call.args) != 1:
                    return None
                return _Value("query", entity, session)
            return _Value("instance", entity, session)
        if method not in ("scalar", "scalars", "execute", "exec"):
            return None
        statement = self._value(handler, first, resolving)
        if not isinstance(statement, _Value) or statement.kind != "select":
            return None
        kind = {"scalar": "instance", "scalars": "scalars", "execute": "result", "exec": "scalars"}[method]
        if method == "exec" and not statement.single:
            # SQLModel's exec() gives rows for a select of several columns.
            return None
        return _Value(kind, statement.entity, session)

    def _helper_result(self, handler: _Handler, qualified: Optional[str], call: cst.Call) -> Optional[_Value]:
        """`crud.get_order(db, order_id)`: a function of the project returning
        ORM objects it loads through the session it is given (pass 1's
        FunctionFact.orm_result), called with a request-scoped session."""
        found = self.ctx.index.function(qualified) if qualified else None
        if found is None or found[1].orm_result is None:
            return None
        param, position, entity, many = found[1].orm_result
        name = self._class_name(entity)
        if name is None:
            return None
        given: Optional[cst.BaseExpression] = None
        for index, arg in enumerate(call.args):
            if arg.star:
                # Which argument lands where is unclear past a `*args`.
                return None
            if arg.keyword is None and index == position:
                given = arg.value
            elif arg.keyword is not None and arg.keyword.value == param:
                given = arg.value
        if not isinstance(given, cst.Name) or given.value not in handler.sessions:
            return None
        return _Value("list" if many else "instance", name, given.value)

    def _entity(self, expr: cst.BaseExpression) -> Optional[str]:
        """The class's name, when `expr` names a class of the project (or
        `aliased()` of one); a column (`Order.id`) or anything unknown is None."""
        if isinstance(expr, cst.Call):
            if self.ctx.qualified_name(expr.func) in names.ALIASED and expr.args and expr.args[0].keyword is None:
                return self._entity(expr.args[0].value)
            return None
        if not isinstance(expr, (cst.Name, cst.Attribute)):
            return None
        return self._class_name(self.ctx.qualified_name(expr))

    def _class_name(self, qualified: Optional[str]) -> Optional[str]:
        """`Order` for a qualified name defined as a class in the project
        (through imports and aliases), else None."""
        if self.ctx.index.kind(qualified) != "class":
            return None
        found = self.ctx.index.resolve(qualified)
        return found[1] if found is not None else None

    VALID = [
        Valid(
            """
            # The task is given the id and loads the order in a session of its own.
            from fastapi import BackgroundTasks, Depends, FastAPI
            from sqlalchemy.orm import DeclarativeBase, sessionmaker

            SessionLocal = sessionmaker()
            app = FastAPI()

            class Base(DeclarativeBase):
                pass

            class Order(Base):
                __tablename__ = "orders"

            def get_db():
                with SessionLocal() as db:
                    yield db

            def ship(order_id):
                with SessionLocal() as db:
                    order = db.get(Order, order_id)

            @app.post("/orders/{order_id}/ship")
            def start_shipping(order_id: int, tasks: BackgroundTasks, db=Depends(get_db)):
                order = db.get(Order, order_id)
                tasks.add_task(ship, order.id)
            """
        ),
        Valid(
            """
            # Columns, not ORM objects: plain values outlive the session.
            from fastapi import BackgroundTasks as Jobs
            from fastapi import Depends, FastAPI
            from sqlalchemy import select as sa_select
            from sqlalchemy.orm import DeclarativeBase, sessionmaker

            SessionLocal = sessionmaker()
            app = FastAPI()

            class Base(DeclarativeBase):
                pass

            class Order(Base):
                __tablename__ = "orders"

            def get_db():
                with SessionLocal() as db:
                    yield db

            @app.post("/orders/reindex")
            def reindex(jobs: Jobs, db=Depends(get_db)):
                ids = db.scalars(sa_select(Order.id)).all()
                jobs.add_task(print, ids)
            """
        ),
        Valid(
            """
            # The route awaits its task: the session is still open while it runs.
            import asyncio
            from typing import Annotated

            from fastapi import Depends, FastAPI
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
            from sqlalchemy.orm import DeclarativeBase

            AsyncSessionLocal = async_sessionmaker()
            app = FastAPI()

            class Base(DeclarativeBase):
                pass

            class Order(Base):
                __tablename__ = "orders"

            async def get_db():
                async with AsyncSessionLocal() as db:
                    yield db

            Db = Annotated[AsyncSession, Depends(get_db)]

            async def audit(order):
                ...

            @app.post("/orders/{order_id}/audit")
            async def audit_now(order_id: int, db: Db):
                order = await db.get(Order, order_id)
                task = asyncio.create_task(audit(order))
                await task
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from fastapi import BackgroundTasks, Depends, FastAPI
            from sqlalchemy.orm import DeclarativeBase, sessionmaker

            SessionLocal = sessionmaker()
            app = FastAPI()

            class Base(DeclarativeBase):
                pass

            class Order(Base):
                __tablename__ = "orders"

            def get_db():
                db = SessionLocal()
                try:
                    yield db
                finally:
                    db.close()

            def ship(order):
                ...

            @app.post("/orders/{order_id}/ship")
            def start_shipping(order_id: int, tasks: BackgroundTasks, db=Depends(get_db)):
                order = db.query(Order).filter_by(id=order_id).first()
                tasks.add_task(ship, order)
            """
        ),
        Invalid(
            """
            from fastapi import BackgroundTasks as Jobs
            from fastapi import Depends, FastAPI
            from sqlalchemy import select as sa_select
            from sqlalchemy.orm import DeclarativeBase, sessionmaker

            SessionLocal = sessionmaker()
            app = FastAPI()

            class Base(DeclarativeBase):
                pass

            class Order(Base):
                __tablename__ = "orders"

            def get_db():
                with SessionLocal() as db:
                    yield db

            def reindex_all(orders):
                ...

            @app.post("/orders/reindex")
            def reindex(jobs: Jobs, db=Depends(get_db)):
                orders = db.execute(sa_select(Order)).scalars().all()
                jobs.add_task(reindex_all, orders)
            """
        ),
        Invalid(
            """
            import asyncio
            from typing import Annotated

            from fastapi import Depends, FastAPI
            from sqlalchemy import select
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
            from sqlalchemy.orm import DeclarativeBase

            AsyncSessionLocal = async_sessionmaker()
            app = FastAPI()

            class Base(DeclarativeBase):
                pass

            class Order(Base):
                __tablename__ = "orders"

            async def get_db():
                async with AsyncSessionLocal() as db:
                    yield db

            Db = Annotated[AsyncSession, Depends(get_db)]

            async def audit(order):
                ...

            @app.post("/orders/{order_id}/audit")
            async def audit_later(order_id: int, db: Db):
                result = await db.execute(select(Order).where(Order.id == order_id))
                order = result.scalar_one()
                asyncio.create_task(audit(order))
            """
        ),
        Invalid(
            """
            from fastapi import FastAPI
            from fastapi.responses import JSONResponse
            from sqlalchemy.orm import DeclarativeBase, sessionmaker
            from starlette.background import BackgroundTask

            SessionLocal = sessionmaker()
            app = FastAPI()

            class Base(DeclarativeBase):
                pass

            class Order(Base):
                __tablename__ = "orders"

            def receipt(order):
                ...

            @app.post("/orders")
            def create(email: str):
                with SessionLocal() as db:
                    order = Order(email=email)
                    db.add(order)
                    db.commit()
                return JSONResponse({}, background=BackgroundTask(receipt, order))
            """
        ),
    ]


def _short(code: str) -> str:
    """Source text for a message: on one line, at most 60 characters."""
    text = " ".join(code.split())
    return text if len(text) <= 60 else text[:57] + "..."


def _item_of(found: _Found) -> _Found:
    """What iterating `found` gives each time."""
    if isinstance(found, _Value) and found.kind in ("list", "scalars"):
        return _Value("instance", found.entity, found.session)
    return None


def _problem(value: _Value, session: RequestSession, via: str) -> str:
    closer = "the `with` block closes" if session.how == "with" else f"{session.label} closes"
    if via == "create_task":
        when = "while the task may still run" if session.how == "with" else "when the request ends, while the task may still run"
    elif session.how == "with":
        when = "before the task runs"
    else:
        when = 'before the task runs on FastAPI 0.106 to 0.117 or with Depends(scope="function")'
    them = "it" if value.kind == "instance" else "them"
    text = (
        f"{closer} `{value.session}` {when}, leaving {them} detached "
        "(DetachedInstanceError on any attribute not loaded yet: relationships, every column after a commit)"
    )
    if session.resource.is_async:
        text += ", and a lazy load of an AsyncSession's object in the task raises MissingGreenlet"
    elif via == "background" and session.how == "dependency":
        text += ", and on other versions the task's lazy loads hold the request's connection until the task ends"
    return text


def _params(params: cst.Parameters) -> List[cst.Param]:
    found = list(params.posonly_params) + list(params.params) + list(params.kwonly_params)
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            found.append(star)
    return found


def _target_names(target: cst.BaseExpression) -> Set[str]:
    """Names an assignment target binds (`a`, `a, (b, *c)`); none for `x.attr` or `x[i]`."""
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
