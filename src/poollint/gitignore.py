"""Which paths git ignores: .gitignore files, the repository's info/exclude and
the user's global excludes file, with git's own pattern rules.

Discovery asks this module about each entry of the directories it walks, so
that `poollint check .` skips what `git status` would not show, as ruff does.
Like ruff (and ripgrep, whose `ignore` crate ruff uses), these files count
only inside a git repository, and paths named on the command line are never
dropped for being ignored: only what a walk finds below them.

Pattern rules (gitignore(5)): a blank line or a `#` line matches nothing;
trailing spaces are dropped unless escaped; `!` re-includes; a trailing `/`
matches directories only; a pattern with a `/` at its start or in its middle
is anchored to the directory of its file, any other pattern matches the name
at any depth below it; `*` and `?` never match `/`, `[...]` is a character
class; `**/` at the start, `/**/` in the middle and `/**` at the end cross
directories; a backslash escapes the next character. Within one file the
last matching pattern decides, a deeper file overrides the ones above it,
and the .gitignore files override info/exclude, which overrides the global
file. A directory that is ignored is not walked, so nothing below it can be
re-included, as in git.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

__all__ = ["IgnoreFile", "Pattern", "Repository", "compile_pattern", "find_work_tree", "is_ignored", "parse_ignore_file"]


@dataclass(frozen=True)
class Pattern:
    """One line of an ignore file, compiled."""

    text: str
    regex: "re.Pattern[str]"
    negated: bool
    directory_only: bool


# Matches nothing: what git makes of a pattern it cannot parse (an unclosed
# `[`, a trailing backslash).
_NEVER = r"(?!)"

_POSIX_CLASSES = {
    "alnum": r"a-zA-Z0-9",
    "alpha": r"a-zA-Z",
    "blank": r" \t",
    "cntrl": r"\x00-\x1f\x7f",
    "digit": r"0-9",
    "graph": r"!-~",
    "lower": r"a-z",
    "print": r" -~",
    "punct": r"!-/:-@\[-`{-~",
    "space": r" \t\n\r\f\v",
    "upper": r"A-Z",
    "xdigit": r"0-9A-Fa-f",
}


def _trim_trailing_spaces(line: str) -> str:
    """Drop trailing spaces, but keep one escaped with a backslash (`foo\\ `)."""
    end = len(line)
    while end > 0 and line[end - 1] == " ":
        backslashes = 0
        index = end - 2
        while index >= 0 and line[index] == "\\":
            backslashes += 1
            index -= 1
        if backslashes % 2 == 1:
            break
        end -= 1
    return line[:end]


def _bracket(pattern: str, start: int) -> Tuple[Optional[str], int]:
    """The regex class for the `[...]` at `start`, and the index after it;
    (None, ...) when the bracket is never closed."""
    index = start + 1
    negated = index < len(pattern) and pattern[index] in "!^"
    if negated:
        index += 1
    parts: List[str] = []
    first = True
    while index < len(pattern):
        char = pattern[index]
        if char == "]" and not first:
            body = "".join(parts)
            # Under git's pathname matching a class never matches `/`.
            if negated:
                return f"[^/{body}]", index + 1
            return (f"(?!/)[{body}]" if body else _NEVER), index + 1
        first = False
        if char == "[" and pattern.startswith("[:", index):
            close = pattern.find(":]", index + 2)
            if close != -1:
                name = pattern[index + 2 : close]
                if name not in _POSIX_CLASSES:
                    return _NEVER, len(pattern)
                parts.append(_POSIX_CLASSES[name])
                index = close + 2
                continue
        if char == "\\":
            index += 1
            if index >= len(pattern):
                return None, index
            char = pattern[index]
        low = char
        if index + 2 < len(pattern) and pattern[index + 1] == "-" and pattern[index + 2] != "]":
            high_index = index + 2
            high = pattern[high_index]
            if high == "\\":
                high_index += 1
                if high_index >= len(pattern):
                    return None, high_index
                high = pattern[high_index]
            # git matches the range's first character on its own before the
            # range, so a reversed range (`[b-a]`) still matches `b`.
            if ord(high) >= ord(low):
                parts.append(f"{re.escape(low)}-{re.escape(high)}")
            else:
                parts.append(re.escape(low))
            index = high_index + 1
            continue
        parts.append(re.escape(low))
        index += 1
    return None, index


def _translate(pattern: str) -> str:
    """A gitignore glob (no `!`, no trailing `/`) as a regex over a path relative
    to the ignore file's directory."""
    anchored = "/" in pattern
    if pattern.startswith("/"):
        pattern = pattern[1:]
    # git compares an anchored pattern's text before its first wildcard on
    # its own and matches the rest as a new pattern, so a `**` right after
    # that text counts as a leading one (`a**/b` matches `ab`, `a/x/b`).
    literal_prefix = len(pattern)
    for special in "*?[\\":
        found = pattern.find(special)
        if found != -1:
            literal_prefix = min(literal_prefix, found)
    out: List[str] = []
    index = 0
    length = len(pattern)
    while index < length:
        char = pattern[index]
        if char == "*":
            stars = index
            while index < length and pattern[index] == "*":
                index += 1
            at_start = stars == 0 or pattern[stars - 1] == "/" or (anchored and stars == literal_prefix)
            escaped_slash = pattern.startswith("\\/", index)
            at_end = index == length or pattern[index] == "/" or escaped_slash
            if index - stars >= 2 and at_start and at_end:
                if index == length:
                    # `dir/**` (or a bare `**`): everything inside.
                    out.append(".*")
                elif escaped_slash:
                    # git skips no directory level for `**\/`: a `/` must follow.
                    out.append(".*/")
                    index += 2
                else:
                    # `**/`: zero or more whole directories.
                    out.append("(?:.*/)?")
                    index += 1
            else:
                out.append("[^/]*")
            continue
        if char == "?":
            out.append("[^/]")
        elif char == "[":
            regex, index = _bracket(pattern, index)
            if regex is None:
                return _NEVER
            out.append(regex)
            continue
        elif char == "\\":
            index += 1
            if index >= length:
                return _NEVER
            out.append(re.escape(pattern[index]))
        else:
            out.append(re.escape(char))
        index += 1
    body = "".join(out)
    # A name-only pattern matches at any depth below the file's directory.
    return body if anchored else f"(?:.*/)?{body}"


def compile_pattern(line: str) -> Optional[Pattern]:
    """The pattern on one line of an ignore file, or None for a blank or comment line."""
    text = line.rstrip("\r\n")
    if not text or text.startswith("#"):
        return None
    text = _trim_trailing_spaces(text)
    if not text:
        return None
    pattern = text
    negated = pattern.startswith("!")
    if negated:
        pattern = pattern[1:]
    directory_only = pattern.endswith("/")
    if directory_only:
        pattern = pattern[:-1]
    if not pattern:
        return None
    return Pattern(text, re.compile(_translate(pattern), re.DOTALL), negated, directory_only)


@dataclass(frozen=True)
class IgnoreFile:
    """The patterns of one ignore file, relative to `base` (posix, "" for the
    repository's top), with a combined regex per kind of entry so that a path
    matching none of them costs one search."""

    base: str
    patterns: Tuple[Pattern, ...]
    any_file: Optional["re.Pattern[str]"]
    any_directory: Optional["re.Pattern[str]"]

    @classmethod
    def of(cls, base: str, patterns: Sequence[Pattern]) -> "IgnoreFile":
        def combined(items: Sequence[Pattern]) -> Optional["re.Pattern[str]"]:
            if not items:
                return None
            return re.compile("|".join(f"(?:{p.regex.pattern})" for p in items), re.DOTALL)

        return cls(
            base,
            tuple(patterns),
            combined([p for p in patterns if not p.directory_only]),
            combined(list(patterns)),
        )

    def decide(self, relpath: str, is_dir: bool) -> Optional[bool]:
        """True (ignored), False (re-included by `!`) or None (no pattern here matches)."""
        quick = self.any_directory if is_dir else self.any_file
        if quick is None or quick.fullmatch(relpath) is None:
            return None
        for pattern in reversed(self.patterns):
            if pattern.directory_only and not is_dir:
                continue
            if pattern.regex.fullmatch(relpath):
                return not pattern.negated
        return None


def parse_ignore_file(text: str, base: str = "") -> IgnoreFile:
    patterns = [p for p in (compile_pattern(line) for line in text.splitlines()) if p is not None]
    return IgnoreFile.of(base, patterns)


def _read_ignore_file(path: str, base: str) -> Optional[IgnoreFile]:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            ignore = parse_ignore_file(handle.read(), base)
    except OSError:
        # Unreadable or missing: git ignores it too.
        return None
    return ignore if ignore.patterns else None


# --------------------------------------------------------------------------- repositories


def _git_dir(top: str) -> Optional[str]:
    """The git directory of the work tree at `top` (`.git`, or where a `.git`
    file of a worktree or submodule points)."""
    dot_git = os.path.join(top, ".git")
    if os.path.isdir(dot_git):
        return dot_git
    try:
        with open(dot_git, encoding="utf-8") as handle:
            first = handle.readline().strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not first.startswith("gitdir:"):
        return None
    target = first[len("gitdir:") :].strip()
    return os.path.normpath(os.path.join(top, target))


def _common_dir(git_dir: str) -> str:
    """Where a linked worktree keeps what all worktrees share (info/exclude, config)."""
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as handle:
            common = handle.read().strip()
    except (OSError, UnicodeDecodeError):
        return git_dir
    return os.path.normpath(os.path.join(git_dir, common)) if common else git_dir


def _config_excludes_file(path: str) -> Optional[str]:
    """`core.excludesFile` of one git config file, read with only as much of
    git's config syntax as that key needs (no includes)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    found = None
    in_core = False
    for raw in lines:
        line = raw.strip()
        if line.startswith("["):
            in_core = line[1:].split("]", 1)[0].strip().lower() == "core"
            line = line.split("]", 1)[1].strip() if "]" in line else ""
            if not line:
                continue
        if not in_core or "=" not in line:
            continue
        key, value = line.split("=", 1)
        if key.strip().lower() != "excludesfile":
            continue
        value = value.strip()
        if value.startswith('"'):
            value = value[1:].split('"', 1)[0]
        else:
            value = re.split(r"\s[#;]", value, 1)[0].strip()
        found = value or None
    return found


def _global_excludes_file(common_dir: str) -> Optional[str]:
    """The user's global excludes file: core.excludesFile from the user's (then
    the repository's) git config, else git's default $XDG_CONFIG_HOME/git/ignore."""
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    setting = None
    for config in (os.path.join(xdg, "git", "config"), os.path.join(home, ".gitconfig"), os.path.join(common_dir, "config")):
        value = _config_excludes_file(config)
        if value is not None:
            setting = value
    if setting is None:
        return os.path.join(xdg, "git", "ignore")
    return os.path.expanduser(setting)


class Repository:
    """One git work tree: its top directory and the ignore files that apply in it."""

    def __init__(self, top: str) -> None:
        self.top = top
        git_dir = _git_dir(top)
        common = _common_dir(git_dir) if git_dir else None
        # Lowest precedence first: global file, then info/exclude.
        outer: List[IgnoreFile] = []
        if common is not None:
            for path in (_global_excludes_file(common), os.path.join(common, "info", "exclude")):
                ignore = _read_ignore_file(path, "") if path else None
                if ignore is not None:
                    outer.append(ignore)
        self.outer: Tuple[IgnoreFile, ...] = tuple(outer)
        self._gitignores: Dict[str, Optional[IgnoreFile]] = {}

    def gitignore(self, relative_dir: str) -> Optional[IgnoreFile]:
        """The .gitignore of the directory `relative_dir` (posix, "" for the top), if any."""
        if relative_dir not in self._gitignores:
            path = os.path.join(self.top, *relative_dir.split("/"), ".gitignore") if relative_dir else os.path.join(
                self.top, ".gitignore"
            )
            self._gitignores[relative_dir] = _read_ignore_file(path, relative_dir)
        return self._gitignores[relative_dir]

    def stack_for(self, relative_dir: str) -> Tuple[IgnoreFile, ...]:
        """Every ignore file that applies to the entries of `relative_dir`, lowest precedence first."""
        stack = list(self.outer)
        parts = relative_dir.split("/") if relative_dir else []
        for depth in range(len(parts) + 1):
            ignore = self.gitignore("/".join(parts[:depth]))
            if ignore is not None:
                stack.append(ignore)
        return tuple(stack)


def is_ignored(stack: Sequence[IgnoreFile], relpath: str, is_dir: bool) -> bool:
    """Whether the entry at `relpath` (posix, relative to the repository's top) is ignored."""
    for ignore in reversed(stack):
        if ignore.base:
            if not relpath.startswith(ignore.base + "/"):
                continue
            local = relpath[len(ignore.base) + 1 :]
        else:
            local = relpath
        decision = ignore.decide(local, is_dir)
        if decision is not None:
            return decision
    return False


def find_work_tree(directory: str) -> Optional[str]:
    """The top of the work tree holding `directory`: the nearest directory at or
    above it with a `.git`; None outside any repository."""
    current = os.path.abspath(directory)
    while True:
        if os.path.lexists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent
