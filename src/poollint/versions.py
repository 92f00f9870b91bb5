"""Version requirements, read only as far as one question needs: does every
version a requirement admits lie below a given release?

poollint does not depend on `packaging`; this reads PEP 440 specifiers
(`==0.78.0`, `<0.82`, `>=0.70,<0.80`, `~=0.75.0`, `==0.78.*`) and Poetry's
constraints (`^0.78`, `~0.78.1`, `0.78.0`, `>=0.70 <0.80`, `^0.70 || ^0.81`).
Whatever it cannot read is unknown (None), and unknown never counts as old.
"""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

__all__ = ["admits_only_at_least", "admits_only_below", "admits_only_between", "parse_release"]

# A release as a comparable key: the release numbers padded to a fixed length,
# then 0 for a pre-release or development release (0.82.0rc1 comes before
# 0.82.0), 1 for the release itself or a post-release.
Key = Tuple[Tuple[int, ...], int]
_WIDTH = 6

_VERSION = re.compile(
    r"^v?(?P<release>\d+(?:\.\d+)*)"
    r"(?P<pre>[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview|dev)[-_.]?\d*)?"
    r"(?:[-_.]?(?:post|rev|r)[-_.]?\d*|-\d+)?"
    r"(?:[-_.]?dev[-_.]?\d*)?"
    r"(?:\+[a-z0-9.]+)?$",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"^(?P<op>===|==|!=|<=|>=|~=|<|>|\^|~|=)?\s*(?P<version>\S+)$")


def parse_release(text: str) -> Optional[Tuple[Tuple[int, ...], bool]]:
    """(release numbers, is a pre- or development release) of a version; None when unreadable."""
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    parts = match.group("release").split(".")
    if any(len(part) > 30 for part in parts):
        # No real version; int() of 4,300 digits and more raises.
        return None
    release = tuple(int(part) for part in parts)
    pre = bool(match.group("pre")) or bool(re.search(r"dev", text[match.end("release") :], re.IGNORECASE))
    return release, pre


def _key(release: Tuple[int, ...], pre: bool = False) -> Key:
    padded = (release + (0,) * _WIDTH)[:_WIDTH]
    return padded, 0 if pre else 1


def _bump(release: Tuple[int, ...], index: int) -> Tuple[int, ...]:
    """The release with component `index` raised by one and what follows dropped."""
    return release[:index] + (release[index] + 1,)


class _Range:
    """The versions admitted by a set of clauses: what is known of their upper end."""

    def __init__(self) -> None:
        self.upper: Optional[Key] = None  # every admitted version is below (or at) this
        self.inclusive = False
        self.lower: Optional[Key] = None  # and at or above this

    def below(self, key: Key, inclusive: bool) -> None:
        if self.upper is None or key < self.upper or (key == self.upper and not inclusive):
            self.upper, self.inclusive = key, inclusive

    def above(self, key: Key) -> None:
        if self.lower is None or key > self.lower:
            self.lower = key

    def only_at_or_above(self, bound: Key) -> bool:
        return self.lower is not None and self.lower >= bound

    def only_below(self, bound: Key) -> Optional[bool]:
        if self.upper is None:
            return False
        if self.lower is not None and (self.lower > self.upper or (self.lower == self.upper and not self.inclusive)):
            return None  # admits nothing: a typo, not a pin
        return self.upper < bound if self.inclusive else self.upper <= bound


def _clause(text: str, style: str, found: _Range) -> bool:
    """Narrow `found` by one clause; False when the clause cannot be read."""
    text = text.strip()
    if text in ("*", ""):
        return True
    match = _CLAUSE.match(text)
    if match is None:
        return False
    op = match.group("op") or ("==" if style == "poetry" else None)
    version = match.group("version")
    if op is None:
        return False
    if version.endswith(".*"):
        if op not in ("==", "=", "!="):
            return False
        if op == "!=":
            return True
        parsed = parse_release(version[:-2])
        if parsed is None:
            return False
        release = parsed[0]
        found.above(_key(release, True))
        found.below(_key(_bump(release, len(release) - 1), True), inclusive=False)
        return True
    parsed = parse_release(version)
    if parsed is None:
        return False
    release, pre = parsed
    key = _key(release, pre)
    if op in ("==", "===", "="):
        found.above(key)
        found.below(key, inclusive=True)
    elif op == "<":
        found.below(key, inclusive=False)
    elif op == "<=":
        found.below(key, inclusive=True)
    elif op in (">", ">="):
        found.above(key)
    elif op == "!=":
        pass
    elif op == "~=":
        if len(release) < 2:
            return False
        found.above(key)
        found.below(_key(_bump(release, len(release) - 2), True), inclusive=False)
    elif op == "^":
        if style != "poetry":
            return False
        nonzero = [i for i, part in enumerate(release) if part != 0]
        index = nonzero[0] if nonzero else len(release) - 1
        found.above(key)
        found.below(_key(_bump(release, index), True), inclusive=False)
    elif op == "~":
        if style != "poetry":
            return False
        found.above(key)
        found.below(_key(_bump(release, 0 if len(release) == 1 else 1), True), inclusive=False)
    else:
        return False
    return True


def _clauses(text: str, style: str) -> List[str]:
    if style == "poetry":
        # Poetry separates clauses with commas or spaces: `>=0.70 <0.80`.
        text = re.sub(r"(===|==|!=|<=|>=|~=|<|>|\^|~)\s+", r"\1", text)
        return [part for part in re.split(r"[,\s]+", text.strip()) if part]
    return [part for part in text.split(",")]


def _bound_key(bound: str) -> Key:
    parsed = parse_release(bound)
    if parsed is None:
        raise ValueError(f"not a version: {bound!r}")
    return _key(parsed[0])


def _ranges(spec: str, style: str) -> Optional[List[_Range]]:
    """What each alternative of `spec` admits (Poetry's `||` gives several);
    None when a clause cannot be read."""
    ranges = []
    for alternative in spec.split("||") if style == "poetry" else [spec]:
        found = _Range()
        for clause in _clauses(alternative, style):
            if not _clause(clause, style, found):
                return None
        ranges.append(found)
    return ranges


def admits_only_below(spec: str, bound: str, style: str = "pep440") -> Optional[bool]:
    """Whether every version `spec` admits is below release `bound`.

    True: all of them are (`==0.78.0`, `<0.82`, `~=0.75.0`, `^0.78`). False:
    some are not, or nothing bounds it from above (`>=0.60`, `*`, an empty
    specifier). None: `spec` cannot be read, or admits no version at all.
    `style` is "pep440" (requirements files, PEP 621, Pipfile) or "poetry".
    """
    limit = _bound_key(bound)
    ranges = _ranges(spec, style)
    if ranges is None:
        return None
    answers = [found.only_below(limit) for found in ranges]
    if any(answer is False for answer in answers):
        return False
    if any(answer is None for answer in answers):
        return None
    return True


def admits_only_between(spec: str, low: str, high: str, style: str = "pep440") -> Optional[bool]:
    """Whether every version `spec` admits is at or above release `low` and
    below release `high` (`==0.110.0`, `>=0.106,<0.115`, `~=0.109.0` for
    0.106 to 0.118). True, False or None as for admits_only_below."""
    below = admits_only_below(spec, high, style)
    if below is not True:
        return below
    floor = _bound_key(low)
    return all(found.only_at_or_above(floor) for found in _ranges(spec, style) or ())


def admits_only_at_least(spec: str, bound: str) -> Optional[bool]:
    """Whether every version a PEP 440 `spec` admits is at or above release
    `bound` (`>=0.16`, `==0.17.6`, `~=0.17`, `>=0.16,<1` for `0.16`). False
    when nothing bounds it from below; None when `spec` cannot be read."""
    floor = _bound_key(bound)
    ranges = _ranges(spec, "pep440")
    if ranges is None:
        return None
    return ranges[0].only_at_or_above(floor)
