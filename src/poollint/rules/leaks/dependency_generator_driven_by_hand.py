"""POL210: a session-yielding dependency driven by hand (`async for`, `next()`, `anext()`) without aclosing()."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

import libcst as cst

from poollint.context import is_main_test
from poollint.facts import qualify_dotted
from poollint.project import ProjectIndex, index_table, is_test_module
from poollint.rule import Fix, FixAvailability, FixSafety, ImportRequest, Invalid, PoolRule, Valid
from poollint.rules.leaks._session_flow import RELEASE_METHODS

if TYPE_CHECKING:
    from poollint.context import Scope
    from poollint.gate import SourceView

_BROAD_EXCEPTIONS = frozenset({"builtins.Exception", "builtins.BaseException"})
_NEXT = frozenset({"builtins.next"})
_ANEXT = frozenset({"builtins.anext"})
_ACLOSING = "contextlib.aclosing"
# What a dependency hands out that holds a pooled connection until its cleanup runs.
_POOLED_KINDS = frozenset({"session", "connection"})


@dataclass(frozen=True)
class _Dependency:
    """A plain generator named in Depends() that yields a new session or connection."""

    name: str
    kind: str
    is_async: bool
    where: str


@index_table("hand_driven_dependency")
def _session_generator(index: ProjectIndex, qualified: Optional[str]) -> Optional[_Dependency]:
    """The dependency `qualified` names, when calling it gives a generator
    (sync or async) whose cleanup gives a session or connection back: an
    undecorated generator function, named in some Depends()/Security(),
    yielding what a session factory, a session class or `engine.connect()`
    makes, from inside a with block or a try with `finally:`. A decorator may
    change what calling it gives (contextmanager); a generator without such
    cleanup leaks however it is driven, which is POL202's finding."""
    found = index.function(qualified)
    if found is None:
        return None
    facts, fn = found
    if not fn.is_generator or fn.decorators or not fn.yields_from:
        return None
    if fn.qualname not in facts.cleanup_generators:
        return None
    if not index.is_dependency(facts.module, fn.qualname):
        return None
    for source in fn.yields_from:
        resource = index.created_by_call(source)
        if resource is not None and resource.kind in _POOLED_KINDS:
            return _Dependency(fn.qualname.rsplit(".", 1)[-1], resource.kind, fn.is_async, f"{facts.path}:{fn.line}")
    return None


@index_table("hand_driven_dependency_names")
def _dependency_names(index: ProjectIndex) -> FrozenSet[str]:
    """Every name under which such a dependency can be called: its own, and
    the names modules import it as (`from .db import get_db as session_dep`)."""
    found: Set[str] = set()
    for facts in index.modules.values():
        for fn in facts.functions.values():
            if fn.is_generator and fn.yields_from and not fn.decorators:
                if index.table("hand_driven_dependency", facts.qualify(fn.qualname)) is not None:
                    found.add(fn.qualname.rsplit(".", 1)[-1])
    if not found:
        # No such dependency: no import can name one.
        return frozenset()
    for facts in index.modules.values():
        for local, qualified in facts.imports.items():
            if local not in found and index.table("hand_driven_dependency", qualified) is not None:
                found.add(local)
    return frozenset(found)


@dataclass
class _Finding:
    """A hand-driven dependency, judged when its function has been walked."""

    node: cst.CSTNode
    dependency: _Dependency
    how: str  # "async for", "for", "next", "anext"
    driver: str
    statements: Tuple[cst.CSTNode, ...]
    # The name the session is bound to: closing it where errors go too (or a
    # `with` block) gives the connection back whatever the generator does.
    bound: Optional[str] = None
    # The session is a with item itself: `with next(get_db()) as db:`.
    managed: bool = False
    # `async for` only: the loop, when it is the plain delegating loop.
    loop: Optional[cst.For] = None
    aclosing: Optional[str] = None
    # `for` only: the loop returns its session.
    returns_target: bool = False


@dataclass
class _Frame:
    """One function (or the module) being walked."""

    node: cst.CSTNode
    findings: List[_Finding] = field(default_factory=list)
    # Every name the function (and what it nests) mentions: a name the fix
    # introduces must be none of them.
    names: Set[str] = field(default_factory=set)
    # Names closed or rolled back in a `finally:` or a catch-all handler.
    released: Set[str] = field(default_factory=set)
    # Names used as a `with` item.
    managed: Set[str] = field(default_factory=set)
    finally_depth: int = 0
    broad_depth: int = 0
    # Sync `for` loops over a dependency being walked, innermost last.
    loops: List[Tuple[cst.For, _Finding]] = field(default_factory=list)


class DependencyGeneratorDrivenByHand(PoolRule):
    """
    ## What it does
    Flags code that drives a session-yielding FastAPI dependency by hand
    instead of letting FastAPI (or a context manager) run it: a generator
    named in `Depends()`/`Security()` anywhere in the project (directly,
    in `Annotated[...]`, through aliases, across modules) that hands out a
    new session or connection from a `yield` inside a `with` block or a
    `try` with `finally:` (the cleanup that gives it back), called and then

    - iterated with `async for db in get_db():` (an async generator),
      unless the loop's session is closed in a `finally:` or a `with`
      block of the same function;
    - advanced once with `next(get_db())` (or `get_db().__next__()`),
      unless the session it gives is closed in a `finally:` or used as a
      `with` block (`with next(get_db()) as db:` too);
    - advanced once with `anext(get_db())` (or `get_db().__anext__()`);
    - iterated with `for db in get_db():` where the loop returns its
      session (`return db` inside the loop).

    Left alone: the generator wrapped in `contextlib.aclosing()` (or
    `closing()`) before it is iterated, `contextmanager(get_db)()` /
    `asynccontextmanager(get_db)()` in a `with` block, `yield from
    get_db()` (it forwards the close), a generator kept in a variable first
    (`gen = get_db()`: its owner may close it), generators that are not
    dependencies or yield something else, decorated generators,
    generators without such cleanup (POL202 reports them), test
    modules, scripts and code under `if __name__ == "__main__":`.

    A plain sync `for` loop is not flagged either: on CPython, leaving the
    loop (at its end, by `break`, or by an exception) drops the only
    reference to the generator, which closes it on the spot, so its
    cleanup runs where FastAPI would have run it.

    ## Why is this bad?
    FastAPI gives a yield dependency's cleanup (the `finally:` or the
    `with` block around the `yield`) its due: it resumes the generator after
    the response, and throws the route's exception into it. Code that
    iterates the generator itself takes that job over, and a bare loop or
    `next()` does not do it:

    - An async generator left by an exception, a cancelled request,
      `break` or `return` is not closed by the loop. Python hands it to
      the event loop's finalizer, which schedules `aclose()` as a separate
      task some time later (never, if the loop is shutting down). The
      session keeps its pooled connection, often in the middle of a
      transaction, until that task runs.
    - `next(get_db())` and `anext(get_db())` drop the generator as soon as
      they return. CPython closes the sync generator on the spot, so its
      cleanup closes the session before the caller has used it; used
      anyway, the session opens a new transaction on a connection that
      nothing closes again until the garbage collector finds the session. The async one is
      closed by a task the event loop runs at the next `await`, which closes
      the session while the caller is still using it.
    - `return db` from inside `for db in get_db():` closes the generator,
      and so the session, before the caller sees it: same as `next()`.

    ## Where it comes from
    A service wraps its `get_db` dependency in another one
    (`async for db in get_db(): yield Repo(db)`) and uses the same loop in
    a scheduled job. Under load, requests that fail or time out stop
    giving their connections back when they finish: each one stays checked
    out, "idle in transaction", until an orphaned `aclose()` task happens to
    run, and a burst of errors or client disconnects exhausts the pool
    (`QueuePool limit of size 5 overflow 10 reached`) even though every
    dependency "closes its session".

    ## Example
    ```python
    from fastapi import Depends
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    engine = create_async_engine("postgresql+asyncpg://db/app")
    SessionLocal = async_sessionmaker(engine)

    async def get_db():
        async with SessionLocal() as db:
            yield db

    class Repo:
        def __init__(self, db):
            self.db = db

    async def get_repo():
        async for db in get_db():
            yield Repo(db)

    async def list_orders(repo: Repo = Depends(get_repo), db=Depends(get_db)):
        return repo
    ```

    ## Use instead
    ```python
    from contextlib import aclosing

    from fastapi import Depends
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    engine = create_async_engine("postgresql+asyncpg://db/app")
    SessionLocal = async_sessionmaker(engine)

    async def get_db():
        async with SessionLocal() as db:
            yield db

    class Repo:
        def __init__(self, db):
            self.db = db

    async def get_repo():
        async with aclosing(get_db()) as sessions:
            async for db in sessions:
                yield Repo(db)

    async def list_orders(repo: Repo = Depends(get_repo), db=Depends(get_db)):
        return repo
    ```

    Simpler still, let FastAPI drive it: `async def get_repo(db=Depends(get_db)): yield Repo(db)`.
    Outside a dependency, use `async with asynccontextmanager(get_db)() as db:`
    (`with contextmanager(get_db)() as db:` for a sync one).

    ## Fix safety
    The fix is safe, and offered for the plain delegating loop only: an
    `async for` over the dependency's call whose body is a single `yield`
    statement and that has no `else:`. The loop is wrapped in
    `async with aclosing(get_db()) as sessions:` and iterates `sessions`
    (a name the function does not use otherwise). On the normal path
    nothing changes: the loop ends when the generator does, and closing a
    finished generator does nothing. When the loop is left by an exception
    (the route's, thrown in by FastAPI) or a cancellation, the generator's
    cleanup now runs right there, before the exception goes on unchanged,
    instead of in a task of its own later.

    `contextlib.aclosing` exists from Python 3.10 on: the fix uses it where
    the module already imports it from `contextlib` (under any name), or
    imports it when the project runs on 3.10 or later only
    (`target-version = "py310"` in `[tool.poollint]`, `--target-version`,
    or else `requires-python = ">=3.10"` in pyproject.toml) and nothing in
    the module is called `aclosing` yet. Elsewhere the finding comes
    without a fix. `next()`, `anext()`
    and other loops are reported without a fix: they need a `with` block
    around the code that uses the session, which only a person can place.
    """

    CODE = "POL210"
    NAME = "dependency-generator-driven-by-hand"
    MESSAGE = "{driver} drives the {kind} dependency {dependency} ({where}) by hand ({how}): {consequence}"
    FIX_TITLE = "Iterate the dependency inside `async with aclosing(...)`"
    FIX_AVAILABILITY = FixAvailability.SOMETIMES
    # Driving a generator by hand: a loop over it, or next()/anext().
    TRIGGERS = ("for", "next")

    @classmethod
    def triggers(cls, index: ProjectIndex) -> Iterable[str]:
        # The file calls the dependency, so it spells its name (or its alias).
        return index.table("hand_driven_dependency_names")

    @classmethod
    def may_fire(cls, view: "SourceView", index: ProjectIndex) -> bool:
        # Every finding is at a call of such a dependency.
        return not view.called.isdisjoint(index.table("hand_driven_dependency_names"))

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        # Test code and one-shot programs serve no request: a session their
        # generator closes late costs the pool nothing that lasts.
        self._silent = is_test_module(ctx.facts.module) or ctx.is_script()
        self._frames: List[_Frame] = [_Frame(ctx.module)]
        # `db = next(get_db())`: the call -> the name its value is bound to.
        self._assigned: Dict[cst.CSTNode, str] = {}
        # Calls used as a with item (`with next(get_db()) as db:`).
        self._with_items: Set[cst.CSTNode] = set()
        # Inside `if __name__ == "__main__":`: the module runs as a program.
        self._main_depth = 0

    # -- scopes ------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._frames[-1].names.add(node.name.value)
        self._frames.append(_Frame(node))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        frame = self._frames.pop()
        # What a nested function mentions counts for the one around it.
        self._frames[-1].names |= frame.names
        self._judge(frame)

    def leave_Module(self, original_node: cst.Module) -> None:
        self._judge(self._frames[0])

    def visit_Name(self, node: cst.Name) -> None:
        self._frames[-1].names.add(node.value)

    def visit_If(self, node: cst.If) -> None:
        if is_main_test(node.test):
            self._main_depth += 1

    def leave_If(self, original_node: cst.If) -> None:
        if is_main_test(original_node.test):
            self._main_depth -= 1

    # -- error paths -------------------------------------------------------------
    def visit_Finally(self, node: cst.Finally) -> None:
        self._frames[-1].finally_depth += 1

    def leave_Finally(self, original_node: cst.Finally) -> None:
        self._frames[-1].finally_depth -= 1

    def _is_broad(self, handler_type: Optional[cst.BaseExpression]) -> bool:
        if handler_type is None:
            return True
        types = [e.value for e in handler_type.elements] if isinstance(handler_type, cst.Tuple) else [handler_type]
        return any(self.ctx.qualified_name(t) in _BROAD_EXCEPTIONS for t in types)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if self._is_broad(node.type):
            self._frames[-1].broad_depth += 1

    def leave_ExceptHandler(self, original_node: cst.ExceptHandler) -> None:
        if self._is_broad(original_node.type):
            self._frames[-1].broad_depth -= 1

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        if self._is_broad(node.type):
            self._frames[-1].broad_depth += 1

    def leave_ExceptStarHandler(self, original_node: cst.ExceptStarHandler) -> None:
        if self._is_broad(original_node.type):
            self._frames[-1].broad_depth -= 1

    # -- what happens to a session ------------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self._bind(node.value, node.targets[0].target.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None and isinstance(node.target, cst.Name):
            self._bind(node.value, node.target.value)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        frame = self._frames[-1]
        if isinstance(node.item, cst.Name):
            frame.managed.add(node.item.value)
        else:
            # `with next(get_db()) as db:`: the session's own __exit__ closes it.
            self._with_items.add(node.item)

    def _bind(self, value: cst.BaseExpression, name: str) -> None:
        if isinstance(value, cst.Await):
            value = value.expression
        if isinstance(value, cst.Call):
            self._assigned[value] = name

    def visit_Return(self, node: cst.Return) -> None:
        frame = self._frames[-1]
        if not frame.loops or not isinstance(node.value, cst.Name):
            return
        for loop, finding in frame.loops:
            if isinstance(loop.target, cst.Name) and loop.target.value == node.value.value:
                finding.returns_target = True

    # -- driving a dependency by hand ---------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        frame = self._frames[-1]
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            if func.attr.value in RELEASE_METHODS and (frame.finally_depth or frame.broad_depth):
                frame.released.add(func.value.value)
        if self._silent or self._main_depth:
            return
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call):
            # `get_db().__next__()`, `get_db().__anext__()`.
            how = {"__next__": "next", "__anext__": "anext"}.get(func.attr.value)
            generator = func.value
        else:
            qualified = self.ctx.qualified_name(func)
            how = "next" if qualified in _NEXT else "anext" if qualified in _ANEXT else None
            first = node.args[0] if node.args else None
            generator = first.value if first is not None and first.keyword is None and not first.star else None
        if how is None or not isinstance(generator, cst.Call):
            return
        dependency = self._dependency(generator)
        if dependency is None or dependency.is_async != (how == "anext"):
            return
        finding = _Finding(node, dependency, how, self._driver(), tuple(self.ctx.statements))
        if how == "next":
            # A sync generator's cleanup has closed the session already; the
            # caller closing it again gives back what it opened since.
            finding.bound = self._assigned.get(node)
            finding.managed = node in self._with_items
        frame.findings.append(finding)

    def visit_For(self, node: cst.For) -> None:
        if self._silent or self._main_depth or not isinstance(node.iter, cst.Call) or len(self._frames) == 1:
            return
        dependency = self._dependency(node.iter)
        is_async = node.asynchronous is not None
        if dependency is None or dependency.is_async != is_async:
            return
        finding = _Finding(
            node.iter,
            dependency,
            "async for" if is_async else "for",
            self._driver(),
            tuple(self.ctx.statements),
            bound=node.target.value if isinstance(node.target, cst.Name) else None,
        )
        frame = self._frames[-1]
        frame.findings.append(finding)
        if not is_async:
            frame.loops.append((node, finding))
        elif _is_delegating(node):
            finding.loop = node
            finding.aclosing = self._aclosing_name()

    def leave_For(self, original_node: cst.For) -> None:
        loops = self._frames[-1].loops
        if loops and loops[-1][0] is original_node:
            loops.pop()

    # -- judging -------------------------------------------------------------------
    def _judge(self, frame: _Frame) -> None:
        for finding in frame.findings:
            if finding.how == "for" and not finding.returns_target:
                continue
            if finding.managed or (
                finding.how in ("next", "async for")
                and finding.bound is not None
                and (finding.bound in frame.released or finding.bound in frame.managed)
            ):
                continue
            with self.ctx.reporting_from(finding.statements):
                self.report(
                    finding.node,
                    fix=self._fix(frame, finding),
                    driver=finding.driver,
                    kind=finding.dependency.kind,
                    dependency=finding.dependency.name,
                    where=finding.dependency.where,
                    how=_HOW[finding.how],
                    consequence=_CONSEQUENCES[finding.how].format(name=finding.dependency.name),
                )

    def _fix(self, frame: _Frame, finding: _Finding) -> Optional[Fix]:
        """`async for x in dep(): yield ...` -> the same loop inside `async with aclosing(dep()) as sessions:`."""
        loop = finding.loop
        if loop is None:
            return None
        imports: Tuple[ImportRequest, ...] = ()
        if finding.aclosing is None:
            if not self._may_import_aclosing():
                return None
            finding.aclosing = "aclosing"
            imports = (("contextlib", "aclosing"),)
        variable = _fresh_name(f"{finding.dependency.kind}s", frame.names)
        if variable is None:
            return None
        wrapped = cst.With(
            items=[
                cst.WithItem(
                    item=cst.Call(func=cst.Name(finding.aclosing), args=[cst.Arg(value=loop.iter)]),
                    asname=cst.AsName(name=cst.Name(variable)),
                )
            ],
            body=cst.IndentedBlock(body=[loop.with_changes(iter=cst.Name(variable), leading_lines=[])]),
            asynchronous=cst.Asynchronous(),
            leading_lines=loop.leading_lines,
        )
        # aclosing() closes the generator when the loop is left, before the
        # exception (if any) goes on; on the normal path it closes a
        # generator that has already finished, which does nothing.
        return Fix(node=loop, replacement=wrapped, safety=FixSafety.SAFE, imports=imports)

    def _may_import_aclosing(self) -> bool:
        """Whether the fix may add `from contextlib import aclosing`: the project
        supports no Python older than 3.10, and nothing in the module is called
        `aclosing` already (a star import might bind it: unsure)."""
        facts = self.ctx.facts
        target = self.ctx.settings.target_version
        if target is None or target < (3, 10) or facts.star_imports:
            return False
        if "aclosing" in facts.imports or "aclosing" in facts.kinds:
            return False
        return not any(
            "aclosing" in fn.local_names or "aclosing" in fn.local_imports for fn in facts.functions.values()
        )

    # -- resolution ----------------------------------------------------------------
    def _dependency(self, call: cst.Call) -> Optional[_Dependency]:
        qualified = self.ctx.qualified_name(call.func)
        if qualified is None:
            return None
        return self.ctx.index.table("hand_driven_dependency", qualified)

    def _driver(self) -> str:
        scope: Optional["Scope"] = self.ctx.function()
        if scope is None:
            return "module-level code"
        return self.ctx.describe(scope)

    def _aclosing_name(self) -> Optional[str]:
        """A name that means `contextlib.aclosing` here: imported, so the
        module already needs Python 3.10 or later."""
        scope = self.ctx.function()
        fact = scope.fact if scope is not None else None
        if scope is not None and fact is None:
            return None  # a function the facts did not see: unsure
        imports = dict(self.ctx.facts.imports)
        if fact is not None:
            imports.update(fact.local_imports)
        # Resolved from the facts, not ctx.qualified_name(): its answers are
        # kept per node id, and a node made here for the question would be
        # freed at once, its id free for the next one.
        candidates = ["aclosing"] + sorted(local for local, qualified in imports.items() if qualified == _ACLOSING)
        for name in candidates:
            if qualify_dotted(self.ctx.facts, fact, name) == _ACLOSING:
                return name
        return None

    VALID = [
        Valid(
            """
            from contextlib import aclosing

            from fastapi import Depends
            from sqlalchemy.ext.asyncio import async_sessionmaker

            SessionLocal = async_sessionmaker()

            async def get_db():
                async with SessionLocal() as db:
                    yield db

            async def get_repo():
                async with aclosing(get_db()) as sessions:
                    async for db in sessions:
                        yield {"db": db}

            async def index(repo=Depends(get_repo), db=Depends(get_db)):
                return repo
            """
        ),
        Valid(
            """
            # contextmanager() makes a context manager of it: the with block runs the cleanup.
            from contextlib import asynccontextmanager as acm

            from fastapi import Depends
            from sqlalchemy.ext.asyncio import async_sessionmaker

            SessionLocal = async_sessionmaker()

            async def get_db():
                async with SessionLocal() as db:
                    yield db

            async def nightly_report():
                async with acm(get_db)() as db:
                    return await db.execute("select 1")

            async def index(db=Depends(get_db)):
                return db
            """
        ),
        Valid(
            """
            # Not a session: a generator of settings, iterated by hand.
            from fastapi import Depends

            def get_settings():
                yield {"debug": False}

            def load():
                return next(get_settings())

            def index(settings=Depends(get_settings)):
                return settings
            """
        ),
        Valid(
            """
            # The caller closes the session itself where errors go too.
            from fastapi import Depends
            from sqlalchemy.orm import sessionmaker as make_sessions

            SessionLocal = make_sessions()

            def get_db():
                db = SessionLocal()
                try:
                    yield db
                finally:
                    db.close()

            def rebuild_search_index():
                db = next(get_db())
                try:
                    db.execute("select 1")
                finally:
                    db.close()

            def index(db=Depends(get_db)):
                return db
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from contextlib import aclosing as closing_async

            from fastapi import Depends
            from sqlalchemy.ext.asyncio import async_sessionmaker

            SessionLocal = async_sessionmaker()

            async def get_db():
                async with SessionLocal() as db:
                    yield db

            async def get_repo():
                \"\"\"One repository per request.\"\"\"
                # The session comes from get_db.
                async for db in get_db():  # one pass
                    yield {"db": db}

            async def index(repo=Depends(get_repo), db=Depends(get_db)):
                return repo
            """,
            expected_replacement="""
            from contextlib import aclosing as closing_async

            from fastapi import Depends
            from sqlalchemy.ext.asyncio import async_sessionmaker

            SessionLocal = async_sessionmaker()

            async def get_db():
                async with SessionLocal() as db:
                    yield db

            async def get_repo():
                \"\"\"One repository per request.\"\"\"
                # The session comes from get_db.
                async with closing_async(get_db()) as sessions:
                    async for db in sessions:  # one pass
                        yield {"db": db}

            async def index(repo=Depends(get_repo), db=Depends(get_db)):
                return repo
            """,
        ),
        Invalid(
            """
            # No aclosing imported: poollint cannot tell the project runs on 3.10+, so no fix.
            from fastapi import Depends
            from sqlalchemy.ext.asyncio import async_sessionmaker

            SessionLocal = async_sessionmaker()

            async def get_db():
                async with SessionLocal() as db:
                    yield db

            async def get_repo():
                async for db in get_db():
                    yield {"db": db}

            async def index(repo=Depends(get_repo), db=Depends(get_db)):
                return repo
            """
        ),
        Invalid(
            """
            from fastapi import Depends
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()

            def get_db():
                with SessionLocal() as db:
                    yield db

            def get_database():
                return next(get_db())

            def index(db=Depends(get_db)):
                return db
            """
        ),
        Invalid(
            """
            from fastapi import Depends as Inject
            from sqlalchemy.ext.asyncio import async_sessionmaker

            SessionLocal = async_sessionmaker()

            async def get_db():
                async with SessionLocal() as db:
                    yield db

            async def sync_prices():
                db = await anext(get_db())
                await db.execute("select 1")

            async def index(db=Inject(get_db)):
                return db
            """
        ),
    ]


_HOW = {
    "async for": "`async for`",
    "for": "`return` from a `for` loop over it",
    "next": "`next()`",
    "anext": "`anext()`",
}
_CONSEQUENCES = {
    "async for": (
        "when the loop is left early (an exception, a cancelled request, `break`, `return`), {name}'s cleanup is "
        "left to a task the event loop runs later, if ever, and the connection stays checked out until then; "
        "iterate it inside `async with contextlib.aclosing(...)`"
    ),
    "for": (
        "leaving the loop closes the generator, so {name}'s cleanup closes the session before the caller uses it, "
        "and nothing closes the connection the session opens afterwards; yield the session, or use "
        "`with contextmanager({name})() as db:` around the code that uses it"
    ),
    "next": (
        "the generator is dropped at once, so {name}'s cleanup closes the session before it is used, and nothing "
        "closes the connection the session opens afterwards; use `with contextmanager({name})() as db:` or close "
        "the session in a `finally:`"
    ),
    "anext": (
        "the generator is dropped at once, so the event loop runs {name}'s cleanup in another task that closes "
        "the session while it is still in use; use `async with asynccontextmanager({name})() as db:`"
    ),
}


def _is_delegating(loop: cst.For) -> bool:
    """`async for x in dep(): yield value`: one `yield` statement, no else."""
    if loop.orelse is not None or not isinstance(loop.body, cst.IndentedBlock):
        return False
    statements = loop.body.body
    if len(statements) != 1 or not isinstance(statements[0], cst.SimpleStatementLine):
        return False
    small = statements[0].body
    return len(small) == 1 and isinstance(small[0], cst.Expr) and isinstance(small[0].value, cst.Yield)


def _fresh_name(base: str, taken: Set[str]) -> Optional[str]:
    """`base`, or `base_2`..., whichever the function does not mention:
    binding it then shadows nothing the function (or what it nests) uses."""
    for candidate in [base] + [f"{base}_{n}" for n in range(2, 10)]:
        if candidate not in taken:
            return candidate
    return None
