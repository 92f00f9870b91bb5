"""Pass-1 facts about Depends() options and dependencies= lists, and the
dependency tree POL208/POL209 build from them."""

from __future__ import annotations

import textwrap

from poollint.facts import collect_facts
from poollint.project import ProjectIndex
from poollint.rules.leaks._dependency_tree import held_session, route_tree, second_session


def _facts(source: str, module: str = "app.routes", path: str = "app/routes.py"):
    return collect_facts(textwrap.dedent(source).encode(), module, path)


def test_depends_options_are_recorded_per_parameter_alias_and_list() -> None:
    facts = _facts(
        """
        from typing import Annotated
        from fastapi import APIRouter, Depends
        from app.deps import audit, auth, get_db, pick, Repo

        router = APIRouter(dependencies=[Depends(auth), Depends(audit, use_cache=False)])
        Fresh = Annotated[int, Depends(get_db, use_cache=False)]

        @router.get("/a", dependencies=[Depends(audit, scope="function")])
        def a(x: Fresh, y=Depends(get_db, scope="function"), z: Annotated[Repo, Depends()] = None, w=Depends(get_db, use_cache=pick)):
            pass
        """
    )
    assert facts.router_dependencies == {"router": (("app.deps.auth", ""), ("app.deps.audit", "n"))}
    assert facts.alias_options == {"Fresh": "n"}
    assert facts.depends_options == {"a": {"y": "f", "z": "d", "w": "?"}}
    assert facts.route_dependencies == {"a": (("app.deps.audit", "f"),)}


_DB = """
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://db/app")
SessionLocal = sessionmaker(bind=engine)

def get_db():
    with SessionLocal() as db:
        yield db
"""


def _index(routes: str) -> ProjectIndex:
    return ProjectIndex([_facts(_DB, "app.db", "app/db.py"), _facts(routes)])


def test_a_use_cache_false_value_is_shared_with_later_plain_uses() -> None:
    index = _index(
        """
        from fastapi import Depends, FastAPI
        from app.db import get_db

        app = FastAPI()

        @app.get("/fresh-first")
        def fresh_first(a=Depends(get_db, use_cache=False), b=Depends(get_db)):
            pass

        @app.get("/plain-first")
        def plain_first(b=Depends(get_db), a=Depends(get_db, use_cache=False)):
            pass
        """
    )
    fresh_first = route_tree(index, "app.routes", "fresh_first")
    plain_first = route_tree(index, "app.routes", "plain_first")
    assert fresh_first is not None and plain_first is not None
    assert second_session(fresh_first) is None
    found = second_session(plain_first)
    assert found is not None and found.entry is not None and found.entry.param == "a"


def test_a_function_scoped_use_is_not_held_past_the_response() -> None:
    index = _index(
        """
        from fastapi import Depends, FastAPI
        from app.db import get_db

        app = FastAPI()

        def user(db=Depends(get_db)):
            return db

        @app.get("/short")
        def short(db=Depends(get_db, scope="function")):
            pass

        @app.get("/through")
        def through(u=Depends(user, scope="function")):
            pass
        """
    )
    short = route_tree(index, "app.routes", "short")
    through = route_tree(index, "app.routes", "through")
    assert short is not None and held_session(short) is None
    # scope="function" ends only the dependency it is written on.
    assert through is not None and held_session(through) is not None
