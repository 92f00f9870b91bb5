"""Suppression comments: `# noqa`, `# noqa: POL101, POL201` (one line, as flake8
reads them) and `# poollint: noqa`, `# poollint: noqa: POL301` (the whole file,
as ruff reads `# ruff: noqa`).

Reading them is scan_noqa() (Python) or scan_comment_noqa() (requirement files,
TOML, YAML). Writing them (`--add-noqa`, POL905's fix) goes through the pure
text helpers at the end: with_codes_added() and remove_codes().
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple, Union

# flake8's forms: a bare "noqa" comment, or one followed by a colon and codes
# separated by commas or spaces, in any case. A malformed code list makes it
# a blanket suppression, as in flake8.
_NOQA = re.compile(
    r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?",
    re.IGNORECASE,
)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)

# ruff's file exemption pattern with poollint's name in place of ruff's: the
# tool's name is case-sensitive, "noqa" is not. flake8's own file exemption
# is honoured too, as ruff does: flake8 itself skips such a file, so poollint
# run as a flake8 plugin would report nothing in it either. (These comments
# never spell a directive out after a "#": ruff would read it as one.)
_FILE_NOQA = re.compile(r"#\s*(?:poollint|flake8)\s*:\s*(?i:noqa)(?P<rest>.*)$")
# After a file exemption's colon: codes in upper case, as ruff lexes them;
# the first word that is not a code starts the reason.
_FILE_CODES = re.compile(r"\s*(?P<codes>[A-Z]+[0-9]+(?:(?:\s*,\s*|\s+)[A-Z]+[0-9]+)*)")

# POL905: a directive naming a poollint code that suppressed nothing (rules/meta/unused_noqa.py).
UNUSED_NOQA = "POL905"

# None means every code is suppressed on that line.
NoqaMap = Dict[int, Optional[FrozenSet[str]]]


_NOT_NOQA = frozenset({"-"})  # a marker: the comment suppresses nothing


def parse_noqa(comment: str) -> Optional[FrozenSet[str]]:
    """The codes a comment suppresses: None for every code, _NOT_NOQA for none."""
    match = _NOQA.search(comment)
    if match is None:
        return _NOT_NOQA
    codes = match.group("codes")
    if not codes:
        return None
    return frozenset(code.upper() for code in _CODE.findall(codes))


def covering_codes(listed: Iterable[str], code: str) -> Tuple[str, ...]:
    """The codes of a directive that suppress `code`.

    A listed code covers the codes it begins (a prefix), as in flake8. Every
    decision about suppression goes through here, so that a code standing
    for another tool's rule can be taught to cover poollint's.
    """
    return tuple(listed_code for listed_code in listed if code.startswith(listed_code))


@dataclass(frozen=True)
class Directive:
    """One noqa directive: where its comment is and what it suppresses."""

    line: int  # 1-based line of the comment
    column: int  # 0-based offset of the directive's "#" in that line
    codes: Optional[Tuple[str, ...]]  # upper case, in the order written; None: every code
    file_level: bool = False
    end_column: int = 0  # where its code list ends (where "noqa" ends when bare)
    comment_column: int = 0  # 0-based offset of the comment holding it


@dataclass
class FileNoqa:
    """The noqa directives of one file."""

    # Line of a finding -> the directive that speaks for it. A finding on a
    # line that cannot hold a comment (inside a multi-line string, or
    # continued with a backslash) is spoken for by the comment at the end of
    # the line where that ends, as ruff and flake8 read it.
    by_line: Dict[int, Directive] = field(default_factory=dict)
    file_level: List[Directive] = field(default_factory=list)

    @property
    def exempts_everything(self) -> bool:
        return any(d.codes is None for d in self.file_level)

    def directives(self) -> List[Directive]:
        """Every directive once, in file order."""
        found = {(d.line, d.column): d for d in self.file_level}
        for directive in self.by_line.values():
            found.setdefault((directive.line, directive.column), directive)
        return [found[key] for key in sorted(found)]

    def suppressing(self, line: int, code: str) -> Optional[Tuple[Directive, Tuple[str, ...]]]:
        """The directive that suppresses `code` on `line`, with the listed codes
        that do (empty for a blanket one), or None. A file exemption is asked
        first, as ruff does: a line's directive for the same code then
        suppresses nothing."""
        for directive in self.file_level:
            if directive.codes is None:
                return directive, ()
            covering = covering_codes(directive.codes, code)
            if covering:
                return directive, covering
        directive = self.by_line.get(line)
        if directive is None:
            return None
        if directive.codes is None:
            return directive, ()
        covering = covering_codes(directive.codes, code)
        return (directive, covering) if covering else None

    def is_suppressed(self, line: int, code: str) -> bool:
        return self.suppressing(line, code) is not None


EMPTY = FileNoqa()


def _line_directive(comment: str, line: int, column: int) -> Optional[Directive]:
    match = _NOQA.search(comment)
    if match is None:
        return None
    codes = match.group("codes")
    if not codes:
        return Directive(line, column + match.start(), None, end_column=column + match.end(), comment_column=column)
    return Directive(
        line,
        column + match.start(),
        tuple(code.upper() for code in _CODE.findall(codes)),
        end_column=column + match.end("codes"),
        comment_column=column,
    )


def _file_directive(comment: str, line: int, column: int) -> Optional[Directive]:
    """A file exemption in a comment that stands on its own line, or None.
    Like ruff, any `#` of the comment may start it (`# generated # poollint: noqa`)."""
    for start in [i for i, char in enumerate(comment) if char == "#"]:
        match = _FILE_NOQA.match(comment, start)
        if match is None:
            continue
        rest = match.group("rest")
        end = column + match.start("rest")
        if not rest or rest.startswith("#"):
            return Directive(line, column + start, None, file_level=True, end_column=end, comment_column=column)
        stripped = rest.lstrip()
        if stripped.startswith(":"):
            codes = _FILE_CODES.match(stripped, 1)
            if codes is None:
                continue  # `# poollint: noqa:` and no code: ruff ignores it too
            offset = end + (len(rest) - len(stripped))
            return Directive(
                line,
                column + start,
                tuple(_CODE.findall(codes.group("codes"))),
                file_level=True,
                end_column=offset + codes.end("codes"),
                comment_column=column,
            )
        if rest[0].isspace():
            return Directive(line, column + start, None, file_level=True, end_column=end, comment_column=column)
        # `#poollint:noqaPOL101`: neither a blanket nor a list; ruff ignores it.
    return None


def _tokens(source: Union[str, bytes]) -> Optional[List[tokenize.TokenInfo]]:
    if isinstance(source, bytes):
        readline = io.BytesIO(source).readline
        generate = tokenize.tokenize
    else:
        readline = io.StringIO(source).readline
        generate = tokenize.generate_tokens
    try:
        return list(generate(readline))
    except (tokenize.TokenError, SyntaxError, IndentationError, UnicodeDecodeError, LookupError):
        return None


# f-strings (3.12+) and t-strings (3.14+) come as several tokens; what is
# between their start and end is inside the string, whatever it looks like.
_STRING_STARTS = frozenset(
    getattr(tokenize, name) for name in ("FSTRING_START", "TSTRING_START") if hasattr(tokenize, name)
)
_STRING_ENDS = frozenset(getattr(tokenize, name) for name in ("FSTRING_END", "TSTRING_END") if hasattr(tokenize, name))


@dataclass
class CommentLayout:
    """Where comments can go in a Python file: the lines that end outside any
    string and not in a backslash continuation, and the comment already at
    the end of each line."""

    line_ends: Set[int] = field(default_factory=set)
    # line -> (0-based column of the comment, its text)
    comments: Dict[int, Tuple[int, str]] = field(default_factory=dict)

    def comment_line_for(self, line: int, last_line: int) -> Optional[int]:
        """The line whose trailing comment speaks for a finding on `line`."""
        for candidate in range(line, last_line + 1):
            if candidate in self.line_ends:
                return candidate
        return None


def comment_layout(source: Union[str, bytes]) -> Optional[CommentLayout]:
    """The layout of `source`, or None when it does not tokenize."""
    tokens = _tokens(source)
    if tokens is None:
        return None
    layout = CommentLayout()
    depth = 0
    for token in tokens:
        kind = token.type
        if kind in _STRING_STARTS:
            depth += 1
        elif kind in _STRING_ENDS:
            depth -= 1
        elif depth:
            continue
        elif kind == tokenize.NL or kind == tokenize.NEWLINE:
            layout.line_ends.add(token.start[0])
        elif kind == tokenize.COMMENT:
            layout.comments[token.start[0]] = (token.start[1], token.string)
    return layout


def _own_line(token: tokenize.TokenInfo) -> bool:
    return not token.line[: token.start[1]].strip()


def scan_noqa(source: Union[str, bytes]) -> FileNoqa:
    """The noqa directives of a Python file, from real comments only (not strings)."""
    # Tokenizing costs a third of a parse: most files have nothing to find.
    if isinstance(source, bytes):
        if b"noqa" not in source.lower():
            return EMPTY
    elif "noqa" not in source.lower():
        return EMPTY
    tokens = _tokens(source)
    if tokens is None:
        return EMPTY
    found = FileNoqa()
    line_ends: Set[int] = set()
    depth = 0
    for token in tokens:
        kind = token.type
        if kind in _STRING_STARTS:
            depth += 1
            continue
        if kind in _STRING_ENDS:
            depth -= 1
            continue
        if depth:
            continue
        if kind == tokenize.NL or kind == tokenize.NEWLINE:
            line_ends.add(token.start[0])
            continue
        if kind != tokenize.COMMENT:
            continue
        line, column = token.start
        if _own_line(token):
            directive = _file_directive(token.string, line, column)
            if directive is not None:
                found.file_level.append(directive)
                continue
        directive = _line_directive(token.string, line, column)
        if directive is not None:
            found.by_line[line] = directive
    # Lines that end inside a string or in a backslash have no comment of
    # their own: the next line that ends properly speaks for them.
    for line, directive in list(found.by_line.items()):
        previous = line - 1
        while previous >= 1 and previous not in line_ends and previous not in found.by_line:
            found.by_line[previous] = directive
            previous -= 1
    return found


def scan_comment_noqa(source: bytes) -> FileNoqa:
    """The noqa directives of a file that is not Python but has `#` comments
    (requirements files, TOML, YAML): a line's comment is read from its first
    `#`; a file exemption must be a line of its own."""
    found = FileNoqa()
    if b"noqa" not in source.lower():
        return found
    for number, line in enumerate(source.decode("utf-8", errors="replace").splitlines(), start=1):
        position = line.find("#")
        if position < 0:
            continue
        if not line[:position].strip():
            directive = _file_directive(line[position:], number, position)
            if directive is not None:
                found.file_level.append(directive)
                continue
        directive = _line_directive(line[position:], number, position)
        if directive is not None:
            found.by_line[number] = directive
    return found


def noqa_lines(source: Union[str, bytes]) -> NoqaMap:
    """Line number -> suppressed codes (None: all), from real comments only.
    File exemptions are not in it: ask scan_noqa() for those."""
    return {
        line: (None if d.codes is None else frozenset(d.codes)) for line, d in scan_noqa(source).by_line.items()
    }


def comment_noqa_lines(source: bytes) -> NoqaMap:
    """noqa_lines() of a file that is not Python but has `#` comments."""
    return {
        line: (None if d.codes is None else frozenset(d.codes))
        for line, d in scan_comment_noqa(source).by_line.items()
    }


def is_suppressed(noqa: NoqaMap, line: int, code: str) -> bool:
    if line not in noqa:
        return False
    codes = noqa[line]
    return codes is None or bool(covering_codes(codes, code))


# -- writing directives -----------------------------------------------------------


def new_directive(codes: Sequence[str], reason: str = "") -> str:
    """`# noqa: POL101, POL201 reason`."""
    text = "# noqa: " + ", ".join(codes)
    return f"{text} {reason}" if reason else text


def with_codes_added(comment: Optional[str], codes: Sequence[str], reason: str = "") -> Optional[str]:
    """The comment that ends a line once `codes` are suppressed on it.

    `comment` is the line's comment (None: it has none). A directive listing
    codes gets the new ones after its own (`# noqa: E501` -> `# noqa: E501,
    POL101`), keeping any reason written after them; a comment without a
    directive keeps its text and gets one appended. None when nothing is to
    change: a blanket directive already suppresses everything.
    """
    if comment is None:
        return new_directive(codes, reason)
    match = _NOQA.search(comment)
    if match is None:
        return f"{comment.rstrip()}  {new_directive(codes, reason)}"
    if not match.group("codes"):
        return None
    listed = [code.upper() for code in _CODE.findall(match.group("codes"))]
    missing = [code for code in codes if not covering_codes(listed, code)]
    if not missing:
        return None
    end = match.end("codes")
    after = comment[end:]
    addition = ", " + ", ".join(missing)
    # A reason goes only where the directive has none yet: the user's own
    # words stay as they are.
    if reason and not _reason_of(after):
        addition += f" {reason}"
    return comment[:end] + addition + after


def _reason_of(after_codes: str) -> str:
    """The words after a directive's codes, up to the next comment."""
    return after_codes.split("#", 1)[0].strip()


def remove_codes(comment: str, start: int, codes: Iterable[str]) -> str:
    """`comment` without `codes` in the directive that starts at offset
    `start` of it (a line's `# noqa: ...` or a file's `# poollint: noqa: ...`).

    The remaining codes keep their order, separated by ", ". When none is
    left the whole directive goes, with the reason after its codes, as
    ruff's RUF100 fix does; text before it and a later `# comment` stay.
    Returns what is left of the comment, maybe "".
    """
    removed = {code.upper() for code in codes}
    match = _FILE_NOQA.match(comment, start)
    if match is not None:
        rest_start = match.start("rest")
        rest = match.group("rest")
        stripped = rest.lstrip()
        codes_match = _FILE_CODES.match(stripped, 1) if stripped.startswith(":") else None
        if codes_match is None:
            return comment
        shift = rest_start + len(rest) - len(stripped)
        codes_start, codes_end = shift + codes_match.start("codes"), shift + codes_match.end("codes")
        listed = _CODE.findall(codes_match.group("codes"))
    else:
        match = _NOQA.match(comment, start)
        if match is None or not match.group("codes"):
            return comment
        codes_start, codes_end = match.start("codes"), match.end("codes")
        listed = _CODE.findall(match.group("codes"))
    kept = [code for code in listed if code.upper() not in removed]
    if kept:
        return comment[:codes_start] + ", ".join(kept) + comment[codes_end:]
    before = comment[:start].rstrip()
    after = comment[codes_end:]
    later = after.find("#")
    after = after[later:] if later >= 0 else ""
    if before and after:
        return f"{before}  {after}"
    return before or after
