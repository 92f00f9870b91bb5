"""The README's "Adopting poollint on a large codebase" commands, run as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import List

import pytest
from clirunner import cli_runner

from poollint.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"

APP = """\
import asyncio
import time


async def handler():
    time.sleep(1)
    await asyncio.sleep(0)  # noqa: POL102
"""


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("## Adopting poollint on a large codebase\n", 1)[1].split("\n## ", 1)[0]


def _blocks() -> List[List[List[str]]]:
    """Each ```sh block: its commands as argument lists, without `poollint`."""
    blocks = []
    for body in re.findall(r"```sh\n(.*?)```", _section(), re.DOTALL):
        commands = []
        for line in body.splitlines():
            words = shlex.split(line, comments=True)
            assert words[:2] == ["poollint", "check"], line
            commands.append(words[1:])
        blocks.append(commands)
    return blocks


def _run(args: List[str]):
    runner = cli_runner()
    return runner.invoke(main, args, catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POOLLINT_CACHE_DIR", str(tmp_path / ".cache"))
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


def test_the_section_has_the_three_blocks() -> None:
    assert len(_blocks()) == 3


def test_add_noqa_block(project: Path) -> None:
    codes = [_run(args).exit_code for args in _blocks()[0]]
    assert codes == [0, 0, 0]
    assert "time.sleep(1)  # noqa: POL101\n" in (project / "app.py").read_text()


def test_baseline_block(project: Path) -> None:
    codes = [_run(args).exit_code for args in _blocks()[1]]
    assert codes == [0, 0, 0]
    assert '"source": "time.sleep(1)"' in (project / "poollint-baseline.json").read_text()


def test_unused_noqa_block(project: Path) -> None:
    report, fix = _blocks()[2]
    result = _run(report)
    assert result.exit_code == 1 and "POL905 [*] unused `noqa` directive (unused: `POL102`)" in result.stdout
    assert _run(fix).exit_code == 0  # the stale comment removed (and the sleep fixed)
    assert "# noqa" not in (project / "app.py").read_text()
