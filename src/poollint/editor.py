"""What the language server (lsp.py) asks of the engine, without pygls.

An editor shows a document as it is in memory, not as it is on disk. Each
check reads the document's settings from the [tool.poollint] found from its
path, gathers its facts from the in-memory text, and runs its rules against
the project index of the files on disk with the document's own facts in
place of its file's: the same engine and the same answers as `poollint
check`, run from the project root on the project as it would be if the
document were saved. The facts of the files on disk are kept per project
and re-read only for files whose size or modification time changed, when a
document is opened or saved.

Positions are 0-based lines and columns in the units the client negotiated
(UTF-16 code units unless it asked otherwise), lines split as LSP splits
them (\\n, \\r\\n, \\r).
"""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import io
import os
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Type

from poollint.catalog import CATALOG
from poollint.config import ConfigError, Settings, load_settings
from poollint.deployment import deployment_kind
from poollint.diagnostic import FILE_CODES, Diagnostic, FixRequest, FixSafety
from poollint.discovery import PYTHON_SUFFIXES, is_excluded
from poollint.engine import FactsResult, check_file, fix_one, read_facts
from poollint.project import ProjectIndex
from poollint.project_files import ProjectFiles
from poollint.rule import PoolRule
from poollint.runner import rule_classes, rules_for_file
from poollint.reporters import RULE_DOCS_URL
from poollint.ruff_config import leave_to_ruff
from poollint.selection import SelectionError, select_rules_for_settings

SOURCE = "poollint"
FIX_ALL_KIND = "source.fixAll.poollint"

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"

# LSP ends a line at \n, \r\n or \r, and nowhere else (str.splitlines also
# splits at form feeds and other separators Python's tokenizer does not).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class DocumentError(Exception):
    """The document cannot be checked (its configuration is invalid); str() is one line."""


def rule_url(code: str) -> Optional[str]:
    """The rule's documentation page; None for the codes about files (POL9xx), which have none."""
    return None if code in FILE_CODES else f"{RULE_DOCS_URL}{code}.md"


# -- positions ------------------------------------------------------------------


def units(text: str, encoding: str = UTF16) -> int:
    """How many code units `text` takes in the client's position encoding."""
    if encoding == UTF8:
        return len(text.encode("utf-8", errors="surrogatepass"))
    if encoding == UTF32:
        return len(text)
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2


def split_lines(text: str) -> List[str]:
    """The lines of `text` without their line breaks, as LSP numbers them."""
    return _LINE_BREAK.split(text)


def _line_starts(text: str) -> List[int]:
    return [0] + [match.end() for match in _LINE_BREAK.finditer(text)]


@dataclass(frozen=True)
class Span:
    """A range in a document: 0-based lines, columns in the client's units, end exclusive."""

    start_line: int
    start_character: int
    end_line: int
    end_character: int

    def overlaps(self, other: "Span") -> bool:
        return (self.start_line, self.start_character) <= (other.end_line, other.end_character) and (
            other.start_line,
            other.start_character,
        ) <= (self.end_line, self.end_character)


def finding_span(diagnostic: Diagnostic, lines: Sequence[str], encoding: str = UTF16) -> Span:
    """Where `diagnostic` is, in the client's units.

    The engine's lines and columns are 1-based and count code points. A
    finding about the whole file (POL9xx) has no end: it runs to the end of
    its line.
    """

    def position(line: int, column: int) -> Tuple[int, int]:
        if not lines:
            return 0, 0
        row = min(max(line - 1, 0), len(lines) - 1)
        text = lines[row]
        column = min(max(column - 1, 0), len(text))
        return row, units(text[:column], encoding)

    start = position(diagnostic.line, diagnostic.column)
    if diagnostic.end_line:
        end = position(diagnostic.end_line, diagnostic.end_column)
    else:
        end = (start[0], units(lines[start[0]], encoding) if lines else 0)
    if end < start:
        end = start
    return Span(start[0], start[1], end[0], end[1])


def text_edits(old: str, new: str, encoding: str = UTF16) -> List[Tuple[Span, str]]:
    """Edits (ranges in `old`, replacement text) that turn `old` into `new`.

    One edit per run of changed lines, each trimmed to the characters that
    differ, so that an editor keeps the cursor, folds and marks of what a fix
    leaves alone. Ranges all refer to `old` and never overlap, as LSP requires.
    """
    if old == new:
        return []
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    old_starts = [0]
    for line in old_lines:
        old_starts.append(old_starts[-1] + len(line))
    new_starts = [0]
    for line in new_lines:
        new_starts.append(new_starts[-1] + len(line))
    edits: List[Tuple[int, int, str]] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start, end = old_starts[i1], old_starts[i2]
        replacement = new[new_starts[j1] : new_starts[j2]]
        start, end, replacement = _trimmed(old, start, end, replacement)
        edits.append((start, end, replacement))
    starts = _line_starts(old)
    return [
        (Span(*_position(old, starts, start, encoding), *_position(old, starts, end, encoding)), text)
        for start, end, text in edits
    ]


def _trimmed(old: str, start: int, end: int, replacement: str) -> Tuple[int, int, str]:
    """The edit without the characters its two sides share at either end,
    never splitting a \\r\\n (a position between them has no LSP line)."""
    before = old[start:end]
    prefix = 0
    limit = min(len(before), len(replacement))
    while prefix < limit and before[prefix] == replacement[prefix]:
        prefix += 1
    if prefix and before[prefix - 1] == "\r" and before[prefix : prefix + 1] == "\n":
        prefix -= 1
    suffix = 0
    limit -= prefix
    while suffix < limit and before[-1 - suffix] == replacement[-1 - suffix]:
        suffix += 1
    kept = len(before) - suffix  # where the shared tail starts
    if suffix and before[kept] == "\n" and before[kept - 1 : kept] == "\r":
        suffix -= 1
    return start + prefix, end - suffix, replacement[prefix : len(replacement) - suffix]


def _position(text: str, starts: List[int], offset: int, encoding: str) -> Tuple[int, int]:
    line = bisect.bisect_right(starts, offset) - 1
    return line, units(text[starts[line] : offset], encoding)


# -- checking -------------------------------------------------------------------


def _key(path: Path) -> str:
    return os.path.normcase(os.path.abspath(path))


class Project(ProjectFiles):
    """The facts of a document's project on disk (project_files.py).

    With `whole`, the project is every file discovery finds under `root`, as
    `poollint check` indexes it from there; otherwise it holds no file of
    its own, and a document is checked with only itself in the index (as
    `poollint check FILE` does without a configuration file).
    """

    def __init__(self, settings: Settings, rules: Sequence[Type[PoolRule]], whole: bool) -> None:
        super().__init__(settings, rules, [settings.project_root] if whole else None)


@dataclass
class DocumentCheck:
    """One version of a document, checked; its fixes are computed on demand, once."""

    path: Path
    text: str
    settings: Settings
    findings: List[Diagnostic]
    source: bytes = field(repr=False)
    codec: str
    facts: FactsResult = field(repr=False)
    index: ProjectIndex = field(repr=False)
    rules: List[Type[PoolRule]] = field(repr=False)
    _fixed: Dict[Tuple[str, int, int], Optional[str]] = field(default_factory=dict, repr=False)
    _fixed_all: Optional[Tuple[Optional[str]]] = field(default=None, repr=False)

    @property
    def project_root(self) -> Path:
        return self.settings.project_root

    @property
    def fix_request(self) -> FixRequest:
        return FixRequest(apply=True, unsafe=self.settings.unsafe_fixes)

    def offers_fix(self, finding: Diagnostic) -> bool:
        """Whether `finding` has a fix the settings allow: safe ones always,
        unsafe ones only with unsafe-fixes, as `poollint check --fix` decides."""
        return finding.fix_safety is not None and self.fix_request.allows(finding.fix_safety)

    def fixed_by(self, finding: Diagnostic) -> Optional[str]:
        """The document's text after the fix of `finding` alone; None when it has none to offer."""
        key = (finding.code, finding.line, finding.column)
        if key not in self._fixed:
            fixed = None
            if self.offers_fix(finding):
                data = fix_one(
                    self.path, self.source, self.facts, self.index, self.settings, self.rules, finding, self.fix_request
                )
                fixed = None if data is None else self._decode(data)
            self._fixed[key] = fixed
        return self._fixed[key]

    def fixed_all(self) -> Optional[str]:
        """The text `poollint check --fix` would write for this document; None when it changes nothing."""
        if self._fixed_all is None:
            fixed = None
            if any(self.offers_fix(finding) for finding in self.findings):
                result = check_file(
                    self.path, self.source, self.facts, self.index, self.settings, self.rules, self.fix_request
                )
                if result.fixed_source is not None:
                    fixed = self._decode(result.fixed_source)
            self._fixed_all = (fixed if fixed != self.text else None,)
        return self._fixed_all[0]

    def _decode(self, data: bytes) -> str:
        return data.decode(self.codec, errors="surrogatepass" if self.codec == "utf-8" else "strict")


def encode_document(text: str) -> Tuple[bytes, str]:
    """The bytes the file would hold, and the codec to read fixed bytes back
    with: UTF-8 unless the text declares another encoding (PEP 263), which
    the engine then decodes it with."""
    data = text.encode("utf-8", errors="surrogatepass")
    try:
        declared, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except (SyntaxError, LookupError):
        return data, "utf-8"
    if declared in ("utf-8", "utf-8-sig"):
        # utf-8-sig: the text keeps its byte order mark as a character.
        return data, "utf-8"
    try:
        return text.encode(declared), declared
    except (UnicodeEncodeError, LookupError):
        return data, "utf-8"


class Projects:
    """Every project the editor's documents belong to, by root."""

    def __init__(self, unsafe_fixes: Optional[bool] = None) -> None:
        # From `poollint server --unsafe-fixes`; None: each project's own setting.
        self.unsafe_fixes = unsafe_fixes
        self.folders: List[Path] = []
        self._projects: Dict[Tuple[str, bool], Project] = {}

    def set_folders(self, folders: Sequence[Path]) -> None:
        """The editor's workspace folders: the project root of a document
        under one of them when no pyproject.toml with [tool.poollint] says otherwise."""
        self.folders = [Path(os.path.abspath(folder)) for folder in folders]

    def settings_for(self, path: Path) -> Tuple[Settings, bool]:
        """The document's settings, and whether its project is a whole
        directory (False: the document alone)."""
        try:
            settings = load_settings(path, overrides={"unsafe_fixes": self.unsafe_fixes})
        except ConfigError as exc:
            raise DocumentError(str(exc)) from None
        if settings.config_path is not None:
            return settings, True
        folder = self._folder_of(path)
        if folder is None:
            return dataclasses.replace(settings, project_root=Path(os.path.abspath(path)).parent), False
        return dataclasses.replace(settings, project_root=folder), True

    def _folder_of(self, path: Path) -> Optional[Path]:
        target = os.path.abspath(path)
        best = None
        for folder in self.folders:
            try:
                inside = os.path.commonpath([target, str(folder)]) == str(folder)
            except ValueError:  # another drive
                inside = False
            if inside and (best is None or len(str(folder)) > len(str(best))):
                best = folder
        return best

    def project_for(self, path: Path, refresh: bool = False) -> Project:
        settings, whole = self.settings_for(path)
        key = (_key(settings.project_root), whole)
        project = self._projects.get(key)
        if project is None or project.settings != settings:
            try:
                rules = rule_classes(select_rules_for_settings(CATALOG, settings))
            except SelectionError as exc:
                raise DocumentError(str(exc)) from None
            project = self._projects[key] = Project(settings, rules, whole)
            refresh = True
        if refresh:
            project.refresh()
        return project

    def check(
        self, path: Path, text: str, language_id: str = "python", refresh: bool = False
    ) -> Optional[DocumentCheck]:
        """The findings of `text` as the content of the file at `path`; None
        for a document poollint does not check (excluded, or neither Python
        nor a deployment file). DocumentError for a broken configuration."""
        is_python = language_id == "python" or path.suffix in PYTHON_SUFFIXES
        if not is_python and deployment_kind(path.as_posix()) is None:
            return None
        project = self.project_for(path, refresh)
        settings = project.settings
        if is_excluded(path, settings):
            return None
        source, codec = encode_document(text)
        facts = read_facts(path, settings.project_root, source)
        index = project.index_with(path, facts, source)
        rules = rules_for_file(path, settings, project.rules)
        result = check_file(path, source, facts, index, settings, rules)
        # As `poollint check` does: what ruff reports itself is left to it.
        leave_to_ruff([result], settings)
        findings = sorted(result.diagnostics, key=Diagnostic.sort_key)
        return DocumentCheck(path, text, settings, findings, source, codec, facts, index, rules)


__all__ = [
    "FIX_ALL_KIND",
    "SOURCE",
    "DocumentCheck",
    "DocumentError",
    "FixSafety",
    "Project",
    "Projects",
    "Span",
    "encode_document",
    "finding_span",
    "rule_url",
    "split_lines",
    "text_edits",
    "units",
]
