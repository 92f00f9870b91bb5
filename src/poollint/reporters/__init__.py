"""Reporters turn a run's findings into text; rules never print.

One module per output format, each holding one Reporter; FORMATS maps the
name `--output-format` takes to it. Reporters are imported only when chosen,
so a run prints its concise lines without loading json, xml or the rules.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Tuple

from poollint import __version__
from poollint.diagnostic import FILE_CODES, Diagnostic, FileResult, FixSafety

if TYPE_CHECKING:
    from poollint.runner import RunResult

# name -> (module, class), in the order --help lists them.
FORMATS: Dict[str, Tuple[str, str]] = {
    "concise": ("poollint.reporters.concise", "ConciseReporter"),
    "full": ("poollint.reporters.full", "FullReporter"),
    "json": ("poollint.reporters.json_format", "JsonReporter"),
    "json-lines": ("poollint.reporters.json_lines", "JsonLinesReporter"),
    "sarif": ("poollint.reporters.sarif", "SarifReporter"),
    "github": ("poollint.reporters.github", "GithubReporter"),
    "gitlab": ("poollint.reporters.gitlab", "GitlabReporter"),
    "junit": ("poollint.reporters.junit", "JunitReporter"),
    "pylint": ("poollint.reporters.pylint", "PylintReporter"),
}
DEFAULT_FORMAT = "concise"

# Where rule pages live; the same repository as pyproject's project URLs
# (tests/test_reporters_common.py keeps the two in step).
REPOSITORY_URL = "https://github.com/poollint/poollint"
RULE_DOCS_URL = REPOSITORY_URL + "/blob/main/docs/rules/"


class Reporter:
    """Renders a Report as one document (text, JSON or XML)."""

    name = ""
    # Text for people: the summary, --statistics tables and --show-fixes
    # lists follow the findings. A machine format prints its document alone.
    for_people = False
    # Carries each fix's text edits (Diagnostic.edits): the run must compute them.
    needs_edits = False
    # --statistics in this format: "text", "json", or None (not supported).
    statistics: Optional[str] = None

    def render(self, report: "Report") -> str:
        raise NotImplementedError


def get_reporter(name: str) -> Reporter:
    module_name, class_name = FORMATS[name]
    return getattr(importlib.import_module(module_name), class_name)()


@dataclass
class RuleInfo:
    code: str
    name: str
    fix_title: Optional[str]
    url: str


_RULES: Dict[str, RuleInfo] = {}


def rule_info(code: str) -> RuleInfo:
    """Name, fix title and page of a code, from the catalog (no rule is imported)."""
    if not _RULES:
        from poollint.catalog import CATALOG

        for entry in CATALOG:
            _RULES[entry.CODE] = RuleInfo(entry.CODE, entry.NAME, entry.FIX_TITLE, f"{RULE_DOCS_URL}{entry.CODE}.md")
        for file_code, name in FILE_CODES.items():
            _RULES[file_code] = RuleInfo(file_code, name, None, f"{RULE_DOCS_URL}index.md#files-poollint-could-not-check")
    found = _RULES.get(code)
    return found if found is not None else RuleInfo(code, code.lower(), None, f"{RULE_DOCS_URL}index.md")


@dataclass
class Report:
    """A run's findings and what every format needs to print them."""

    result: "RunResult"
    unsafe_fixes: bool = False
    # The run applied fixes (--fix): the summary counts what was fixed.
    fixing: bool = False
    # Paths in reports for CI services are relative to this directory (the
    # repository's root, see source_root()).
    root: Path = field(default_factory=lambda: source_root())
    _lines: Dict[str, Optional[List[str]]] = field(default_factory=dict, repr=False)

    def files(self) -> List[FileResult]:
        return sorted(self.result.files, key=lambda f: f.path.as_posix())

    def findings(self) -> Iterator[Tuple[FileResult, Diagnostic]]:
        """Every finding, by path, then line, column and code."""
        for file_result in self.files():
            for diagnostic in sorted(file_result.diagnostics, key=Diagnostic.sort_key):
                yield file_result, diagnostic

    def applicable(self, diagnostic: Diagnostic) -> bool:
        """Whether --fix (with this run's --unsafe-fixes) would apply its fix: `[*]`."""
        safety = diagnostic.fix_safety
        return safety is FixSafety.SAFE or (safety is FixSafety.UNSAFE and self.unsafe_fixes)

    def source_lines(self, path: Path) -> Optional[List[str]]:
        """The file's lines as they are now (after --fix), or None when unreadable."""
        key = os.path.abspath(path)
        if key not in self._lines:
            self._lines[key] = _read_lines(path)
        return self._lines[key]

    def line_text(self, path: Path, line: int) -> str:
        lines = self.source_lines(path)
        if lines is None or not 1 <= line <= len(lines):
            return ""
        return lines[line - 1]

    def relative(self, path: Path) -> Optional[str]:
        """`path` relative to the root, with forward slashes; None when outside it."""
        try:
            return Path(os.path.abspath(path)).relative_to(os.path.abspath(self.root)).as_posix()
        except ValueError:
            return None

    def root_path(self, path: Path) -> str:
        """Relative to the root where possible, else absolute."""
        relative = self.relative(path)
        return relative if relative is not None else Path(os.path.abspath(path)).as_posix()

    def fingerprints(self) -> Dict[int, str]:
        """id(diagnostic) -> a fingerprint of the finding, stable across runs.

        Built from the path, the code, the text of the line with whitespace
        collapsed, and how many identical (path, code, text) findings came
        before: edits elsewhere in the file, even above it, keep it.
        """
        seen: Dict[Tuple[str, str, str], int] = {}
        found = {}
        for file_result, diagnostic in self.findings():
            path = self.root_path(file_result.path)
            text = " ".join(self.line_text(file_result.path, diagnostic.line).split())
            key = (path, diagnostic.code, text)
            occurrence = seen.get(key, 0)
            seen[key] = occurrence + 1
            digest = hashlib.sha256("\0".join((path, diagnostic.code, text, str(occurrence))).encode("utf-8"))
            found[id(diagnostic)] = digest.hexdigest()[:32]
        return found


def end_of(diagnostic: Diagnostic) -> Tuple[int, int]:
    """(end line, end column), 1-based and exclusive; a finding about a whole
    file (POL9xx) has no span of its own and ends where it starts."""
    if diagnostic.end_line <= 0:
        return diagnostic.line, diagnostic.column
    return diagnostic.end_line, diagnostic.end_column


def version() -> str:
    return __version__


def source_root(start: Optional[Path] = None) -> Path:
    """The repository holding the current directory (the nearest directory
    with a `.git`), else the current directory: code scanning services expect
    paths relative to the repository's root."""
    here = Path(os.path.abspath(start or Path.cwd()))
    for directory in (here, *here.parents):
        if (directory / ".git").exists():
            return directory
    return here


_NEWLINE = re.compile(r"\r\n|\r|\n")


def _read_lines(path: Path) -> Optional[List[str]]:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        import tokenize
        from io import BytesIO

        encoding, _ = tokenize.detect_encoding(BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        text = data.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return _NEWLINE.split(text)
