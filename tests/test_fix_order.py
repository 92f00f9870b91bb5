"""Fixes of different rules that touch one function must compose, whatever runs first.

POL101 (await asyncio.sleep) and POL105 (async def -> def) both change an
async route with a time.sleep() and sync session I/O: with unsafe fixes the
route becomes a plain def and the sleep is then fine where it is; with safe
fixes only, the sleep gets its await and POL105 loses its fix but still speaks.
"""

from __future__ import annotations

import textwrap

from poollint.engine import FixRequest
from poollint.rules import RULES_BY_CODE
from poollint.testing import fixed_text, lint_source

SOURCE = textwrap.dedent(
    """
    import time

    from fastapi import Depends, FastAPI
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session, sessionmaker

    engine = create_engine("postgresql+psycopg://app@db/app")
    SessionLocal = sessionmaker(engine)
    app = FastAPI()


    def get_db():
        with SessionLocal() as db:
            yield db


    @app.post("/jobs")
    async def run_job(db: Session = Depends(get_db)):
        time.sleep(0.5)
        db.commit()
    """
).lstrip()

SLEEP_AND_SESSION = [RULES_BY_CODE["POL101"], RULES_BY_CODE["POL105"]]


def _fix(source: str, unsafe: bool, rules=SLEEP_AND_SESSION):
    result = lint_source(source, rules, fix=FixRequest(apply=True, unsafe=unsafe))
    assert result.warnings == []
    return result, fixed_text(result, source)


def test_unsafe_fixes_turn_the_route_into_def_and_leave_the_sleep_alone() -> None:
    for rules in (SLEEP_AND_SESSION, list(reversed(SLEEP_AND_SESSION))):
        result, fixed = _fix(SOURCE, unsafe=True, rules=rules)
        assert "\ndef run_job(" in fixed
        assert "    time.sleep(0.5)\n" in fixed
        assert "asyncio" not in fixed
        # Nothing is left to report: a sync def blocks a worker thread, not the loop.
        assert result.diagnostics == []
        again, refixed = _fix(fixed, unsafe=True, rules=rules)
        assert refixed == fixed and again.fixed_source is None


def test_safe_fixes_await_the_sleep_and_keep_reporting_the_session() -> None:
    for rules in (SLEEP_AND_SESSION, list(reversed(SLEEP_AND_SESSION))):
        result, fixed = _fix(SOURCE, unsafe=False, rules=rules)
        assert "\nasync def run_job(" in fixed
        assert "    await asyncio.sleep(0.5)\n" in fixed
        assert "import asyncio\n" in fixed
        remaining = [(d.code, d.fix_safety) for d in result.diagnostics]
        # The body now awaits: POL105 has no fix left, even an unsafe one.
        assert remaining == [("POL105", None)]
        again, refixed = _fix(fixed, unsafe=False, rules=rules)
        assert refixed == fixed and again.fixed_source is None


def test_safe_then_unsafe_does_not_undo_the_await() -> None:
    _, safe = _fix(SOURCE, unsafe=False)
    result, fixed = _fix(safe, unsafe=True)
    assert fixed == safe
    assert [d.code for d in result.diagnostics] == ["POL105"]
