"""Programs the fuzzer (test_fuzz.py) found poollint mishandling, as plain examples."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from poollint.cli import main
from poollint.diagnostic import FixRequest
from poollint.rules import ALL_RULES
from poollint.testing import fixed_text, lint_source


def test_non_ascii_aliases_are_checked_like_any_other() -> None:
    # The alias of create_engine was decoded as ASCII (an internal error,
    # POL904), and the gates did not see non-ASCII names called (no finding).
    source = (
        "from sqlalchemy import create_engine as données, create_engine as élan\n"
        'engine = données("postgresql://db/app")\n'
        'other = élan("postgresql://db/app")\n'
    )
    result = lint_source(source, ALL_RULES)
    assert [(d.code, d.line) for d in result.diagnostics] == [("POL301", 2), ("POL301", 3)]


def test_a_non_ascii_alias_of_sleep_is_found_and_fixed() -> None:
    source = "from time import sleep as siesta_é\n\nasync def handler():\n    siesta_é(1)\n"
    result = lint_source(source, ALL_RULES, fix=FixRequest(apply=True))
    assert "await asyncio.sleep(1)" in fixed_text(result, source)


CASCADE = """\
from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import sessionmaker

engine = create_async_engine(
    "postgresql+asyncpg://db/app", pool_size=5, max_overflow=10, pool_recycle=1800, pool_pre_ping=True
)
SessionLocal = sessionmaker(engine)
app = FastAPI()


async def get_db():
    db = SessionLocal()
    yield db
    await db.close()


@app.get("/")
async def index(db=Depends(get_db)):
    return None
"""


def test_a_fix_that_the_fixed_project_makes_possible_is_applied_in_the_same_run(tmp_path: Path) -> None:
    # POL405's fix makes SessionLocal an async_sessionmaker; only then may
    # POL202's fix write `async with`. The project index of the run still
    # said sync, so a second --fix changed the file again.
    (tmp_path / "app.py").write_text(CASCADE)
    first = CliRunner().invoke(main, ["check", str(tmp_path), "--fix", "--unsafe-fixes", "--no-cache", "-j1"])
    assert "(3 fixed, 0 remaining)" in first.stdout, first.stdout
    fixed = (tmp_path / "app.py").read_text()
    assert "    async with SessionLocal() as db:\n        yield db\n" in fixed
    second = CliRunner().invoke(main, ["check", str(tmp_path), "--fix", "--unsafe-fixes", "--no-cache", "-j1"])
    assert second.exit_code == 0 and "fixed" not in second.stdout, second.stdout
    assert (tmp_path / "app.py").read_text() == fixed


def test_diff_shows_the_fixes_the_fixed_project_makes_possible(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(CASCADE)
    result = CliRunner().invoke(main, ["check", str(tmp_path), "--diff", "--unsafe-fixes", "--no-cache", "-j1"])
    assert "+    async with SessionLocal() as db:" in result.stdout
    assert (tmp_path / "app.py").read_text() == CASCADE


def test_a_later_fix_that_cannot_be_written_leaves_the_first_ones(tmp_path: Path, monkeypatch) -> None:
    from poollint import runner
    from poollint.config import Settings
    from poollint.writer import WriteError

    target = tmp_path / "app.py"
    target.write_text(CASCADE)
    writes = []

    def write_once(path, data):  # type: ignore[no-untyped-def]
        if writes:
            raise WriteError("cannot write fixes: No space left on device")
        writes.append(data)
        path.write_bytes(data)

    monkeypatch.setattr(runner, "write_atomic", write_once)
    settings = Settings(project_root=tmp_path, config_path=None)
    result = runner.run([target], settings, ALL_RULES, FixRequest(apply=True, unsafe=True))
    assert target.read_bytes() == writes[0], "the file holds the first pass's fixes"
    assert "async_sessionmaker(engine, expire_on_commit=False)" in target.read_text()
    (file_result,) = result.files
    assert file_result.warnings == [f"{target}: cannot write fixes: No space left on device"]
    assert file_result.fixed_source == writes[0] and file_result.fixed == 2
    assert [d.code for d in file_result.diagnostics] == ["POL202"], "what is on disk is still wrong"
