"""A rule of scope FILE finds the same in a file whether the index holds the
whole project or nothing but that file: the flake8 plugin, which is handed one
file at a time, reads no other file when only such rules run. Checked on every
multi-module fixture project and on the example app, where the other rules show
how much other modules matter."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence, Set, Tuple, Type

import pytest

from poollint.config import Settings, load_settings
from poollint.engine import build_index, check_file, read_facts
from poollint.rule import PoolRule, RuleScope
from poollint.rules import ALL_RULES, RULES_BY_CODE
from poollint.testing import Fixture

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SHOP = ROOT / "examples" / "shop"
FILE_RULES = [rule for rule in ALL_RULES if rule.SCOPE is RuleScope.FILE]

Finding = Tuple[int, int, str, str]


def _projects() -> List[Path]:
    found = [FIXTURES / "project", SHOP]
    for family in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        found.extend(p for p in sorted(family.iterdir()) if p.is_dir() and p.name != "fixed")
    return found


PROJECTS = _projects()


def _settings(project: Path) -> Settings:
    if (project / "pyproject.toml").is_file():
        settings = load_settings(project)
        if settings.config_path is not None and settings.config_path.parent == project:
            return settings
    return Settings(project_root=project, config_path=None)


def whole_and_alone(
    project: Path, rules: Sequence[Type[PoolRule]]
) -> Dict[str, Tuple[Set[Finding], Set[Finding]]]:
    """Per Python file: the findings with the project's index, and with an
    index of that file alone (as the flake8 plugin checks it)."""
    fixture = Fixture.load(project)
    settings = _settings(project)
    root = project
    sources = {name: text.encode("utf-8") for name, text in fixture.sources.items()}
    facts = {name: read_facts(root / name, root, data) for name, data in sources.items()}
    index = build_index(facts.values())
    found = {}
    for name, data in sources.items():
        if not name.endswith(".py"):
            continue
        path = root / name
        whole = check_file(path, data, facts[name], index, settings, rules)
        alone = check_file(path, data, facts[name], build_index([facts[name]]), settings, rules)
        found[name] = tuple(
            {(d.line, d.column, d.code, d.message) for d in result.diagnostics} for result in (whole, alone)
        )
    return found  # type: ignore[return-value]


def _differences(rules: Sequence[Type[PoolRule]]) -> List[str]:
    differences = []
    for project in PROJECTS:
        for name, (whole, alone) in whole_and_alone(project, rules).items():
            for finding in sorted(whole - alone):
                differences.append(f"{project.name}/{name}: only with the whole project: {finding}")
            for finding in sorted(alone - whole):
                differences.append(f"{project.name}/{name}: only with the file alone: {finding}")
    return differences


def test_some_rules_need_only_their_file() -> None:
    assert {rule.CODE for rule in FILE_RULES} >= {"POL305", "POL501"}


@pytest.mark.parametrize("rule", FILE_RULES, ids=[rule.CODE for rule in FILE_RULES])
def test_a_file_rule_finds_the_same_with_the_file_alone(rule: Type[PoolRule]) -> None:
    assert _differences([rule]) == []


@pytest.mark.parametrize("rule", FILE_RULES, ids=[rule.CODE for rule in FILE_RULES])
def test_a_file_rule_fires_in_the_projects_it_is_compared_on(rule: Type[PoolRule]) -> None:
    # An empty comparison would prove nothing.
    fired = any(
        whole for project in PROJECTS for whole, _ in whole_and_alone(project, [rule]).values()
    )
    assert fired, f"no fixture project has a {rule.CODE} finding"


def test_the_comparison_sees_a_rule_that_reads_other_modules() -> None:
    # POL101 follows blocking helpers into other modules: were it declared
    # FILE, the comparison above would say so.
    rule = RULES_BY_CODE["POL101"]
    assert rule.SCOPE is RuleScope.PROJECT
    assert any("only with the whole project" in line for line in _differences([rule]))
