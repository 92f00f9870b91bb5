"""The gates (gate.py) only ever skip work: with them off, nothing new is found."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Tuple

import pytest

import poollint.engine as engine_module
from poollint.engine import FixRequest
from poollint.gate import SourceView
from poollint.rules import ALL_RULES
from poollint.testing import Fixture, lint_sources

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def _projects() -> List[Path]:
    found = [ROOT / "examples" / "shop", FIXTURES / "project"]
    for family in sorted(p for p in FIXTURES.iterdir() if p.is_dir() and p.name != "project"):
        found.extend(sorted(e for e in family.iterdir() if e.name.startswith("POL") and (e.suffix == ".py" or e.is_dir())))
    return found


def _findings(fixture: Fixture) -> List[Tuple[str, int, int, str, str]]:
    results = lint_sources(fixture.sources, ALL_RULES, fix=FixRequest())
    return sorted((name, d.line, d.column, d.code, d.message) for name, r in results.items() for d in r.diagnostics)


@pytest.mark.parametrize("path", _projects(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_rule_finds_the_same_with_the_gates_off(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fixture = Fixture.load(path)
    gated = _findings(fixture)
    monkeypatch.setattr(engine_module, "GATES", False)
    assert _findings(fixture) == gated


def test_called_names_include_the_real_name_of_an_alias() -> None:
    from poollint.facts import collect_facts

    source = b"from time import sleep as snooze\n\nasync def f():\n    snooze(1)\n"
    view = SourceView(source, collect_facts(source, "m", "m.py"))
    assert {"snooze", "sleep"} <= view.called
    assert view.has_async_def


def test_gates_skip_library_code_that_only_mentions_the_names() -> None:
    source = (
        b'"""Connect with create_engine("postgresql://scott:tiger@localhost/test")."""\n'
        b"import time\n\n\ndef later():\n    time.sleep(1)\n"
    )
    view = SourceView(source, None)
    assert not view.has_async_def  # the blocking rules need an async def
    assert "create_engine" in view.called  # a docstring still opens the engine gate: a superset
    results = lint_sources({"lib.py": source.decode()}, ALL_RULES)
    assert results["lib.py"].diagnostics == []


def test_pass_one_sees_calls_and_urls_outside_docstrings_only() -> None:
    from poollint.facts import collect_facts

    documented = collect_facts(
        b'"""Use create_engine("postgresql://app:pw@db/shop")."""\n\n\ndef f():\n    """sessionmaker(bind=e)"""\n',
        "m",
        "m.py",
    )
    assert documented.gate_calls == frozenset() and not documented.database_url
    real = collect_facts(
        b"from sqlalchemy import create_engine as make\n\nengine = make(f'postgresql://app:{pw}@db/shop')\n",
        "m",
        "m.py",
    )
    assert real.gate_calls == {"create_engine"} and real.database_url


def test_a_bug_while_reading_facts_is_an_internal_error_not_a_decode_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import poollint.facts as facts_module
    from poollint.engine import read_facts

    def broken(*args: object) -> None:
        raise IndexError("no such group")

    monkeypatch.setattr(facts_module, "_gate_facts", broken)
    result = read_facts(Path("m.py"), None, b"x = 1\n")
    assert result.error is not None and result.error.code == "POL904"
    assert "IndexError" in result.error.message


def _live_codes(sources: dict, name: str) -> List[str]:
    from poollint.engine import live_rules, read_facts
    from poollint.project import ProjectIndex

    root = Path("/virtual")
    facts = {n: read_facts(root / n, root, text.encode()) for n, text in sources.items()}
    index = ProjectIndex(f.facts for f in facts.values() if f.facts is not None)
    return [rule.CODE for rule in live_rules(sources[name].encode(), facts[name].facts, ALL_RULES, index)]


LEAK_RULES = {"POL201", "POL202", "POL203", "POL204", "POL206"}


def test_leak_rules_skip_a_file_that_creates_no_session_or_connection() -> None:
    # Library code: sessions and connections are parameters, `Session` an
    # annotation, and nothing in the project creates an engine at module
    # level, so `conn.begin()` cannot be a checkout poollint knows of.
    sources = {
        "lib.py": (
            "from sqlalchemy import Connection\n"
            "from sqlalchemy.orm import Session\n\n\n"
            "def run(db: Session, conn: Connection) -> None:\n"
            "    conn.begin()\n"
            "    db.execute('select 1')\n"
        ),
        "factory.py": (
            "from sqlalchemy import create_engine\n\n\n"
            "def make(url):\n"
            "    return create_engine(url).connect()\n"
        ),
    }
    assert LEAK_RULES.isdisjoint(_live_codes(sources, "lib.py"))
    assert "POL206" not in _live_codes(sources, "factory.py")
    assert lint_sources(sources, ALL_RULES)["lib.py"].diagnostics == []


def test_leak_rules_run_where_an_alias_of_a_project_factory_or_engine_is_called() -> None:
    sources = {
        "app/db.py": (
            "from sqlalchemy import create_engine\n"
            "from sqlalchemy.orm import sessionmaker\n\n"
            "engine = create_engine('postgresql://db/app', pool_size=5, max_overflow=10, pool_recycle=1800, pool_pre_ping=True)\n"
            "SessionLocal = sessionmaker(bind=engine)\n"
        ),
        "app/jobs.py": (
            "from app.db import SessionLocal as Maker\n"
            "from app.db import engine as e\n\n\n"
            "def purge():\n"
            "    db = (Maker)()\n"
            "    db.execute('delete from carts')\n"
            "    db.close()\n\n\n"
            "def count():\n"
            "    conn = e.connect()\n"
            "    total = conn.execute('select count(*) from carts')\n"
            "    conn.close()\n"
            "    return total\n"
        ),
    }
    assert {"POL201", "POL206"} <= set(_live_codes(sources, "app/jobs.py"))
    codes = sorted(d.code for d in lint_sources(sources, ALL_RULES)["app/jobs.py"].diagnostics)
    assert codes == ["POL201", "POL206"]


@pytest.mark.parametrize(
    "source, database_url, password_url",
    [
        ('"""Connect to postgresql://scott:tiger@localhost/test."""\n', False, False),
        ('URL = "postgresql://app@db/shop"\n', True, False),
        ('URL = "postgresql://app:{password}@db/shop"\n', True, False),
        ('URL = (\n    "postgresql://app:"\n    "s3cret@db/shop"\n)\n', True, True),
        ('URL = f"postgresql://{user}:{password}@db/shop"\n', True, True),
        (
            "class Settings:\n    '''Settings.'''\n\n    def url(self):\n"
            "        if self.local:\n            return 'mysql+pymysql://root:changeme@localhost/shop'\n"
            "        return self.remote\n",
            True,
            True,
        ),
        pytest.param(
            "match x:\n    case 1:\n        url = 'postgresql://app:pw@db/shop'\n",
            True,
            True,
            marks=pytest.mark.skipif(sys.version_info < (3, 10), reason="match needs Python 3.10"),
        ),
    ],
)
def test_pass_one_tells_which_database_urls_may_carry_a_password(
    source: str, database_url: bool, password_url: bool
) -> None:
    from poollint.facts import collect_facts

    facts = collect_facts(source.encode(), "m", "m.py")
    assert (facts.database_url, facts.password_url) == (database_url, password_url)
