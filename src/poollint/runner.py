"""One run over the files of a project: discovery, both passes, writing fixes."""

from __future__ import annotations

import gc
import os
from contextlib import contextmanager
from functools import cached_property
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterator, List, Mapping, Optional, Sequence, Set, Tuple, Type

# The engine (and with it libcst, a third of the start-up) is imported only
# when a file must really be read: a run answered from the cache never does.
if TYPE_CHECKING:
    from poollint.engine import FactsResult
    from poollint.project import ProjectIndex
    from poollint.rule import PoolRule
    from poollint.tracking import QueryChecker

from poollint.cache import Cache, file_digest, project_state
from poollint.config import Settings
from poollint.diagnostic import INTERNAL_ERROR, UNREADABLE, Diagnostic, FileResult, FixRequest, FixSafety
from poollint.deployment import reads_deployment_files
from poollint.discovery import discover_files
from poollint.parallel import run_tasks
from poollint.ruff_config import leave_to_ruff
from poollint.selection import code_matches, ignored_codes_for_file
from poollint.writer import WriteError, write_atomic


@dataclass
class RunResult:
    files: List[FileResult] = field(default_factory=list)
    # Notes about the run itself (the cache could not be written, say).
    warnings: List[str] = field(default_factory=list)

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


def rule_classes(rules: Sequence[object]) -> List[Type["PoolRule"]]:
    """The rule classes of `rules`, which may be classes or catalog entries
    (catalog.py): resolving entries imports the rules, and libcst with them."""
    if all(isinstance(rule, type) for rule in rules):
        return list(rules)  # type: ignore[arg-type]
    from poollint.rules import RULES_BY_CODE

    return [RULES_BY_CODE[rule.CODE] for rule in rules]  # type: ignore[attr-defined]


def rules_for_file(path: Path, settings: Settings, rules: Sequence[Type["PoolRule"]]) -> List[Type["PoolRule"]]:
    if not settings.per_file_ignores:
        return list(rules)
    ignored = ignored_codes_for_file(_relative(path, settings.project_root), settings.per_file_ignores)
    return [rule for rule in rules if not code_matches(rule.CODE, ignored)]


def index_files(files: Sequence[Path], settings: Settings, deployment: bool = False) -> List[Path]:
    """The files whose facts the project index holds.

    With a config file, the whole project under it, so that checking one
    changed file (as pre-commit does) still knows the routes and dependencies
    defined elsewhere, and (with `deployment`) the worker count its
    Dockerfile gives. Without one, the files being checked.
    """
    if settings.config_path is None:
        return list(files)
    found = {_key(p): p for p in discover_files([settings.project_root], settings, deployment=deployment)}
    for path in files:
        found.setdefault(_key(path), path)
    return list(found.values())


def read_all_facts(
    paths: Sequence[Path],
    settings: Settings,
    jobs: int = 1,
    cache: Optional[Cache] = None,
    digests: Optional[Dict[str, str]] = None,
    sources: Optional[Mapping[str, bytes]] = None,
) -> Dict[str, FactsResult]:
    """Pass 1 over `paths`, keyed by file and in their order; files the cache
    knows by their digest are not parsed. `sources` (by file key) stand in
    for what is on disk (the text of `--stdin-filename`)."""
    from poollint.engine import read_facts

    paths = list(paths)
    found: Dict[str, Optional[FactsResult]] = {}
    missing: List[Path] = []
    given: List[Path] = []
    for path in paths:
        key = _key(path)
        digest = (digests or {}).get(key)
        cached = cache.facts(key, digest) if cache is not None and digest else None
        found[key] = cached  # type: ignore[assignment]
        if cached is None:
            (given if sources and key in sources else missing).append(path)
    for path in given:
        found[_key(path)] = read_facts(path, settings.project_root, sources[_key(path)])  # type: ignore[index]
    for path, result in zip(missing, run_tasks(_facts_task, settings.project_root, missing, jobs, _facts_crashed)):
        found[_key(path)] = result
        if cache is not None and result.digest and not _is_read_error(result):
            cache.store_facts(_key(path), result.digest, result)
    return found  # type: ignore[return-value]


def read_digests(paths: Sequence[Path], sources: Optional[Mapping[str, bytes]] = None) -> Dict[str, str]:
    """Each file's content digest ("" when it cannot be read), from `sources`
    (by file key) where given."""
    digests = {}
    for path in paths:
        key = _key(path)
        try:
            digests[key] = file_digest(sources[key] if sources and key in sources else path.read_bytes())
        except OSError:
            digests[key] = ""
    return digests


def _is_read_error(result: FactsResult) -> bool:
    return result.error is not None and result.error.code in (UNREADABLE, INTERNAL_ERROR)


def run(
    files: Sequence[Path],
    settings: Settings,
    rules: Sequence[Type["PoolRule"]],
    fix: FixRequest = FixRequest(),
    write: bool = True,
    jobs: int = 1,
    cache: Optional[Cache] = None,
    sources: Optional[Mapping[Path, bytes]] = None,
) -> RunResult:
    """Check `files`; `jobs` > 1 shares both passes out over that many processes.

    Results come back in the order of `files` whatever `jobs` is, and only
    this process writes files, once every result is in. With a `cache`,
    unchanged files skip pass 1, and skip pass 2 when what their findings
    depend on in the project is unchanged too. `sources` are the contents of
    some files (which need not exist on disk) to use instead of reading
    them, in the index as in the check: what --stdin-filename gives.
    """
    given = {_key(path): data for path, data in (sources or {}).items()}
    indexed = index_files(files, settings, deployment=reads_deployment_files(rules))
    digests = read_digests(indexed, given) if cache is not None else None
    if cache is not None and digests is not None:
        unchanged = _all_from_cache(cache, files, digests, fix)
        if unchanged is not None:
            result = RunResult(files=unchanged)
            result.warnings.extend(leave_to_ruff(result.files, settings))
            problem = cache.save()
            if problem:
                result.warnings.append(problem)
            return result
    from poollint.engine import build_index
    from poollint.facts import release_shared

    rules = rule_classes(rules)
    with _collector_tuned():
        facts = read_all_facts(indexed, settings, jobs, cache, digests, given)
        index = build_index(facts.values())
        release_shared()
        # The facts live until the run ends: kept out of every later collection.
        gc.freeze()
        state = _CheckState(facts, index, settings, tuple(rules), fix, track=cache is not None, sources=given)
        checked = _check_all(state, list(files), jobs, cache)
    result = RunResult()
    unwritten: Set[str] = set()
    for path, file_result in zip(files, checked):
        if file_result.fixed_source is not None and write:
            try:
                write_atomic(path, file_result.fixed_source)
            except WriteError as exc:
                unwritten.add(_key(path))
                report_only = FixRequest(describe=fix.describe)
                unfixed = _check_task(_CheckState(facts, index, settings, tuple(rules), report_only, sources=given), path)
                unfixed.warnings.append(f"{path}: {exc}")
                file_result = unfixed
        result.files.append(file_result)
    changed = [f for f in result.files if f.fixed_source is not None]
    if changed:
        _recheck_after_fixes(
            result, changed, facts, settings, rules, jobs, cache if write else None, fix, write, given, unwritten
        )
    # After the cache, which keeps every finding: what is left to ruff
    # follows ruff's configuration as it is now.
    result.warnings.extend(leave_to_ruff(result.files, settings))
    if cache is not None:
        problem = cache.save()
        if problem:
            result.warnings.append(problem)
    return result


@contextmanager
def _collector_tuned() -> Iterator[None]:
    """Python's cyclic collector, set for a run that builds and drops a tree per file.

    Syntax trees hold no cycles (reference counting frees them), yet building
    one allocates enough objects to start a collection every few statements,
    and each full collection walked every fact of the project again: a tenth
    of a cold run. Collections are rarer while the run lasts, and what is
    frozen (the facts, once the index is built) is never scanned; forked
    workers then also leave those pages unwritten.
    """
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], 10_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _check_all(state: "_CheckState", files: List[Path], jobs: int, cache: Optional[Cache]) -> List[FileResult]:
    """Pass 2 over `files`: from the cache where its findings still hold."""
    from poollint.tracking import QueryChecker

    results: List[Optional[FileResult]] = [None] * len(files)
    todo: List[int] = []
    checker = QueryChecker(state.index) if cache is not None else None
    for position, path in enumerate(files):
        reused = _cached_result(cache, checker, state, path)
        if reused is None:
            todo.append(position)
        else:
            results[position] = reused
    fresh = run_tasks(_check_task, state, [files[i] for i in todo], jobs, _check_crashed)
    for position, file_result in zip(todo, fresh):
        results[position] = file_result
        if cache is not None:
            _store(cache, state, files[position], file_result)
    return results  # type: ignore[return-value]


def _all_from_cache(
    cache: Cache, files: Sequence[Path], digests: Dict[str, str], fix: FixRequest
) -> Optional[List[FileResult]]:
    """Every file's findings from the cache when no file of the project
    changed since they were computed: nothing to parse, no index to build."""
    state = project_state(digests)
    results = []
    for path in files:
        entry = cache.lookup(_key(path), digests.get(_key(path), ""))
        if entry is None or entry.state != state or _has_fix_to_apply(entry.diagnostics, fix):
            return None
        results.append(FileResult(path=path, diagnostics=[replace(d) for d in entry.diagnostics]))
    return results


def _has_fix_to_apply(diagnostics: Sequence[Diagnostic], fix: FixRequest) -> bool:
    """Whether cached findings cannot serve this run: a fix is to be applied,
    or to be described and the cached finding does not carry its edits."""
    return any(
        d.fix_safety is not None and (fix.allows(d.fix_safety) or (fix.describe and d.edits is None))
        for d in diagnostics
    )


def _cached_result(
    cache: Optional[Cache], checker: Optional["QueryChecker"], state: "_CheckState", path: Path
) -> Optional[FileResult]:
    if cache is None or checker is None:
        return None
    file_facts = state.facts.get(_key(path))
    if file_facts is None or not file_facts.digest:
        return None
    entry = cache.lookup(_key(path), file_facts.digest)
    if entry is None or _has_fix_to_apply(entry.diagnostics, state.fix):
        return None
    diagnostics = [replace(d) for d in entry.diagnostics]
    if entry.state != state.project_state:
        queries = cache.queries(_key(path), entry.digest)
        if queries is None or not checker.still_holds(queries):
            return None
        # Still true in this state of the project: say so, and the next run
        # with nothing changed takes the short way.
        cache.store_findings(_key(path), entry.digest, entry.diagnostics, state.project_state)
    return FileResult(path=path, diagnostics=diagnostics)


def _store(cache: Cache, state: "_CheckState", path: Path, file_result: FileResult) -> None:
    file_facts = state.facts.get(_key(path))
    if file_result.queries is None or file_facts is None or not file_facts.digest:
        return
    if file_result.internal_error or file_result.fixed_source is not None or file_result.warnings:
        return  # a crash is worth a retry; a fixed file has new content
    cache.store_findings(
        _key(path), file_facts.digest, file_result.diagnostics, state.project_state, file_result.queries
    )


@dataclass
class _CheckState:
    """What every file's pass 2 shares; a worker process receives it once."""

    facts: Dict[str, FactsResult]
    index: "ProjectIndex"
    settings: Settings
    rules: Tuple[Type["PoolRule"], ...]
    fix: FixRequest = FixRequest()
    # Log the index questions each file's rules ask, for the cache.
    track: bool = False
    # Fingerprints of answers, shared by the files one process checks.
    fingerprints: Dict[tuple, str] = field(default_factory=dict)
    # Sources to check instead of what is on disk (fixed, and not written by --diff).
    sources: Dict[str, bytes] = field(default_factory=dict)

    @cached_property
    def project_state(self) -> str:
        return project_state({key: result.digest for key, result in self.facts.items()})


def _facts_task(root: Optional[Path], path: Path) -> "FactsResult":
    from poollint.engine import read_facts

    return read_facts(path, root)


def _facts_crashed(path: Path) -> FactsResult:
    from poollint.engine import FactsResult

    return FactsResult(None, _crash_diagnostic())


def _check_task(state: _CheckState, path: Path) -> FileResult:
    from poollint.engine import check_file, read_facts
    from poollint.tracking import TrackedIndex

    file_facts = state.facts[_key(path)]
    file_rules = rules_for_file(path, state.settings, state.rules)
    try:
        source = state.sources[_key(path)] if _key(path) in state.sources else path.read_bytes()
    except OSError:
        # Pass 1 already holds the read error, or the file vanished since.
        source = b""
        if file_facts.error is None:
            file_facts = read_facts(path, state.settings.project_root)
    if state.track:
        tracked = TrackedIndex(state.index)
        file_result = check_file(path, source, file_facts, tracked, state.settings, file_rules, state.fix)  # type: ignore[arg-type]
        if file_facts.digest and file_digest(source) == file_facts.digest:
            file_result.queries = tracked.log(state.fingerprints)
    else:
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


# Project-wide passes of fixes that earlier fixes made possible (see
# _recheck_after_fixes); the bound keeps fixes that undo each other across
# files from looping.
MAX_FIX_PASSES = 3


def _recheck_after_fixes(
    result: RunResult,
    changed: Sequence[FileResult],
    facts: Dict[str, FactsResult],
    settings: Settings,
    rules: Sequence[Type["PoolRule"]],
    jobs: int = 1,
    cache: Optional[Cache] = None,
    fix: FixRequest = FixRequest(),
    write: bool = False,
    sources: Optional[Mapping[str, bytes]] = None,
    unwritten: Optional[Set[str]] = None,
) -> None:
    """Check every file again against the index of the fixed project.

    A fix in one module can settle a finding reported in another (an async
    route turned into `def` no longer makes its engine's POL401 true), and
    files checked before it was fixed saw the old index. It can also make a
    fix possible that the old index ruled out (a session factory turned
    async lets its dependency's POL202 fix use `async with`): those are
    applied here, or a second --fix would still change the code. Fixed files
    are on disk by now (with `write`), so this is an ordinary check (and the
    cache serves the files whose answers did not change). A file that could
    not be written (`unwritten`) stays as it is.
    """
    from poollint.engine import build_index, read_facts

    fixed_sources: Dict[str, bytes] = dict(sources or {})
    files = [f.path for f in result.files]
    report_only = FixRequest(describe=fix.describe)
    not_written = set(unwritten or ())
    for number in range(MAX_FIX_PASSES + 1):
        for file_result in changed:
            key = _key(file_result.path)
            fixed_sources[key] = file_result.fixed_source  # type: ignore[assignment]
            refreshed = read_facts(file_result.path, settings.project_root, file_result.fixed_source)
            if refreshed.facts is not None:
                facts[key] = refreshed
                if cache is not None and refreshed.digest:
                    cache.store_facts(key, refreshed.digest, refreshed)
        index = build_index(facts.values())
        # The last pass only checks: its findings are those of the project as written.
        request = fix if number < MAX_FIX_PASSES else report_only
        state = _CheckState(
            facts, index, settings, tuple(rules), request, track=cache is not None, sources=fixed_sources
        )
        rechecked = _check_all(state, files, jobs, cache)
        changed = []
        for position, (file_result, again) in enumerate(zip(list(result.files), rechecked)):
            key = _key(file_result.path)
            if again.fixed_source is not None and key in not_written:
                again = _check_task(replace(state, fix=report_only), file_result.path)
            elif again.fixed_source is not None and write:
                try:
                    write_atomic(file_result.path, again.fixed_source)
                except WriteError as exc:
                    not_written.add(key)
                    again = _check_task(replace(state, fix=report_only), file_result.path)
                    again.warnings.append(f"{file_result.path}: {exc}")
            if again.fixed_source is not None:
                changed.append(again)
                again.fixed += file_result.fixed
                for code, count in file_result.fixed_codes.items():
                    again.fixed_codes[code] = again.fixed_codes.get(code, 0) + count
                if file_result.original is not None:
                    again.original = file_result.original
            else:
                again.fixed = file_result.fixed
                again.fixed_codes = file_result.fixed_codes
                again.original = file_result.original
                again.fixed_source = file_result.fixed_source
            # A fix dropped in one pass is tried and dropped again in the next: say so once.
            again.warnings = file_result.warnings + [w for w in again.warnings if w not in file_result.warnings]
            again.internal_error = again.internal_error or file_result.internal_error
            result.files[position] = again
        if not changed:
            break
