"""editor.py, what the language server asks of the engine: positions in
UTF-16 units, minimal text edits, in-memory documents checked against the
project on disk, and fixes equal to what `poollint check --fix` writes.
Needs no pygls (tests/test_lsp.py drives the server itself)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

import pytest
from clirunner import cli_runner

from lsp_edits import apply_utf16_edits
from poollint.cli import main
from poollint.diagnostic import Diagnostic
from poollint.editor import (
    UTF8,
    UTF16,
    UTF32,
    DocumentError,
    Projects,
    Span,
    encode_document,
    finding_span,
    rule_url,
    split_lines,
    text_edits,
    units,
)

ROOT = Path(__file__).resolve().parent.parent

DB_CLEAN = '''\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite:///app.db")
SessionLocal = sessionmaker(bind=engine)


def get_db():
    with SessionLocal() as db:
        yield db
'''
DB_LEAKY = '''\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite:///app.db")
SessionLocal = sessionmaker(bind=engine)


def get_db():
    db = SessionLocal()
    yield db
    db.close()
'''
ROUTES = '''\
from fastapi import APIRouter, Depends

from app.db import get_db

router = APIRouter()


@router.get("/items")
def items(db=Depends(get_db)):
    return []
'''
SLEEPY = '''\
import time


async def ping():
    note = "café ☕ 😀"; time.sleep(1)
    return note


async def pong():
    time.sleep(2)
'''
EXPIRING = '''\
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine("postgresql+asyncpg://app@db/shop", pool_size=5, max_overflow=10, pool_recycle=1800, pool_pre_ping=True)
SessionLocal = async_sessionmaker(engine)
'''


def _project(root: Path, pyproject: Optional[str] = "[tool.poollint]\n", db: str = DB_CLEAN, routes: str = ROUTES) -> Path:
    (root / "app").mkdir(parents=True)
    if pyproject is not None:
        (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    (root / "app" / "__init__.py").write_text("", encoding="utf-8")
    (root / "app" / "db.py").write_text(db, encoding="utf-8")
    (root / "app" / "routes.py").write_text(routes, encoding="utf-8")
    return root


def _projects(*folders: Path, unsafe_fixes=None) -> Projects:
    projects = Projects(unsafe_fixes)
    projects.set_folders(list(folders))
    return projects


def _codes(findings: List[Diagnostic]) -> List[str]:
    return [finding.code for finding in findings]


def _check_fix(path: Path, data: bytes) -> bytes:
    """What `poollint check --fix` writes to `path` when it holds `data`."""
    path.write_bytes(data)
    runner = cli_runner()
    runner.invoke(main, ["check", "--fix", "--no-cache", str(path.parent)], catch_exceptions=False)
    return path.read_bytes()


def _apply(old: str, new: str) -> str:
    edits = text_edits(old, new)
    return apply_utf16_edits(
        old, [((s.start_line, s.start_character, s.end_line, s.end_character), text) for s, text in edits]
    )


# -- positions ------------------------------------------------------------------


def test_units_count_code_units_of_the_negotiated_encoding() -> None:
    assert (units("a😀é", UTF16), units("a😀é", UTF8), units("a😀é", UTF32)) == (4, 7, 3)


def test_lines_break_where_lsp_breaks_them() -> None:
    assert split_lines("a\r\nb\rc\nd\x0ce") == ["a", "b", "c", "d\x0ce"]


def test_a_finding_past_non_ascii_characters_is_placed_in_utf16_units() -> None:
    line = '    note = "café ☕ 😀"; time.sleep(1)'
    column = line.index("time") + 1
    finding = Diagnostic("POL101", "m", line=2, column=column, end_line=2, end_column=column + len("time.sleep(1)"))
    span = finding_span(finding, ["x", line])
    before = len(line[: column - 1].encode("utf-16-le")) // 2
    assert span == Span(1, before, 1, before + len("time.sleep(1)"))
    # The code point column differs from the UTF-16 one on this line.
    assert before != column - 1
    assert finding_span(finding, ["x", line], UTF32) == Span(1, column - 1, 1, column - 1 + 13)


def test_a_finding_without_an_end_runs_to_the_end_of_its_line() -> None:
    finding = Diagnostic("POL903", "syntax error", line=2, column=5)
    assert finding_span(finding, ["ok", "def f(:", ""]) == Span(1, 4, 1, 7)
    # Past the last line or the line's end: clamped into the document.
    assert finding_span(Diagnostic("POL903", "m", line=9, column=40), ["ab"]) == Span(0, 2, 0, 2)


def test_rule_urls_point_at_the_rule_pages_and_file_codes_have_none() -> None:
    assert rule_url("POL101").endswith("/docs/rules/POL101.md")
    assert (ROOT / "docs" / "rules" / "POL101.md").is_file()
    assert rule_url("POL903") is None


# -- text edits -----------------------------------------------------------------


@pytest.mark.parametrize(
    "old, new",
    [
        ("a\nb\nc\n", "a\nB\nc\n"),
        ("import time\n\nasync def f():\n    time.sleep(1)\n", "import time\nimport asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n"),
        ("x = 'é😀'; time.sleep(1)\r\ny = 2\r\n", "x = 'é😀'; await asyncio.sleep(1)\r\ny = 2\r\n"),
        ("a\r\nb\r\n", "a\r\nc\r\nb\r\n"),
        ("a\rb\r", "a\rX\rb\r"),
        ("no newline at the end", "no newline at the end\n"),
        ("line\n", "line"),
        ("", "something\n"),
        ("something\n", ""),
        ("a\nb\nc\nd\ne\n", "a\nB\nc\nD\ne\n"),
    ],
)
def test_text_edits_turn_the_old_text_into_the_new(old: str, new: str) -> None:
    assert _apply(old, new) == new


def test_text_edits_touch_only_what_changed() -> None:
    old = "import time\n\n\nasync def f():\n    x = 'é😀'; time.sleep(1)\n"
    new = "import time\nimport asyncio\n\n\nasync def f():\n    x = 'é😀'; await asyncio.sleep(1)\n"
    edits = text_edits(old, new)
    assert [text for _, text in edits] == ["import asyncio\n", "await asyncio"]
    # The second edit replaces `time` only, 15 UTF-16 units into its line (14 code points).
    assert edits[1][0] == Span(4, 15, 4, 19)
    assert text_edits(old, old) == []


def test_text_edits_never_split_a_crlf() -> None:
    old = "a\r\nb\r\n"
    for span, _ in text_edits(old, "a\r\nXb\r\n") + text_edits(old, "a\rb\r\n"):
        for line, character in ((span.start_line, span.start_character), (span.end_line, span.end_character)):
            assert character <= len(split_lines(old)[line])


# -- documents ------------------------------------------------------------------


def test_the_document_in_memory_is_checked_not_the_file_on_disk(tmp_path: Path) -> None:
    project = _project(tmp_path, db=DB_CLEAN)
    projects = _projects(project)
    db = project / "app" / "db.py"
    check = projects.check(db, DB_LEAKY)
    assert check is not None and _codes(check.findings) == ["POL202"]
    (project / "app" / "db.py").write_text(DB_LEAKY, encoding="utf-8")
    check = projects.check(db, DB_CLEAN)
    assert check is not None and check.findings == []


def test_the_rest_of_the_project_comes_from_disk_and_is_read_again_on_refresh(tmp_path: Path) -> None:
    project = _project(tmp_path)
    projects = _projects(project)
    db = project / "app" / "db.py"
    # get_db is a dependency because routes.py, on disk, names it in Depends().
    assert _codes(projects.check(db, DB_LEAKY).findings) == ["POL202"]  # type: ignore[union-attr]
    routes = project / "app" / "routes.py"
    routes.write_text("from fastapi import APIRouter\n\nrouter = APIRouter()\n", encoding="utf-8")
    # Only a refresh (an opened or saved document) reads the disk again.
    assert _codes(projects.check(db, DB_LEAKY).findings) == ["POL202"]  # type: ignore[union-attr]
    assert projects.check(db, DB_LEAKY, refresh=True).findings == []  # type: ignore[union-attr]
    # A file that appears on disk is found by the next refresh.
    (project / "app" / "other.py").write_text(ROUTES, encoding="utf-8")
    assert _codes(projects.check(db, DB_LEAKY, refresh=True).findings) == ["POL202"]  # type: ignore[union-attr]


def test_documents_as_on_disk_share_one_index_until_the_disk_changes(tmp_path: Path) -> None:
    project = _project(tmp_path, db=DB_LEAKY)
    projects = _projects(project)
    db, routes = project / "app" / "db.py", project / "app" / "routes.py"
    first = projects.check(db, DB_LEAKY)
    assert first is not None and _codes(first.findings) == ["POL202"]
    # Its project-wide tables are computed once for every unedited document.
    assert projects.check(routes, ROUTES).index is first.index  # type: ignore[union-attr]
    assert projects.check(db, DB_LEAKY + "\n").index is not first.index  # type: ignore[union-attr]
    routes.write_text("from fastapi import APIRouter\n\nrouter = APIRouter()\n", encoding="utf-8")
    again = projects.check(db, DB_LEAKY, refresh=True)
    assert again is not None and again.index is not first.index and again.findings == []


def test_without_a_configuration_the_workspace_folder_is_the_project(tmp_path: Path) -> None:
    project = _project(tmp_path / "ws", pyproject=None)
    db = project / "app" / "db.py"
    assert _codes(_projects(project).check(db, DB_LEAKY).findings) == ["POL202"]  # type: ignore[union-attr]
    # Outside every workspace folder the document stands alone, as `poollint check FILE` does.
    assert _projects().check(db, DB_LEAKY).findings == []  # type: ignore[union-attr]


def test_excluded_and_non_python_documents_are_not_checked(tmp_path: Path) -> None:
    project = _project(tmp_path, pyproject='[tool.poollint]\nextend-exclude = ["app/legacy"]\n')
    projects = _projects(project)
    assert projects.check(project / "app" / "legacy" / "db.py", DB_LEAKY) is None
    assert projects.check(project / "README.md", "time.sleep(1)\n", language_id="markdown") is None
    assert projects.check(project / "app" / "db.py", DB_LEAKY) is not None


def test_per_file_ignores_apply_to_the_document(tmp_path: Path) -> None:
    project = _project(tmp_path, pyproject='[tool.poollint.per-file-ignores]\n"app/db.py" = ["POL202"]\n')
    assert _projects(project).check(project / "app" / "db.py", DB_LEAKY).findings == []  # type: ignore[union-attr]


def test_what_ruff_reports_itself_is_left_to_it_as_check_does(tmp_path: Path) -> None:
    # requests.get() in an async function: ruff's ASYNC210, and poollint has no fix.
    text = "import requests\n\n\nasync def fetch():\n    return requests.get('https://example.com')\n"
    project = _project(tmp_path, pyproject='[tool.poollint]\n\n[tool.ruff.lint]\nselect = ["ASYNC"]\n')
    assert _projects(project).check(project / "app" / "fetch.py", text).findings == []  # type: ignore[union-attr]
    (project / "pyproject.toml").write_text('[tool.poollint]\n', encoding="utf-8")
    found = _projects(project).check(project / "app" / "fetch.py", text).findings  # type: ignore[union-attr]
    assert _codes(found) == ["POL102"]


def test_a_broken_configuration_is_one_line_naming_the_file(tmp_path: Path) -> None:
    project = _project(tmp_path, pyproject="[tool.poollint]\nselect = 5\n")
    with pytest.raises(DocumentError) as caught:
        _projects(project).check(project / "app" / "db.py", DB_LEAKY)
    message = str(caught.value)
    assert "pyproject.toml" in message and "select" in message and "\n" not in message


def test_a_quick_fix_writes_what_check_fix_writes_for_that_finding(tmp_path: Path) -> None:
    project = _project(tmp_path)
    db = project / "app" / "db.py"
    check = _projects(project).check(db, DB_LEAKY)
    assert check is not None
    (finding,) = check.findings
    fixed = check.fixed_by(finding)
    assert fixed is not None
    assert fixed.encode("utf-8") == _check_fix(db, DB_LEAKY.encode("utf-8"))
    assert _apply(DB_LEAKY, fixed) == fixed


def test_fix_all_writes_what_check_fix_writes(tmp_path: Path) -> None:
    project = _project(tmp_path)
    path = project / "app" / "ping.py"
    check = _projects(project).check(path, SLEEPY)
    assert check is not None and _codes(check.findings) == ["POL101", "POL101"]
    fixed = check.fixed_all()
    assert fixed is not None and fixed.count("await asyncio.sleep(") == 2
    assert fixed.encode("utf-8") == _check_fix(path, SLEEPY.encode("utf-8"))
    # Each quick fix fixes its own finding only.
    first, second = (check.fixed_by(finding) for finding in check.findings)
    assert first is not None and second is not None
    assert first.count("await asyncio.sleep(") == second.count("await asyncio.sleep(") == 1
    assert first != second


def test_fixes_keep_crlf_and_a_declared_encoding(tmp_path: Path) -> None:
    project = _project(tmp_path)
    path = project / "app" / "ping.py"
    text = "# -*- coding: latin-1 -*-\r\n" + SLEEPY.replace("☕ 😀", "déjà").replace("\n", "\r\n")
    data, codec = encode_document(text)
    assert codec == "iso-8859-1" and data == text.encode("latin-1")
    check = _projects(project).check(path, text)
    assert check is not None and _codes(check.findings) == ["POL101", "POL101"]
    fixed = check.fixed_all()
    assert fixed is not None and "\r\n" in fixed and "\n" not in fixed.replace("\r\n", "")
    assert fixed.encode("latin-1") == _check_fix(path, data)
    assert _apply(text, fixed) == fixed


def test_nothing_to_fix_gives_no_fixed_text(tmp_path: Path) -> None:
    project = _project(tmp_path)
    check = _projects(project).check(project / "app" / "db.py", DB_CLEAN)
    assert check is not None and check.fixed_all() is None


def test_unsafe_fixes_are_offered_only_when_enabled(tmp_path: Path) -> None:
    plain = _project(tmp_path / "plain")
    enabled = _project(tmp_path / "enabled", pyproject="[tool.poollint]\nunsafe-fixes = true\n")
    for projects, root, offered in (
        (_projects(plain), plain, False),
        (_projects(enabled), enabled, True),
        # `poollint server --unsafe-fixes` / `--no-unsafe-fixes` override the project.
        (_projects(plain, unsafe_fixes=True), plain, True),
        (_projects(enabled, unsafe_fixes=False), enabled, False),
    ):
        check = projects.check(root / "app" / "sessions.py", EXPIRING)
        assert check is not None
        (finding,) = [f for f in check.findings if f.code == "POL404"]
        assert check.offers_fix(finding) is offered
        assert (check.fixed_by(finding) is not None) is offered
        assert (check.fixed_all() is not None) is offered


# -- the command ----------------------------------------------------------------


def test_server_without_pygls_exits_2_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pygls", None)
    monkeypatch.setitem(sys.modules, "pygls.lsp.server", None)
    monkeypatch.delitem(sys.modules, "poollint.lsp", raising=False)
    runner = cli_runner()
    result = runner.invoke(main, ["server"])
    assert result.exit_code == 2
    assert result.stderr == "poollint: error: `poollint server` needs pygls, which is not installed: pip install 'poollint[lsp]'\n"


def test_check_never_imports_pygls(tmp_path: Path) -> None:
    _project(tmp_path)
    script = (
        "import sys\n"
        "from poollint.cli import main\n"
        "try:\n"
        f"    main(['check', '--no-cache', {str(tmp_path)!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('pygls', 'lsprotocol') or n == 'poollint.lsp'))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr
