"""Applying fixes: one transformer pass per round, imports through AddImportsVisitor, then re-parse."""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import libcst as cst

from poollint.rule import Diagnostic, Fix, FixSafety


@dataclass
class FixOutcome:
    module: Optional[cst.Module]
    applied: int = 0
    dropped: List[Tuple[Diagnostic, str]] = field(default_factory=list)


class _CommentCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        self.comments: Counter = Counter()

    def visit_Comment(self, node: cst.Comment) -> None:
        self.comments[node.value] += 1


def _comments(node: cst.CSTNode) -> Counter:
    collector = _CommentCollector()
    node.visit(collector)
    return collector.comments


def effective_safety(fix: Fix) -> FixSafety:
    """The rule's safety, downgraded to unsafe when the fix would drop a comment."""
    if fix.safety is FixSafety.SAFE and _comments(fix.node) - _comments(fix.replacement):
        return FixSafety.UNSAFE
    return fix.safety


class _Replacer(cst.CSTTransformer):
    """Replaces nodes by identity and does not descend into a node it replaces,
    so of two nested fixes the outer one wins this round; the inner one is
    looked at again on the fixed code in the next round."""

    def __init__(self, fixes: Dict[cst.CSTNode, Diagnostic]) -> None:
        super().__init__()
        self.fixes = fixes
        self.applied: List[Diagnostic] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        return node not in self.fixes

    def on_leave(self, original_node, updated_node):  # type: ignore[no-untyped-def]
        diagnostic = self.fixes.get(original_node)
        if diagnostic is None:
            return updated_node
        self.applied.append(diagnostic)
        assert diagnostic.fix is not None
        return diagnostic.fix.replacement


def _transform(module: cst.Module, diagnostics: Sequence[Diagnostic]) -> Tuple[cst.Module, List[Diagnostic]]:
    by_node: Dict[cst.CSTNode, Diagnostic] = {}
    for diagnostic in diagnostics:
        assert diagnostic.fix is not None
        # Two fixes of one node: the first this round, the other re-reported next.
        by_node.setdefault(diagnostic.fix.node, diagnostic)
    replacer = _Replacer(by_node)
    new_module = module.visit(replacer)
    imports = [request for d in replacer.applied for request in d.fix.imports]  # type: ignore[union-attr]
    if imports:
        # libcst.codemod costs a third of poollint's start-up: only runs that fix pay it.
        from libcst.codemod import CodemodContext
        from libcst.codemod.visitors import AddImportsVisitor

        context = CodemodContext()
        for module_name, obj in imports:
            AddImportsVisitor.add_needed_import(context, module_name, obj)
        new_module = AddImportsVisitor(context).transform_module(new_module)
    return new_module, replacer.applied


def why_invalid(code: str, path: Path) -> Optional[str]:
    """Why fixed code cannot be written, or None. Compiles it, never runs it."""
    try:
        # Compiling (not only parsing) also rejects `await` outside async def.
        # The user's own warnings (invalid escapes...) are not ours to print.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(code, str(path), "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return f"the result would not compile: {getattr(exc, 'msg', exc)}"
    try:
        cst.parse_module(code)
    except Exception as exc:  # libcst's own parser must read it back too
        return f"the result would not re-parse: {exc}"
    return None


def _attempt(module: cst.Module, diagnostics: Sequence[Diagnostic], path: Path):
    new_module, applied = _transform(module, diagnostics)
    if new_module.code == module.code:
        return module, [], None
    problem = why_invalid(new_module.code, path)
    return new_module, applied, problem


def apply_fixes(module: cst.Module, diagnostics: Sequence[Diagnostic], path: Path) -> FixOutcome:
    new_module, applied, problem = _attempt(module, diagnostics, path)
    if problem is None:
        return FixOutcome(_reparse(new_module), len(applied))
    # Together they break the file: find the ones that do so alone.
    outcome = FixOutcome(None)
    good: List[Diagnostic] = []
    for diagnostic in applied:
        _, one_applied, one_problem = _attempt(module, [diagnostic], path)
        if one_problem is None and one_applied:
            good.append(diagnostic)
        else:
            outcome.dropped.append((diagnostic, one_problem or "it conflicts with another fix"))
    while good:
        candidate, candidate_applied, candidate_problem = _attempt(module, good, path)
        if candidate_problem is None:
            outcome.module = _reparse(candidate)
            outcome.applied = len(candidate_applied)
            return outcome
        outcome.dropped.append((good.pop(), "it conflicts with another fix"))
    return outcome


def _reparse(new_module: cst.Module) -> cst.Module:
    # A fresh tree for the next round, read back from the bytes as written.
    return cst.parse_module(new_module.bytes)
