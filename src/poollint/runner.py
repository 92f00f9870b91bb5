"""One run over the files of a project: discovery, both passes, writing fixes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Type

from poollint.config import Settings
from poollint.discovery import discover_python_files
from poollint.engine import FactsResult, FileResult, FixRequest, build_index, check_file, read_facts
from poollint.rule import Diagnostic, FixSafety, PoolRule
from poollint.selection import code_matches, ignored_codes_for_file
from poollint.writer import WriteError, write_atomic


@dataclass
class RunResult:
    files: List[FileResult] = field(default_factory=list)

    @property
    def diagnostics(self) -> List[Diagnostic]:
        return [d for f in self.files for d in f.diagnostics]

    @property
    def fixed(self) -> int:
        return sum(f.fixed for f in self.files)

    @property
    def internal_error(self) -> bool:
        return any(f.internal_error for f in self.files)

    def fixable(self, safety: FixSafety) -> int:
        return sum(1 for d in self.diagnostics if d.fix_safety is safety)


def _key(path: Path) -> str:
    return os.path.normcase(os.path.abspath(path))


def _relative(path: Path, root: Path) -> str:
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        return Path(path).as_posix()


def rules_for_file(path: Path, settings: Settings, rules: Sequence[Type[PoolRule]]) -> List[Type[PoolRule]]:
    if not settings.per_file_ignores:
        return list(rules)
    ignored = ignored_codes_for_file(_relative(path, settings.project_root), settings.per_file_ignores)
    return [rule for rule in rules if not code_matches(rule.CODE, ignored)]


def index_files(files: Sequence[Path], settings: Settings) -> List[Path]:
    """The files whose facts the project index holds.

    With a config file, the whole project under it, so that checking one
    changed file (as pre-commit does) still knows the routes and dependencies
    defined elsewhere. Without one, the files being checked.
    """
    if settings.config_path is None:
        return list(files)
    found = {_key(p): p for p in discover_python_files([settings.project_root], settings)}
    for path in files:
        found.setdefault(_key(path), path)
    return list(found.values())


def run(
    files: Sequence[Path],
    settings: Settings,
    rules: Sequence[Type[PoolRule]],
    fix: FixRequest = FixRequest(),
    write: bool = True,
) -> RunResult:
    facts: Dict[str, FactsResult] = {}
    for path in index_files(files, settings):
        facts[_key(path)] = read_facts(path, settings.project_root)
    index = build_index(facts.values())
    result = RunResult()
    for path in files:
        file_facts = facts[_key(path)]
        file_rules = rules_for_file(path, settings, rules)
        try:
            source = path.read_bytes()
        except OSError:
            # Pass 1 already holds the read error, or the file vanished since.
            source = b""
            if file_facts.error is None:
                file_facts = read_facts(path, settings.project_root)
        file_result = check_file(path, source, file_facts, index, settings, file_rules, fix)
        if file_result.fixed_source is not None and write:
            try:
                write_atomic(path, file_result.fixed_source)
            except WriteError as exc:
                unfixed = check_file(path, source, file_facts, index, settings, file_rules)
                unfixed.warnings.append(f"{path}: {exc}")
                file_result = unfixed
        result.files.append(file_result)
    changed = [f for f in result.files if f.fixed_source is not None]
    if changed:
        _recheck_after_fixes(result, changed, facts, settings, rules)
    return result


def _recheck_after_fixes(
    result: RunResult,
    changed: Sequence[FileResult],
    facts: Dict[str, FactsResult],
    settings: Settings,
    rules: Sequence[Type[PoolRule]],
) -> None:
    """Check every file again against the index of the fixed project.

    A fix in one module can settle a finding reported in another (an async
    route turned into `def` no longer makes its engine's POL401 true), and
    files checked before it was fixed saw the old index.
    """
    sources: Dict[str, bytes] = {}
    for file_result in changed:
        key = _key(file_result.path)
        sources[key] = file_result.fixed_source  # type: ignore[assignment]
        refreshed = read_facts(file_result.path, settings.project_root, file_result.fixed_source)
        if refreshed.facts is not None:
            facts[key] = refreshed
    index = build_index(facts.values())
    for position, file_result in enumerate(result.files):
        path = file_result.path
        key = _key(path)
        source = sources.get(key)
        if source is None:
            try:
                source = path.read_bytes()
            except OSError:
                continue
        again = check_file(path, source, facts[key], index, settings, rules_for_file(path, settings, rules))
        again.fixed = file_result.fixed
        again.original = file_result.original
        again.fixed_source = file_result.fixed_source
        again.warnings = file_result.warnings + again.warnings
        again.internal_error = again.internal_error or file_result.internal_error
        result.files[position] = again
