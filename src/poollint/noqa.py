"""`# noqa` and `# noqa: POL101, POL201` comments, as flake8 reads them."""

from __future__ import annotations

import io
import re
import tokenize
from typing import Dict, FrozenSet, Optional, Union

# flake8's forms: a bare "noqa" comment, or one followed by a colon and codes
# separated by commas or spaces, in any case. A malformed code list makes it
# a blanket suppression, as in flake8.
_NOQA = re.compile(
    r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?",
    re.IGNORECASE,
)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)

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


def noqa_lines(source: Union[str, bytes]) -> NoqaMap:
    """Line number -> suppressed codes, from real comments only (not strings)."""
    found: NoqaMap = {}
    if isinstance(source, bytes):
        # Tokenizing costs a third of a parse: most files have nothing to find.
        if b"noqa" not in source.lower():
            return found
        readline = io.BytesIO(source).readline
        generate = tokenize.tokenize
    else:
        if "noqa" not in source.lower():
            return found
        readline = io.StringIO(source).readline
        generate = tokenize.generate_tokens
    try:
        tokens = list(generate(readline))
    except (tokenize.TokenError, SyntaxError, IndentationError, UnicodeDecodeError, LookupError):
        return found
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        codes = parse_noqa(token.string)
        if codes is _NOT_NOQA:
            continue
        found[token.start[0]] = codes
    return found


def comment_noqa_lines(source: bytes) -> NoqaMap:
    """Line number -> suppressed codes of a file that is not Python but has
    `#` comments (requirements files, TOML, YAML): the comment is read from
    the first `#` of the line."""
    found: NoqaMap = {}
    if b"noqa" not in source.lower():
        return found
    for number, line in enumerate(source.decode("utf-8", errors="replace").splitlines(), start=1):
        position = line.find("#")
        if position < 0:
            continue
        codes = parse_noqa(line[position:])
        if codes is not _NOT_NOQA:
            found[number] = codes
    return found


def is_suppressed(noqa: NoqaMap, line: int, code: str) -> bool:
    if line not in noqa:
        return False
    codes = noqa[line]
    # A code listed as a prefix suppresses the codes it begins, as flake8 does.
    return codes is None or any(code.startswith(listed) for listed in codes)
