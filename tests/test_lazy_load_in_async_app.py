"""POL406 decides from the whole project whether its sessions are all AsyncSession."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict, List

import pytest
from click.testing import CliRunner

from poollint.cli import main
from poollint.facts import collect_facts
from poollint.rules import RULES_BY_CODE
from poollint.testing import lint_sources

RULE = RULES_BY_CODE["POL406"]

MODELS = """\
from sqlalchemy.orm import Mapped, relationship

from app.db import Base


class Author(Base):
    __tablename__ = "authors"
    books: Mapped[list["Book"]] = relationship(back_populates="author")
"""

ASYNC_DB = """\
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

engine = create_async_engine("postgresql+asyncpg://app@db/books")
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass
"""


def _findings(sources: Dict[str, str]) -> List[str]:
    results = lint_sources(sources, [RULE])
    return [f"{name}:{d.line}: {d.message}" for name, r in results.items() for d in r.diagnostics]


def test_an_all_async_project_is_flagged_and_the_message_says_why() -> None:
    (finding,) = _findings({"app/db.py": ASYNC_DB, "app/models.py": MODELS})
    assert finding.startswith("app/models.py:8: relationship `Author.books` loads lazily")
    assert "async session factory `SessionLocal` in app/db.py:5" in finding


# Each makes a sync session, factory or engine somewhere else in the project
# (or may: a call that does not resolve): lazy loading may be what it relies on.
SYNC_ELSEWHERE = {
    "create_engine in a migration helper": (
        "from sqlalchemy import create_engine\n\nsync_engine = create_engine('postgresql://app@db/books')\n"
    ),
    "a Session in a function": (
        "from sqlalchemy.orm import Session\n\nfrom app.db import engine\n\n\n"
        "def report():\n    with Session(engine.sync_engine) as db:\n        return db.scalar('select 1')\n"
    ),
    "a Session in a lambda": (
        "from sqlalchemy import orm\n\nmake = lambda engine: orm.Session(engine)\n"
    ),
    "a sessionmaker in a class body": (
        "from sqlalchemy.orm import sessionmaker\n\n\nclass Jobs:\n    factory = sessionmaker()\n"
    ),
    "a sessionmaker nested in scoped_session": (
        "from sqlalchemy.orm import scoped_session, sessionmaker\n\nregistry = scoped_session(sessionmaker())\n"
    ),
    "a sessionmaker with options that may name the class": (
        "from sqlalchemy.orm import sessionmaker\n\nfrom app.config import OPTIONS\n\n"
        "def factory():\n    return sessionmaker(**OPTIONS)\n"
    ),
    "a create_engine imported inside a function": (
        "def engine_for(url):\n    from sqlalchemy import create_engine as make\n\n    return make(url)\n"
    ),
    "a create_engine from a star import": "from sqlalchemy import *\n\nengine = create_engine('sqlite://')\n",
    "SQLAlchemy 1.4's future create_engine": (
        "from sqlalchemy.future import create_engine\n\nengine = create_engine('sqlite://')\n"
    ),
    "a subclass of Session": (
        "from sqlalchemy.orm import Session\n\n\nclass AuditedSession(Session):\n    pass\n"
    ),
    "SQLModel's sync Session": (
        "from sqlmodel import Session\n\nfrom app.db import engine\n\n\ndef seed():\n"
        "    with Session(engine) as db:\n        db.commit()\n"
    ),
    "AsyncAttrs on a base elsewhere": (
        "from sqlalchemy.ext.asyncio import AsyncAttrs\n\n\nclass Awaitable(AsyncAttrs):\n    pass\n"
    ),
}


@pytest.mark.parametrize("other", list(SYNC_ELSEWHERE.values()), ids=list(SYNC_ELSEWHERE))
def test_a_mixed_project_is_left_alone(other: str) -> None:
    assert _findings({"app/db.py": ASYNC_DB, "app/models.py": MODELS, "app/other.py": other}) == []


TEST_CODE = {
    "a sync engine that creates the test database": (
        "from sqlalchemy import create_engine, text\n\n\ndef create_database():\n"
        "    with create_engine('postgresql://app@db/postgres').connect() as conn:\n"
        "        conn.execute(text('CREATE DATABASE test'))\n",
        1,
    ),
    "a sync Session in a test": (
        "from sqlalchemy.orm import Session\n\n\ndef test_books(sync_engine):\n"
        "    with Session(sync_engine) as db:\n        assert db.get(Author, 1).books\n",
        0,
    ),
}


@pytest.mark.parametrize("other, count", list(TEST_CODE.values()), ids=list(TEST_CODE))
def test_test_code_counts_for_its_sessions_only(other: str, count: int) -> None:
    sources = {"app/db.py": ASYNC_DB, "app/models.py": MODELS, "tests/conftest.py": other}
    assert len(_findings(sources)) == count


def test_async_sessions_of_the_test_suite_alone_make_no_project_async() -> None:
    conftest = (
        "from sqlalchemy.ext.asyncio import async_sessionmaker\n\nTestSession = async_sessionmaker()\n"
    )
    base = "from sqlalchemy.orm import DeclarativeBase\n\n\nclass Base(DeclarativeBase):\n    pass\n"
    assert _findings({"app/db.py": base, "app/models.py": MODELS, "tests/conftest.py": conftest}) == []


def test_a_project_without_sessions_is_left_alone() -> None:
    engine_only = "from sqlalchemy.ext.asyncio import create_async_engine\n\nengine = create_async_engine('sqlite+aiosqlite://')\n"
    assert _findings({"app/db.py": engine_only + "\nfrom sqlalchemy.orm import DeclarativeBase as Base\n", "app/models.py": MODELS}) == []
    assert _findings({"app/models.py": MODELS}) == []


def test_async_sessions_made_in_functions_count() -> None:
    db = (
        "from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine\n"
        "from sqlalchemy.orm import DeclarativeBase\n\n"
        "engine = create_async_engine('postgresql+asyncpg://app@db/books')\n\n\n"
        "class Base(DeclarativeBase):\n    pass\n\n\n"
        "async def get_db():\n    async with AsyncSession(engine) as db:\n        yield db\n"
    )
    (finding,) = _findings({"app/db.py": db, "app/models.py": MODELS})
    assert "(AsyncSession() in app/db.py;" in finding
    factory = db + "\n\ndef factory():\n    from sqlalchemy import orm\n\n    return orm.sessionmaker(engine, class_=AsyncSession)\n"
    (finding,) = _findings({"app/db.py": factory, "app/models.py": MODELS})
    assert "(an async session factory in app/db.py;" in finding


def test_look_alike_sessions_and_mentions_do_not_count_as_sync() -> None:
    other = (
        '"""Unlike create_engine(url) or Session(engine), this module only speaks HTTP."""\n'
        "import requests\n\nhttp = requests.Session()\n\n\n"
        "def create_engine_report():\n    return http.get('https://example.com')\n"
    )
    assert len(_findings({"app/db.py": ASYNC_DB, "app/models.py": MODELS, "app/http.py": other})) == 1


def test_session_uses_are_gathered_wherever_the_call_is() -> None:
    def uses(source: str) -> frozenset:
        return collect_facts(source.encode(), "m", "m.py").session_uses

    assert uses("from sqlalchemy.ext.asyncio import async_sessionmaker as maker\nS = maker()\n") == {"async_factory"}
    assert uses("from sqlalchemy.orm import sessionmaker\n\n\nclass C:\n    f = sessionmaker()\n") == {"sync_factory"}
    assert uses("import sqlalchemy as sa\n\n\ndef f(e=sa.create_engine('sqlite://')):\n    pass\n") == {"sync_engine"}
    assert uses("def f(sessionmaker):\n    return sessionmaker()\n") == {"unknown"}
    # A project's own wrapper named create_engine is judged by its body.
    assert uses("def create_engine(url):\n    return url\n\n\nengine = create_engine('x')\n") == frozenset()
    assert uses("x = 1\n") == frozenset()


def _check(*args: str) -> str:
    result = CliRunner().invoke(main, ["check", "-j1", "--exit-zero", "--select", "POL406", *args, "."])
    assert result.exit_code == 0, result.output
    return result.output


def test_cached_findings_follow_a_sync_session_added_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "books"
    shutil.copytree(Path(__file__).parent / "fixtures" / "async_sqlalchemy" / "POL406_cross_module", root)
    (root / "pyproject.toml").write_text("[tool.poollint]\n")
    monkeypatch.chdir(root)
    monkeypatch.delenv("POOLLINT_CACHE_DIR", raising=False)
    cold = _check()
    assert cold.count("POL406") == 3
    (root / "app" / "reports.py").write_text(
        "from sqlalchemy.orm import Session\n\nfrom app.db import engine\n\n\n"
        "def nightly():\n    with Session(engine.sync_engine) as db:\n        return db.scalar('select 1')\n"
    )
    assert "POL406" not in _check()
    (root / "app" / "reports.py").unlink()
    assert _check() == cold
