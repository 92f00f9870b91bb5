"""What the engine guarantees about fixes, whatever a rule asks for.

The rules here are made up for the test: they break things on purpose.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst
from click.testing import CliRunner

from poollint.cli import main
from poollint.engine import FixRequest, MAX_FIX_ROUNDS
from poollint.rule import Fix, FixSafety, PoolRule
from poollint.testing import fixed_text, lint_source

SAFE_AND_UNSAFE = FixRequest(apply=True, unsafe=True)


class AwaitEverywhere(PoolRule):
    """Awaits every `go()` statement, even in a sync def, where that cannot compile."""

    CODE = "POL991"
    NAME = "await-everywhere"
    MESSAGE = "go() is not awaited"
    TRIGGERS = ("go",)

    def visit_Expr(self, node: cst.Expr) -> None:
        call = node.value
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value == "go":
            self.report(call, fix=Fix(call, cst.Await(call), FixSafety.SAFE))


class DropTheLine(PoolRule):
    """Replaces `drop_me(...)` statements by `pass`, losing any comment inside the call."""

    CODE = "POL992"
    NAME = "drop-the-line"
    MESSAGE = "drop_me() call"
    TRIGGERS = ("drop_me",)

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "drop_me":
            self.report(node, fix=Fix(node, cst.Name("None"), FixSafety.SAFE))


class RenameForever(PoolRule):
    """Never satisfied: renames `a` to `b` and `b` to `a`."""

    CODE = "POL993"
    NAME = "rename-forever"
    MESSAGE = "flip"
    TRIGGERS = ("a", "b")

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in ("a", "b"):
            flipped = "b" if node.value == "a" else "a"
            self.report(node, fix=Fix(node, cst.Name(flipped), FixSafety.SAFE))


class Crashes(PoolRule):
    CODE = "POL994"
    NAME = "crashes"
    MESSAGE = "never"
    TRIGGERS = ("boom",)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "boom":
            raise ValueError("a bug in a rule")


def test_a_fix_that_would_not_compile_is_dropped_and_reported() -> None:
    source = "async def f():\n    go()\n\ndef g():\n    go()\n"
    result = lint_source(source, [AwaitEverywhere], fix=SAFE_AND_UNSAFE)
    assert fixed_text(result, source) == "async def f():\n    await go()\n\ndef g():\n    go()\n"
    assert len(result.warnings) == 1 and "POL991 fix dropped" in result.warnings[0]
    assert "would not compile" in result.warnings[0]
    # The finding whose fix was dropped is still reported.
    assert [(d.code, d.line) for d in result.diagnostics] == [("POL991", 5)]


def test_a_safe_fix_that_drops_a_comment_becomes_unsafe() -> None:
    source = "drop_me(  # keep this\n    1,\n)\n"
    checked = lint_source(source, [DropTheLine])
    assert checked.diagnostics[0].fix_safety is FixSafety.UNSAFE
    assert lint_source(source, [DropTheLine], fix=FixRequest(apply=True)).fixed_source is None
    assert fixed_text(lint_source(source, [DropTheLine], fix=SAFE_AND_UNSAFE), source) == "None\n"
    plain = "drop_me(1)\n"
    assert lint_source(plain, [DropTheLine]).diagnostics[0].fix_safety is FixSafety.SAFE


def test_fixes_that_never_settle_stop_after_a_bounded_number_of_rounds() -> None:
    result = lint_source("a = 1\n", [RenameForever], fix=SAFE_AND_UNSAFE)
    assert result.fixed == MAX_FIX_ROUNDS
    assert result.diagnostics, "what is still wrong is still reported"


def test_a_crashing_rule_is_an_internal_error_finding_not_a_traceback() -> None:
    result = lint_source("boom = 1\n", [Crashes])
    assert result.internal_error
    assert [d.code for d in result.diagnostics] == ["POL904"]
    assert "ValueError: a bug in a rule" in result.diagnostics[0].message


def test_outer_fix_wins_and_the_inner_one_is_looked_at_again() -> None:
    class OuterToPass(PoolRule):
        CODE = "POL995"
        NAME = "outer"
        MESSAGE = "outer"
        TRIGGERS = ("if",)

        def visit_If(self, node: cst.If) -> None:
            self.report(node, fix=Fix(node, cst.parse_statement("pass\n"), FixSafety.SAFE))

    source = "if x:\n    go()\n"
    result = lint_source(source, [OuterToPass, AwaitEverywhere], fix=SAFE_AND_UNSAFE)
    assert fixed_text(result, source) == "pass\n"
    assert result.fixed == 1 and result.warnings == []


# Broken symlinks, read-only files and failed writes, through the command line:
# tests/robustness/.


def test_internal_error_exits_2(tmp_path: Path, monkeypatch) -> None:
    from poollint import cli

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text("boom = 1\n")
    monkeypatch.setattr(cli, "select_rules_for_settings", lambda rules, settings: [Crashes])
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 2
    assert "POL904" in result.stdout


def test_a_dropped_fix_is_reported_once_even_when_lines_shift() -> None:
    class AwaitAndImport(AwaitEverywhere):
        CODE = "POL996"

        def visit_Expr(self, node: cst.Expr) -> None:
            call = node.value
            if isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value == "go":
                self.report(call, fix=Fix(call, cst.Await(call), FixSafety.SAFE, imports=(("asyncio", None),)))

    source = "async def f():\n    go()\n\ndef g():\n    go()\n"
    result = lint_source(source, [AwaitAndImport], fix=SAFE_AND_UNSAFE)
    assert fixed_text(result, source).startswith("import asyncio\n")
    assert len(result.warnings) == 1
