"""Where each statement of a module starts, as `ast` says, in a few bytes.

positions.py places a reported node by pairing libcst's statements with
`ast`'s, which know their line and column. Pass 1 has the `ast` tree in hand,
so it records the table once (facts.statements) and pass 2 does not parse
the file with `ast` a second time. Per statement: the line as a difference
from the previous statement's, the column, and the kind; each a varint, so a
module of a hundred statements costs about three hundred bytes.
"""

from __future__ import annotations

import ast
from typing import List, Sequence, Tuple

# The compound statements, numbered from 1 (0 is any simple statement).
COMPOUND = (
    "FunctionDef",
    "AsyncFunctionDef",
    "ClassDef",
    "If",
    "For",
    "AsyncFor",
    "While",
    "With",
    "AsyncWith",
    "Try",
    "TryStar",
    "Match",
)
_KIND = {name: number for number, name in enumerate(COMPOUND, start=1)}

# (line, column, ast class name or "" for a simple statement)
Statement = Tuple[int, int, str]


def in_order(body: Sequence[ast.stmt], out: List[ast.stmt]) -> None:
    """Every statement under `body` in source order, as libcst's blocks list them."""
    for statement in body:
        out.append(statement)
        if type(statement).__name__ not in _KIND:
            continue
        # In source order: a Match's body is its cases, Try's handlers come
        # between body and orelse.
        for case in getattr(statement, "cases", ()):
            in_order(case.body, out)
        in_order(getattr(statement, "body", ()), out)
        for handler in getattr(statement, "handlers", ()):
            in_order(handler.body, out)
        in_order(getattr(statement, "orelse", ()), out)
        in_order(getattr(statement, "finalbody", ()), out)


def encode(tree: ast.Module) -> bytes:
    statements: List[ast.stmt] = []
    in_order(tree.body, statements)
    out = bytearray()
    previous = 0
    for statement in statements:
        line = statement.lineno
        delta = line - previous
        previous = line
        # Zigzag: a line before the previous statement's stays a small number.
        _varint(out, delta * 2 if delta >= 0 else -delta * 2 - 1)
        _varint(out, statement.col_offset)
        out.append(_KIND.get(type(statement).__name__, 0))
    return bytes(out)


def decode(table: bytes) -> List[Statement]:
    found: List[Statement] = []
    position = 0
    line = 0
    size = len(table)
    while position < size:
        zigzag, position = _read_varint(table, position)
        line += zigzag // 2 if zigzag % 2 == 0 else -(zigzag + 1) // 2
        column, position = _read_varint(table, position)
        kind = table[position]
        position += 1
        found.append((line, column, COMPOUND[kind - 1] if kind else ""))
    return found


def _varint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _read_varint(data: bytes, position: int) -> Tuple[int, int]:
    value = 0
    shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7
