"""Programs the fuzzer (test_fuzz.py) found poollint mishandling, as plain examples."""

from __future__ import annotations

from poollint.diagnostic import FixRequest
from poollint.rules import ALL_RULES
from poollint.testing import fixed_text, lint_source


def test_non_ascii_aliases_are_checked_like_any_other() -> None:
    # The alias of create_engine was decoded as ASCII (an internal error,
    # POL904), and the gates did not see non-ASCII names called (no finding).
    source = (
        "from sqlalchemy import create_engine as données, create_engine as élan\n"
        'engine = données("postgresql://db/app")\n'
        'other = élan("postgresql://db/app")\n'
    )
    result = lint_source(source, ALL_RULES)
    assert [(d.code, d.line) for d in result.diagnostics] == [("POL301", 2), ("POL301", 3)]


def test_a_non_ascii_alias_of_sleep_is_found_and_fixed() -> None:
    source = "from time import sleep as siesta_é\n\nasync def handler():\n    siesta_é(1)\n"
    result = lint_source(source, ALL_RULES, fix=FixRequest(apply=True))
    assert "await asyncio.sleep(1)" in fixed_text(result, source)

