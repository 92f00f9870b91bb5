"""ruff's suppression comments, for the findings of poollint that ruff reports too.

A project running ruff with ASYNC selected has already silenced the blocking
calls it accepts: `time.sleep(1)  # noqa: ASYNC251` on the line, or
`# ruff: noqa: ASYNC251` for the whole file. The same comment silences the
matching finding of poollint (POL101 there), and only that one: a finding
matches the code of its kind of call (rules/event_loop/_ruff.py), so `# noqa:
ASYNC210` does not silence a time.sleep(). As in ruff, these codes match
whole: `# noqa: ASYNC25` silences nothing (ruff reads no prefixes in noqa).

A file ruff skips altogether (`# ruff: noqa`, `# flake8: noqa` on a line of
their own) gets no finding from ruff, so poollint leaves nothing to ruff there.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass
from typing import TYPE_CHECKING, FrozenSet, Optional, Union

from poollint.noqa import NoqaMap

if TYPE_CHECKING:
    from poollint.context import RawReport
    from poollint.diagnostic import Diagnostic

# ruff reads its own file-level directive, and flake8's, as: the tool's name
# in lower case, a colon, `noqa` in any case, then an optional colon and codes.
# A colon followed by no valid code list, or another character right after
# `noqa`, makes ruff ignore the directive (it warns) rather than exempt the
# whole file.
_FILE_DIRECTIVE = re.compile(r"#\s*(?:ruff|flake8)\s*:\s*(?i:noqa)(?P<rest>.*)$")
_CODE_LIST = re.compile(r"\s*:\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*)")
_CODE = re.compile(r"[A-Z]+[0-9]+")


@dataclass(frozen=True)
class FileDirectives:
    exempt: bool = False  # ruff checks nothing in the file
    codes: FrozenSet[str] = frozenset()  # codes ruff does not report in the file


NO_DIRECTIVES = FileDirectives()


def file_directives(source: Union[str, bytes]) -> FileDirectives:
    """The file-level ruff/flake8 noqa comments of a file: comments on a line
    of their own (ruff ignores one after code), never text in strings."""
    if isinstance(source, bytes):
        if b"noqa" not in source.lower() or (b"ruff" not in source and b"flake8" not in source):
            return NO_DIRECTIVES
        generate, readline = tokenize.tokenize, io.BytesIO(source).readline
    else:
        if "noqa" not in source.lower() or ("ruff" not in source and "flake8" not in source):
            return NO_DIRECTIVES
        generate, readline = tokenize.generate_tokens, io.StringIO(source).readline  # type: ignore[assignment]
    exempt = False
    codes: FrozenSet[str] = frozenset()
    try:
        tokens = list(generate(readline))
    except (tokenize.TokenError, SyntaxError, IndentationError, UnicodeDecodeError, LookupError):
        return NO_DIRECTIVES
    for token in tokens:
        if token.type != tokenize.COMMENT or not token.line.lstrip().startswith("#"):
            continue
        match = _FILE_DIRECTIVE.search(token.string)
        if match is None:
            continue
        rest = match.group("rest")
        if rest.lstrip().startswith(":"):
            listed = _CODE_LIST.match(rest)
            if listed is not None:
                codes |= frozenset(_CODE.findall(listed.group("codes")))
        elif not rest or rest[0].isspace():
            # Words after a space are a comment on the directive; anything
            # else right after `noqa` makes ruff reject it.
            exempt = True
    return FileDirectives(exempt, codes)


class RuffSuppressions:
    """ruff's noqa comments of one file, read once it has a finding that ruff
    could report too."""

    def __init__(self, source: Union[str, bytes], noqa: NoqaMap) -> None:
        self.source = source
        self.noqa = noqa
        self._directives: Optional[FileDirectives] = None

    @property
    def directives(self) -> FileDirectives:
        if self._directives is None:
            self._directives = file_directives(self.source)
        return self._directives

    def admit(self, diagnostic: "Diagnostic", report: "RawReport") -> bool:
        """False when a ruff noqa comment silences the finding; otherwise
        the finding records the code ruff reports this very call with, if it does."""
        code = report.ruff_code
        if code is None:
            return True
        listed = self.noqa.get(diagnostic.line, frozenset())
        # A bare `# noqa` (None) was already honoured for every code.
        if listed is not None and code in listed:
            return False
        if code in self.directives.codes:
            return False
        if report.ruff_since is not None and not self.directives.exempt:
            diagnostic.ruff_code = code
            diagnostic.ruff_since = report.ruff_since
        return True
