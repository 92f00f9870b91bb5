"""The promises a new user relies on: the README's commands and what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands():
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.DOTALL)
    assert block, "the README opens with a sh block of two commands"
    return block.group(1).strip().splitlines()


def test_readme_opens_with_install_and_test_commands() -> None:
    install_and_run, test = _readme_commands()
    assert "poollint check examples/" in install_and_run
    assert "'.[test]'" in test and "pytest" in test


def test_ci_runs_exactly_the_readme_test_command() -> None:
    _, test = _readme_commands()
    assert test in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_example_app_exists_where_the_readme_says() -> None:
    install_and_run, _ = _readme_commands()
    target = install_and_run.rsplit("poollint check ", 1)[1].split()[0]
    assert (ROOT / target).is_dir()
