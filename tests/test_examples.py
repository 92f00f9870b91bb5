"""Each rule's own examples are tests: VALID/INVALID lists and the docstring's
`## Example` (must be flagged) and `## Use instead` (must not) blocks."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from poollint.config import PoolSettings, Settings
from poollint.engine import FixRequest
from poollint.rules import ALL_RULES, RULES_BY_CODE
from poollint.testing import fixed_text, lint_sources

VALID = [(rule, i, ex) for rule in ALL_RULES for i, ex in enumerate(rule.VALID)]
INVALID = [(rule, i, ex) for rule in ALL_RULES for i, ex in enumerate(rule.INVALID)]


def _codes(results):
    """The codes found in every file of the example's project (a rule reading
    deployment files may report in its requirements.txt)."""
    return [d.code for result in results.values() for d in result.diagnostics]


def lint_example(code, rule, files=None, **kwargs):
    """The example as example.py, with the other files of its project, run
    with the rule and the rules its examples name (EXAMPLE_RULES)."""
    rules = [rule] + [RULES_BY_CODE[code] for code in rule.EXAMPLE_RULES]
    return lint_sources({"example.py": code, **(files or {})}, rules, **kwargs)


def _settings(rule) -> Settings:
    pool = dataclasses.replace(PoolSettings(), **rule.EXAMPLE_POOL_SETTINGS)
    return Settings(project_root=Path("/virtual"), config_path=None, pool=pool)


@pytest.mark.parametrize("rule, number, example", VALID, ids=[f"{r.CODE}-valid-{i}" for r, i, _ in VALID])
def test_valid_example_is_not_flagged(rule, number, example) -> None:
    assert rule.CODE not in _codes(lint_example(example.code, rule, example.files, settings=_settings(rule)))


@pytest.mark.parametrize("rule, number, example", INVALID, ids=[f"{r.CODE}-invalid-{i}" for r, i, _ in INVALID])
def test_invalid_example_is_flagged_and_fixed_as_documented(rule, number, example) -> None:
    assert rule.CODE in _codes(lint_example(example.code, rule, example.files, settings=_settings(rule)))
    fixed = lint_example(
        example.code,
        rule,
        example.files,
        fix=FixRequest(apply=True, unsafe=example.unsafe_fixes),
        settings=_settings(rule),
    )["example.py"]
    assert fixed.warnings == []
    if example.expected_replacement is None:
        assert fixed.fixed_source is None, "a fix was applied but the example gives no expected_replacement"
    else:
        assert fixed_text(fixed, example.code) == example.expected_replacement


def _docstring_block(rule, heading: str) -> str:
    return _docstring_project(rule, heading)[0]


def _docstring_project(rule, heading: str):
    """The python block under `heading`, and the other files of its project:
    fenced blocks of the same section whose info string names a file after
    the language (```text requirements.txt)."""
    docs = rule.docs()
    match = re.search(rf"## {heading}\n+```python\n(.*?)```", docs, re.DOTALL)
    assert match, f"{rule.CODE} docstring lacks a python block under '## {heading}'"
    section = docs[match.end() :].split("\n## ", 1)[0]
    files = dict(re.findall(r"^```\w+ (\S+)\n(.*?)^```", section, re.DOTALL | re.MULTILINE))
    return match.group(1), files


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.CODE for r in ALL_RULES])
def test_docstring_example_is_flagged_and_use_instead_is_not(rule) -> None:
    settings = _settings(rule)
    code, files = _docstring_project(rule, "Example")
    assert rule.CODE in _codes(lint_example(code, rule, files, settings=settings))
    code, files = _docstring_project(rule, "Use instead")
    assert rule.CODE not in _codes(lint_example(code, rule, files, settings=settings))


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.CODE for r in ALL_RULES])
def test_rule_metadata_is_complete(rule) -> None:
    assert re.fullmatch(r"POL\d{3}", rule.CODE)
    assert rule.TRIGGERS, "a rule without trigger substrings never runs"
    assert re.fullmatch(r"[a-z]+(-[a-z]+)*", rule.NAME)
    assert len(rule.VALID) >= 3 and len(rule.INVALID) >= 3
    docs = rule.docs()
    headings = re.findall(r"^## (.+)$", docs, re.MULTILINE)
    order = ["What it does", "Why is this bad?", "Example", "Use instead"]
    assert [h for h in headings if h in order] == order
    if rule.FIX_AVAILABILITY.value != "none":
        assert "Fix safety" in headings and rule.FIX_TITLE
    module_doc = __import__(rule.__module__, fromlist=["_"]).__doc__ or ""
    assert module_doc.startswith(rule.CODE), "a rule module's docstring starts with its code"
