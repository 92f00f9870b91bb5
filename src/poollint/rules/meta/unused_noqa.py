"""POL905: a noqa directive naming a poollint code that suppresses nothing."""

from __future__ import annotations

from typing import Dict, FrozenSet, List, Optional, Set, Tuple

import libcst as cst

from poollint.diagnostic import Diagnostic
from poollint.noqa import UNUSED_NOQA, Directive, FileNoqa, comment_layout, remove_codes
from poollint.rule import Fix, FixAvailability, FixSafety, Invalid, PoolRule, Valid


class UnusedNoqa(PoolRule):
    """
    ## What it does
    Flags the poollint codes of a `# noqa: POL101` comment, or of a
    `# poollint: noqa: POL101` file exemption, that suppress nothing: no
    finding of that rule is reported there any more. Python files only: a
    noqa comment in a requirement or TOML file is not judged.

    Only codes of rules that ran on the file are judged. A code of a rule
    left out of this run (not selected, opt-in, or ignored for the file by
    `per-file-ignores`) may still be needed, so it is left alone, and so are
    codes of other tools (`E501`, `ASYNC251`), prefixes (`POL1`), a bare
    `# noqa` and a bare `# poollint: noqa`: any of them may be suppressing
    something poollint does not know about.

    ## Why is this bad?
    A suppression outlives the code it was written for. Once the blocking
    call or the leaked session is gone, a stale `# noqa: POL201` still hides
    the next finding of that rule on the line, and the one who adds it will
    not be told.

    ## Example
    ```python
    import asyncio

    async def refresh_cache():
        await asyncio.sleep(1)  # noqa: POL101
    ```

    ## Use instead
    ```python
    import asyncio

    async def refresh_cache():
        await asyncio.sleep(1)
    ```

    ## Fix safety
    The fix is safe: it edits a comment. It takes the unused codes out of the
    directive (`# noqa: E501, POL101` becomes `# noqa: E501`), or removes the
    directive when no code is left, together with the words after its codes,
    which are read as the reason for it, as ruff's RUF100 fix does. Text
    before the directive and a later comment (`# noqa: POL101  # type:
    ignore`) stay: separate another tool's comment with its own `#`. A noqa
    comment standing alone on its line leaves an empty line.

    ## Options
    Opt-in, like ruff's RUF100: select it with `--extend-select POL905` (or
    `extend-select = ["POL905"]`). It judges the rules selected for the run,
    so run it with the same selection as the checks the comments are for.
    """

    CODE = UNUSED_NOQA
    NAME = "unused-noqa"
    MESSAGE = "unused `noqa` directive (unused: {codes})"
    FIX_TITLE = "Remove the unused codes"
    FIX_AVAILABILITY = FixAvailability.SOMETIMES
    DEFAULT_ENABLED = False
    # Case-insensitive in the comment; these are the spellings worth a parse.
    TRIGGERS = ("noqa", "NOQA", "Noqa", "NoQA")
    EXAMPLE_RULES = ("POL101",)

    VALID = [
        Valid(
            """
            import time

            async def poll():
                time.sleep(1)  # noqa: POL101
            """
        ),
        Valid(
            """
            import asyncio

            async def poll():
                await asyncio.sleep(1)  # noqa: E501, ASYNC251
            """
        ),
        Valid(
            """
            import asyncio

            async def poll():
                await asyncio.sleep(1)  # noqa
            """
        ),
        Valid(
            """
            import asyncio

            async def poll():
                await asyncio.sleep(1)  # noqa: POL104 (opt-in, not run here)
            """
        ),
        Valid(
            """
            import asyncio

            async def poll():
                await asyncio.sleep(1)  # noqa: POL1
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import asyncio

            async def poll():
                await asyncio.sleep(1)  # noqa: POL101
            """,
            expected_replacement="""
            import asyncio

            async def poll():
                await asyncio.sleep(1)
            """,
        ),
        Invalid(
            """
            import asyncio

            async def poll():
                await asyncio.sleep(1)  # noqa: E501, POL101
            """,
            expected_replacement="""
            import asyncio

            async def poll():
                await asyncio.sleep(1)  # noqa: E501
            """,
        ),
        Invalid(
            """
            import asyncio
            # poollint: noqa: POL101 (sleeps are fine in this script)

            async def poll():
                await asyncio.sleep(1)
            """,
            expected_replacement="""
            import asyncio


            async def poll():
                await asyncio.sleep(1)
            """,
        ),
        Invalid(
            """
            import asyncio

            async def poll():
                await asyncio.sleep(1)  # noqa: POL101 old workaround  # type: ignore[misc]
            """,
            expected_replacement="""
            import asyncio

            async def poll():
                await asyncio.sleep(1)  # type: ignore[misc]
            """,
        ),
    ]

    @classmethod
    def unused_noqa(
        cls,
        noqa: FileNoqa,
        used: Set[Tuple[int, int, str]],
        judged: FrozenSet[str],
        module: cst.Module,
        source: bytes,
    ) -> List[Diagnostic]:
        """A finding per directive with judged codes that suppressed nothing;
        `used` holds (line, column, code) of every code that did."""
        found = []
        holders: Optional[Dict[int, Tuple[cst.CSTNode, cst.Comment]]] = None
        for directive in noqa.directives():
            if directive.codes is None:
                continue
            unused = [
                code
                for code in dict.fromkeys(directive.codes)
                if code in judged and (directive.line, directive.column, code) not in used
            ]
            if not unused:
                continue
            if holders is None:
                holders = _comment_holders(module, source)
            diagnostic = Diagnostic(
                code=cls.CODE,
                message=cls.MESSAGE.format(codes=", ".join(f"`{code}`" for code in unused)),
                line=directive.line,
                column=directive.column + 1,
                end_line=directive.line,
                end_column=directive.end_column + 1,
            )
            fix = _fix(directive, unused, holders.get(directive.line))
            if fix is not None:
                diagnostic.fix = fix
                diagnostic.fix_safety = fix.safety
            found.append(diagnostic)
        return found


class _CommentHolders(cst.CSTVisitor):
    """Every comment of the tree with the node holding it, in source order."""

    def __init__(self) -> None:
        self.found: List[Tuple[cst.CSTNode, cst.Comment]] = []

    def visit_TrailingWhitespace(self, node: cst.TrailingWhitespace) -> None:
        if node.comment is not None:
            self.found.append((node, node.comment))

    def visit_EmptyLine(self, node: cst.EmptyLine) -> None:
        if node.comment is not None:
            self.found.append((node, node.comment))


def _comment_holders(module: cst.Module, source: bytes) -> Dict[int, Tuple[cst.CSTNode, cst.Comment]]:
    """Line -> (holder, comment) of each comment, pairing the tree's comments
    with the tokenizer's, both in source order. Empty when they disagree:
    then no fix is offered rather than one on the wrong comment."""
    layout = comment_layout(source)
    if layout is None:
        return {}
    collector = _CommentHolders()
    module.visit(collector)
    lines = sorted(layout.comments)
    if len(lines) != len(collector.found):
        return {}
    paired = {}
    for line, (holder, comment) in zip(lines, collector.found):
        if layout.comments[line][1] != comment.value:
            return {}
        paired[line] = (holder, comment)
    return paired


def _fix(
    directive: Directive, unused: List[str], held: Optional[Tuple[cst.CSTNode, cst.Comment]]
) -> Optional[Fix]:
    if held is None:
        return None
    holder, comment = held
    left = remove_codes(comment.value, directive.column - directive.comment_column, unused)
    if left:
        return Fix(node=comment, replacement=cst.Comment(left), safety=FixSafety.SAFE)
    if isinstance(holder, cst.TrailingWhitespace):
        replacement = holder.with_changes(whitespace=cst.SimpleWhitespace(""), comment=None)
    else:
        # A comment alone on its line: the line stays, empty.
        replacement = holder.with_changes(indent=False, whitespace=cst.SimpleWhitespace(""), comment=None)
    return Fix(node=holder, replacement=replacement, safety=FixSafety.SAFE)
