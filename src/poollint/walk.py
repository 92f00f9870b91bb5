"""A read-only walk of a libcst tree, in source order, for the rules.

libcst's own `visit()` rebuilds every node it passes (it serves transformers
too) and visits every whitespace and punctuation token: on real code that
walk cost three times the parse. Rules only look at syntax, so this walk
reads each node's syntax fields directly and never touches tokens.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, List, Sequence, Tuple

import libcst as cst

# Fields that only ever hold whitespace, comments or punctuation.
_TOKEN_FIELDS = frozenset(
    {
        "lpar",
        "rpar",
        "comma",
        "leading_lines",
        "lines_after_decorators",
        "header",
        "footer",
        "semicolon",
        "equal",
        "colon",
        "first_colon",
        "second_colon",
        "dot",
        "star",
        "newline",
        "first_line",
        "last_line",
        "indent",
        "trailing_whitespace",
        "trailing_comma",
        "empty_lines",
        "lbrace",
        "rbrace",
        "lbracket",
        "rbracket",
        "default_indent",
        "default_newline",
        "encoding",
        "has_trailing_newline",
        "separator",
        "posonly_ind",
        "asynchronous",
        "operator",
        "comment",
        "relative",
        "conversion",
    }
)

# Where a node's dataclass fields are not in source order, the order libcst
# itself visits them in (decorators before the body they decorate, ...).
_SOURCE_ORDER: Dict[type, Tuple[str, ...]] = {
    cst.FunctionDef: ("decorators", "name", "type_parameters", "params", "returns", "body"),
    cst.ClassDef: ("decorators", "name", "type_parameters", "bases", "keywords", "body"),
    cst.ExceptHandler: ("type", "name", "body"),
    cst.ExceptStarHandler: ("type", "name", "body"),
    cst.IfExp: ("body", "test", "orelse"),
    cst.MatchCase: ("pattern", "guard", "body"),
    cst.Arg: ("keyword", "value"),
    cst.Parameters: ("posonly_params", "params", "star_arg", "kwonly_params", "star_kwarg"),
    cst.TypeAlias: ("name", "type_parameters", "value"),
}

_FIELDS: Dict[type, Tuple[str, ...]] = {}


def _syntax_fields(cls: type) -> Tuple[str, ...]:
    fields = _FIELDS.get(cls)
    if fields is None:
        if cls in _SOURCE_ORDER:
            fields = _SOURCE_ORDER[cls]
        else:
            fields = tuple(
                f.name
                for f in dataclasses.fields(cls)
                if f.name not in _TOKEN_FIELDS and not f.name.startswith("whitespace")
            )
        _FIELDS[cls] = fields
    return fields


Handler = Callable[[cst.CSTNode], object]


def walk(
    root: cst.CSTNode,
    visits: Dict[type, Sequence[Handler]],
    leaves: Dict[type, Sequence[Handler]],
) -> None:
    """Call `visits[type]` on entering each node and `leaves[type]` on leaving it.

    Iterative, so deeply nested code cannot exhaust Python's recursion limit.
    """
    stack: List[Tuple[cst.CSTNode, bool]] = [(root, False)]
    node_class = cst.CSTNode
    while stack:
        node, leaving = stack.pop()
        kind = type(node)
        if leaving:
            for handler in leaves.get(kind, ()):
                handler(node)
            continue
        for handler in visits.get(kind, ()):
            handler(node)
        stack.append((node, True))
        children: List[cst.CSTNode] = []
        for name in _syntax_fields(kind):
            value = getattr(node, name, None)
            if isinstance(value, node_class):
                children.append(value)
            elif isinstance(value, (tuple, list)):
                children.extend(item for item in value if isinstance(item, node_class))
        for child in reversed(children):
            stack.append((child, False))
