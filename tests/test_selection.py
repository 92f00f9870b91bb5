from __future__ import annotations

from pathlib import Path

import pytest

from poollint.config import Settings, load_settings
from poollint.rule import PoolRule
from poollint.selection import (
    SelectionError,
    code_matches,
    ignored_codes_for_file,
    select_rules,
    select_rules_for_settings,
    validate_selectors,
    validate_settings,
)


def fake_rule(code: str, name: str, default_enabled: bool = True) -> type:
    return type(
        f"Fake{code}",
        (PoolRule,),
        {"CODE": code, "NAME": name, "DEFAULT_ENABLED": default_enabled, "MESSAGE": "fake"},
    )


POL101 = fake_rule("POL101", "blocking-sleep")
POL102 = fake_rule("POL102", "blocking-http")
POL104 = fake_rule("POL104", "blocking-file-io", default_enabled=False)
POL201 = fake_rule("POL201", "session-without-context-manager")
POL301 = fake_rule("POL301", "missing-pool-settings")
POL307 = fake_rule("POL307", "pool-smaller-than-threadpool", default_enabled=False)
# Deliberately unsorted: the result must be sorted by code regardless.
RULES = [POL301, POL104, POL101, POL307, POL201, POL102]


def codes(select=None, ignore=(), extend_select=()):
    return [rule.CODE for rule in select_rules(RULES, select, ignore, extend_select)]


def test_default_set_leaves_out_opt_in_rules_and_is_sorted():
    assert codes() == ["POL101", "POL102", "POL201", "POL301"]


def test_select_replaces_the_default_set():
    assert codes(select=["POL2"]) == ["POL201"]


def test_empty_select_selects_nothing():
    assert codes(select=[]) == []


def test_select_enables_matching_opt_in_rules():
    assert codes(select=["POL1"]) == ["POL101", "POL102", "POL104"]
    assert codes(select=["ALL"]) == ["POL101", "POL102", "POL104", "POL201", "POL301", "POL307"]


def test_extend_select_adds_to_defaults_including_opt_in():
    assert codes(extend_select=["POL307"]) == ["POL101", "POL102", "POL201", "POL301", "POL307"]


def test_ignore_removes_from_defaults():
    assert codes(ignore=["POL1"]) == ["POL201", "POL301"]
    assert codes(ignore=["ALL"]) == []


def test_more_specific_ignore_beats_select():
    assert codes(select=["POL1"], ignore=["POL101"]) == ["POL102", "POL104"]


def test_more_specific_select_beats_ignore():
    assert codes(select=["POL101"], ignore=["POL1"]) == ["POL101"]
    assert codes(select=["POL1"], ignore=["ALL"]) == ["POL101", "POL102", "POL104"]


def test_extend_select_more_specific_than_ignore_keeps_rule():
    assert codes(ignore=["POL1"], extend_select=["POL104"]) == ["POL104", "POL201", "POL301"]


def test_tie_goes_to_ignore():
    assert codes(select=["POL101"], ignore=["POL101"]) == []
    assert codes(select=["ALL"], ignore=["ALL"]) == []


def test_duplicate_rules_are_returned_once():
    assert [r.CODE for r in select_rules(RULES + [POL101], ["POL101"], (), ())] == ["POL101"]


@pytest.mark.parametrize(
    "kwargs, where",
    [
        ({"select": ["POL999"]}, "select"),
        ({"ignore": ["POL6"]}, "ignore"),
        ({"extend_select": ["XYZ"]}, "extend-select"),
        ({"select": [""]}, "select"),
    ],
)
def test_unknown_selector_is_an_error(kwargs, where):
    with pytest.raises(SelectionError) as info:
        codes(**kwargs)
    assert str(info.value).endswith(f" in {where}")


def test_validate_selectors_accepts_every_prefix_length():
    validate_selectors(["ALL", "POL", "POL1", "POL10", "POL101"], RULES, "--select")


def test_validate_selectors_message_names_where():
    with pytest.raises(SelectionError, match=r"^unknown rule code or prefix 'POL999' in --select$"):
        validate_selectors(["POL999"], RULES, "--select")


def test_selectors_are_case_sensitive_with_a_hint():
    with pytest.raises(SelectionError, match=r"'pol1' in --ignore \(did you mean 'POL1'\?\)"):
        validate_selectors(["pol1"], RULES, "--ignore")


def test_rule_name_as_selector_hints_at_the_code():
    with pytest.raises(SelectionError, match=r"did you mean 'POL101'"):
        validate_selectors(["blocking-sleep"], RULES, "--select")


def test_code_matches():
    assert code_matches("POL101", ["POL1"])
    assert code_matches("POL101", ["POL101"])
    assert code_matches("POL101", ["ALL"])
    assert not code_matches("POL101", ["POL2", "POL1010"])
    assert not code_matches("POL101", [""])
    assert not code_matches("POL101", [])


# --------------------------------------------------------------------------- settings


def test_validate_settings_names_config_file_and_key(tmp_path):
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.poollint]\nignore = ['POL9']\n")
    settings = load_settings(config_path=config)
    with pytest.raises(SelectionError) as info:
        validate_settings(settings, RULES)
    assert str(info.value) == f"unknown rule code or prefix 'POL9' in [tool.poollint] ignore ({config})"


def test_validate_settings_names_cli_flag(tmp_path):
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.poollint]\nselect = ['POL9']\n")
    # The CLI --select replaces the file's bad select, so only the CLI value is checked.
    settings = load_settings(config_path=config, overrides={"select": ["POL1"], "extend_select": ["POL8"]})
    with pytest.raises(SelectionError, match=r"'POL8' in --extend-select$"):
        validate_settings(settings, RULES)


def test_validate_settings_checks_per_file_ignores(tmp_path):
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.poollint.per-file-ignores]\n'tests/*' = ['POL7']\n")
    with pytest.raises(SelectionError, match=r"'POL7' in \[tool.poollint.per-file-ignores\] 'tests/\*'"):
        validate_settings(load_settings(config_path=config), RULES)


def test_select_rules_for_settings_built_by_hand():
    settings = Settings(project_root=Path("/p"), config_path=None, ignore=("POL3",), extend_select=("POL104",))
    assert [r.CODE for r in select_rules_for_settings(RULES, settings)] == ["POL101", "POL102", "POL104", "POL201"]


# --------------------------------------------------------------------------- per-file ignores

PER_FILE = (
    ("tests/**/*.py", ("POL2",)),
    ("conftest.py", ("POL204", "POL301")),
    ("./scripts/*", ("POL1",)),
    ("app/legacy/", ("POL3",)),
    ("*_test.py", ("POL2", "POL5")),
)


@pytest.mark.parametrize(
    "relpath, expected",
    [
        ("tests/b.py", ("POL2",)),
        ("tests/a/b.py", ("POL2",)),
        ("tests/conftest.py", ("POL2", "POL204", "POL301")),
        ("conftest.py", ("POL204", "POL301")),
        ("scripts/run.py", ("POL1",)),
        ("./scripts/run.py", ("POL1",)),
        ("app/legacy/old/db.py", ("POL3",)),
        ("pkg/db_test.py", ("POL2", "POL5")),
        ("app/main.py", ()),
        # "tests/**" must not match a directory merely named like it elsewhere.
        ("src/tests/b.py", ()),
    ],
)
def test_ignored_codes_for_file(relpath, expected):
    assert ignored_codes_for_file(relpath, PER_FILE) == expected
