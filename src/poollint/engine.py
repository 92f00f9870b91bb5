"""The engine: pass 1 gathers facts of every file, pass 2 runs the rules of each file.

Pass 2 parses a file with libcst at most once per round and hands the one tree
to every selected rule in a single walk. A file that holds none of the
selected rules' trigger substrings is never parsed by libcst at all.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple, Type

import libcst as cst

from poollint.cache import file_digest
from poollint.context import FileContext, RawReport
from poollint.diagnostic import (
    Diagnostic,
    FixSafety,
    FILE_CODES,
    INTERNAL_ERROR,
    SYNTAX_ERROR,
    UNDECODABLE,
    UNREADABLE,
    FileResult,
    FixRequest,
)
from poollint.deployment import (
    GUNICORN,
    DeploymentContext,
    DeploymentError,
    DeploymentFacts,
    deployment_kind,
    gunicorn_facts,
    read_deployment,
)
from poollint.facts import FactsError, ModuleFacts, collect_facts
from poollint.fix import FixOutcome, apply_fixes, effective_safety
from poollint.gate import SourceView
from poollint.noqa import UNUSED_NOQA, FileNoqa, scan_comment_noqa, scan_noqa
from poollint.parsing import parse_module
from poollint.positions import UNIT_TYPES, Positions
from poollint.project import ProjectIndex, module_name_for
from poollint.rule import PoolRule
from poollint.ruff_noqa import RuffSuppressions
from poollint.walk import walk

# Fixes may enable or disable each other (an `async def` turned into `def`
# makes a nested sleep fix moot), so fixing repeats until nothing changes,
# as ruff does; the bound keeps a pair of fighting fixes from looping.
MAX_FIX_ROUNDS = 10

# How Python's parser words a file it cannot decode, as opposed to bad syntax.
_DECODE_ERRORS = ("null bytes", "unicode error", "codec", "encoding")


# -- pass 1 ---------------------------------------------------------------------


@dataclass
class FactsResult:
    facts: Optional[ModuleFacts]
    error: Optional[Diagnostic] = None
    digest: str = ""
    # A deployment file's facts (deployment.py): for a requirements file,
    # Dockerfile... with `facts` None; for gunicorn's Python config file,
    # besides its module facts.
    deploy: Optional[DeploymentFacts] = None

    @property
    def is_deployment_file(self) -> bool:
        """Not Python: checked by the deployment rules only, never parsed."""
        return self.deploy is not None and self.deploy.kind != GUNICORN


def read_facts(
    path: Path, root: Optional[Path], source: Optional[bytes] = None, tree: Optional[ast.Module] = None
) -> FactsResult:
    kind = deployment_kind(Path(path).as_posix())
    if kind is not None and kind != GUNICORN:
        return _read_deployment(path, root, source, kind)
    module, is_package = module_name_for(path, root)
    try:
        data = path.read_bytes() if source is None else source
    except OSError as exc:
        return FactsResult(None, _file_diagnostic(UNREADABLE, f"cannot read file: {exc.strerror or exc}"))
    digest = file_digest(data)
    try:
        display = _display_path(path, root)
        if tree is None:
            facts = collect_facts(data, module, display, is_package)
        else:
            facts = collect_facts(data, module, display, is_package, tree=tree)
        facts.digest = digest
        deploy = gunicorn_facts(data, facts.path) if kind == GUNICORN else None
        return FactsResult(facts, digest=digest, deploy=deploy)
    except SyntaxError as exc:
        message = str(exc.msg or exc)
        if any(marker in message for marker in _DECODE_ERRORS):
            message = message.replace("(unicode error) ", "")
            # The line of the first byte that does not decode, where Python
            # knows it; its column and "position" count within a token.
            line = max(exc.lineno or 1, 1)
            return FactsResult(None, _file_diagnostic(UNDECODABLE, f"cannot decode file: {message}", line), digest)
        line = exc.lineno or 1
        column = exc.offset or 1
        return FactsResult(
            None, _file_diagnostic(SYNTAX_ERROR, f"syntax error: {exc.msg}", line, column), digest
        )
    except (ValueError, UnicodeDecodeError, LookupError) as exc:
        # ValueError: NUL bytes; LookupError: an unknown PEP 263 codec.
        return FactsResult(None, _file_diagnostic(UNDECODABLE, f"cannot decode file: {exc}"), digest)
    except RecursionError:
        return FactsResult(None, _file_diagnostic(SYNTAX_ERROR, "too deeply nested to parse"), digest)
    except MemoryError:
        # How CPython's parser says its stack overflowed (`not not ... x`,
        # `lambda: lambda: ...` thousands deep): a file Python itself cannot
        # compile, not a reason to stop checking the others.
        return FactsResult(None, _file_diagnostic(SYNTAX_ERROR, "too complex for Python's parser"), digest)
    except FactsError as exc:
        return FactsResult(
            None, _file_diagnostic(INTERNAL_ERROR, f"internal error while reading this file: {exc}"), digest
        )


def _read_deployment(path: Path, root: Optional[Path], source: Optional[bytes], kind: str) -> FactsResult:
    try:
        data = path.read_bytes() if source is None else source
    except OSError as exc:
        return FactsResult(None, _file_diagnostic(UNREADABLE, f"cannot read file: {exc.strerror or exc}"))
    digest = file_digest(data)
    try:
        deploy = read_deployment(data, _display_path(path, root), kind)
    except DeploymentError as exc:
        return FactsResult(
            None, _file_diagnostic(INTERNAL_ERROR, f"internal error while reading this file: {exc}"), digest
        )
    deploy.digest = digest
    return FactsResult(None, digest=digest, deploy=deploy)


def _display_path(path: Path, root: Optional[Path]) -> str:
    """How messages name a module's file: relative to the project root (`app/db.py`)."""
    if root is not None:
        try:
            return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
        except ValueError:
            pass
    return Path(path).as_posix()


def build_index(results: Iterable[FactsResult]) -> ProjectIndex:
    results = list(results)
    return ProjectIndex(
        (r.facts for r in results if r.facts is not None),
        deployment=(r.deploy for r in results if r.deploy is not None),
    )


def _file_diagnostic(code: str, message: str, line: int = 1, column: int = 1) -> Diagnostic:
    return Diagnostic(code=code, message=message, line=line, column=max(column, 1))


# -- pass 2 ---------------------------------------------------------------------


def triggers_present(source: bytes, rules: Sequence[Type[PoolRule]], index: ProjectIndex) -> bool:
    """Whether any rule may fire on `source`: without this, the file is never parsed."""
    for rule in rules:
        for trigger in index.triggers_of(rule):
            if trigger in source:
                return True
    return False


# Off only in tests that prove the gates change no finding.
GATES = True


def live_rules(
    source: bytes, facts: Optional[ModuleFacts], rules: Sequence[Type[PoolRule]], index: ProjectIndex
) -> List[Type[PoolRule]]:
    """The rules that may fire on `source`: one of their triggers occurs in it,
    and their gate (gate.py) does not rule the file out. Only these are
    instantiated for the file; with none, the file is never parsed."""
    view = SourceView(source, facts)
    live = []
    # Rules share triggers ("Session", "async", "://"...): look each up once.
    present: Dict[bytes, bool] = {}
    for rule in rules:
        for trigger in index.triggers_of(rule):
            found = present.get(trigger)
            if found is None:
                found = present[trigger] = trigger in source
            if found:
                break
        else:
            continue
        if GATES and not rule.may_fire(view, index):
            continue
        live.append(rule)
    return live


def check_file(
    path: Path,
    source: bytes,
    facts: FactsResult,
    index: ProjectIndex,
    settings: object,
    rules: Sequence[Type[PoolRule]],
    fix: FixRequest = FixRequest(),
    apply_noqa: bool = True,
) -> FileResult:
    """Findings of one file, after applying the fixes `fix` asks for.

    With `apply_noqa` False, findings on a line with a matching `# noqa`
    comment are kept: the flake8 plugin leaves those comments to flake8,
    whose --disable-noqa and plugins that report unused noqa comments must
    see every finding.
    """
    result = FileResult(path=path)
    if facts.error is not None:
        result.diagnostics.append(facts.error)
        return result
    if facts.is_deployment_file:
        return _check_deployment(result, source, facts.deploy, index, settings, rules)  # type: ignore[arg-type]
    all_rules = rules
    # Without apply_noqa no directive counts, in any round (fixed_noqa: None
    # means the next round reads the directives of its own source again).
    fixed_noqa: Optional[FileNoqa] = None if apply_noqa else FileNoqa()
    noqa: Optional[FileNoqa] = scan_noqa(source) if apply_noqa else fixed_noqa
    if noqa.exempts_everything:  # type: ignore[union-attr]
        return result  # a blanket file exemption: nothing in the file is reported
    rules = live_rules(source, facts.facts, all_rules, index)
    if not rules:
        return result
    noqa_rule = next((rule for rule in all_rules if rule.CODE == UNUSED_NOQA), None)
    # POL905 judges only codes of the rules that ran on this file: a noqa for
    # a rule left out of this run is not known to be unused.
    judged = frozenset(rule.CODE for rule in all_rules if rule is not noqa_rule) if noqa_rule else frozenset()
    try:
        module = parse_module(source)
    except cst.ParserSyntaxError as exc:
        result.diagnostics.append(
            _file_diagnostic(SYNTAX_ERROR, f"libcst cannot parse this file: {exc.message}", exc.raw_line, exc.raw_column + 1)
        )
        return result
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        result.diagnostics.append(_file_diagnostic(UNDECODABLE, f"cannot decode file: {exc}"))
        return result
    except RecursionError:
        result.diagnostics.append(_file_diagnostic(SYNTAX_ERROR, "too deeply nested to parse"))
        return result

    module_facts = facts.facts or ModuleFacts(module="", path=str(path))
    current = source  # the bytes `module` was parsed from, or generated after a fix
    # Fixes found broken are not tried again in later rounds. Keyed by what
    # they replace, since an earlier fix (an added import) may shift lines.
    dropped: set = set()

    def fix_key(d: Diagnostic, module: cst.Module) -> Tuple[str, str, str]:
        return (d.code, d.message, module.code_for_node(d.fix.node) if d.fix else "")

    try:
        for _round in range(MAX_FIX_ROUNDS):
            diagnostics = _run_rules(
                path, module, current, module_facts, index, settings, rules, fix, noqa_rule, judged, noqa
            )
            noqa = fixed_noqa  # read again from what the next round checks
            fixes = [
                d
                for d in diagnostics
                if d.fix is not None
                and fix.allows(d.fix_safety or FixSafety.UNSAFE)
                and not (dropped and fix_key(d, module) in dropped)
            ]
            if fixes and fix.baseline is not None:
                fixes = _not_in_baseline(fixes, diagnostics, fix.baseline, path, settings, current)
            if not fixes:
                break
            if result.original is None and module.bytes != source:
                # libcst writes a few files back otherwise than it read them
                # (a form feed before a statement, the last lone-CR line
                # ending): fixing one would change bytes no fix asked for.
                result.warnings.append(
                    f"{path}: fixes not applied: libcst would not write the rest of this file back unchanged"
                )
                break
            outcome = apply_fixes(module, fixes, path)
            for d, why in outcome.dropped:
                dropped.add(fix_key(d, module))
                result.warnings.append(f"{path}:{d.line}:{d.column}: {d.code} fix dropped: {why}")
            if outcome.module is None or outcome.applied == 0:
                break
            if result.original is None:
                result.original = source
            result.fixed += outcome.applied
            for code in outcome.codes:
                result.fixed_codes[code] = result.fixed_codes.get(code, 0) + 1
            module = outcome.module
            current = outcome.source if outcome.source is not None else module.bytes
            refreshed = read_facts(path, None, current)
            if refreshed.facts is not None:
                refreshed.facts.module = module_facts.module
                refreshed.facts.path = module_facts.path
                module_facts = refreshed.facts
            # The rules see the fixed module itself (tree and facts) but the
            # project index as it was: rebuilding it for every round of every
            # fixed file made --fix quadratic. Findings are not taken from
            # these rounds: after fixing, every file is checked again against
            # an index of the fixed project (runner._recheck_after_fixes).
            # A fix may bring a rule into play (a fix adding pool settings
            # makes the values checkable), or take one out.
            rules = live_rules(current, module_facts, all_rules, index)
        else:
            diagnostics = _run_rules(
                path, module, current, module_facts, index, settings, rules, fix, noqa_rule, judged, fixed_noqa
            )
    except RecursionError:
        result.diagnostics.append(_file_diagnostic(SYNTAX_ERROR, "too deeply nested to check"))
        return result
    except Exception as exc:  # a bug in poollint, never the user's fault
        result.internal_error = True
        result.diagnostics.append(
            _file_diagnostic(INTERNAL_ERROR, f"internal error while checking this file: {type(exc).__name__}: {exc}")
        )
        return result
    for diagnostic in diagnostics:
        # Keep fix_safety for the report, drop the node: the tree it points
        # into is about to go, and results must pickle across processes.
        diagnostic.fix = None
    result.diagnostics.extend(diagnostics)
    if result.original is not None:
        result.fixed_source = module.bytes
    return result


def fix_one(
    path: Path,
    source: bytes,
    facts: FactsResult,
    index: ProjectIndex,
    settings: object,
    rules: Sequence[Type[PoolRule]],
    finding: Diagnostic,
    fix: FixRequest,
) -> Optional[bytes]:
    """`source` with the fix of `finding` alone applied (with the imports it
    needs), as an editor's quick fix applies it: one round, where check_file
    repeats rounds with every fix. None when `finding` is not reported with a
    fix that `fix` allows, or when its result would not compile."""
    if facts.error is not None or facts.is_deployment_file:
        return None
    rules = live_rules(source, facts.facts, rules, index)
    if not rules:
        return None
    try:
        module = parse_module(source)
    except (cst.ParserSyntaxError, SyntaxError, UnicodeDecodeError, LookupError, RecursionError):
        return None
    module_facts = facts.facts or ModuleFacts(module="", path=str(path))
    wanted = (finding.code, finding.line, finding.column)
    for diagnostic in _run_rules(path, module, source, module_facts, index, settings, rules, fix):
        if (diagnostic.code, diagnostic.line, diagnostic.column) != wanted or diagnostic.fix is None:
            continue
        if not fix.allows(diagnostic.fix_safety or FixSafety.UNSAFE):
            return None
        outcome = apply_fixes(module, [diagnostic], path)
        return outcome.source if outcome.applied else None
    return None


def _not_in_baseline(
    fixes: List[Diagnostic],
    diagnostics: List[Diagnostic],
    baseline: object,
    path: Path,
    settings: object,
    source: bytes,
) -> List[Diagnostic]:
    """The fixes of findings the baseline does not hide: --fix with --baseline
    fixes what it reports and leaves the recorded findings' code alone."""
    from poollint.baseline import relative_path

    root = getattr(settings, "project_root", None)
    if root is None:
        return fixes
    hidden = baseline.hidden_ids(relative_path(path, root), diagnostics, source)  # type: ignore[attr-defined]
    return [d for d in fixes if id(d) not in hidden]


def _check_deployment(
    result: FileResult,
    source: bytes,
    deploy: DeploymentFacts,
    index: ProjectIndex,
    settings: object,
    rules: Sequence[Type[PoolRule]],
) -> FileResult:
    """Findings of a deployment file: only rules that report in its kind of
    file run, on its facts; nothing is parsed."""
    rules = [rule for rule in rules if deploy.kind in rule.DEPLOYMENT_KINDS]
    if not rules:
        return result
    ctx = DeploymentContext(deploy, index, settings)
    try:
        for rule in rules:
            rule.check_deployment(ctx)
    except Exception as exc:  # a bug in poollint, never the user's fault
        result.internal_error = True
        result.diagnostics.append(
            _file_diagnostic(INTERNAL_ERROR, f"internal error while checking this file: {type(exc).__name__}: {exc}")
        )
        return result
    noqa = scan_comment_noqa(source)
    seen = set()
    for diagnostic in sorted(ctx.reports, key=Diagnostic.sort_key):
        key = (diagnostic.code, diagnostic.line, diagnostic.column)
        if key in seen or noqa.is_suppressed(diagnostic.line, diagnostic.code):
            continue
        seen.add(key)
        result.diagnostics.append(diagnostic)
    return result


def _dispatch_tables(ctx: FileContext, rules: Sequence[PoolRule]):  # type: ignore[no-untyped-def]
    """Per node type, the handlers to call on entering and on leaving it.

    The context enters a scope before any rule visits its node and leaves
    it after every rule has left it, so rules always see the right scope.
    """
    entries, followers = _dispatch_template(tuple(type(rule) for rule in rules))
    for follower, leader in followers:
        rules[follower].walk_leader = rules[leader]  # type: ignore[attr-defined]
        rules[leader].walk_followers.append(rules[follower])
    visits: Dict[type, List[Callable[[cst.CSTNode], object]]] = {}
    leaves: Dict[type, List[Callable[[cst.CSTNode], object]]] = {}
    for is_visit, node_type, position, name in entries:
        owner = ctx if position < 0 else rules[position]
        (visits if is_visit else leaves).setdefault(node_type, []).append(getattr(owner, name))
    return visits, leaves


# Which handler of which rule (by position; -1 is the FileContext) runs on
# entering or leaving which node type, per tuple of rule classes: files with
# the same live rules share one, and only binding it is left per file.
_Template = Tuple[List[Tuple[bool, type, int, str]], List[Tuple[int, int]]]
_TEMPLATES: Dict[Tuple[type, ...], _Template] = {}


def _dispatch_template(rule_types: Tuple[type, ...]) -> _Template:
    found = _TEMPLATES.get(rule_types)
    if found is not None:
        return found
    entries: List[Tuple[bool, type, int, str]] = []
    for scope_type in (cst.FunctionDef, cst.ClassDef, cst.Lambda):
        entries.append((True, scope_type, -1, "enter"))
    for statement_type in UNIT_TYPES:
        entries.append((True, statement_type, -1, "enter_statement"))
    # Rules built on one collecting base (the pool_config rules all gather the
    # file's engine calls) walk once: the base's own handlers run for the
    # first such rule only, and the others read what it gathered.
    leaders: Dict[type, int] = {}
    followers: List[Tuple[int, int]] = []
    for position, rule in enumerate(rule_types):
        base = getattr(rule, "SHARES_WALK_OF", None)
        leader = leaders.setdefault(base, position) if base is not None else position
        if leader != position:
            followers.append((position, leader))
        for name, kind, node_type in _rule_methods(rule):
            if (
                leader != position
                and name not in base.PER_RULE_HANDLERS
                and getattr(rule, name) is getattr(base, name)
            ):
                continue
            entries.append((kind == "visit", getattr(cst, node_type), position, name))
    for scope_type in (cst.FunctionDef, cst.ClassDef, cst.Lambda):
        entries.append((False, scope_type, -1, "exit"))
    for statement_type in UNIT_TYPES:
        entries.append((False, statement_type, -1, "exit_statement"))
    found = _TEMPLATES[rule_types] = (entries, followers)
    return found


_METHOD_CACHE: Dict[type, List[Tuple[str, str, str]]] = {}


def _rule_methods(rule: Type[PoolRule]) -> List[Tuple[str, str, str]]:
    """(method name, visit|leave, node type) of the methods a rule overrides."""
    if rule not in _METHOD_CACHE:
        found = []
        for name in dir(rule):
            for kind in ("visit", "leave"):
                prefix = kind + "_"
                if not name.startswith(prefix):
                    continue
                node_type = name[len(prefix) :]
                if "_" in node_type or getattr(rule, name) is getattr(cst.BatchableCSTVisitor, name, None):
                    continue
                found.append((name, kind, node_type))
        _METHOD_CACHE[rule] = found
    return _METHOD_CACHE[rule]


def _run_rules(
    path: Path,
    module: cst.Module,
    source: bytes,
    facts: ModuleFacts,
    index: ProjectIndex,
    settings: object,
    rules: Sequence[Type[PoolRule]],
    fix: FixRequest,
    noqa_rule: Optional[Type[PoolRule]] = None,
    judged: FrozenSet[str] = frozenset(),
    noqa: Optional[FileNoqa] = None,
) -> List[Diagnostic]:
    """The findings of one walk; `noqa` is scan_noqa(source) when already read."""
    ctx = FileContext(path, facts, index, settings, module)  # type: ignore[arg-type]
    instances = [rule(ctx) for rule in rules]
    walk(module, *_dispatch_tables(ctx, instances))
    if not ctx.reports and noqa_rule is None:
        return []
    if noqa is None:
        noqa = scan_noqa(source)
    ruff_noqa = RuffSuppressions(source, {line: d.codes for line, d in noqa.by_line.items()})
    diagnostics = []
    seen = set()
    # (line, column, listed code) of each directive code that suppressed something.
    used: Set[Tuple[int, int, str]] = set()
    positions = Positions(module, source, facts.statements) if ctx.reports else None
    for report in ctx.reports:
        diagnostic = _to_diagnostic(report, positions)  # type: ignore[arg-type]
        key = (diagnostic.code, diagnostic.line, diagnostic.column)
        if key in seen or _suppressed(noqa, diagnostic, used):
            continue
        if not ruff_noqa.admit(diagnostic, report):
            continue
        seen.add(key)
        if fix.describe and report.fix is not None:
            from poollint.fix_edits import describe_fix

            diagnostic.edits = describe_fix(report.fix, module, positions, report.hints)
        diagnostics.append(diagnostic)
    if noqa_rule is not None:
        for diagnostic in noqa_rule.unused_noqa(noqa, used, judged, module, source):  # type: ignore[attr-defined]
            if not _suppressed(noqa, diagnostic, used):
                diagnostics.append(diagnostic)
    diagnostics.sort(key=Diagnostic.sort_key)
    return diagnostics


def _suppressed(noqa: FileNoqa, diagnostic: Diagnostic, used: Set[Tuple[int, int, str]]) -> bool:
    found = noqa.suppressing(diagnostic.line, diagnostic.code)
    if found is None:
        return False
    directive, codes = found
    for code in codes:
        used.add((directive.line, directive.column, code))
    return True


def _to_diagnostic(report: RawReport, positions: Positions) -> Diagnostic:
    where = positions.range_of(report.node, report.hints)
    message = report.message
    if not isinstance(message, str):
        message = message(lambda node: positions.range_of(node, report.hints).start.line)
    diagnostic = Diagnostic(
        code=report.code,
        message=message,
        line=where.start.line,
        column=where.start.column + 1,
        end_line=where.end.line,
        end_column=where.end.column + 1,
        fix=report.fix,
    )
    if report.fix is not None:
        diagnostic.fix_safety = effective_safety(report.fix)
    return diagnostic


__all__ = [
    "FILE_CODES",
    "FactsResult",
    "FileResult",
    "FixOutcome",
    "FixRequest",
    "Diagnostic",
    "FixSafety",
    "build_index",
    "file_digest",
    "check_file",
    "fix_one",
    "read_facts",
    "live_rules",
    "triggers_present",
]
