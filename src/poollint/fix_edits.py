"""A fix as text edits of the file as it is: what json and sarif reports carry.

A fix replaces one node of the tree (plus the imports it needs); tools that
apply fixes themselves (editors, review bots) want the text instead: replace
this range by that text. Generating the whole module again for every fix
would cost a full codegen per fix, so the node's edit comes from the code of
the one statement that holds it (the statement positions.py already placed),
generated before and after the replacement with the same indentation, and
the import's edit from the module's leading import block alone, which is all
AddImportsVisitor reads or changes.

Edits are relative to the file as it is, each fix on its own: applying the
edits of one finding yields exactly what `--fix` would write if that fix were
the only one (tests/test_fix_edits.py checks it on every fixture).
"""

from __future__ import annotations

import re
from typing import List, Optional, Sequence, Tuple

import libcst as cst
import libcst.matchers as m
from libcst._nodes.internal import CodegenState

from poollint.diagnostic import Edit
from poollint.fix import imported, replace_node
from poollint.positions import Positions
from poollint.rule import Fix

_IMPORT_LINE = m.SimpleStatementLine(body=[m.ImportFrom() | m.Import()])
_DOCSTRING_OR_STRICT = m.SimpleStatementLine(body=[m.Expr(value=m.SimpleString())]) | m.SimpleStatementLine(
    body=[m.Assign(targets=[m.AssignTarget(target=m.Name("__strict__"))])]
)


def describe_fix(fix: Fix, module: cst.Module, positions: Positions, hints: Sequence[cst.CSTNode] = ()) -> Tuple[Edit, ...]:
    edits: List[Edit] = []
    imports = _import_edit(fix, module)
    if imports is not None:
        edits.append(imports)
    edits.append(_node_edit(fix, module, positions, hints))
    edits.sort(key=lambda edit: (edit[1], edit[2]))
    for before, after in zip(edits, edits[1:]):
        if (after[1], after[2]) < (before[3], before[4]):
            # Both edits touch the import block: one edit of the whole module.
            return (_whole_module_edit(module, fix),)
    return tuple(edits)


# -- the node ------------------------------------------------------------------


def _node_edit(fix: Fix, module: cst.Module, positions: Positions, hints: Sequence[cst.CSTNode]) -> Edit:
    where = positions.range_of(fix.node, hints)
    frame = positions.frame(fix.node, hints)
    if frame is None:
        root, indents, shift = module, (), 0
    else:
        root, indents, shift = frame  # type: ignore[assignment]
    old = _code(root, indents, module)
    new = _code(replace_node(root, fix.node, fix.replacement), indents, module)
    starts = _line_starts(old)
    start = starts[where.start.line - shift - 1] + where.start.column
    end = starts[where.end.line - shift - 1] + where.end.column
    tail = len(old) - end
    if new.startswith(old[:start]) and new.endswith(old[end:]) and len(new) - tail >= start:
        # The usual case: the node's own text, replaced by its replacement's.
        return (
            new[start : len(new) - tail],
            where.start.line,
            where.start.column + 1,
            where.end.line,
            where.end.column + 1,
        )
    # The replacement changed text the node's range leaves out (its leading lines).
    return _difference(old, new, shift)


def _code(node: cst.CSTNode, indents: Tuple[str, ...], module: cst.Module) -> str:
    if isinstance(node, cst.Module):
        return node.code
    state = CodegenState(default_indent=module.default_indent, default_newline=module.default_newline)
    state.indent_tokens = list(indents)
    node._codegen(state)
    return "".join(state.tokens)


# -- the imports ---------------------------------------------------------------


def _import_edit(fix: Fix, module: cst.Module) -> Optional[Edit]:
    missing = [request for request in fix.imports if not imported(module, request)]
    if not missing:
        return None
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor

    head = _leading_block(module)
    context = CodemodContext()
    for module_name, obj in missing:
        AddImportsVisitor.add_needed_import(context, module_name, obj)
    changed = AddImportsVisitor(context).transform_module(head)
    return _difference(head.code, changed.code, 0)


def _leading_block(module: cst.Module) -> cst.Module:
    """The module cut after its leading import block, as AddImportsVisitor
    finds it (after a docstring or `__strict__`, the single-import lines up to
    the first other statement). That statement is kept as a stand-in with its
    leading lines only: the visitor may add an empty line above it."""
    body = module.body
    index = 1 if body and m.matches(body[0], _DOCSTRING_OR_STRICT) else 0
    while index < len(body) and m.matches(body[index], _IMPORT_LINE):
        index += 1
    if index >= len(body):
        return module
    stand_in = cst.SimpleStatementLine(body=[cst.Pass()], leading_lines=body[index].leading_lines)
    return module.with_changes(body=[*body[:index], stand_in], footer=())


# -- text differences ----------------------------------------------------------


def _whole_module_edit(module: cst.Module, fix: Fix) -> Edit:
    from poollint.fix import with_imports

    changed = with_imports(replace_node(module, fix.node, fix.replacement), fix.imports)  # type: ignore[arg-type]
    return _difference(module.code, changed.code, 0)


def _difference(old: str, new: str, shift: int) -> Edit:
    """The one edit turning `old` into `new`: what lies between their common
    beginning and common end. Lines of `old` are those of the file plus `shift`."""
    limit = min(len(old), len(new))
    prefix = 0
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]:
        suffix += 1
    start_line, start_column = _position(old, prefix)
    end_line, end_column = _position(old, len(old) - suffix)
    return (new[prefix : len(new) - suffix], start_line + shift, start_column, end_line + shift, end_column)


# What ends a line for Python's tokenizer and libcst (not form feeds, which
# str.splitlines would also split on).
_NEWLINE = re.compile(r"\r\n|\r|\n")


def _line_starts(text: str) -> List[int]:
    return [0] + [match.end() for match in _NEWLINE.finditer(text)]


def _position(text: str, offset: int) -> Tuple[int, int]:
    """1-based line and column of `offset` in `text`."""
    line, start = 1, 0
    for match in _NEWLINE.finditer(text, 0, offset):
        line, start = line + 1, match.end()
    return line, offset - start + 1
