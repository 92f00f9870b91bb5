"""libcst's parser, without validating again what the parser itself built.

Every libcst node checks its own fields when it is constructed
(`CSTNode.__post_init__` calls `_validate()`): a guard for trees built by
hand, such as a fix's replacement. A tree coming out of the parser is valid
by construction, yet on FastAPI modules the checks cost a fifth of
`parse_module` (libcst's own comment on `__post_init__` says as much). So
while the parser runs, the check is switched off; nodes built anywhere
else, fixes included, are still validated.
"""

from __future__ import annotations

from typing import Callable, Optional

import libcst as cst

try:
    from libcst._nodes.base import CSTNode as _CSTNode
except ImportError:  # a libcst that moved its base class: parse as libcst does
    _CSTNode = None  # type: ignore[assignment,misc]

_VALIDATE: Optional[Callable[..., None]] = (
    _CSTNode.__dict__.get("__post_init__") if _CSTNode is not None else None  # type: ignore[union-attr]
)


def _trust(self: object) -> None:
    return None


def parse_module(source: bytes) -> cst.Module:
    """`libcst.parse_module(source)`, the same tree, built without per-node validation."""
    if _VALIDATE is None:
        return cst.parse_module(source)
    _CSTNode.__post_init__ = _trust  # type: ignore[union-attr,method-assign]
    try:
        return cst.parse_module(source)
    finally:
        _CSTNode.__post_init__ = _VALIDATE  # type: ignore[union-attr,method-assign]
