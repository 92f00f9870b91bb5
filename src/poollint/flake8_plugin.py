"""The flake8 plugin: `flake8 --select POL` runs the rules that need only one file.

flake8 checks one file at a time and knows nothing of the others, so the
plugin runs only the rules whose SCOPE is RuleScope.FILE (`poollint rules`
lists them), with a project index built from that one file: on them it
reports what `poollint check` reports, at the same places with the same codes
and messages. flake8 does not read pyproject.toml; the plugin finds
[tool.poollint] by walking up from the checked file, as `poollint check`
does, and applies its select, ignore, per-file-ignores, exclude and pool
settings. flake8's own selection and `# noqa` comments filter on top.

The source is taken from the lines flake8 read (from disk or stdin), never
read again, and nothing is imported or run. No error of poollint's reaches
flake8 as an exception: a configuration it cannot use, or a bug, is reported
as a POL904 finding on the file's first line.
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
        global _WANTED
        _WANTED = _flake8_selection(options)

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
# The settings found from each directory, or why there are none: flake8 hands
# a process many files of the same few directories.
_SETTINGS: Dict[str, Union["Settings", str]] = {}
_RULES: Dict["Settings", List[Type["PoolRule"]]] = {}


def check_lines(
    filename: str,
    lines: Sequence[str],
    tree: Optional["ast.Module"] = None,
    wanted: Optional[Callable[[str], bool]] = None,
) -> List[Diagnostic]:
    """poollint's findings in the file flake8 read as `lines` (and parsed as
    `tree`): the rules of scope FILE that [tool.poollint] selects and, when
    given, `wanted` accepts; noqa comments are left to flake8. Never raises."""
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
    from poollint.runner import rules_for_file

    if is_excluded(path, settings):
        return []
    rules = rules_for_file(path, settings, _file_rules(settings))
    if wanted is not None:
        rules = [rule for rule in rules if wanted(rule.CODE)]
    if not rules:
        return []
    source = source_bytes(lines)
    if not _may_fire(source, rules):
        return []
    from poollint.engine import build_index, check_file, read_facts

    facts = read_facts(path, settings.project_root, source, tree)
    # The file alone: a FILE rule's findings do not depend on any other.
    index = build_index([facts])
    result = check_file(path, source, facts, index, settings, rules, apply_noqa=False)
    return result.diagnostics


def _may_fire(source: bytes, rules: Sequence[Type["PoolRule"]]) -> bool:
    """The engine's trigger test, before pass 1 rather than after: a file
    holding none of the rules' trigger substrings needs no facts either.
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
                _file_rules(settings)
                found = settings
            except SelectionError as exc:
                found = f"cannot use the configuration: {settings.config_path}: {exc}"
        _SETTINGS[directory] = found
    return found


def _file_rules(settings: "Settings") -> List[Type["PoolRule"]]:
    """The rules [tool.poollint] selects that need only one file."""
    found = _RULES.get(settings)
    if found is None:
        from poollint.rule import RuleScope
        from poollint.rules import ALL_RULES
        from poollint.selection import select_rules_for_settings

        selected = select_rules_for_settings(ALL_RULES, settings)
        found = _RULES[settings] = [rule for rule in selected if rule.SCOPE is RuleScope.FILE]
    return found


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
