"""`poollint check --add-noqa[=REASON]`: a `# noqa: CODES REASON` comment at the
end of every line with a finding, so that a codebase adopts poollint in one commit.

As ruff's `--add-noqa` does, a finding on a line that cannot end in a
comment (inside a multi-line string, or continued with a backslash) gets its
comment where that ends, which is where noqa.scan_noqa() looks for it. A
line's existing directive is extended (`# noqa: E501` -> `# noqa: E501,
POL101`), keeping its reason; any other comment stays and the directive
follows it. Each file is written atomically, in its own encoding and line
endings, and only if its syntax tree is unchanged by the comments.

Findings that cannot take a comment are left as they are and listed: files
poollint could not check (POL9xx), unused-noqa findings (POL905: their fix
is to remove the directive), lock files (regenerated, a comment would not
survive), and lines that continue onto the next one in requirement files.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from poollint.deployment import GUNICORN, LOCK_KINDS, PIPFILE, PYPROJECT, REQUIREMENTS, deployment_kind
from poollint.diagnostic import FILE_CODES, Diagnostic, FileResult
from poollint.noqa import UNUSED_NOQA, comment_layout, with_codes_added
from poollint.writer import WriteError, write_atomic

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

_LINE_ENDING = re.compile(r"\r\n|\r|\n")


@dataclass
class AddNoqaOutcome:
    added: int = 0  # lines given a directive or a longer one
    files: int = 0  # files written
    # Findings left without a comment, with why.
    skipped: List[Tuple[Path, Diagnostic, str]] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)


def check_reason(reason: str) -> Optional[str]:
    """Why `reason` cannot follow the codes of a directive, or None."""
    if any(char in reason for char in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"):
        return "the --add-noqa reason must be on one line"
    return None


def add_noqa(files: Sequence[FileResult], reason: str = "") -> AddNoqaOutcome:
    """Add directives for the findings of `files` (what the run reports)."""
    outcome = AddNoqaOutcome()
    reason = reason.strip()
    for file_result in files:
        placeable = []
        for diagnostic in file_result.diagnostics:
            if diagnostic.code in FILE_CODES:
                outcome.skipped.append((file_result.path, diagnostic, "poollint could not check the file"))
            elif diagnostic.code == UNUSED_NOQA:
                outcome.skipped.append((file_result.path, diagnostic, "remove the unused code instead (--fix)"))
            else:
                placeable.append(diagnostic)
        if placeable:
            _add_to_file(file_result.path, placeable, reason, outcome)
    return outcome


def _add_to_file(path: Path, diagnostics: List[Diagnostic], reason: str, outcome: AddNoqaOutcome) -> None:
    kind = deployment_kind(path.as_posix())
    if kind is None or kind == GUNICORN:
        editor: Optional[Callable[..., "_Edit"]] = _python_edit
    elif kind == REQUIREMENTS:
        editor = _requirements_edit
    elif kind in (PYPROJECT, PIPFILE):
        editor = _toml_edit
    else:
        editor = None
    if editor is None:
        if kind in LOCK_KINDS:
            why = "a lock file is regenerated: a comment in it would not last (use a baseline)"
        else:
            # Dockerfiles take `#` only at the start of a line, Procfiles none.
            why = "this kind of file cannot end a line with a comment"
        outcome.skipped.extend((path, d, why) for d in diagnostics)
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        outcome.warnings.append(f"{path.as_posix()}: cannot add noqa comments: {exc.strerror or exc}")
        outcome.skipped.extend((path, d, "the file cannot be read") for d in diagnostics)
        return
    edit = editor(data, diagnostics, reason)
    outcome.skipped.extend((path, d, why) for d, why in edit.skipped)
    if edit.problem:
        outcome.warnings.append(f"{path.as_posix()}: no noqa comments added: {edit.problem}")
        outcome.skipped.extend((path, d, edit.problem) for d in edit.placed)
        return
    if not edit.changed or edit.data is None or edit.data == data:
        return
    try:
        write_atomic(path, edit.data, purpose="cannot add noqa comments")
    except WriteError as exc:
        outcome.warnings.append(f"{path.as_posix()}: {exc}")
        outcome.skipped.extend((path, d, "the file cannot be written") for d in edit.placed)
        return
    outcome.added += edit.changed
    outcome.files += 1


@dataclass
class _Edit:
    data: Optional[bytes] = None
    changed: int = 0
    placed: List[Diagnostic] = field(default_factory=list)
    skipped: List[Tuple[Diagnostic, str]] = field(default_factory=list)
    # Why the file is left as it is (then nothing is placed).
    problem: str = ""


def _lines(text: str) -> List[Tuple[str, str]]:
    """(content, line ending) of each line; the last one may have no ending."""
    found = []
    position = 0
    for match in _LINE_ENDING.finditer(text):
        found.append((text[position : match.start()], match.group()))
        position = match.end()
    if position < len(text):
        found.append((text[position:], ""))
    return found


def _codes_by_line(
    diagnostics: Sequence[Diagnostic], target: Callable[[Diagnostic], Optional[int]], edit: _Edit, why: str
) -> Dict[int, List[str]]:
    by_line: Dict[int, List[str]] = defaultdict(list)
    for diagnostic in diagnostics:
        line = target(diagnostic)
        if line is None:
            edit.skipped.append((diagnostic, why))
            continue
        edit.placed.append(diagnostic)
        if diagnostic.code not in by_line[line]:
            by_line[line].append(diagnostic.code)
    return by_line


def _apply(
    lines: List[Tuple[str, str]],
    by_line: Dict[int, List[str]],
    comment_of: Callable[[int, str], Optional[Tuple[int, str]]],
    reason: str,
    edit: _Edit,
) -> str:
    """The text with each line of `by_line` ending in its directive."""
    for number, codes in sorted(by_line.items()):
        content, ending = lines[number - 1]
        existing = comment_of(number, content)
        if existing is None:
            new_comment = with_codes_added(None, sorted(codes), reason)
            assert new_comment is not None
            content = content.rstrip(" \t") + "  " + new_comment
        else:
            column, comment = existing
            new_comment = with_codes_added(comment, sorted(codes), reason)
            if new_comment is None:
                continue  # a blanket directive there already
            content = content[:column] + new_comment + content[column + len(comment) :]
        lines[number - 1] = (content, ending)
        edit.changed += 1
    return "".join(content + ending for content, ending in lines)


def _python_edit(data: bytes, diagnostics: Sequence[Diagnostic], reason: str) -> _Edit:
    import io
    import tokenize

    edit = _Edit()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
        before = ast.dump(ast.parse(data))
    except (SyntaxError, LookupError, UnicodeDecodeError, ValueError) as exc:
        edit.placed = list(diagnostics)
        edit.problem = f"the file cannot be read as Python ({exc})"
        return edit
    lines = _lines(text)
    # Tokenized with the line breaks the lines were split at, so that the
    # tokenizer numbers lines as Python and libcst do (a lone CR included).
    layout = comment_layout("\n".join(content for content, _ in lines) + "\n")
    if layout is None:
        edit.placed = list(diagnostics)
        edit.problem = "the file does not tokenize"
        return edit

    def target(diagnostic: Diagnostic) -> Optional[int]:
        if not 1 <= diagnostic.line <= len(lines):
            return None
        return layout.comment_line_for(diagnostic.line, len(lines))

    by_line = _codes_by_line(diagnostics, target, edit, "no line there can end in a comment")
    new_text = _apply(lines, by_line, lambda number, _: layout.comments.get(number), reason, edit)
    try:
        new_data = new_text.encode(encoding)
    except UnicodeEncodeError:
        edit.problem = f"the reason cannot be written in the file's encoding ({encoding})"
        return edit
    try:
        unchanged = ast.dump(ast.parse(new_data)) == before
    except (SyntaxError, ValueError):
        unchanged = False
    if not unchanged:
        # Never the case for a comment at the end of a line that ends in
        # code, but a file is never written on faith.
        edit.problem = "the comments would change how the file parses"
        return edit
    edit.data = new_data
    return edit


def _requirements_edit(data: bytes, diagnostics: Sequence[Diagnostic], reason: str) -> _Edit:
    edit = _Edit()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        edit.placed = list(diagnostics)
        edit.problem = "the file is not UTF-8"
        return edit
    lines = _lines(text)

    def continues(number: int) -> bool:
        return 1 <= number <= len(lines) and lines[number - 1][0].rstrip().endswith("\\")

    def target(diagnostic: Diagnostic) -> Optional[int]:
        line = diagnostic.line
        if not 1 <= line <= len(lines) or continues(line) or continues(line - 1):
            return None
        return line

    def comment_of(number: int, content: str) -> Optional[Tuple[int, str]]:
        # pip reads a comment from a `#` at the start of a line or after whitespace.
        match = re.search(r"(?:^|(?<=\s))#", content)
        return (match.start(), content[match.start() :]) if match else None

    by_line = _codes_by_line(diagnostics, target, edit, "the requirement continues onto the next line")
    new_text = _apply(lines, by_line, comment_of, reason, edit)
    edit.data = new_text.encode("utf-8")
    return edit


def _toml_comment(content: str) -> Optional[Tuple[int, str]]:
    """The comment of a TOML line, by its strings (basic with escapes, literal);
    a line opening a multi-line string has none we could place after."""
    quote = ""
    position = 0
    while position < len(content):
        char = content[position]
        if quote:
            if quote == '"' and char == "\\":
                position += 2
                continue
            if char == quote:
                quote = ""
        elif content.startswith(('"""', "'''"), position):
            return None
        elif char in "\"'":
            quote = char
        elif char == "#":
            return position, content[position:]
        position += 1
    return None


def _toml_edit(data: bytes, diagnostics: Sequence[Diagnostic], reason: str) -> _Edit:
    edit = _Edit()
    try:
        text = data.decode("utf-8")
        before = tomllib.loads(text)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        edit.placed = list(diagnostics)
        edit.problem = f"the file cannot be read as TOML ({exc})"
        return edit
    lines = _lines(text)

    def target(diagnostic: Diagnostic) -> Optional[int]:
        return diagnostic.line if 1 <= diagnostic.line <= len(lines) else None

    by_line = _codes_by_line(diagnostics, target, edit, "no such line")
    new_text = _apply(lines, by_line, lambda _, content: _toml_comment(content), reason, edit)
    try:
        unchanged = tomllib.loads(new_text) == before
    except tomllib.TOMLDecodeError:
        unchanged = False
    if not unchanged:
        # The line is inside a multi-line string or array where a comment
        # would change the data: better no comment than another value.
        edit.problem = "a comment there would change what the file says"
        return edit
    edit.data = new_text.encode("utf-8")
    return edit


def summary(outcome: AddNoqaOutcome) -> List[str]:
    """The lines for stderr; ruff prints nothing when nothing was added."""
    lines = list(outcome.warnings)
    if outcome.added:
        plural = "directive" if outcome.added == 1 else "directives"
        files = "file" if outcome.files == 1 else "files"
        lines.append(f"Added {outcome.added} noqa {plural} to {outcome.files} {files}.")
    if outcome.skipped:
        count = len(outcome.skipped)
        whys = sorted({why for _, _, why in outcome.skipped})
        lines.append(
            f"{count} finding{'' if count == 1 else 's'} could not take a noqa comment (listed above): "
            + "; ".join(whys)
            + "."
        )
    return lines


__all__ = ["AddNoqaOutcome", "add_noqa", "check_reason", "summary"]
