"""POL905 unused-noqa: what it judges, what it leaves alone, and its fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from clirunner import cli_runner as _runner

from poollint.cli import main
from poollint.rules.event_loop.blocking_http import BlockingHttp
from poollint.rules.event_loop.blocking_sleep import BlockingSleep
from poollint.rules.meta.unused_noqa import UnusedNoqa
from poollint.testing import lint_source

STALE = """\
import asyncio


async def handler():
    await asyncio.sleep(1)  # noqa: POL101
"""



def invoke(*args: str):
    return _runner().invoke(main, ["check", "--no-cache", "-j1", *args], catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _found(source: str, rules=(BlockingSleep, BlockingHttp, UnusedNoqa)) -> list:
    return [(d.line, d.column, d.code, d.message) for d in lint_source(source, list(rules)).diagnostics]


def test_off_by_default_like_ruffs_rule(project: Path) -> None:
    (project / "app.py").write_text(STALE)
    assert invoke(".").exit_code == 0
    result = invoke("--extend-select", "POL905", ".")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "app.py:5:29: POL905 [*] unused `noqa` directive (unused: `POL101`)"
    assert "1 fixable with --fix" in result.stdout


def test_fix_removes_the_directive_and_the_file_checks_clean(project: Path) -> None:
    (project / "app.py").write_text(STALE.replace("# noqa: POL101", "# noqa: E501, POL101"))
    result = invoke("--extend-select", "POL905", "--fix", ".")
    assert result.exit_code == 0, result.stdout
    assert (project / "app.py").read_text() == STALE.replace("# noqa: POL101", "# noqa: E501")
    assert invoke("--extend-select", "POL905", ".").exit_code == 0


def test_fix_keeps_encoding_and_line_endings(project: Path) -> None:
    source = "# -*- coding: latin-1 -*-\r\n" + STALE.replace("\n", "\r\n").replace("POL101", "POL101 caf\u00e9")
    (project / "app.py").write_bytes(source.encode("latin-1"))
    assert invoke("--extend-select", "POL905", "--fix", ".").exit_code == 0
    expected = source.replace("  # noqa: POL101 caf\u00e9", "")
    assert (project / "app.py").read_bytes() == expected.encode("latin-1")


def test_codes_of_rules_that_did_not_run_are_not_judged(project: Path) -> None:
    (project / "app.py").write_text(STALE)
    # Not selected in this run.
    assert invoke("--select", "POL905,POL102", ".").exit_code == 0
    # Selected, but ignored for this file.
    (project / "pyproject.toml").write_text('[tool.poollint.per-file-ignores]\n"app.py" = ["POL101"]\n')
    assert invoke("--extend-select", "POL905", ".").exit_code == 0


def test_a_used_directive_is_not_reported() -> None:
    assert _found(STALE.replace("await asyncio.sleep(1)", "time.sleep(1)").replace("asyncio", "time")) == []


@pytest.mark.parametrize(
    "comment",
    [
        "# noqa",  # bare: may be for another tool's finding
        "# noqa: E501",  # another tool's code
        "# noqa: ASYNC251",
        "# noqa: POL1",  # a prefix
        "# noqa: POL104",  # a rule that did not run
        "# noqa: POL905",  # the rule itself
    ],
)
def test_what_is_never_reported(comment: str) -> None:
    assert _found(STALE.replace("# noqa: POL101", comment)) == []


def test_only_the_unused_codes_are_named() -> None:
    source = STALE.replace("await asyncio.sleep(1)  # noqa: POL101", "time.sleep(1)  # noqa: POL101, POL102")
    source = "import time\n" + source
    assert _found(source) == [(6, 20, "POL905", "unused `noqa` directive (unused: `POL102`)")]


def test_unused_file_exemption_codes_are_reported() -> None:
    source = "# poollint: noqa: POL101, POL102\n" + STALE.replace("  # noqa: POL101", "")
    assert _found(source) == [(1, 1, "POL905", "unused `noqa` directive (unused: `POL101`, `POL102`)")]


def test_a_line_directive_made_redundant_by_a_file_exemption_is_unused() -> None:
    # As ruff: the file exemption is asked first, so it is the one used.
    source = "import time\n# poollint: noqa: POL101\n\n\nasync def handler():\n    time.sleep(1)  # noqa: POL101\n"
    assert _found(source) == [(6, 20, "POL905", "unused `noqa` directive (unused: `POL101`)")]


def test_a_blanket_file_exemption_silences_the_rule_too() -> None:
    assert _found("# poollint: noqa\n" + STALE) == []


def test_the_finding_can_be_suppressed_in_the_directive_itself() -> None:
    assert _found(STALE.replace("# noqa: POL101", "# noqa: POL101, POL905")) == []
    assert _found("# poollint: noqa: POL905\n" + STALE) == []


def test_a_file_where_no_other_rule_may_fire_is_still_judged() -> None:
    # No "sleep" in the file: POL101 never runs on it, so its noqa is unused.
    source = "def handler():\n    return 1  # noqa: POL101\n"
    assert [code for _, _, code, _ in _found(source)] == ["POL905"]


def test_warm_cache_reports_the_same(project: Path) -> None:
    (project / "app.py").write_text(STALE)
    args = ("check", "-j1", "--extend-select", "POL905", ".")
    first = _runner().invoke(main, list(args), catch_exceptions=False)
    second = _runner().invoke(main, list(args), catch_exceptions=False)
    assert first.exit_code == second.exit_code == 1
    assert first.stdout == second.stdout
