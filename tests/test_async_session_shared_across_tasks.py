"""POL403 cases that need syntax newer than Python 3.9, which fixtures cannot hold."""

from __future__ import annotations

import sys

import pytest

from poollint.rules.async_sqlalchemy.async_session_shared_across_tasks import AsyncSessionSharedAcrossTasks
from poollint.testing import lint_source

HEADER = """
import asyncio
from sqlalchemy.ext.asyncio import AsyncSession
"""


@pytest.mark.skipif(sys.version_info < (3, 10), reason="match statements need Python 3.10")
def test_match_cases_never_run_together() -> None:
    source = HEADER + """
async def audit(db: AsyncSession, mode: str):
    match mode:
        case "background":
            asyncio.create_task(write_audit(db))
            return
        case _:
            await write_audit(db)
    await db.commit()
"""
    assert lint_source(source, [AsyncSessionSharedAcrossTasks]).diagnostics == []


@pytest.mark.skipif(sys.version_info < (3, 10), reason="match statements need Python 3.10")
def test_a_task_started_in_a_case_still_runs_after_the_match() -> None:
    source = HEADER + """
async def audit(db: AsyncSession, mode: str):
    match mode:
        case "background":
            asyncio.create_task(write_audit(db))
        case _:
            await write_audit(db)
    await db.commit()
"""
    lines = [d.line for d in lint_source(source, [AsyncSessionSharedAcrossTasks]).diagnostics]
    assert lines == [source.splitlines().index("    await db.commit()") + 1]
