"""A fix described as text edits (json, sarif) does exactly what --fix does with that one fix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Sequence

import pytest

from poollint.config import Settings
from poollint.diagnostic import Diagnostic, Edit, FixRequest
from poollint.engine import _run_rules, build_index, read_facts
from poollint.fix import _transform
from poollint.parsing import parse_module
from poollint.rules import ALL_RULES

ROOT = Path(__file__).resolve().parent
VIRTUAL = Path("/virtual")
_NEWLINE = re.compile(r"\r\n|\r|\n")


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    starts = [0] + [match.end() for match in _NEWLINE.finditer(text)]

    def offset(line: int, column: int) -> int:
        return starts[line - 1] + column - 1

    for content, line, column, end_line, end_column in sorted(edits, key=lambda e: (e[1], e[2]), reverse=True):
        text = text[: offset(line, column)] + content + text[offset(end_line, end_column) :]
    return text


def findings_with_fixes(source: str, describe: bool = True) -> "tuple[object, List[Diagnostic]]":
    data = source.encode("utf-8")
    facts = read_facts(VIRTUAL / "app.py", VIRTUAL, data)
    assert facts.facts is not None
    module = parse_module(data)
    settings = Settings(project_root=VIRTUAL, config_path=None)
    found = _run_rules(
        VIRTUAL / "app.py", module, data, facts.facts, build_index([facts]), settings, ALL_RULES, FixRequest(describe=describe)
    )
    return module, [d for d in found if d.fix is not None]


def _fixture_files() -> List[Path]:
    """The fixtures of the rules that have fixes (their names start with the code)."""
    fixable = tuple(rule.CODE for rule in ALL_RULES if rule.FIX_AVAILABILITY.value != "none")
    return [
        path
        for path in sorted((ROOT / "fixtures").rglob("*.py"))
        if "/fixed/" not in path.as_posix()
        and path.relative_to(ROOT / "fixtures").parts[1].startswith(fixable)
        and "# error" in path.read_text(encoding="utf-8")
    ]


@pytest.mark.parametrize("path", _fixture_files(), ids=lambda p: p.relative_to(ROOT / "fixtures").as_posix())
def test_edits_of_each_fix_give_what_fixing_it_alone_gives(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    module, fixable = findings_with_fixes(source)
    for d in fixable:
        expected = _transform(module, [d])[0].code  # type: ignore[arg-type]
        assert d.edits, d
        assert apply_edits(source, d.edits) == expected, (d.code, d.line, d.edits)


def test_the_edit_replaces_the_node_and_adds_the_import_apart() -> None:
    source = '"""Orders."""\nimport time\n\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get("/")\nasync def index():\n    time.sleep(1)\n'
    _, [d] = findings_with_fixes(source)
    assert d.edits == (
        ("import asyncio\n", 5, 1, 5, 1),
        ("await asyncio.sleep(1)", 11, 5, 11, 18),
    )


def test_edits_keep_the_files_line_endings_and_indentation() -> None:
    source = (
        "from fastapi import Depends, FastAPI\r\nfrom sqlalchemy.orm import sessionmaker\r\n\r\n"
        "SessionLocal = sessionmaker()\r\napp = FastAPI()\r\n\r\n\r\n"
        "def get_db():\r\n\tdb = SessionLocal()\r\n\tyield db\r\n\tdb.close()\r\n\r\n\r\n"
        '@app.get("/")\r\ndef index(db=Depends(get_db)):\r\n\treturn 1\r\n'
    )
    module, [d] = findings_with_fixes(source)
    assert d.code == "POL202"
    assert apply_edits(source, d.edits) == _transform(module, [d])[0].code  # type: ignore[arg-type]
    [(content, *_)] = d.edits
    assert "\r\n\t\tyield db" in content


def test_edits_are_only_computed_when_asked_for() -> None:
    _, [d] = findings_with_fixes("import time\n\nasync def f():\n    time.sleep(1)\n", describe=False)
    assert d.edits is None
