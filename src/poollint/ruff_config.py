"""Living beside ruff: read the project's ruff configuration (never run ruff)
and leave to ruff the blocking calls it reports itself.

ruff's flake8-async rules (ASYNC2xx) report a direct `time.sleep()`,
`requests.get()`, `subprocess.run()` or `open()` in an `async def`, without a
fix and without following the project's helpers. Where the ruff configuration
that governs a file selects the ASYNC code of such a call, the POL101-POL104
finding about that very call is dropped, unless poollint can fix it; findings
reached through a helper, calls ruff cannot see (an alias, a client bound twice,
a path made with `/`) and fixable ones stay. `defer-to-ruff = false` in
[tool.poollint] keeps them all.

The configuration is found as ruff finds it: for each file, the nearest
directory at or above it holding `.ruff.toml`, `ruff.toml` or a
`pyproject.toml` with a [tool.ruff] table, in that order of precedence; its
`extend` chain is followed. Rules are selected as ruff selects them: `select`
starts afresh, `extend-select` adds, `ignore` and `extend-ignore` remove, the
more specific selector wins and an ignore wins a tie (`ALL` < `ASYNC` <
`ASYNC2` < `ASYNC25` < `ASYNC251`); `[lint]` keys win over the deprecated
top-level ones. Without any `select`, ruff's default rule set applies: since
ruff 0.16 it holds ASYNC210, ASYNC220-ASYNC222, ASYNC230 and ASYNC251, before
that none; poollint counts on it only where it knows the project's ruff is that
recent. Which ruff runs is read from `required-version` (ruff refuses to run
outside it), else from the `rev` of astral-sh/ruff-pre-commit in the nearest
.pre-commit-config.yaml; unknown, it is taken to be the oldest with these codes
(0.5), and calls only newer ruffs report stay with poollint (_ruff.py).
`per-file-ignores` (and `extend-per-file-ignores`, `!` negation),
`exclude`/`extend-exclude`/`lint.exclude` (with ruff's default excludes) and
`include` are honoured, each pattern relative to the file that defines it.

Not read: ruff's user-level configuration (~/.config/ruff), options given to
ruff on its command line, .gitignore, and selectors of other linters. A
project without any ruff configuration may not run ruff at all: nothing is
left to ruff there.

A configuration that cannot be read (invalid TOML, a value of the wrong type, a
missing `extend` target, an ASYNC selector ruff does not know) is one ruff
itself refuses to run with: ruff reports nothing then, so poollint leaves
nothing to it and says so in a warning. Dropping a finding ruff does not
report would lose it; reporting one ruff reports too costs a line.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from poollint.config import Settings, path_matches_glob
from poollint.versions import admits_only_at_least, parse_release

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

__all__ = [
    "OVERLAP_CODES",
    "RuffConfig",
    "RuffConfigError",
    "RuffLookup",
    "describe",
    "leave_to_ruff",
    "load_ruff_config",
    "nearest_ruff_config",
]

# The ASYNC codes a finding of POL101-POL104 can carry (rules/event_loop/_ruff.py).
OVERLAP_CODES: Tuple[str, ...] = (
    "ASYNC210",
    "ASYNC212",
    "ASYNC220",
    "ASYNC221",
    "ASYNC222",
    "ASYNC230",
    "ASYNC240",
    "ASYNC251",
)
# Every code of ruff's flake8-async family (ruff 0.17.6), to tell a selector
# ruff accepts from one it refuses to run with.
_KNOWN_ASYNC_CODES = frozenset(
    {"ASYNC100", "ASYNC105", "ASYNC109", "ASYNC110", "ASYNC115", "ASYNC116", "ASYNC119", "ASYNC250", "ASYNC401"}
) | frozenset(OVERLAP_CODES)

# In one directory, the first of these that exists is the configuration (a
# pyproject.toml only with a [tool.ruff] table).
CONFIG_NAMES = (".ruff.toml", "ruff.toml", "pyproject.toml")
# ruff's default `exclude` (0.17.6).
DEFAULT_EXCLUDE = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pyenv",
    ".pytest_cache",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    ".vscode",
    "__pypackages__",
    "_build",
    "buck-out",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
)
# What ruff selects when no `select` is given. Up to 0.15 its default rule set
# held no ASYNC rule; 0.16 grew it to include these (ruff's "Default Rules"
# page; checked on 0.17.6). Without knowing the project's ruff poollint takes
# the smaller set, so that a project on an older ruff keeps its findings.
DEFAULT_ASYNC_SINCE_0_16 = frozenset({"ASYNC210", "ASYNC220", "ASYNC221", "ASYNC222", "ASYNC230", "ASYNC251"})
DEFAULT_RULES_GREW: Tuple[int, ...] = (0, 16, 0)
# ruff releases as pre-commit pins them: `rev: v0.17.6` under the
# astral-sh/ruff-pre-commit repository.
_PRE_COMMIT_RUFF = re.compile(r"^\s*-?\s*repo:\s*['\"]?https?://github\.com/astral-sh/ruff-pre-commit(?:\.git)?/?['\"]?\s*(?:#.*)?$")
_PRE_COMMIT_REV = re.compile(r"^\s*-?\s*rev:\s*['\"]?v?(?P<version>\d+(?:\.\d+)*)['\"]?\s*(?:#.*)?$")
# A longer `extend` chain than this is taken for a cycle.
_MAX_EXTEND = 32
_SELECTOR = re.compile(r"^(?:ALL|[A-Z]+[0-9]*)$")


class RuffConfigError(Exception):
    """A ruff configuration ruff itself would refuse; str() names the file and the cause."""


# The ruff release that gave the ASYNC2xx codes their numbers.
OLDEST: Tuple[int, ...] = (0, 5, 0)

# A pattern and the directory it is relative to.
_Pattern = Tuple[Path, str]


@dataclass(frozen=True)
class _Selection:
    """One file's rule selectors, as ruff's RuleSelection holds them."""

    select: Optional[Tuple[str, ...]]
    extend_select: Tuple[str, ...]
    ignore: Tuple[str, ...]  # ignore + extend-ignore


@dataclass(frozen=True)
class RuffConfig:
    """What one ruff configuration (with its `extend` chain) says about the ASYNC codes."""

    path: Path
    selected: FrozenSet[str]  # of OVERLAP_CODES
    # (pattern's directory, pattern, negated, codes it ignores among OVERLAP_CODES)
    per_file_ignores: Tuple[Tuple[Path, str, bool, FrozenSet[str]], ...] = ()
    exclude: Tuple[_Pattern, ...] = ()
    include: Optional[Tuple[_Pattern, ...]] = None  # None: ruff's default, every .py file
    # Which ruff the project runs, as a PEP 440 specifier, and where that was
    # read: `required-version`, else the ruff-pre-commit `rev`; None: unknown.
    ruff_version: Optional[str] = None
    ruff_version_from: Optional[str] = None

    def runs_at_least(self, release: Sequence[int]) -> bool:
        """Whether the project's ruff is surely `release` or newer (every ruff
        with ASYNC2xx codes is at least OLDEST)."""
        if tuple(release) <= OLDEST:
            return True
        if self.ruff_version is None:
            return False
        return admits_only_at_least(self.ruff_version, ".".join(map(str, release))) is True

    def codes_for(self, file: Union[str, "os.PathLike[str]"]) -> FrozenSet[str]:
        """The ASYNC codes of OVERLAP_CODES ruff reports in `file`; none where ruff skips it."""
        if not self.selected:
            return frozenset()
        path = Path(os.path.abspath(file))
        root = self.path.parent
        if self._excluded(path, root) or not self._included(path):
            return frozenset()
        codes = set(self.selected)
        for base, pattern, negated, ignored in self.per_file_ignores:
            if _matches(pattern, base, path) != negated:
                codes -= ignored
        return frozenset(codes)

    def _excluded(self, path: Path, root: Path) -> bool:
        # As ruff's is_file_excluded: the file and each directory above it,
        # up to the directory of the configuration, by name or by path.
        for candidate in (path, *path.parents):
            if any(_matches(pattern, base, candidate) for base, pattern in self.exclude):
                return True
            if candidate == root or candidate.parent == candidate:
                break
        return False

    def _included(self, path: Path) -> bool:
        if self.include is None:
            return True
        return any(_matches(pattern, base, path) for base, pattern in self.include)


def _matches(pattern: str, base: Path, path: Path) -> bool:
    """ruff's file patterns: an absolute pattern matches the absolute path, a
    relative one the path relative to its directory; either may match the name."""
    if os.path.isabs(pattern):
        return fnmatch.fnmatchcase(path.as_posix(), Path(pattern).as_posix()) or fnmatch.fnmatchcase(
            path.name, pattern
        )
    try:
        relative: Optional[str] = path.relative_to(base).as_posix()
    except ValueError:
        relative = None
    return path_matches_glob(pattern, relative, path.name)


# --------------------------------------------------------------------------- finding


def _has_ruff_table(path: Path) -> bool:
    tool = _read(path).get("tool")
    return isinstance(tool, dict) and "ruff" in tool


def _config_in(directory: Path) -> Optional[Path]:
    for name in CONFIG_NAMES:
        candidate = directory / name
        if candidate.is_file() and (name != "pyproject.toml" or _has_ruff_table(candidate)):
            return candidate
    return None


def nearest_ruff_config(
    directory: Path, memo: Optional[Dict[Path, Union[Path, None, RuffConfigError]]] = None
) -> Optional[Path]:
    """The configuration ruff uses for files in `directory`, looking up from
    it; `memo` keeps each directory's answer for the next lookup."""
    memo = {} if memo is None else memo
    directory = Path(os.path.abspath(directory))
    visited = []
    found: Union[Path, None, RuffConfigError] = None
    for candidate_dir in (directory, *directory.parents):
        if candidate_dir in memo:
            found = memo[candidate_dir]
            break
        visited.append(candidate_dir)
        try:
            found = _config_in(candidate_dir)
        except RuffConfigError as exc:
            found = exc
        if found is not None:
            break
    for seen in visited:
        memo[seen] = found
    if isinstance(found, RuffConfigError):
        raise found
    return found


# --------------------------------------------------------------------------- reading


def _read(path: Path) -> Dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise RuffConfigError(f"{path}: invalid TOML: {' '.join(str(exc).split())}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise RuffConfigError(f"{path}: cannot read: {reason}") from None


def _options(path: Path) -> Dict[str, Any]:
    data = _read(path)
    if path.name == "pyproject.toml":
        tool = data.get("tool")
        data = tool.get("ruff", {}) if isinstance(tool, dict) else {}
    if not isinstance(data, dict):
        raise RuffConfigError(f"{path}: [tool.ruff] must be a table")
    return data


class _Layer:
    """One file of an `extend` chain: its lint options (the [lint] table's
    over the deprecated top-level ones) and its file options."""

    def __init__(self, path: Path, options: Mapping[str, Any]) -> None:
        self.path = path
        self.base = path.parent
        lint = options.get("lint", {})
        if not isinstance(lint, dict):
            raise RuffConfigError(f"{path}: 'lint' must be a table")
        self.lint = lint
        self.top = options

    def value(self, key: str, lint_key: bool = True) -> Any:
        if lint_key and key in self.lint:
            return self.lint[key]
        return self.top.get(key)

    def strings(self, key: str, lint_key: bool = True) -> Optional[Tuple[str, ...]]:
        value = self.value(key, lint_key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise RuffConfigError(f"{self.path}: {key!r} must be a list of strings")
        return tuple(value)

    def selectors(self, key: str) -> Optional[Tuple[str, ...]]:
        found = self.strings(key)
        for selector in found or ():
            self.check_selector(key, selector)
        return found

    def check_selector(self, key: str, selector: str) -> None:
        """Raise for a selector ruff refuses: not one at all, or an ASYNC one
        no rule of ruff answers to (other linters' codes are not checked)."""
        if not _SELECTOR.match(selector) or (
            selector.startswith("ASYNC") and not any(code.startswith(selector) for code in _KNOWN_ASYNC_CODES)
        ):
            raise RuffConfigError(f"{self.path}: {key!r} has a selector ruff does not know: {selector!r}")

    def selection(self) -> _Selection:
        return _Selection(
            select=self.selectors("select"),
            extend_select=self.selectors("extend-select") or (),
            ignore=(self.selectors("ignore") or ()) + (self.selectors("extend-ignore") or ()),
        )

    def per_file_ignores(self, key: str) -> Optional[Tuple[Tuple[Path, str, bool, FrozenSet[str]], ...]]:
        value = self.value(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise RuffConfigError(f"{self.path}: {key!r} must be a table of pattern = [codes]")
        found = []
        for pattern, selectors in value.items():
            if not isinstance(selectors, list) or not all(isinstance(s, str) for s in selectors):
                raise RuffConfigError(f"{self.path}: {key!r} {pattern!r} must be a list of strings")
            for selector in selectors:
                self.check_selector(key, selector)
            negated = pattern.startswith("!")
            codes = frozenset(code for code in OVERLAP_CODES if any(_selects(s, code) for s in selectors))
            found.append((self.base, pattern[1:] if negated else pattern, negated, codes))
        return tuple(found)

    def patterns(self, key: str, lint_key: bool = False) -> Optional[Tuple[_Pattern, ...]]:
        found = self.strings(key, lint_key)
        return None if found is None else tuple((self.base, pattern) for pattern in found)

    def lint_exclude(self) -> Optional[Tuple[_Pattern, ...]]:
        """`lint.exclude`: files ruff lints nothing in, besides `exclude`'s."""
        value = self.lint.get("exclude")
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise RuffConfigError(f"{self.path}: 'lint.exclude' must be a list of strings")
        return tuple((self.base, pattern) for pattern in value)

    def required_version(self) -> Optional[str]:
        value = self.top.get("required-version")
        if value is not None and not isinstance(value, str):
            raise RuffConfigError(f"{self.path}: 'required-version' must be a string")
        return value

    def extend(self) -> Optional[Path]:
        value = self.top.get("extend")
        if value is None:
            return None
        if not isinstance(value, str):
            raise RuffConfigError(f"{self.path}: 'extend' must be a path (a string)")
        return Path(os.path.abspath(self.base / os.path.expanduser(value)))


def load_ruff_config(path: Path) -> RuffConfig:
    """The configuration at `path` with its `extend` chain; raises RuffConfigError."""
    path = Path(os.path.abspath(path))
    chain: List[_Layer] = []
    seen = set()
    current: Optional[Path] = path
    while current is not None:
        if current in seen or len(chain) >= _MAX_EXTEND:
            raise RuffConfigError(f"{path}: 'extend' chain loops through {current}")
        if not current.is_file():
            raise RuffConfigError(f"{chain[-1].path}: 'extend' names a file that does not exist: {current}")
        seen.add(current)
        layer = _Layer(current, _options(current))
        chain.append(layer)
        current = layer.extend()
    layers = list(reversed(chain))  # the base first, as ruff combines them
    required = [(layer.required_version(), layer.path) for layer in layers]
    version, version_from = next(((value, where) for value, where in reversed(required) if value is not None), (None, None))
    if version is not None:
        # ruff refuses to run outside it, so it holds whichever ruff runs;
        # an old bare version (`0.17.6`) means exactly that one.
        version = f"=={version.strip()}" if parse_release(version) is not None else version
        version_from = f"required-version in {version_from}"
    else:
        pinned = _pre_commit_ruff(path.parent)
        if pinned is not None:
            version, version_from = f"=={pinned[0]}", f"ruff-pre-commit rev in {pinned[1]}"
    versions = RuffConfig(path=path, selected=frozenset(), ruff_version=version)
    default = DEFAULT_ASYNC_SINCE_0_16 if versions.runs_at_least(DEFAULT_RULES_GREW) else frozenset()
    selected = _selected([layer.selection() for layer in layers], default)

    per_file: Tuple[Tuple[Path, str, bool, FrozenSet[str]], ...] = ()
    exclude: Tuple[_Pattern, ...] = tuple((path.parent, pattern) for pattern in DEFAULT_EXCLUDE)
    extend_exclude: Tuple[_Pattern, ...] = ()
    include: Optional[Tuple[_Pattern, ...]] = None
    extend_include: Tuple[_Pattern, ...] = ()
    for layer in layers:
        # A nearer file's `per-file-ignores`, `exclude` and `include` replace
        # the base's; the `extend-` forms add to them.
        replaced = layer.per_file_ignores("per-file-ignores")
        if replaced is not None:
            per_file = replaced
        per_file += layer.per_file_ignores("extend-per-file-ignores") or ()
        exclude_here = layer.patterns("exclude")
        if exclude_here is not None:
            exclude = exclude_here
        extend_exclude += (layer.patterns("extend-exclude") or ()) + (layer.lint_exclude() or ())
        include_here = layer.patterns("include")
        if include_here is not None:
            include = include_here
        extend_include += layer.patterns("extend-include") or ()
    if include is not None:
        include += extend_include
    return RuffConfig(
        path=path,
        selected=selected,
        per_file_ignores=tuple(entry for entry in per_file if entry[3]),
        exclude=exclude + extend_exclude,
        include=include,
        ruff_version=version,
        ruff_version_from=version_from,
    )


def _pre_commit_ruff(directory: Path) -> Optional[Tuple[str, Path]]:
    """The ruff release the nearest .pre-commit-config.yaml at or above
    `directory` pins (`rev: v0.17.6` of astral-sh/ruff-pre-commit), and that
    file; read line by line (no YAML parser), None for anything unusual."""
    for candidate_dir in (directory, *directory.parents):
        config = candidate_dir / ".pre-commit-config.yaml"
        if not config.is_file():
            continue
        try:
            lines = config.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return None
        for number, line in enumerate(lines):
            if not _PRE_COMMIT_RUFF.match(line):
                continue
            # The keys of this entry sit at the column of `repo`; the entry
            # ends at a list item further left (the next repository).
            column = line.index("repo")
            entry = []
            for before in reversed(lines[:number]):
                if not before.strip() or _indent(before) < column - 2:
                    break
                entry.append(before)
                if before.lstrip().startswith("-"):
                    break
            for following in lines[number + 1 :]:
                if following.lstrip().startswith("-") and _indent(following) < column:
                    break
                entry.append(following)
            for text in entry:
                found = _PRE_COMMIT_REV.match(text)
                if found is not None and _rev_column(text) == column:
                    return found.group("version"), config
            return None
        return None
    return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _rev_column(line: str) -> int:
    return line.index("rev")


# --------------------------------------------------------------------------- selecting


def _specificity(selector: str) -> int:
    # ALL < the linter (ASYNC) < each further digit < a whole code.
    return 0 if selector == "ALL" else len(selector)


def _selects(selector: str, code: str) -> bool:
    if selector == "ALL":
        return True
    # Only the ASYNC linter's own prefixes (not "A", flake8-builtins).
    return selector.startswith("ASYNC") and code.startswith(selector)


def _selected(selections: Sequence[_Selection], default: FrozenSet[str] = frozenset()) -> FrozenSet[str]:
    """ruff's resolution of the enabled rules, restricted to OVERLAP_CODES.

    Within one file's selection, selectors apply from the least specific to
    the most, ignores after selects at each level; a `select` starts afresh
    from what the file's own selectors say, otherwise the changes apply to
    what the base configuration (or ruff's default rule set) enabled.
    """
    enabled: set = set(default)
    carried_ignores: Tuple[str, ...] = ()
    for selection in selections:
        updates: Dict[str, bool] = {}
        selects = tuple(selection.select or ()) + selection.extend_select
        ignores = selection.ignore + carried_ignores
        carried_ignores = ()
        levels = sorted({_specificity(s) for s in selects + ignores})
        for level in levels:
            for selector in selects:
                if _specificity(selector) == level:
                    updates.update((code, True) for code in OVERLAP_CODES if _selects(selector, code))
            for selector in ignores:
                if _specificity(selector) == level:
                    updates.update((code, False) for code in OVERLAP_CODES if _selects(selector, code))
        if selection.select is not None:
            enabled = {code for code, on in updates.items() if on}
            # ruff carries the ignores of an empty `select` over to the next file.
            if not selection.select and not selection.extend_select and selection.ignore:
                carried_ignores = selection.ignore
        else:
            for code, on in updates.items():
                (enabled.add if on else enabled.discard)(code)
    return frozenset(enabled)


# --------------------------------------------------------------------------- per run


class RuffLookup:
    """The ruff configuration of each directory, found and read once per run."""

    def __init__(self) -> None:
        self._by_directory: Dict[Path, Union[RuffConfig, RuffConfigError, None]] = {}
        self._nearest: Dict[Path, Union[Path, None, RuffConfigError]] = {}
        self._by_file: Dict[Path, Union[RuffConfig, RuffConfigError]] = {}
        self.warnings: List[str] = []

    def config_for(self, file: Union[str, "os.PathLike[str]"]) -> Union[RuffConfig, RuffConfigError, None]:
        directory = Path(os.path.abspath(file)).parent
        if directory not in self._by_directory:
            self._by_directory[directory] = self._find(directory)
        return self._by_directory[directory]

    def _find(self, directory: Path) -> Union[RuffConfig, RuffConfigError, None]:
        try:
            path = nearest_ruff_config(directory, self._nearest)
        except RuffConfigError as exc:
            return self._failed(exc)
        if path is None:
            return None
        if path not in self._by_file:
            try:
                self._by_file[path] = load_ruff_config(path)
            except RuffConfigError as exc:
                self._by_file[path] = self._failed(exc)
        return self._by_file[path]

    def _failed(self, exc: RuffConfigError) -> RuffConfigError:
        warning = f"ruff configuration {exc}; POL101-POL104 report every blocking call there, ruff's too"
        if warning not in self.warnings:
            self.warnings.append(warning)
        return exc

    def codes_for(self, file: Union[str, "os.PathLike[str]"]) -> FrozenSet[str]:
        config = self.config_for(file)
        return config.codes_for(file) if isinstance(config, RuffConfig) else frozenset()


def leave_to_ruff(files: Iterable[Any], settings: Settings) -> List[str]:
    """Drop from each FileResult the findings ruff reports itself (their
    `ruff_code` is selected for that file) that poollint cannot fix; the
    warnings about ruff configurations that could not be read."""
    if not settings.defer_to_ruff:
        return []
    lookup = RuffLookup()
    for result in files:
        if not any(d.ruff_code is not None and d.fix_safety is None for d in result.diagnostics):
            continue
        config = lookup.config_for(result.path)
        if not isinstance(config, RuffConfig):
            continue
        codes = config.codes_for(result.path)
        if codes:
            result.diagnostics = [d for d in result.diagnostics if not _left_to_ruff(d, codes, config)]
    return lookup.warnings


def _left_to_ruff(diagnostic: Any, codes: FrozenSet[str], config: RuffConfig) -> bool:
    return (
        diagnostic.fix_safety is None
        and diagnostic.ruff_code in codes
        and config.runs_at_least(diagnostic.ruff_since or OLDEST)
    )


def describe(settings: Settings) -> List[str]:
    """--show-settings lines: the setting, and what ruff's configuration at
    the project root leaves to ruff."""
    lines = [f"defer-to-ruff: {str(settings.defer_to_ruff).lower()}"]
    lookup = RuffLookup()
    config = lookup.config_for(settings.project_root / "__init__.py")
    if config is None:
        lines.append("ruff: no ruff configuration found (nothing is left to ruff)")
    elif isinstance(config, RuffConfigError):
        lines.append(f"ruff: {config} (nothing is left to ruff)")
    else:
        codes = ", ".join(code for code in OVERLAP_CODES if code in config.selected) or "none of ASYNC2xx"
        lines.append(f"ruff: {config.path} selects {codes}")
        if config.ruff_version is None:
            lines.append("ruff: version unknown (set required-version): taken to be the oldest with these codes")
        else:
            lines.append(f"ruff: version {config.ruff_version} ({config.ruff_version_from})")
    return lines
