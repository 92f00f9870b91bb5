"""The flake8 plugin: `flake8 --select POL` reports what `poollint check` reports.

flake8 hands a plugin one file at a time. The plugin checks it as `poollint
check` checks it in its project: on the first file of a project a flake8
process hands it, it finds the project's files as `poollint check` indexes
them (the whole project under the [tool.poollint] that governs the file;
without one, the paths flake8 was given), reads their pass-1 facts through
poollint's cache and builds the project index, once per project and process
(project_files.py, shared with the language server). Each file is then
checked against that index with the facts of the lines flake8 read in place
of its file's, so stdin and unsaved text are checked as they are. When every
rule left to run on a file needs only that file (scope FILE: `flake8
--select POL305`), no index is built.

flake8 does not read pyproject.toml; the plugin finds [tool.poollint] by
walking up from the checked file, as `poollint check` does, and applies its
select, ignore, per-file-ignores, exclude and pool settings. flake8's own
selection and `# noqa` comments filter on top. Findings `poollint check`
reports in files flake8 does not check (POL311 at a pin in a requirements
file or pyproject.toml) are not reported; the Python files' findings that
depend on such files (workers from a Dockerfile for POL310) are.

The checked source is taken from the lines flake8 read, and nothing is
imported or run. No error of poollint's reaches flake8 as an exception: a
configuration it cannot use, a project it cannot read, or a bug, is reported
as a POL904 finding on the file's first line; a file elsewhere in the
project that cannot be read is left out of the index, as `poollint check`
leaves it.
"""

from __future__ import annotations

import argparse
import ast
import io
import os
import tokenize
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Type, Union

from poollint import __version__
from poollint.catalog import CATALOG
from poollint.diagnostic import FILE_CODES, INTERNAL_ERROR, Diagnostic

if TYPE_CHECKING:
    from poollint.config import Settings
    from poollint.project_files import ProjectFiles
    from poollint.rule import PoolRule

# flake8 prints the column it is given plus one; poollint's are 1-based.
Finding = Tuple[int, int, str, type]


class Plugin:
    """A flake8 tree plugin: one instance per file, `run()` yields its findings."""

    name = "poollint"
    version = __version__

    def __init__(self, tree: "ast.AST", filename: str, lines: Sequence[str]) -> None:
        # The rules need libcst's tree, which the engine builds from `lines`;
        # flake8's `ast` tree spares pass 1 its own parse.
        self.tree = tree
        self.filename = filename
        self.lines = lines

    @staticmethod
    def parse_options(options: argparse.Namespace) -> None:
        # Called in flake8's main process and, when its workers do not fork
        # from it, in each of them: the module's state is set in every process.
        global _WANTED, _PATHS
        _WANTED = _flake8_selection(options)
        _PATHS = _flake8_paths(options)

    def run(self) -> Iterator[Finding]:
        tree = self.tree if isinstance(self.tree, ast.Module) else None
        for diagnostic in check_lines(self.filename, self.lines, tree, _WANTED):
            yield (
                diagnostic.line,
                max(diagnostic.column - 1, 0),
                f"{diagnostic.code} {diagnostic.message}",
                type(self),
            )


# Every code poollint reports, known without importing the rules (and libcst).
_ALL_CODES = tuple(entry.CODE for entry in CATALOG) + tuple(FILE_CODES)
# Whether flake8 would show a code (its --select, --ignore and their extend-
# forms), from parse_options: rules whose findings it would drop do not run.
_WANTED: Optional[Callable[[str], bool]] = None
# The paths flake8 was given (its positional arguments), from parse_options:
# without a configuration file, `poollint check` indexes what it is given.
# None when unknown (the plugin driven without flake8's options).
_PATHS: Optional[List[str]] = None
# The settings found from each directory, or why there are none: flake8 hands
# a process many files of the same few directories.
_SETTINGS: Dict[str, Union["Settings", str]] = {}
_RULES: Dict["Settings", List[Type["PoolRule"]]] = {}
# Each project's files and their facts, read on its first file in this
# process, or why they could not be.
_PROJECTS: Dict["Settings", Union["ProjectFiles", str]] = {}


def check_lines(
    filename: str,
    lines: Sequence[str],
    tree: Optional["ast.Module"] = None,
    wanted: Optional[Callable[[str], bool]] = None,
) -> List[Diagnostic]:
    """poollint's findings in the file flake8 read as `lines` (and parsed as
    `tree`): the rules [tool.poollint] selects and, when given, `wanted`
    accepts, against the index of the file's project with these lines in
    place of the file; noqa comments are left to flake8. Never raises."""
    if wanted is not None and not any(wanted(code) for code in _ALL_CODES):
        # flake8 shows no code of poollint's (`--select E,F`): nothing to do.
        return []
    try:
        settings = _settings_for(filename)
        if isinstance(settings, str):
            return [_problem(settings)]
        return _check(Path(filename), lines, tree, settings, wanted)
    except Exception as exc:  # a bug in poollint must not stop flake8's run
        return [_problem(f"internal error while checking this file: {type(exc).__name__}: {exc}")]


def _check(
    path: Path,
    lines: Sequence[str],
    tree: Optional["ast.Module"],
    settings: "Settings",
    wanted: Optional[Callable[[str], bool]],
) -> List[Diagnostic]:
    from poollint.discovery import is_excluded
    from poollint.rule import RuleScope
    from poollint.runner import rules_for_file

    if is_excluded(path, settings):
        return []
    rules = rules_for_file(path, settings, _selected_rules(settings))
    if wanted is not None:
        rules = [rule for rule in rules if wanted(rule.CODE)]
    if not rules:
        return []
    source = source_bytes(lines)
    if not _may_fire(source, rules):
        return []
    from poollint.engine import build_index, check_file, read_facts
    from poollint.ruff_config import leave_to_ruff

    root = settings.project_root
    if all(rule.SCOPE is RuleScope.FILE for rule in rules):
        # The file alone: a FILE rule's findings do not depend on any other.
        facts = read_facts(path, root, source, tree)
        index = build_index([facts])
    else:
        project = _project_for(settings)
        if isinstance(project, str):
            return [_problem(project)]
        # The lines flake8 read are usually its file's: then its facts are
        # those read with the project's (from the cache), and the index is
        # the one shared by every such file.
        facts = project.disk_facts(path, source) or read_facts(path, root, source, tree)
        index = project.index_with(path, facts, source)
    result = check_file(path, source, facts, index, settings, rules, apply_noqa=False)
    # As `poollint check` does: the blocking calls ruff reports itself are left to it.
    leave_to_ruff([result], settings)
    return result.diagnostics


def _may_fire(source: bytes, rules: Sequence[Type["PoolRule"]]) -> bool:
    """The engine's trigger test, before pass 1 rather than after: a file
    holding none of the rules' trigger substrings needs neither facts nor the
    project index.
    A rule whose triggers come from the project index is always let through."""
    from poollint.rule import PoolRule

    for rule in rules:
        if rule.triggers.__func__ is not PoolRule.triggers.__func__:  # type: ignore[attr-defined]
            return True
        if any(trigger.encode() in source for trigger in rule.TRIGGERS):
            return True
    return False


def _flake8_selection(options: argparse.Namespace) -> Optional[Callable[[str], bool]]:
    """Whether flake8 would show a code, by its own selection; None when
    flake8's decision cannot be asked (then every rule runs)."""
    try:
        from flake8.style_guide import Decision, DecisionEngine

        decider = DecisionEngine(options)
        return lambda code: decider.decision_for(code) is Decision.Selected
    except Exception:  # another flake8 than this was written against
        return None


def _settings_for(filename: str) -> Union["Settings", str]:
    """The settings `poollint check` would use for the file, or one line
    saying why they cannot be used."""
    directory = os.path.dirname(os.path.abspath(filename))
    found = _SETTINGS.get(directory)
    if found is None:
        from poollint.config import ConfigError, load_settings
        from poollint.selection import SelectionError

        try:
            settings = load_settings(filename)
        except ConfigError as exc:
            found = f"cannot use the configuration: {exc}"
        else:
            try:
                _selected_rules(settings)
                found = settings
            except SelectionError as exc:
                found = f"cannot use the configuration: {settings.config_path}: {exc}"
        _SETTINGS[directory] = found
    return found


def _selected_rules(settings: "Settings") -> List[Type["PoolRule"]]:
    """The rules [tool.poollint] selects."""
    found = _RULES.get(settings)
    if found is None:
        from poollint.rules import ALL_RULES
        from poollint.selection import select_rules_for_settings

        found = _RULES[settings] = select_rules_for_settings(ALL_RULES, settings)
    return found


def _flake8_paths(options: argparse.Namespace) -> Optional[List[str]]:
    """The paths flake8 checks: its arguments, or the current directory as
    flake8 takes it without any; None when its options do not say."""
    filenames = getattr(options, "filenames", None)
    if filenames is None:
        return None
    return [str(name) for name in filenames] or ["."]


def _project_for(settings: "Settings") -> Union["ProjectFiles", str]:
    """The project the settings govern, with the facts of its files on disk,
    or one line saying why it could not be read."""
    found = _PROJECTS.get(settings)
    if found is None:
        try:
            found = _read_project(settings)
        except Exception as exc:  # a bug in poollint: each file says so, flake8 goes on
            found = (
                f"internal error while reading the project at {settings.project_root}: {type(exc).__name__}: {exc}"
            )
        _PROJECTS[settings] = found
    return found


def _read_project(settings: "Settings") -> "ProjectFiles":
    from poollint.cache import Cache, cache_directory, settings_key
    from poollint.project_files import ProjectFiles

    rules = _selected_rules(settings)
    if settings.config_path is not None:
        # `poollint check` indexes the whole project under its configuration file.
        paths: Optional[List[Path]] = [settings.project_root]
    else:
        # Without one, the files it is given: here, what flake8 was given.
        given = [Path(name) for name in _PATHS or () if name != "-" and os.path.lexists(name)]
        paths = given or None
    cache = None
    if paths is not None:
        # The cache `poollint check` keeps for these settings and rules: the
        # facts of either run serve the other.
        directory = cache_directory(settings.project_root, None, settings.cache_dir)
        cache = Cache(directory, settings_key(settings, rules))
    project = ProjectFiles(settings, rules, paths, cache)
    project.refresh()
    return project


def source_bytes(lines: Sequence[str]) -> bytes:
    """The file's bytes again from flake8's decoded lines: in the encoding its
    PEP 263 line declares (so that the engine decodes what flake8 did), else
    UTF-8. flake8 has already dropped a byte order mark, which moves no column."""
    text = "".join(lines)
    head = "".join(lines[:2]).encode("utf-8", errors="replace")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(head).readline)
        return text.encode(encoding)
    except (SyntaxError, LookupError, UnicodeEncodeError):
        return text.encode("utf-8", errors="replace")


def _problem(message: str) -> Diagnostic:
    return Diagnostic(code=INTERNAL_ERROR, message=message, line=1, column=1)
