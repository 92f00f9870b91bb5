"""`poollint check --add-noqa[=REASON]`: placing, merging, idempotence, encodings, what is skipped."""

from __future__ import annotations

import ast
import os
import stat
from pathlib import Path

import pytest
from clirunner import cli_runner as _runner

from poollint.cli import main

BLOCKING = """\
import time

import requests


async def handler():
    time.sleep(1)
    requests.get("https://example.com")
    return 1
"""



def invoke(*args: str):
    return _runner().invoke(main, ["check", "--no-cache", "-j1", *args], catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_finding_gets_a_directive_and_the_project_then_checks_clean(project: Path) -> None:
    (project / "app.py").write_text(BLOCKING)
    result = invoke("--add-noqa", ".")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr.strip() == "Added 2 noqa directives to 1 file."
    assert (project / "app.py").read_text() == BLOCKING.replace(
        "time.sleep(1)", "time.sleep(1)  # noqa: POL101"
    ).replace('.com")', '.com")  # noqa: POL102')
    assert invoke(".").exit_code == 0


def test_running_it_again_adds_nothing(project: Path) -> None:
    (project / "app.py").write_text(BLOCKING)
    invoke("--add-noqa", ".")
    before = (project / "app.py").read_bytes()
    again = invoke("--add-noqa", ".")
    assert again.exit_code == 0
    assert again.stderr == ""  # as ruff: nothing added, nothing said
    assert (project / "app.py").read_bytes() == before


def test_a_bare_add_noqa_does_not_take_the_next_path_for_its_reason(project: Path) -> None:
    (project / "app").mkdir()
    (project / "app" / "views.py").write_text(BLOCKING)
    assert invoke("--add-noqa", "app").exit_code == 0
    assert "# noqa: POL101\n" in (project / "app" / "views.py").read_text()


def test_reason_follows_the_codes(project: Path) -> None:
    (project / "app.py").write_text(BLOCKING)
    assert invoke("--add-noqa=adopted in one go, see #12", ".").exit_code == 0
    assert "time.sleep(1)  # noqa: POL101 adopted in one go, see #12\n" in (project / "app.py").read_text()


def test_merges_with_an_existing_directive_and_keeps_other_comments(project: Path) -> None:
    source = (
        BLOCKING.replace("time.sleep(1)", "time.sleep(1)  # noqa: E501 long line")
        .replace('.com")', '.com")  # type: ignore[attr-defined]')
        .replace("async def handler():", "async def handler():  # noqa: ASYNC910")
    )
    (project / "app.py").write_text(source)
    assert invoke("--add-noqa=legacy", ".").exit_code == 0
    text = (project / "app.py").read_text()
    assert "time.sleep(1)  # noqa: E501, POL101 long line\n" in text  # the user's reason stays
    assert '.com")  # type: ignore[attr-defined]  # noqa: POL102 legacy\n' in text
    assert "async def handler():  # noqa: ASYNC910\n" in text  # no finding there: untouched


def test_several_codes_on_one_line_share_one_directive(project: Path) -> None:
    (project / "app.py").write_text(
        "import time\n\nimport requests\n\n\nasync def handler():\n"
        '    time.sleep(1); requests.get("https://example.com")\n'
    )
    assert invoke("--add-noqa", ".").exit_code == 0
    assert '.com")  # noqa: POL101, POL102\n' in (project / "app.py").read_text()
    assert invoke(".").exit_code == 0


def test_lines_that_cannot_end_in_a_comment_use_the_line_where_they_end(project: Path) -> None:
    source = (
        "import time\n\n\n"
        "async def handler():\n"
        '    text = str(time.sleep(1)) + """\n'
        '    more"""\n'
        "    x = time.sleep(2) or \\\n"
        "        3\n"
        "    print(time.sleep(3),\n"
        "          4)\n"
        "    return text, x\n"
    )
    (project / "app.py").write_text(source)
    assert invoke("--add-noqa", ".").exit_code == 0
    text = (project / "app.py").read_text()
    assert '    more"""  # noqa: POL101\n' in text
    assert "        3  # noqa: POL101\n" in text
    assert "    print(time.sleep(3),  # noqa: POL101\n" in text
    assert ast.dump(ast.parse(text)) == ast.dump(ast.parse(source))
    assert invoke(".").exit_code == 0


def test_keeps_encoding_bom_and_line_endings(project: Path) -> None:
    latin = "# -*- coding: latin-1 -*-\r\n" + BLOCKING.replace("\n", "\r\n")
    latin = latin.replace("return 1", "return 'caf\u00e9'")
    (project / "latin.py").write_bytes(latin.encode("latin-1"))
    bom = "\ufeff" + BLOCKING.replace("return 1", "return '\u00e9t\u00e9'")
    (project / "bom.py").write_bytes(bom.encode("utf-8"))
    assert invoke("--add-noqa=d\u00e9j\u00e0 vu", ".").exit_code == 0
    latin_after = (project / "latin.py").read_bytes()
    assert b"time.sleep(1)  # noqa: POL101 d\xe9j\xe0 vu\r\n" in latin_after
    assert latin_after.count(b"\r\n") == latin.count("\r\n") and b"\r\r" not in latin_after
    bom_after = (project / "bom.py").read_bytes()
    assert bom_after.startswith(b"\xef\xbb\xbf") and "time.sleep(1)  # noqa: POL101 déjà vu\n".encode() in bom_after
    assert invoke(".").exit_code == 0


def test_a_reason_the_encoding_cannot_hold_leaves_the_file_alone(project: Path) -> None:
    latin = "# -*- coding: latin-1 -*-\n" + BLOCKING
    (project / "app.py").write_bytes(latin.encode("latin-1"))
    result = invoke("--add-noqa=\u2192 later", ".")
    assert result.exit_code == 1
    assert (project / "app.py").read_bytes() == latin.encode("latin-1")
    assert "app.py: no noqa comments added: the reason cannot be written in the file's encoding" in result.stderr
    assert result.stdout.count(": POL10") == 2  # still listed


def test_files_that_cannot_take_a_comment_are_listed(project: Path) -> None:
    (project / "app.py").write_text(BLOCKING)
    (project / "broken.py").write_text("def f(:\n")
    result = invoke("--add-noqa", ".")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["broken.py:1:7: POL903 syntax error: invalid syntax"]
    assert "Added 2 noqa directives to 1 file." in result.stderr
    assert "1 finding could not take a noqa comment (listed above): poollint could not check the file." in (
        result.stderr
    )
    assert invoke("--add-noqa", "--exit-zero", ".").exit_code == 0


def test_a_read_only_file_is_reported_not_crashed_on(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = project / "app.py"
    path.write_text(BLOCKING)
    path.chmod(stat.S_IRUSR)
    if os.access(path, os.W_OK):  # root may write anyway: let the writer see what a user would
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: mode != os.W_OK and real_access(p, mode, **kw))
    try:
        result = invoke("--add-noqa", ".")
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert result.exit_code == 1
    assert "app.py: cannot add noqa comments: the file is read-only" in result.stderr
    assert path.read_text() == BLOCKING


@pytest.mark.parametrize("other", ["--fix", "--diff", "--write-baseline=b.json"])
def test_cannot_be_combined_with_writing_options(project: Path, other: str) -> None:
    (project / "app.py").write_text(BLOCKING)
    result = invoke("--add-noqa", other, ".")
    assert result.exit_code == 2
    assert result.stderr.startswith("poollint: error: --add-noqa cannot be used with --")
    assert (project / "app.py").read_text() == BLOCKING


def test_a_reason_on_several_lines_is_refused(project: Path) -> None:
    result = invoke("--add-noqa=one\ntwo", ".")
    assert result.exit_code == 2
    assert result.stderr == "poollint: error: the --add-noqa reason must be on one line\n"


DEPLOYMENT = {
    "app/__init__.py": "",
    "app/db.py": (
        "from sqlalchemy import create_engine\n"
        "from sqlalchemy.orm import sessionmaker\n\n"
        'engine = create_engine("postgresql+psycopg2://app@db/shop", pool_size=2, max_overflow=1, '
        "pool_recycle=1800, pool_pre_ping=True)\n"
        "SessionLocal = sessionmaker(engine)\n"
    ),
    "app/deps.py": (
        "from .db import SessionLocal\n\n\n"
        "def get_db():\n"
        "    with SessionLocal() as db:\n"
        "        yield db\n"
    ),
    "app/main.py": (
        "from fastapi import Depends, FastAPI\n\nfrom .deps import get_db\n\napp = FastAPI()\n\n\n"
        '@app.get("/orders")\ndef orders(db=Depends(get_db)):\n    return db.execute("select 1").all()\n'
    ),
}


def _deployment(project: Path, files: dict) -> None:
    for name, text in {**DEPLOYMENT, **files}.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_requirement_and_toml_files_take_a_comment_where_it_is_safe(project: Path) -> None:
    pyproject = (
        '[project]\nname = "shop"\ndependencies = [\n    "fastapi==0.78.0",  # for pydantic 1\n'
        '    "sqlalchemy>=1.4",\n]\n\n[tool.poollint]\n'
    )
    requirements = "fastapi==0.78.0\nsqlalchemy==1.4.41\nfastapi<0.80 \\\n    --hash=sha256:abc\n"
    _deployment(project, {"pyproject.toml": pyproject, "requirements.txt": requirements})
    result = invoke("--select", "POL311", "--add-noqa", ".")
    assert result.exit_code == 1
    assert (project / "pyproject.toml").read_text() == pyproject.replace(
        "# for pydantic 1", "# for pydantic 1  # noqa: POL311"
    )
    # A requirement continued onto the next line cannot end in a comment.
    assert (project / "requirements.txt").read_text() == requirements.replace(
        "fastapi==0.78.0\n", "fastapi==0.78.0  # noqa: POL311\n"
    )
    assert [line.split(":")[:2] for line in result.stdout.splitlines()] == [["requirements.txt", "3"]]
    assert "the requirement continues onto the next line" in result.stderr


def test_a_lock_file_is_left_alone(project: Path) -> None:
    lock = 'version = 1\n\n[[package]]\nname = "fastapi"\nversion = "0.78.0"\n'
    _deployment(project, {"uv.lock": lock, "pyproject.toml": '[project]\nname = "shop"\n\n[tool.poollint]\n'})
    result = invoke("--select", "POL311", "--add-noqa", ".")
    assert result.exit_code == 1
    assert (project / "uv.lock").read_text() == lock
    assert result.stdout.startswith("uv.lock:")
    assert "a lock file is regenerated" in result.stderr


def test_with_a_baseline_only_new_findings_get_a_directive(project: Path) -> None:
    (project / "app.py").write_text(BLOCKING)
    assert invoke("--write-baseline", "baseline.json", ".").exit_code == 0
    (project / "app.py").write_text(BLOCKING.replace("    return 1", "    time.sleep(2)\n    return 1"))
    assert invoke("--baseline", "baseline.json", "--add-noqa", ".").exit_code == 0
    text = (project / "app.py").read_text()
    assert "time.sleep(2)  # noqa: POL101\n" in text and "time.sleep(1)\n" in text
