"""Every default rule over one realistic multi-module project, compared exactly.

tests/fixtures/project/ is a FastAPI app: routers included into the app
with prefixes, dependencies and Annotated aliases in their own module, a db
package with a sync and an async engine, services, a script and test code.
Lines ending in `# error: POLxxx` are where a rule must fire, across modules;
everything else is a look-alike that must stay silent. The comparison is
exact on purpose: a new rule that fires here, or a rule that stops firing,
fails this test until the fixture says so.
"""

from __future__ import annotations

from pathlib import Path

from poollint.config import Settings
from poollint.rules import ALL_RULES
from poollint.selection import select_rules
from poollint.testing import Fixture, diagnostics_as_expected, lint_sources, sort_expected

PROJECT = Path(__file__).parent / "fixtures" / "project"
SETTINGS = Settings(project_root=Path("/virtual"), config_path=None)


def _default_rules():
    return select_rules(ALL_RULES, None, (), ())


def test_default_rules_fire_exactly_where_the_project_says() -> None:
    fixture = Fixture.load(PROJECT)
    expected = fixture.expected()
    results = lint_sources(fixture.sources, _default_rules(), settings=SETTINGS)
    actual = diagnostics_as_expected(results, expected)
    missing = sorted(set(sort_expected(expected)) - set(sort_expected(actual)))
    unexpected = sorted(set(sort_expected(actual)) - set(sort_expected(expected)))
    assert (missing, unexpected) == ([], []), "missing: expected but not reported; unexpected: reported, unmarked"
    assert sort_expected(actual) == sort_expected(expected)


# The rules the project had a case for when it was written; a later rule
# should add its own case (and its code here) rather than remove one.
COVERED = {
    "POL101", "POL102", "POL103", "POL105", "POL106",
    "POL201", "POL202", "POL203", "POL204", "POL205", "POL206", "POL207",
    "POL301",
    "POL401", "POL402", "POL403", "POL404", "POL405",
    "POL501",
}  # fmt: skip


def test_the_project_keeps_a_case_for_every_rule_it_covers() -> None:
    codes = {e.code for e in Fixture.load(PROJECT).expected()}
    assert COVERED <= codes
    assert codes <= {rule.CODE for rule in _default_rules()}, "a marker names a code no default rule has"


def test_noqa_silences_every_finding_of_the_project() -> None:
    fixture = Fixture.load(PROJECT)
    results = lint_sources(fixture.with_noqa(), _default_rules(), settings=SETTINGS)
    assert [(name, d.line, d.code) for name, r in results.items() for d in r.diagnostics] == []


def test_no_file_of_the_project_fails_to_check() -> None:
    fixture = Fixture.load(PROJECT)
    results = lint_sources(fixture.sources, _default_rules(), settings=SETTINGS)
    assert all(not r.internal_error and not r.warnings for r in results.values())
    assert not [d for r in results.values() for d in r.diagnostics if d.code.startswith("POL9")]
