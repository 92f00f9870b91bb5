"""A read-only walk of a libcst tree, in source order, for the rules.

libcst's own `visit()` rebuilds every node it passes (it serves transformers
too) and visits every whitespace and punctuation token: on real code that
walk cost three times the parse. Rules only look at syntax, so this walk
reads each node's syntax fields directly and never touches tokens.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, FrozenSet, List, Sequence, Set, Tuple

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


def _node_types() -> FrozenSet[type]:
    found: Set[type] = set()
    todo = [cst.CSTNode]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return frozenset(found)


# isinstance(x, cst.CSTNode) goes through ABCMeta: a set lookup of the exact
# type is several times cheaper, and the walk asks it for every field.
_NODE_TYPES = _node_types()
_SEQUENCES = (tuple, list)


def walk(
    root: cst.CSTNode,
    visits: Dict[type, Sequence[Handler]],
    leaves: Dict[type, Sequence[Handler]],
) -> None:
    """Call `visits[type]` on entering each node and `leaves[type]` on leaving it.

    Iterative, so deeply nested code cannot exhaust Python's recursion limit.
    A node whose type nobody leaves is not pushed back for leaving.
    """
    stack: List[Tuple[cst.CSTNode, bool]] = [(root, False)]
    pop = stack.pop
    push = stack.append
    node_types = _NODE_TYPES
    fields_of = _FIELDS.get
    no_handlers: Sequence[Handler] = ()
    while stack:
        node, leaving = pop()
        kind = type(node)
        if leaving:
            for handler in leaves[kind]:
                handler(node)
            continue
        for handler in visits.get(kind, no_handlers):
            handler(node)
        if kind in leaves:
            push((node, True))
        fields = fields_of(kind)
        if fields is None:
            fields = _syntax_fields(kind)
        children: List[cst.CSTNode] = []
        for name in fields:
            value = getattr(node, name, None)
            value_type = type(value)
            if value_type in node_types:
                children.append(value)
            elif value_type in _SEQUENCES:
                children.extend(item for item in value if type(item) in node_types)
        for child in reversed(children):
            push((child, False))
