"""One run over the files of a project: discovery, both passes, writing fixes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Type

from poollint.config import Settings
from poollint.discovery import discover_python_files
from poollint.engine import (
    INTERNAL_ERROR,
    FactsResult,
    FileResult,
    FixRequest,
    build_index,
    check_file,
    read_facts,
)
from poollint.parallel import run_tasks
from poollint.project import ProjectIndex
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


def read_all_facts(paths: Sequence[Path], settings: Settings, jobs: int = 1) -> Dict[str, FactsResult]:
    """Pass 1 over `paths`, keyed by file and in their order."""
    paths = list(paths)
    found = run_tasks(_facts_task, settings.project_root, paths, jobs, _facts_crashed)
    return {_key(path): result for path, result in zip(paths, found)}


def run(
    files: Sequence[Path],
    settings: Settings,
    rules: Sequence[Type[PoolRule]],
    fix: FixRequest = FixRequest(),
    write: bool = True,
    jobs: int = 1,
) -> RunResult:
    """Check `files`; `jobs` > 1 shares both passes out over that many processes.

    Results come back in the order of `files` whatever `jobs` is, and only
    this process writes files, once every result is in.
    """
    facts = read_all_facts(index_files(files, settings), settings, jobs)
    index = build_index(facts.values())
    state = _CheckState(facts, index, settings, tuple(rules), fix)
    checked = run_tasks(_check_task, state, list(files), jobs, _check_crashed)
    result = RunResult()
    for path, file_result in zip(files, checked):
        if file_result.fixed_source is not None and write:
            try:
                write_atomic(path, file_result.fixed_source)
            except WriteError as exc:
                unfixed = _check_task(_CheckState(facts, index, settings, tuple(rules), FixRequest()), path)
                unfixed.warnings.append(f"{path}: {exc}")
                file_result = unfixed
        result.files.append(file_result)
    changed = [f for f in result.files if f.fixed_source is not None]
    if changed:
        _recheck_after_fixes(result, changed, facts, settings, rules, jobs)
    return result


@dataclass
class _CheckState:
    """What every file's pass 2 shares; a worker process receives it once."""

    facts: Dict[str, FactsResult]
    index: ProjectIndex
    settings: Settings
    rules: Tuple[Type[PoolRule], ...]
    fix: FixRequest = FixRequest()


def _facts_task(root: Optional[Path], path: Path) -> FactsResult:
    return read_facts(path, root)


def _facts_crashed(path: Path) -> FactsResult:
    return FactsResult(None, _crash_diagnostic())


def _check_task(state: _CheckState, path: Path) -> FileResult:
    file_facts = state.facts[_key(path)]
    file_rules = rules_for_file(path, state.settings, state.rules)
    try:
        source = path.read_bytes()
    except OSError:
        # Pass 1 already holds the read error, or the file vanished since.
        source = b""
        if file_facts.error is None:
            file_facts = read_facts(path, state.settings.project_root)
    file_result = check_file(path, source, file_facts, state.index, state.settings, file_rules, state.fix)
    if file_facts.error is not None and file_facts.error.code == INTERNAL_ERROR:
        file_result.internal_error = True
    return file_result


def _check_crashed(path: Path) -> FileResult:
    return FileResult(path=path, diagnostics=[_crash_diagnostic()], internal_error=True)


def _crash_diagnostic() -> Diagnostic:
    return Diagnostic(
        code=INTERNAL_ERROR,
        message="internal error while checking this file: the worker process checking it died",
        line=1,
        column=1,
    )


def _recheck_after_fixes(
    result: RunResult,
    changed: Sequence[FileResult],
    facts: Dict[str, FactsResult],
    settings: Settings,
    rules: Sequence[Type[PoolRule]],
    jobs: int = 1,
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
    state = _CheckState(facts, index, settings, tuple(rules))
    items = [(f.path, sources.get(_key(f.path))) for f in result.files]
    rechecked = run_tasks(_recheck_task, state, items, jobs, _recheck_crashed)
    for position, (file_result, again) in enumerate(zip(list(result.files), rechecked)):
        if again is None:
            continue
        again.fixed = file_result.fixed
        again.original = file_result.original
        again.fixed_source = file_result.fixed_source
        again.warnings = file_result.warnings + again.warnings
        again.internal_error = again.internal_error or file_result.internal_error
        result.files[position] = again


def _recheck_task(state: _CheckState, item: Tuple[Path, Optional[bytes]]) -> Optional[FileResult]:
    path, source = item
    if source is None:
        try:
            source = path.read_bytes()
        except OSError:
            return None
    file_rules = rules_for_file(path, state.settings, state.rules)
    return check_file(path, source, state.facts[_key(path)], state.index, state.settings, file_rules)


def _recheck_crashed(item: Tuple[Path, Optional[bytes]]) -> FileResult:
    return _check_crashed(item[0])
