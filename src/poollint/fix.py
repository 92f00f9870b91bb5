"""Applying fixes: one transformer pass per round, imports through AddImportsVisitor, then re-parse."""

from __future__ import annotations

import dataclasses
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import libcst as cst

from poollint.diagnostic import Diagnostic, FixSafety
from poollint.rule import Fix
from poollint.parsing import parse_module


@dataclass
class FixOutcome:
    module: Optional[cst.Module]
    applied: int = 0
    dropped: List[Tuple[Diagnostic, str]] = field(default_factory=list)
    # The fixed module's bytes, as they will be written.
    source: Optional[bytes] = None
    # The code of each fix applied (for --show-fixes).
    codes: List[str] = field(default_factory=list)


class _CommentCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        self.comments: Counter = Counter()

    def visit_Comment(self, node: cst.Comment) -> None:
        self.comments[node.value] += 1


def _comments(node: cst.CSTNode) -> Counter:
    collector = _CommentCollector()
    node.visit(collector)
    return collector.comments


# A fix aimed at a comment itself (POL905 taking an unused code out of a noqa
# directive) changes that comment on purpose; the downgrade below is for
# comments that a rewrite of the code around them would lose by accident.
_COMMENT_NODES = (cst.Comment, cst.TrailingWhitespace, cst.EmptyLine)


def effective_safety(fix: Fix) -> FixSafety:
    """The rule's safety, downgraded to unsafe when the fix would drop a comment."""
    if (
        fix.safety is FixSafety.SAFE
        and not isinstance(fix.node, _COMMENT_NODES)
        and _comments(fix.node) - _comments(fix.replacement)
    ):
        return FixSafety.UNSAFE
    return fix.safety


def _find_targets(
    module: cst.Module, fixes: Dict[cst.CSTNode, Diagnostic]
) -> List[Tuple[Tuple[cst.CSTNode, ...], Diagnostic]]:
    """The path from the module to each node a fix replaces, in source order.

    The search does not descend into a node it replaces, so of two nested
    fixes the outer one wins this round; the inner one is looked at again on
    the fixed code in the next round.
    """
    found: List[Tuple[Tuple[cst.CSTNode, ...], Diagnostic]] = []
    path: List[cst.CSTNode] = []
    stack: List[Tuple[cst.CSTNode, bool]] = [(module, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            path.pop()
            continue
        diagnostic = fixes.get(node)
        if diagnostic is not None:
            found.append((tuple(path) + (node,), diagnostic))
            continue
        path.append(node)
        stack.append((node, True))
        children = []
        for value in _field_values(node):
            if isinstance(value, cst.CSTNode):
                children.append(value)
            elif isinstance(value, (tuple, list)):
                children.extend(item for item in value if isinstance(item, cst.CSTNode))
        stack.extend((child, False) for child in reversed(children))
    return found


def _field_values(node: cst.CSTNode) -> List[object]:
    return [getattr(node, f.name) for f in dataclasses.fields(node)]


def _rebuilt(node: cst.CSTNode, new: Dict[int, cst.CSTNode]) -> cst.CSTNode:
    """`node` with each child that has a new version in `new` swapped in."""
    changes = {}
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if isinstance(value, cst.CSTNode):
            if id(value) in new:
                changes[f.name] = new[id(value)]
        elif isinstance(value, (tuple, list)) and any(id(item) in new for item in value):
            items = [new.get(id(item), item) for item in value]
            changes[f.name] = tuple(items) if isinstance(value, tuple) else items
    return node.with_changes(**changes)


def _transform(module: cst.Module, diagnostics: Sequence[Diagnostic]) -> Tuple[cst.Module, List[Diagnostic]]:
    """Apply the fixes by rebuilding only the nodes on the paths from the
    module to what they replace (a transformer would rebuild every node)."""
    by_node: Dict[cst.CSTNode, Diagnostic] = {}
    for diagnostic in diagnostics:
        assert diagnostic.fix is not None
        # Two fixes of one node: the first this round, the other re-reported next.
        by_node.setdefault(diagnostic.fix.node, diagnostic)
    targets = _find_targets(module, by_node)
    applied = [diagnostic for _, diagnostic in targets]
    new_module = _replace(module, [(path, d.fix.replacement) for path, d in targets])  # type: ignore[union-attr]
    assert isinstance(new_module, cst.Module)
    imports = [request for d in applied for request in d.fix.imports]  # type: ignore[union-attr]
    return with_imports(new_module, imports), applied


def _replace(root: cst.CSTNode, targets: Sequence[Tuple[Tuple[cst.CSTNode, ...], cst.CSTNode]]) -> cst.CSTNode:
    """`root` with the last node of each path swapped for its replacement."""
    new: Dict[int, cst.CSTNode] = {}
    depth: Dict[int, Tuple[int, cst.CSTNode]] = {}
    for path, replacement in targets:
        new[id(path[-1])] = replacement
        for level, ancestor in enumerate(path[:-1]):
            depth[id(ancestor)] = (level, ancestor)
    for _, ancestor in sorted(depth.values(), key=lambda item: -item[0]):
        new[id(ancestor)] = _rebuilt(ancestor, new)
    return new.get(id(root), root)


def replace_node(root: cst.CSTNode, target: cst.CSTNode, replacement: cst.CSTNode) -> cst.CSTNode:
    """`root` (a module or a statement) with `target` replaced, as a fix replaces it."""
    found = _find_targets(root, {target: target})  # type: ignore[dict-item]
    return _replace(root, [(path, replacement) for path, _ in found])


def with_imports(module: cst.Module, imports: Sequence[Tuple[str, Optional[str]]]) -> cst.Module:
    """`module` with the imports the fixes need that it does not make yet."""
    missing = [request for request in imports if not imported(module, request)]
    if not missing:
        return module
    # libcst.codemod costs a third of poollint's start-up: only runs that fix pay it.
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor

    context = CodemodContext()
    for module_name, obj in missing:
        AddImportsVisitor.add_needed_import(context, module_name, obj)
    return AddImportsVisitor(context).transform_module(module)


def imported(module: cst.Module, request: Tuple[str, Optional[str]]) -> bool:
    """Whether a module-level statement already makes the import a fix needs
    (`import asyncio`; `from contextlib import closing`, not aliased)."""
    name, obj = request
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if obj is None and isinstance(small, cst.Import):
                for alias in small.names:
                    if alias.asname is None and _dotted(alias.name) == name:
                        return True
            elif obj is not None and isinstance(small, cst.ImportFrom) and not small.relative:
                if small.module is None or _dotted(small.module) != name or isinstance(small.names, cst.ImportStar):
                    continue
                for alias in small.names:
                    if alias.asname is None and _dotted(alias.name) == obj:
                        return True
    return False


def _dotted(node: cst.BaseExpression) -> Optional[str]:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr.value}" if head else None
    return None


def why_invalid(code: str, path: Path) -> Optional[str]:
    """Why fixed code cannot be written, or None. Compiles it, never runs it."""
    return _checked(code, code.encode("utf-8"), path)[0]


def _checked(code: str, data: bytes, path: Path) -> Tuple[Optional[str], Optional[cst.Module]]:
    """(why the fixed code cannot be written, or None; its libcst tree, read
    back from the bytes as they would be written, for the next round)."""
    try:
        # Compiling (not only parsing) also rejects `await` outside async def.
        # The user's own warnings (invalid escapes...) are not ours to print.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(code, str(path), "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return f"the result would not compile: {getattr(exc, 'msg', exc)}", None
    try:
        return None, parse_module(data)
    except Exception as exc:  # libcst's own parser must read it back too
        return f"the result would not re-parse: {exc}", None


@dataclass
class _Attempt:
    applied: List[Diagnostic]
    problem: Optional[str] = None
    module: Optional[cst.Module] = None
    source: Optional[bytes] = None


def _attempt(module: cst.Module, old_code: str, diagnostics: Sequence[Diagnostic], path: Path) -> _Attempt:
    new_module, applied = _transform(module, diagnostics)
    code = new_module.code
    if code == old_code:
        return _Attempt([])
    data = code.encode(new_module.encoding)
    problem, parsed = _checked(code, data, path)
    return _Attempt(applied, problem, parsed, data)


def apply_fixes(module: cst.Module, diagnostics: Sequence[Diagnostic], path: Path) -> FixOutcome:
    old_code = module.code
    first = _attempt(module, old_code, diagnostics, path)
    if first.problem is None:
        return FixOutcome(first.module, len(first.applied), source=first.source, codes=[d.code for d in first.applied])
    # Together they break the file: find the ones that do so alone.
    outcome = FixOutcome(None)
    good: List[Diagnostic] = []
    for diagnostic in first.applied:
        one = _attempt(module, old_code, [diagnostic], path)
        if one.problem is None and one.applied:
            good.append(diagnostic)
        else:
            outcome.dropped.append((diagnostic, one.problem or "it conflicts with another fix"))
    while good:
        candidate = _attempt(module, old_code, good, path)
        if candidate.problem is None:
            outcome.module = candidate.module
            outcome.source = candidate.source
            outcome.applied = len(candidate.applied)
            outcome.codes = [d.code for d in candidate.applied]
            return outcome
        outcome.dropped.append((good.pop(), "it conflicts with another fix"))
    return outcome
