"""POL311: FastAPI below 0.82 with sync yield dependencies that open sessions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from poollint.deployment import DEPENDENCY_KINDS, LOCK_KINDS
from poollint.rule import Invalid, PoolRule, Valid
from poollint.rules.pool_config._deployment import FASTAPI_FIXED_IN, is_old_fastapi

if TYPE_CHECKING:
    from poollint.deployment import DeploymentContext
    from poollint.gate import SourceView
    from poollint.project import ProjectIndex

_DEPS = """
    from fastapi import Depends, FastAPI
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session, sessionmaker

    engine = create_engine("postgresql+psycopg2://app@db/shop", pool_size=10, max_overflow=5)
    SessionLocal = sessionmaker(engine)
    app = FastAPI()


    def get_db():
        db = SessionLocal()
        try:
            yield db
        finally:
            db.close()


    @app.get("/orders")
    def list_orders(db: Session = Depends(get_db)):
        return db.execute("select id from orders").all()
    """


class FastapiVersionDeadlock(PoolRule):
    """
    ## What it does
    Reports a requirement that keeps FastAPI below 0.82 (every version it
    admits is older: `fastapi==0.78.0`, `fastapi<0.82`, `fastapi>=0.70,<0.80`,
    `fastapi~=0.75.0`, Poetry's `fastapi = "^0.78"`, a lock file's resolved
    version) in a project with a plain `def` generator dependency (named in
    `Depends()`, across modules and `Annotated` aliases) that opens a sync
    session or connection. It is reported at the requirement, naming a
    dependency it endangers.

    It reads requirements*.txt, requirements/*.txt, constraints*.txt,
    `[project] dependencies` and `[tool.poetry.dependencies]` of
    pyproject.toml, Pipfile's `[packages]`, Pipfile.lock's `default`, and
    poetry.lock, uv.lock and pdm.lock. A lock file is reported only when
    every FastAPI it holds is older and no requirements file, pyproject.toml
    or Pipfile beside it already is. Left alone: requirements that admit a
    fixed release (`fastapi>=0.60`, an unpinned `fastapi`), requirements under
    an environment marker, URLs and paths, optional dependencies and
    development groups, async dependencies, dependencies that do not open a
    session, test code.

    A dependency file speaks for the code in its directory (or, when that
    holds no Python, the nearest directory above that does): in a monorepo
    each service's own requirements file decides for its dependencies. Like
    ruff, poollint reports only in files it checks: `poollint check app/`
    reads `requirements.txt` at the root for nothing and reports nothing
    there; `poollint check .` (or naming the file) does.

    ## Why is this bad?
    Before FastAPI 0.82, the code after the `yield` of a sync dependency ran
    in the same thread pool (40 threads by default) as the sync routes and
    dependencies themselves. When the database pool is exhausted, those
    threads all wait for a connection, and the connections they wait for can
    only be given back by dependency exit code that needs a free thread: no
    request finishes until `pool_timeout` fails them all, and under steady
    traffic the app stays stuck. FastAPI 0.82 runs that exit code outside the
    thread pool's limit.

    ## Where it comes from
    A service that ran fine for months froze solid during a traffic spike:
    CPU idle, the database idle, every request timing out after thirty
    seconds with `QueuePool limit reached`, and restarting the workers the
    only cure. The pool was not leaking; the threads that would have returned
    its connections were themselves queued behind requests waiting for one.
    The pinned framework version was the cause, and the upgrade the fix.

    ## Example
    ```python
    from fastapi import Depends, FastAPI
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session, sessionmaker

    engine = create_engine("postgresql+psycopg2://app@db/shop")
    SessionLocal = sessionmaker(engine)
    app = FastAPI()

    def get_db():
        with SessionLocal() as db:
            yield db

    @app.get("/orders")
    def list_orders(db: Session = Depends(get_db)):
        return db.execute("select id from orders").all()
    ```
    ```text requirements.txt
    fastapi==0.78.0
    sqlalchemy==1.4.41
    ```

    ## Use instead
    ```python
    from fastapi import Depends, FastAPI
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session, sessionmaker

    engine = create_engine("postgresql+psycopg2://app@db/shop")
    SessionLocal = sessionmaker(engine)
    app = FastAPI()

    def get_db():
        with SessionLocal() as db:
            yield db

    @app.get("/orders")
    def list_orders(db: Session = Depends(get_db)):
        return db.execute("select id from orders").all()
    ```
    ```text requirements.txt
    fastapi>=0.82
    sqlalchemy==1.4.41
    ```
    Where the upgrade must wait, an `async def` dependency with an
    `AsyncSession` does not use the thread pool at all.
    """

    CODE = "POL311"
    NAME = "fastapi-version-deadlock"
    MESSAGE = (
        "{pin}: in those versions a sync yield dependency can deadlock the thread pool once the database "
        "pool is exhausted, and {dependency} ({where}) {what}{more}"
    )
    # Never fires in a Python file (may_fire says so): it reports in
    # dependency files, where the engine calls check_deployment().
    TRIGGERS = ("fastapi",)
    READS_DEPLOYMENT_FILES = True
    DEPLOYMENT_KINDS = DEPENDENCY_KINDS

    # The examples' code is example.py; their `files` hold the project's
    # requirements, which is where the rule reports.
    VALID = [
        Valid(_DEPS, files={"requirements.txt": "fastapi>=0.60\nsqlalchemy==1.4.41\n"}),
        Valid(_DEPS, files={"requirements.txt": "fastapi\nsqlalchemy\n"}),
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

            engine = create_async_engine("postgresql+asyncpg://app@db/shop")
            SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
            app = FastAPI()


            async def get_db():
                async with SessionLocal() as db:
                    yield db


            @app.get("/orders")
            async def list_orders(db: AsyncSession = Depends(get_db)):
                return (await db.execute("select id from orders")).all()
            """,
            files={"requirements.txt": "fastapi==0.78.0\n"},
        ),
        Valid(
            """
            from fastapi import Depends, FastAPI

            app = FastAPI()


            def get_settings():
                yield {"region": "eu"}


            @app.get("/region")
            def region(settings: dict = Depends(get_settings)):
                return settings["region"]
            """,
            files={"requirements.txt": "fastapi==0.78.0\n"},
        ),
        Valid(_DEPS, files={"pyproject.toml": '[tool.poetry.dependencies]\nfastapi = "^0.95"\n'}),
        Valid(_DEPS, files={"requirements.txt": 'fastapi==0.78.0; python_version < "3.7"\nfastapi>=0.100; python_version >= "3.7"\n'}),
    ]
    INVALID = [
        Invalid(_DEPS, files={"requirements.txt": "fastapi==0.78.0\nsqlalchemy==1.4.41\n"}),
        Invalid(_DEPS, files={"requirements.txt": "fastapi[all]>=0.70,<0.80\n"}),
        Invalid(_DEPS, files={"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.9"\nfastapi = "^0.78"\n'}),
        Invalid(_DEPS, files={"pyproject.toml": '[project]\nname = "shop"\ndependencies = ["fastapi~=0.75.0"]\n'}),
        Invalid(_DEPS, files={"poetry.lock": '[[package]]\nname = "fastapi"\nversion = "0.81.0"\n'}),
    ]

    @classmethod
    def may_fire(cls, view: "SourceView", index: "ProjectIndex") -> bool:
        return False  # nothing to report in Python code

    @classmethod
    def check_deployment(cls, ctx: "DeploymentContext") -> None:
        facts = ctx.facts
        pins = [pin for pin in facts.pins if pin.package == "fastapi"]
        old = [pin for pin in pins if is_old_fastapi(pin)]
        if not old:
            return
        locked = facts.kind in LOCK_KINDS
        if locked and len(old) != len(pins):
            return  # a lock resolving FastAPI apart per environment: some get a fixed one
        index = ctx.index
        scope = index.table("deployment_scope", facts.path)  # type: ignore[attr-defined]
        if locked and index.table("fastapi_old_in_manifest", scope):  # type: ignore[attr-defined]
            return  # reported where the project asks for it
        endangered = index.table("fastapi_endangered", scope)  # type: ignore[attr-defined]
        if not endangered:
            return
        path, line, function, what = endangered[0]
        more = f" ({len(endangered) - 1} more like it)" if len(endangered) > 1 else ""
        for pin in old[:1] if locked else old:
            if locked:
                shown = f"{pin.text} is locked, older than FastAPI {FASTAPI_FIXED_IN}"
            else:
                shown = f"{pin.text} admits only FastAPI older than {FASTAPI_FIXED_IN}"
            ctx.report(
                cls.CODE,
                pin,
                cls.MESSAGE.format(
                    pin=shown, dependency=function, where=f"{path}:{line}", what=what, more=more
                ),
            )
