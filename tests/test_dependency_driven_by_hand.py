"""POL210's pieces the fixtures do not show one by one: which generators have
cleanup that closing them runs (a pass-1 fact), and when the fix is offered."""

from __future__ import annotations

import textwrap

from poollint.engine import FixRequest
from poollint.facts import collect_facts
from poollint.rules import RULES_BY_CODE
from poollint.testing import lint_source, lint_sources

POL210 = RULES_BY_CODE["POL210"]


def _cleanup_generators(source: str):
    return set(collect_facts(textwrap.dedent(source).encode(), "m", "m.py").cleanup_generators)


def test_a_yield_in_a_with_block_or_a_try_with_finally_has_cleanup() -> None:
    found = _cleanup_generators(
        """
        def in_with():
            with make() as db:
                yield db

        async def in_async_with_under_a_loop():
            async with make() as db:
                for _ in range(1):
                    yield db

        def in_try_finally():
            db = make()
            try:
                yield db
            finally:
                db.close()

        def in_a_handler_of_a_try_with_finally():
            try:
                pass
            except ValueError:
                yield 1
            finally:
                pass

        class Holder:
            def method(self):
                with make() as db:
                    yield db
        """
    )
    assert found == {
        "in_with",
        "in_async_with_under_a_loop",
        "in_try_finally",
        "in_a_handler_of_a_try_with_finally",
        "Holder.method",
    }


def test_code_after_the_yield_or_a_bare_except_is_no_cleanup() -> None:
    found = _cleanup_generators(
        """
        def closes_after_the_yield():
            db = make()
            yield db
            db.close()

        def only_except():
            try:
                yield make()
            except Exception:
                raise

        def in_with_but_nested():
            with make() as db:
                def inner():
                    yield db
                return inner

        def not_a_generator():
            with make() as db:
                return db
        """
    )
    assert found == set()


_DB = """
from fastapi import Depends
from sqlalchemy.ext.asyncio import async_sessionmaker

SessionLocal = async_sessionmaker()


async def get_db():
    async with SessionLocal() as db:
        yield db


async def route(db=Depends(get_db)):
    return db
"""


def test_the_async_fix_needs_aclosing_imported_in_the_module() -> None:
    # `import contextlib` says nothing about the Python the project targets;
    # only an import of contextlib.aclosing does.
    loop = "\n\nasync def get_repo():\n    async for db in get_db():\n        yield db\n"
    for header, fixed in (
        ("import contextlib\n", False),
        ("from contextlib import aclosing\n", True),
        ("from contextlib import aclosing as ac\n", True),
    ):
        result = lint_source(header + _DB + loop, [POL210], fix=FixRequest(apply=True))
        assert (result.fixed_source is not None) == fixed, header


def test_a_name_taken_in_a_nested_function_is_not_reused() -> None:
    source = (
        "from contextlib import aclosing\n"
        + _DB
        + "\n\nasync def get_repo():\n    async for db in get_db():\n        yield db\n\n"
        + "    def helper():\n        return sessions\n"
    )
    result = lint_source(source, [POL210], fix=FixRequest(apply=True))
    assert result.fixed_source is not None
    assert "as sessions_2:" in result.fixed_source.decode()


def test_the_message_names_the_driver_the_dependency_and_where_it_is_defined() -> None:
    results = lint_sources(
        {
            "app/__init__.py": "",
            "app/db.py": _DB,
            "app/jobs.py": "from app.db import get_db as sessions\n\n\nasync def job():\n    db = await anext(sessions())\n",
        },
        [POL210],
    )
    [finding] = results["app/jobs.py"].diagnostics
    assert finding.message.startswith(
        "async function job drives the session dependency get_db (app/db.py:8) by hand (`anext()`)"
    )
