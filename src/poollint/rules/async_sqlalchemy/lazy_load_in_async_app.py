"""POL406: a relationship left to lazy-load in a project whose sessions are all AsyncSession."""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import libcst as cst

from poollint.context import dotted_name
from poollint.gate import SourceView
from poollint.project import ProjectIndex, index_table, is_test_module
from poollint.rule import FixAvailability, Invalid, PoolRule, Valid

_RELATIONSHIPS = frozenset(
    {
        "sqlalchemy.orm.relationship",
        "sqlalchemy.orm._orm_constructors.relationship",
        "sqlalchemy.orm.relationships.relationship",  # 1.4
        "sqlalchemy.orm.relation",  # 1.4's deprecated synonym
    }
)
_DYNAMIC_LOADERS = frozenset({"sqlalchemy.orm.dynamic_loader", "sqlalchemy.orm._orm_constructors.dynamic_loader"})
_BACKREFS = frozenset({"sqlalchemy.orm.backref", "sqlalchemy.orm._orm_constructors.backref"})
_SQLMODEL_RELATIONSHIPS = frozenset({"sqlmodel.Relationship", "sqlmodel.main.Relationship"})
_DECLARED_ATTRS = frozenset(
    {
        "sqlalchemy.orm.declared_attr",
        "sqlalchemy.orm.decl_api.declared_attr",
        "sqlalchemy.ext.declarative.declared_attr",
    }
)
# Declarative reads the loader from these annotations when `lazy` is not given.
_WRITE_ONLY_MAPPED = frozenset({"sqlalchemy.orm.WriteOnlyMapped", "sqlalchemy.orm.base.WriteOnlyMapped"})
_DYNAMIC_MAPPED = frozenset({"sqlalchemy.orm.DynamicMapped", "sqlalchemy.orm.base.DynamicMapped"})
# What a call of any of them shows in the source.
_CALLED = frozenset({"relationship", "relation", "dynamic_loader", "Relationship"})

# What a module does that keeps the rule quiet: a sync engine, factory or
# session (lazy loading works for them), a call that may be one, or AsyncAttrs
# (its `awaitable_attrs` need the lazy loader). Test code serves no requests:
# a sync engine there creates or drops the test database, and only its sync
# sessions and factories (which may read relationships lazily) count.
_SILENCING_USES = frozenset({"sync_engine", "sync_factory", "sync_session", "unknown", "async_attrs"})
_SILENCING_USES_IN_TESTS = _SILENCING_USES - {"sync_engine"}
# The uses that make async sessions, as a message names them, in order of preference.
_ASYNC_USES = (("async_factory", "an async session factory"), ("async_session", "AsyncSession()"))

# How a relationship loads, when the rule has something to say about it.
_DEFAULT = "default"
_DYNAMIC = "dynamic"

_CONSEQUENCES = {
    _DEFAULT: "reading it before it is loaded raises MissingGreenlet",
    _DYNAMIC: "reading it runs a sync query, which raises MissingGreenlet",
}
_ADVICE = {
    _DEFAULT: 'set lazy="raise" or "selectin", or selectinload() it in the query',
    _DYNAMIC: 'use lazy="write_only" (WriteOnlyMapped) and query it explicitly',
}
_HOW = {
    _DEFAULT: 'loads lazily (lazy="select", the default)',
    _DYNAMIC: 'loads dynamically (lazy="dynamic")',
}

Options = Dict[str, cst.BaseExpression]


class LazyLoadInAsyncApp(PoolRule):
    """
    ## What it does
    Flags a `relationship()` attribute that loads lazily on first access (no
    `lazy=` given, so SQLAlchemy's `lazy="select"`), or is `lazy="dynamic"`,
    in a project whose sessions are all `AsyncSession`.

    A backref that `backref="name"` or `backref("name")` creates counts too:
    backrefs do not inherit the relationship's `lazy`. Covered are
    `sqlalchemy.orm.relationship` in any import form, `dynamic_loader()`,
    SQLModel's `Relationship()` (read through `sa_relationship=relationship(...)`
    or a literal `sa_relationship_kwargs` dict), the `WriteOnlyMapped[...]`
    and `DynamicMapped[...]` annotations, and attributes assigned in a class
    body, on a class afterwards (`User.orders = relationship(...)`) or
    returned by a `@declared_attr` method.

    The project counts as all-async when its session factories and sessions
    are all made by `async_sessionmaker`, `sessionmaker(class_=AsyncSession)`
    or `AsyncSession(...)` (at least one of them, in any module, wherever the
    call is), and nothing calls `create_engine()`, a sync `sessionmaker()` or
    `Session(...)`, or subclasses `Session`; a `create_engine()` or
    `sessionmaker()` that does not resolve to SQLAlchemy's counts as sync.
    Test code (`tests/`, `test_*.py`, `conftest.py`) serves no requests: a
    sync engine there (the one that creates the test database) does not
    count, its sync sessions and factories do (they may read relationships
    lazily), and its async ones do not make a project async. The message
    names the factory that makes the project count.

    Left alone: any explicit `lazy=` other than `"dynamic"` (`"select"` and
    `True` included: spelling out the lazy loader is a decision), a `lazy=`
    value that is not a literal, a call given `**kwargs`, test code, and
    projects that mention `AsyncAttrs` anywhere: their models are read with
    `await obj.awaitable_attrs.orders`, which needs the lazy loader that
    `lazy="raise"` would take away (poollint cannot tell which models lack
    the mixin). Relationships mapped imperatively (`map_imperatively(...,
    properties={...})`) are not looked at.

    It is off by default: a project that loads every relationship with
    `selectinload()` in every query never touches the lazy loader, and
    whether one query forgets it is beyond what poollint can see.

    ## Why is this bad?
    An async session cannot do I/O behind an attribute access. Reading
    `order.customer` on an object loaded without it makes SQLAlchemy start a
    lazy load outside the event loop's awaits, and it raises
    `MissingGreenlet: greenlet_spawn has not been called`, often in FastAPI's
    response serialisation, after the route has returned. The usual patches
    make it worse for the pool: an `await session.refresh(obj, ["items"])`
    or an `awaitable_attrs` read per object is one round trip per row (N+1
    queries), each holding the request's pooled connection for longer.
    `lazy="raise"` turns the hidden load into an immediate, named error;
    `lazy="selectin"` or `selectinload()` loads the related rows with the
    parents in one extra query.

    ## Where it comes from
    A service moves to `create_async_engine` and `async_sessionmaker`, and its
    models keep their plain `relationship()` lines. Tests pass because their
    fixtures build the objects in the session that reads them. In production
    the first endpoint that returns an order with its lines serialises
    `order.lines`, raises `MissingGreenlet` and answers 500; the hotfix adds a
    `refresh()` per order, the endpoint now makes one query per row, its
    requests hold their connections many times longer, and at the next peak
    the pool runs dry with `QueuePool limit of size 5 overflow 10 reached`
    on every route.

    ## Example
    ```python
    from sqlalchemy import ForeignKey
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

    engine = create_async_engine("postgresql+asyncpg://app@db/shop")
    SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


    class Base(DeclarativeBase):
        pass


    class Order(Base):
        __tablename__ = "orders"
        id: Mapped[int] = mapped_column(primary_key=True)
        lines: Mapped[list["Line"]] = relationship(back_populates="order")


    class Line(Base):
        __tablename__ = "lines"
        id: Mapped[int] = mapped_column(primary_key=True)
        order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
        order: Mapped[Order] = relationship(back_populates="lines", lazy="raise")
    ```

    ## Use instead
    ```python
    from sqlalchemy import ForeignKey
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

    engine = create_async_engine("postgresql+asyncpg://app@db/shop")
    SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


    class Base(DeclarativeBase):
        pass


    class Order(Base):
        __tablename__ = "orders"
        id: Mapped[int] = mapped_column(primary_key=True)
        # Loaded with its orders, one extra SELECT ... IN per query.
        lines: Mapped[list["Line"]] = relationship(back_populates="order", lazy="selectin")


    class Line(Base):
        __tablename__ = "lines"
        id: Mapped[int] = mapped_column(primary_key=True)
        order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
        # Loaded only where a query asks for it (selectinload(Line.order)).
        order: Mapped[Order] = relationship(back_populates="lines", lazy="raise")
    ```
    """

    CODE = "POL406"
    NAME = "lazy-load-in-async-app"
    MESSAGE = (
        "{what} {how} in a project whose sessions are all AsyncSession ({why}; nothing makes "
        "a sync Session or engine): {consequence}; {advice}"
    )
    # Every choice changes behaviour: lazy="raise" makes loads that worked
    # (cascades on delete, code run with run_sync()) raise, lazy="selectin"
    # adds a query to every load of the parent. The author picks.
    FIX_TITLE = None
    FIX_AVAILABILITY = FixAvailability.NONE
    DEFAULT_ENABLED = False
    TRIGGERS = ("relation", "Relationship", "dynamic_loader")

    @classmethod
    def may_fire(cls, view: "SourceView", index: "ProjectIndex") -> bool:
        if view.called.isdisjoint(_CALLED):
            return False
        if view.facts is not None and is_test_module(view.facts.module):
            return False
        return index.table("async_only_sessions") is not None

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.skip = is_test_module(ctx.facts.module)

    # -- where relationship attributes are declared -------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        if self.skip or len(node.targets) != 1 or not isinstance(node.value, cst.Call):
            return
        self._declared(node.targets[0].target, node.value, None)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self.skip or not isinstance(node.value, cst.Call):
            return
        self._declared(node.target, node.value, node.annotation.annotation)

    def _declared(self, target: cst.BaseExpression, call: cst.Call, annotation: Optional[cst.BaseExpression]) -> None:
        scope = self.ctx.scopes[-1]
        if isinstance(target, cst.Name) and scope.kind == "class":
            self._check(call, scope.name, target.value, annotation)
        elif (
            isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and scope.kind != "class"
            # A class the module names (defined or imported), not a local such as `cls`.
            and self.ctx.qualified_name(target.value) is not None
        ):
            self._check(call, target.value.value, target.attr.value, annotation, after_class=True)

    def visit_Return(self, node: cst.Return) -> None:
        """`@declared_attr def owner(cls): return relationship(...)` on a mixin."""
        if self.skip or not isinstance(node.value, cst.Call):
            return
        scopes = self.ctx.scopes
        if len(scopes) < 2 or scopes[-1].kind != "function" or scopes[-2].kind != "class":
            return
        function = scopes[-1].node
        assert isinstance(function, cst.FunctionDef)
        if not any(self._is_declared_attr(d.decorator) for d in function.decorators):
            return
        returns = function.returns.annotation if function.returns is not None else None
        self._check(node.value, scopes[-2].name, scopes[-1].name, returns)

    def _is_declared_attr(self, decorator: cst.BaseExpression) -> bool:
        if isinstance(decorator, cst.Call):
            decorator = decorator.func
        qualified = self.ctx.qualified_name(decorator)
        if qualified is None:
            return False
        return qualified in _DECLARED_ATTRS or qualified.rsplit(".", 1)[0] in _DECLARED_ATTRS

    # -- how it loads ---------------------------------------------------------------
    def _check(
        self,
        call: cst.Call,
        owner: str,
        attr: str,
        annotation: Optional[cst.BaseExpression],
        after_class: bool = False,
    ) -> None:
        qualified = self.ctx.qualified_name(call.func)
        if qualified in _SQLMODEL_RELATIONSHIPS:
            if after_class:
                return  # SQLModel reads Relationship() in the class body only: this maps nothing
            label = "Relationship"
            found = self._sqlmodel_options(call)
        elif qualified in _RELATIONSHIPS or qualified in _DYNAMIC_LOADERS:
            label = "dynamic_loader" if qualified in _DYNAMIC_LOADERS else "relationship"
            found = _options(call)
        else:
            return
        if found is None:
            return
        options, target = found
        if qualified in _DYNAMIC_LOADERS:
            own: Optional[str] = _DYNAMIC  # it sets lazy="dynamic" over any given
        else:
            own = self._loading(options.get("lazy"), annotation)
        backref = self._backref(options.get("backref"), target)
        if own is None and backref is None:
            return
        why = self.ctx.index.table("async_only_sessions")
        if why is None:
            return
        name = f"{label} `{owner}.{attr}`"
        if own is not None and backref is not None:
            what, kind = f"{name} (and its backref {backref[0]})", own
        elif own is not None:
            what, kind = name, own
        else:
            assert backref is not None
            what, kind = f"backref {backref[0]} of {name}", backref[1]
        self.report(
            call,
            what=what,
            how=_HOW[kind],
            why=why,
            consequence=_CONSEQUENCES[kind],
            advice=_ADVICE[kind],
        )

    def _loading(self, lazy: Optional[cst.BaseExpression], annotation: Optional[cst.BaseExpression]) -> Optional[str]:
        """_DEFAULT or _DYNAMIC when the rule has something to say, else None."""
        if lazy is not None:
            # Any other value (True, "select" included) is the author's decision, or unknown.
            return _DYNAMIC if _string(lazy) == "dynamic" else None
        if isinstance(annotation, cst.SimpleString):
            # A string annotation poollint does not parse: it may say WriteOnlyMapped.
            text = annotation.raw_value
            return None if "WriteOnlyMapped" in text or "DynamicMapped" in text else _DEFAULT
        if isinstance(annotation, cst.Subscript):
            qualified = self.ctx.qualified_name(annotation.value)
            if qualified in _WRITE_ONLY_MAPPED:
                return None  # write-only: never loads on access
            if qualified in _DYNAMIC_MAPPED:
                return _DYNAMIC
        return _DEFAULT

    def _backref(
        self, value: Optional[cst.BaseExpression], target: Optional[cst.BaseExpression]
    ) -> Optional[Tuple[str, str]]:
        """(`Order.user`, how it loads) of a backref the rule has something to say about."""
        if value is None:
            return None
        name = _string(value)
        kind: Optional[str] = _DEFAULT
        if name is None:
            if not isinstance(value, cst.Call) or self.ctx.qualified_name(value.func) not in _BACKREFS:
                return None
            found = _options(value, positional=1)
            if found is None or found[1] is None:
                return None
            options, first = found
            name = _string(first)
            kind = self._loading(options.get("lazy"), None)
            if name is None or kind is None:
                return None
        owner = _target_name(target)
        return (f"`{owner}.{name}`" if owner else f"`{name}`"), kind

    def _sqlmodel_options(self, call: cst.Call) -> Optional[Tuple[Options, Optional[cst.BaseExpression]]]:
        """SQLModel's Relationship(): the options of the relationship() it makes."""
        found = _options(call, positional=0)
        if found is None:
            return None
        keywords, _ = found
        given = keywords.get("sa_relationship")
        if given is not None:
            if isinstance(given, cst.Call) and self.ctx.qualified_name(given.func) in _RELATIONSHIPS:
                return _options(given)
            return None
        kwargs = keywords.get("sa_relationship_kwargs")
        if kwargs is None:
            return {}, None
        if isinstance(kwargs, cst.Dict):
            options: Options = {}
            for element in kwargs.elements:
                if not isinstance(element, cst.DictElement):
                    return None  # `**more`
                key = _string(element.key)
                if key is None:
                    return None
                options[key] = element.value
            return options, None
        if isinstance(kwargs, cst.Call) and self.ctx.qualified_name(kwargs.func) == "builtins.dict":
            found = _options(kwargs, positional=0)
            return (found[0], None) if found is not None else None
        return None

    VALID = [
        Valid(
            """
            from sqlalchemy.ext.asyncio import async_sessionmaker
            from sqlalchemy.orm import DeclarativeBase, Mapped, relationship

            SessionLocal = async_sessionmaker(expire_on_commit=False)

            class Base(DeclarativeBase):
                pass

            class Author(Base):
                __tablename__ = "authors"
                books: Mapped[list["Book"]] = relationship(lazy="selectin")
                awards: Mapped[list["Award"]] = relationship(lazy="raise")
            """
        ),
        Valid(
            """
            from sqlalchemy import create_engine
            from sqlalchemy.ext.asyncio import async_sessionmaker
            from sqlalchemy.orm import relationship as rel

            # A sync engine too: somewhere the lazy loader may be what the code relies on.
            reporting = create_engine("postgresql+psycopg://app@db/shop")
            SessionLocal = async_sessionmaker(expire_on_commit=False)

            class Author(Base):
                __tablename__ = "authors"
                books = rel("Book")
            """
        ),
        Valid(
            """
            from sqlalchemy.ext.asyncio import AsyncAttrs, async_sessionmaker
            from sqlalchemy.orm import DeclarativeBase, Mapped, relationship

            SessionLocal = async_sessionmaker(expire_on_commit=False)

            # Read as `await author.awaitable_attrs.books`: that needs the lazy loader.
            class Base(AsyncAttrs, DeclarativeBase):
                pass

            class Author(Base):
                __tablename__ = "authors"
                books: Mapped[list["Book"]] = relationship()
            """
        ),
        Valid(
            """
            from sqlalchemy.ext.asyncio import async_sessionmaker
            from sqlalchemy.orm import WriteOnlyMapped, relationship

            from app.settings import LAZY

            SessionLocal = async_sessionmaker(expire_on_commit=False)

            class Author(Base):
                __tablename__ = "authors"
                books: WriteOnlyMapped["Book"] = relationship()  # never loads on access
                prizes = relationship("Prize", lazy=LAZY)  # not a literal: unknown
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from sqlalchemy.ext.asyncio import async_sessionmaker
            from sqlalchemy.orm import Mapped, relationship

            SessionLocal = async_sessionmaker(expire_on_commit=False)

            class Author(Base):
                __tablename__ = "authors"
                books: Mapped[list["Book"]] = relationship(back_populates="author")
            """
        ),
        Invalid(
            """
            from sqlalchemy import orm
            from sqlalchemy.ext.asyncio import AsyncSession
            from sqlalchemy.orm import relationship as rel, sessionmaker

            SessionLocal = sessionmaker(class_=AsyncSession, expire_on_commit=False)

            class Author(Base):
                __tablename__ = "authors"
                books = rel("Book", lazy="selectin", backref="author")  # the backref loads lazily
                prizes = orm.relationship("Prize", lazy="dynamic")
            """
        ),
        Invalid(
            """
            from sqlmodel import Field, Relationship, SQLModel
            from sqlmodel.ext.asyncio.session import AsyncSession

            def session_for(engine):
                return AsyncSession(engine, expire_on_commit=False)

            class Team(SQLModel, table=True):
                id: int | None = Field(default=None, primary_key=True)
                heroes: list["Hero"] = Relationship(back_populates="team")
            """
        ),
    ]


def _options(
    call: cst.Call, positional: int = 2
) -> Optional[Tuple[Options, Optional[cst.BaseExpression]]]:
    """The keyword arguments of a call and its first positional one; None
    when `*args`/`**kwargs` or more than `positional` positional arguments
    may carry anything."""
    options: Options = {}
    first: Optional[cst.BaseExpression] = None
    count = 0
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is None:
            count += 1
            if count > positional:
                return None
            if first is None:
                first = arg.value
        else:
            options[arg.keyword.value] = arg.value
    return options, first


def _string(expr: cst.BaseExpression) -> Optional[str]:
    """The value of a string literal (`lazy="dynamic"`), else None."""
    if isinstance(expr, cst.SimpleString) and isinstance(expr.evaluated_value, str):
        return expr.evaluated_value
    return None


def _target_name(target: Optional[cst.BaseExpression]) -> Optional[str]:
    """The related class as the relationship names it: `"Order"`, `Order`, `models.Order`."""
    if target is None:
        return None
    return _string(target) or dotted_name(target)


@index_table("async_only_sessions")
def _async_only_sessions(index: ProjectIndex) -> Optional[str]:
    """Why every session of the project is an AsyncSession (its first async
    factory, else the first module making async sessions), or None when one
    may be sync, none is made, or AsyncAttrs is around."""
    factory: Optional[Tuple[str, int, str]] = None
    maker: Optional[Tuple[str, int]] = None
    for facts in index.modules.values():
        uses = facts.session_uses
        if is_test_module(facts.module):
            if not uses.isdisjoint(_SILENCING_USES_IN_TESTS):
                return None
            continue  # a test suite's own async sessions make no project async either
        if not uses.isdisjoint(_SILENCING_USES):
            return None
        if any(not engine.is_async for engine in facts.engines.values()):
            return None
        if any(not engine.is_async for _, _, engine in facts.other_engines):
            return None
        for name, fact in facts.factories.items():
            if not fact.is_async:
                return None
            if factory is None or (facts.path, fact.line, name) < factory:
                factory = (facts.path, fact.line, name)
        for rank, (use, _) in enumerate(_ASYNC_USES):
            if use in uses and (maker is None or (facts.path, rank) < maker):
                maker = (facts.path, rank)
    if factory is not None:
        path, line, name = factory
        return f"async session factory `{name}` in {path}:{line}"
    if maker is not None:
        path, rank = maker
        return f"{_ASYNC_USES[rank][1]} in {path}"
    return None
