"""`poollint rule CODE`, `poollint rule --all` (text and json, as ruff's) and the `poollint rules` table."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from poollint.cli import main
from poollint.diagnostic import FILE_CODES
from poollint.rules import ALL_RULES

ALL_CODES = [rule.CODE for rule in ALL_RULES] + list(FILE_CODES)


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_rule_all_prints_every_page_in_code_order() -> None:
    result = invoke("rule", "--all")
    assert result.exit_code == 0
    headings = re.findall(r"^# [a-z0-9-]+ \((POL\d{3})\)$", result.output, re.MULTILINE)
    assert headings == ALL_CODES
    assert result.output == "\n".join(invoke("rule", code).output for code in ALL_CODES)


def test_rule_all_as_json_has_ruffs_fields_and_ours() -> None:
    result = invoke("rule", "--all", "--output-format", "json")
    assert result.exit_code == 0
    entries = json.loads(result.output)
    assert [entry["code"] for entry in entries] == ALL_CODES
    for rule, entry in zip(ALL_RULES, entries):
        assert entry["name"] == rule.NAME
        assert entry["message_formats"] == [rule.MESSAGE]
        assert entry["fix_availability"] == rule.FIX_AVAILABILITY.value.capitalize()
        assert entry["default_enabled"] is rule.DEFAULT_ENABLED
        assert entry["explanation"] == rule.docs() + "\n"
        assert entry["explanation"].startswith("## What it does\n")
        assert entry["family"] in rule.__module__
        assert entry["summary"] and "\n" not in entry["summary"]
    assert {entry["family"] for entry in entries if entry["code"] in FILE_CODES} == {"file"}
    assert set(entries[0]) >= {"name", "code", "summary", "message_formats", "fix", "fix_availability", "explanation"}


def test_one_rule_as_json_is_its_entry_in_the_list() -> None:
    entries = {entry["code"]: entry for entry in json.loads(invoke("rule", "--all", "--output-format", "json").output)}
    for code in ("POL101", "pol301", "POL903"):
        result = invoke("rule", code, "--output-format", "json")
        assert result.exit_code == 0
        assert json.loads(result.output) == entries[code.upper()]


def test_rule_wants_a_code_or_all() -> None:
    assert invoke("rule").exit_code == 2
    assert invoke("rule", "--all", "POL101").exit_code == 2
    assert invoke("rule", "POL999", "--output-format", "json").exit_code == 2


def test_rules_is_a_table_of_code_name_fix_default_and_scope() -> None:
    result = invoke("rules")
    assert result.exit_code == 0
    header, *rows = result.output.splitlines()
    assert header.split() == ["Code", "Name", "Fix", "Default", "Scope"]
    table = {row.split()[0]: row.split()[1:] for row in rows}
    assert list(table) == ALL_CODES
    for rule in ALL_RULES:
        default = "on" if rule.DEFAULT_ENABLED else "opt-in"
        assert table[rule.CODE] == [rule.NAME, rule.FIX_AVAILABILITY.value, default, rule.SCOPE.value]
    assert table["POL903"] == ["syntax-error", "none", "always", "file"]
    # Columns line up: every name starts where the header's does.
    start = header.index("Name")
    assert all(row[start - 2 : start] == "  " and row[start] != " " for row in rows)
