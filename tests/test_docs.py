"""Generated docs, the changelog and the fixtures must cover every rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from poollint.ruledocs import CATALOG_PATH, GENERATED, INCIDENT_SECTION, generated_catalog, generated_pages
from poollint.rules import ALL_RULES, FAMILIES

ROOT = Path(__file__).resolve().parent.parent


def test_generated_rule_docs_are_up_to_date() -> None:
    pages = generated_pages()
    on_disk = {f"docs/rules/{p.name}" for p in (ROOT / "docs" / "rules").glob("*.md")}
    if (ROOT / "docs" / "rules.md").exists():
        on_disk.add("docs/rules.md")
    assert on_disk == set(pages), "run: python scripts/document_rules.py"
    for relative, text in pages.items():
        assert (ROOT / relative).read_text(encoding="utf-8") == text, f"{relative} is stale: run scripts/document_rules.py"
        assert text.startswith(GENERATED)


def test_the_rule_catalog_is_up_to_date() -> None:
    assert (ROOT / CATALOG_PATH).read_text(encoding="utf-8") == generated_catalog(), "run: python scripts/document_rules.py"


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.CODE for r in ALL_RULES])
def test_every_rule_has_a_fixture_and_a_changelog_line(rule) -> None:
    fixtures = list((ROOT / "tests" / "fixtures").glob(f"*/{rule.CODE}*"))
    assert [f for f in fixtures if f.parent.name != "fixed"], f"no fixture for {rule.CODE}"
    assert f"{rule.CODE} {rule.NAME}" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.CODE for r in ALL_RULES])
def test_rule_lives_in_its_family_folder(rule) -> None:
    family = rule.__module__.split(".")[2]
    assert family in FAMILIES
    expected = {"1": "event_loop", "2": "leaks", "3": "pool_config", "4": "async_sqlalchemy", "5": "security", "9": "meta"}
    assert expected[rule.CODE[3]] == family
    assert rule.__module__.rsplit(".", 1)[1] == rule.NAME.replace("-", "_")


def test_rules_reference_has_every_section_of_every_rule() -> None:
    text = generated_pages()["docs/rules.md"]
    headings = [line for line in text.splitlines() if line.startswith("## POL")]
    assert headings == [f"## {rule.CODE} {rule.NAME}" for rule in ALL_RULES]
    for rule in ALL_RULES:
        section = text.split(f"## {rule.CODE} {rule.NAME}\n", 1)[1].split("\n## ", 1)[0]
        found = [line[4:] for line in section.splitlines() if line.startswith("### ")]
        expected = ["What it does", "Why is this bad?", "Example", "Use instead", "Fix safety", "Options"]
        if INCIDENT_SECTION in found:
            expected.insert(2, INCIDENT_SECTION)
        assert found[: len(expected)] == expected, rule.CODE
        assert section.count("```python") >= 2, rule.CODE
        assert f"(#{rule.CODE.lower()}-{rule.NAME})" in text


# The rules written after public incident reports (issue 5) say which kind of outage each comes from.
INCIDENT_RULES = {"POL208", "POL209", "POL210", "POL211", "POL310", "POL311", "POL406"}


@pytest.mark.parametrize("rule", [r for r in ALL_RULES if r.CODE in INCIDENT_RULES], ids=lambda r: r.CODE)
def test_incident_rules_say_where_they_come_from(rule) -> None:
    from poollint.ruledocs import docstring_sections

    assert len(docstring_sections(rule).get(INCIDENT_SECTION, "")) > 80, rule.CODE
