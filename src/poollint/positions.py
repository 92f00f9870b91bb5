"""Line and column of the nodes rules report, without a pass over the whole tree.

libcst's PositionProvider generates the code of the entire module to learn
where each node is: on files with findings that cost four times the parse.
A finding needs the position of one or two nodes. Python's `ast` knows the
line and column of every statement, at a tenth of libcst's parse cost, and
statements appear in the same order in both trees. So: find the statement
that holds the reported node, generate the code of that statement alone
(with the indentation of the blocks around it), and shift its lines to where
`ast` says the statement starts.

Every shortcut is checked (the statement count of both trees, the kind of
each paired statement, and the anchor's line and column); if anything
disagrees, or the node is not found, the file falls back to libcst's own
provider. Positions are therefore always libcst's.
"""

from __future__ import annotations

import ast
from typing import Dict, List, Optional, Sequence, Tuple

import libcst as cst
from libcst._position import CodePosition, CodeRange
from libcst.metadata import MetadataWrapper, PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState

from poollint.statements import Statement, decode, encode
from poollint.walk import _syntax_fields

# The statements codegen can start from: every element of a block's body.
UNIT_TYPES: Tuple[type, ...] = (
    cst.SimpleStatementLine,
    cst.FunctionDef,
    cst.ClassDef,
    cst.If,
    cst.For,
    cst.While,
    cst.With,
    cst.Try,
    cst.Match,
) + ((cst.TryStar,) if hasattr(cst, "TryStar") else ())

# What each libcst compound statement is called in `ast`.
_AST_NAMES: Dict[type, Tuple[str, ...]] = {
    cst.FunctionDef: ("FunctionDef", "AsyncFunctionDef"),
    cst.ClassDef: ("ClassDef",),
    cst.If: ("If",),
    cst.For: ("For", "AsyncFor"),
    cst.While: ("While",),
    cst.With: ("With", "AsyncWith"),
    cst.Try: ("Try",),
    cst.Match: ("Match",),
}
if hasattr(cst, "TryStar"):
    _AST_NAMES[cst.TryStar] = ("TryStar",)


class _Mismatch(Exception):
    """The two trees do not line up: use libcst's provider for this file."""


class _Unit:
    __slots__ = ("node", "indents", "line", "column")

    def __init__(self, node: cst.CSTNode, indents: Tuple[str, ...]) -> None:
        self.node = node
        self.indents = indents
        self.line = 0
        self.column = 0


class Positions:
    """Where nodes of one module are, computed on demand."""

    def __init__(self, module: cst.Module, source: bytes, statements: Optional[bytes] = None) -> None:
        self.module = module
        self.source = source
        # Pass 1's table of where `source`'s statements start (statements.py), if known.
        self.statements = statements
        self._units: Optional[Dict[int, _Unit]] = None
        self._by_unit: Dict[int, Dict[cst.CSTNode, CodeRange]] = {}
        # id(unit node) -> real line minus generated line, once generated.
        self._shifts: Dict[int, int] = {}
        self._full: Optional[object] = None
        # id(node) -> the innermost unit holding it, once the module is mapped.
        self._found: Dict[int, Optional[cst.CSTNode]] = {}
        self._mapped_all = False

    def range_of(self, node: cst.CSTNode, hints: Sequence[cst.CSTNode] = ()) -> CodeRange:
        """The position of `node`; `hints` are statements that may hold it,
        innermost last (the statements the walk was in when it was reported)."""
        if self._full is None:
            try:
                found = self._fast(node, hints)
            except _Mismatch:
                found = None
            if found is not None:
                return found
        return self._provider()[node]

    def frame(
        self, node: cst.CSTNode, hints: Sequence[cst.CSTNode] = ()
    ) -> Optional[Tuple[cst.CSTNode, Tuple[str, ...], int]]:
        """The statement whose code placed `node` (after range_of(node)): the
        statement, the indentation its code was generated with, and what to add
        to a line of that code to get the file's line. None when the whole
        module's provider placed it (the module is then the frame, shift 0)."""
        if self._full is not None or self._units is None:
            return None
        unit = self._unit_holding(node, hints, self._units)
        if unit is None or id(unit.node) not in self._shifts:
            return None
        return unit.node, unit.indents, self._shifts[id(unit.node)]

    def _provider(self):  # type: ignore[no-untyped-def]
        if self._full is None:
            self._full = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(PositionProvider)
        return self._full

    # -- the shortcut --------------------------------------------------------
    def _fast(self, node: cst.CSTNode, hints: Sequence[cst.CSTNode]) -> Optional[CodeRange]:
        units = self._unit_table()
        unit = self._unit_holding(node, hints, units)
        if unit is None:
            return None
        ranges = self._by_unit.get(id(unit.node))
        if ranges is None:
            ranges = self._generate(unit)
            self._by_unit[id(unit.node)] = ranges
        return ranges.get(node)

    def _unit_table(self) -> Dict[int, _Unit]:
        if self._units is None:
            self._units = _pair_statements(self.module, self.source, self.statements)
        return self._units

    def _unit_holding(
        self, node: cst.CSTNode, hints: Sequence[cst.CSTNode], units: Dict[int, _Unit]
    ) -> Optional[_Unit]:
        if id(node) in units:
            return units[id(node)]
        for hint in reversed(tuple(hints)):
            holder = _innermost_unit(hint, node, units)
            if holder is not None:
                return units[id(holder)]
        if not self._mapped_all:
            # Not under any hint: map every node of the module once, so
            # further misses cost a lookup rather than another search.
            _map_units(self.module, units, self._found)
            self._mapped_all = True
        holder = self._found.get(id(node))
        return units[id(holder)] if holder is not None else None

    def _generate(self, unit: _Unit) -> Dict[cst.CSTNode, CodeRange]:
        provider = PositionProvider()
        state = PositionProvidingCodegenState(
            default_indent=self.module.default_indent,
            default_newline=self.module.default_newline,
            provider=provider,
        )
        state.indent_tokens = list(unit.indents)
        unit.node._codegen(state)
        computed: Dict[cst.CSTNode, CodeRange] = provider._computed
        node = unit.node
        anchor = node.body[0] if isinstance(node, cst.SimpleStatementLine) else node
        start = computed[anchor].start
        if start.column != unit.column:
            raise _Mismatch("anchor column")
        shift = unit.line - start.line
        self._shifts[id(node)] = shift
        if shift == 0:
            return computed
        return {
            key: CodeRange(
                CodePosition(where.start.line + shift, where.start.column),
                CodePosition(where.end.line + shift, where.end.column),
            )
            for key, where in computed.items()
        }


def _innermost_unit(root: cst.CSTNode, target: cst.CSTNode, units: Dict[int, _Unit]) -> Optional[cst.CSTNode]:
    """The innermost statement unit under `root` (or `root` itself) holding `target`."""
    stack: List[Tuple[cst.CSTNode, Optional[cst.CSTNode]]] = [(root, None)]
    node_class = cst.CSTNode
    while stack:
        node, holder = stack.pop()
        if id(node) in units:
            holder = node
        if node is target:
            return holder
        for name in _syntax_fields(type(node)):
            value = getattr(node, name, None)
            if isinstance(value, node_class):
                stack.append((value, holder))
            elif isinstance(value, (tuple, list)):
                stack.extend((item, holder) for item in value if isinstance(item, node_class))
    return None


def _map_units(root: cst.CSTNode, units: Dict[int, _Unit], found: Dict[int, Optional[cst.CSTNode]]) -> None:
    stack: List[Tuple[cst.CSTNode, Optional[cst.CSTNode]]] = [(root, None)]
    node_class = cst.CSTNode
    while stack:
        node, holder = stack.pop()
        if id(node) in units:
            holder = node
        found[id(node)] = holder
        for name in _syntax_fields(type(node)):
            value = getattr(node, name, None)
            if isinstance(value, node_class):
                stack.append((value, holder))
            elif isinstance(value, (tuple, list)):
                stack.extend((item, holder) for item in value if isinstance(item, node_class))


# -- pairing libcst statements with ast statements -----------------------------
def _pair_statements(module: cst.Module, source: bytes, table: Optional[bytes] = None) -> Dict[int, _Unit]:
    """Each statement unit of `module`, with the line and column `ast` gives it
    (from pass 1's `table` when there is one: no second `ast` parse)."""
    entries: List[Tuple[Optional[_Unit], Optional[type]]] = []
    _cst_block(module.body, (), module.default_indent, entries)
    statements = decode(table) if table is not None else _ast_statements(source)
    if len(statements) != len(entries):
        raise _Mismatch("statement counts differ")
    units: Dict[int, _Unit] = {}
    for (unit, kind), (line, column, ast_name) in zip(entries, statements):
        if kind is None:
            if ast_name:
                raise _Mismatch("a simple statement paired with a compound one")
        elif ast_name not in _AST_NAMES[kind]:
            raise _Mismatch(f"{kind.__name__} paired with {ast_name or 'a simple statement'}")
        if unit is not None:
            unit.line = line
            unit.column = column
            units[id(unit.node)] = unit
    return units


def _ast_statements(source: bytes) -> List[Statement]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise _Mismatch(f"ast cannot parse: {exc}") from None
    return decode(encode(tree))


def _cst_block(
    body: Sequence[cst.CSTNode],
    indents: Tuple[str, ...],
    default_indent: str,
    out: List[Tuple[Optional[_Unit], Optional[type]]],
) -> None:
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            out.append((_Unit(statement, indents), None))
            out.extend((None, None) for _ in statement.body[1:])
        else:
            _cst_compound(statement, _Unit(statement, indents), indents, default_indent, out)


def _cst_compound(
    statement: cst.CSTNode,
    unit: Optional[_Unit],
    indents: Tuple[str, ...],
    default_indent: str,
    out: List[Tuple[Optional[_Unit], Optional[type]]],
) -> None:
    kind = type(statement)
    if kind not in _AST_NAMES:
        raise _Mismatch(f"unexpected statement {kind.__name__}")
    out.append((unit, kind))

    def suite(block: cst.BaseSuite, outer: Tuple[str, ...] = indents) -> None:
        if isinstance(block, cst.IndentedBlock):
            indent = block.indent if block.indent is not None else default_indent
            _cst_block(block.body, outer + (indent,), default_indent, out)
        else:  # `if x: a; b` on the header's line: statements, but no units
            out.extend((None, None) for _ in block.body)

    if isinstance(statement, cst.Match):
        # The cases sit one level in, and their bodies one more.
        cases = indents + (statement.indent if statement.indent is not None else default_indent,)
        for case in statement.cases:
            suite(case.body, cases)
    else:
        suite(statement.body)  # type: ignore[attr-defined]
    for handler in getattr(statement, "handlers", ()):
        suite(handler.body)
    orelse = getattr(statement, "orelse", None)
    if isinstance(orelse, cst.If):  # elif: its own ast statement, generated with its parent
        _cst_compound(orelse, None, indents, default_indent, out)
    elif orelse is not None:
        suite(orelse.body)
    finalbody = getattr(statement, "finalbody", None)
    if finalbody is not None:
        suite(finalbody.body)
