"""ProjectIndex.request_path: how a function comes to run on every request."""

from __future__ import annotations

from pathlib import Path

from poollint.engine import build_index, read_facts

ROOT = Path("/virtual")

SOURCES = {
    "app/db.py": (
        "import functools\n"
        "from functools import lru_cache\n"
        "def make_engine(): ...\n"
        "def helper():\n"
        "    return make_engine()\n"
        "@lru_cache\n"
        "def cached():\n"
        "    return make_cached()\n"
        "def make_cached(): ...\n"
        "@functools.lru_cache(maxsize=None)\n"
        "def cached_dependency(): ...\n"
        "_engine = None\n"
        "def lazy():\n"
        "    global _engine\n"
        "    _engine = make_lazy()\n"
        "def make_lazy(): ...\n"
        "def get_db():\n"
        "    helper()\n"
        "    cached()\n"
        "    lazy()\n"
        "    yield None\n"
        "def never_called(): ...\n"
    ),
    "app/routes.py": (
        "from fastapi import APIRouter, Depends\n"
        "from .db import cached_dependency, get_db\n"
        "router = APIRouter()\n"
        '@router.get("/items")\n'
        "def items(db=Depends(get_db), c=Depends(cached_dependency)): ...\n"
    ),
}


def index():
    return build_index(read_facts(ROOT / name, ROOT, text.encode()) for name, text in SOURCES.items())


def test_path_runs_from_the_dependency_down_the_calls() -> None:
    assert index().request_path("app.db", "make_engine") == [
        ("app.db", "get_db"),
        ("app.db", "helper"),
        ("app.db", "make_engine"),
    ]


def test_routes_and_dependencies_are_their_own_path() -> None:
    assert index().request_path("app.routes", "items") == [("app.routes", "items")]
    assert index().request_path("app.db", "get_db") == [("app.db", "get_db")]


def test_memoized_functions_and_what_only_they_call_run_once() -> None:
    idx = index()
    assert idx.request_path("app.db", "cached") is None
    assert idx.request_path("app.db", "make_cached") is None
    assert idx.request_path("app.db", "cached_dependency") is None


def test_a_function_keeping_results_in_a_global_runs_but_is_not_followed() -> None:
    idx = index()
    assert idx.request_path("app.db", "lazy") == [("app.db", "get_db"), ("app.db", "lazy")]
    assert idx.request_path("app.db", "make_lazy") is None


def test_functions_no_route_reaches_have_no_path() -> None:
    assert index().request_path("app.db", "never_called") is None
    assert index().request_path("app.db", "missing") is None
