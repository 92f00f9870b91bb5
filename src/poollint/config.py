"""Settings: built-in defaults < pyproject.toml [tool.poollint] < command-line flags."""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

__all__ = [
    "ConfigError",
    "DEFAULT_EXCLUDE",
    "DEFAULT_MAX_POOL_RECYCLE",
    "DEFAULT_POOL_VALUES",
    "DEFAULT_REQUIRED_POOL_SETTINGS",
    "DEFAULT_THREAD_POOL_SIZE",
    "POOL_SETTING_KEYS",
    "PoolSettings",
    "SQLALCHEMY_POOL_DEFAULTS",
    "Settings",
    "find_config",
    "load_settings",
    "path_matches_glob",
    "split_config_arguments",
]


class ConfigError(Exception):
    """A configuration file that cannot be used; str() is one line naming the file and the cause."""


POOL_SETTING_KEYS = ("pool_size", "max_overflow", "pool_timeout", "pool_recycle", "pool_pre_ping")
DEFAULT_REQUIRED_POOL_SETTINGS = ("pool_size", "max_overflow", "pool_recycle", "pool_pre_ping")
DEFAULT_POOL_VALUES: Mapping[str, object] = MappingProxyType(
    {
        "pool_size": 5,
        "max_overflow": 10,
        "pool_timeout": 30,
        "pool_recycle": 1800,
        "pool_pre_ping": True,
    }
)
DEFAULT_MAX_POOL_RECYCLE = 3600
DEFAULT_THREAD_POOL_SIZE = 40
# Writing one of these values changes nothing at runtime, so a fix that spells
# them out is safe; pool_recycle and pool_pre_ping change behaviour.
SQLALCHEMY_POOL_DEFAULTS: Mapping[str, object] = MappingProxyType(
    {"pool_size": 5, "max_overflow": 10, "pool_timeout": 30}
)

# "env" is left out on purpose: it is a common package name.
DEFAULT_EXCLUDE = (
    ".git",
    ".hg",
    ".svn",
    ".bzr",
    ".venv",
    "venv",
    ".env",
    ".tox",
    ".nox",
    ".eggs",
    "*.egg-info",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".poollint_cache",
    "build",
    "dist",
    "_build",
    "buck-out",
    "node_modules",
    "site-packages",
    "__pypackages__",
)


class _FrozenMapping(Mapping[str, object]):
    """A read-only, hashable mapping, so that frozen settings stay hashable."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, object]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> object:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, repr(v)) for k, v in self._data.items())))

    def __repr__(self) -> str:
        return repr(self._data)


@dataclass(frozen=True)
class PoolSettings:
    """What POL301 requires of create_engine() and the values its fix writes.

    `values` may name only some keys; the others keep DEFAULT_POOL_VALUES, so
    every key of POOL_SETTING_KEYS can always be looked up.
    """

    required: Tuple[str, ...] = DEFAULT_REQUIRED_POOL_SETTINGS
    values: Mapping[str, object] = field(default_factory=lambda: _FrozenMapping(DEFAULT_POOL_VALUES))
    # POL304: the longest pool_recycle (seconds) before the database, a
    # firewall or a proxy may drop an idle connection.
    max_pool_recycle: int = DEFAULT_MAX_POOL_RECYCLE
    # POL306: worker processes per deployment (each has its own pools; None:
    # not configured, counted as 1) and the connections the database accepts
    # (None: no budget configured, POL306 stays silent).
    workers: Optional[int] = None
    max_connections: Optional[int] = None
    # POL307: threads FastAPI runs plain `def` routes on (AnyIO's default 40).
    thread_pool_size: int = DEFAULT_THREAD_POOL_SIZE

    def __post_init__(self) -> None:
        object.__setattr__(self, "required", tuple(self.required))
        merged = dict(DEFAULT_POOL_VALUES)
        merged.update(self.values)
        object.__setattr__(self, "values", _FrozenMapping(merged))

    def value_is_sqlalchemy_default(self, key: str) -> bool:
        """True when writing `key=<configured value>` keeps SQLAlchemy's behaviour."""
        if key not in SQLALCHEMY_POOL_DEFAULTS or key not in self.values:
            return False
        value = self.values[key]
        default = SQLALCHEMY_POOL_DEFAULTS[key]
        return type(value) is type(default) and value == default


@dataclass(frozen=True)
class Settings:
    """The effective settings of one run; build them with load_settings()."""

    project_root: Path
    config_path: Optional[Path]
    # None means the default rule set; an empty tuple selects nothing.
    select: Optional[Tuple[str, ...]] = None
    ignore: Tuple[str, ...] = ()
    extend_select: Tuple[str, ...] = ()
    exclude: Tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: Tuple[str, ...] = ()
    per_file_ignores: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()
    unsafe_fixes: bool = False
    pool: PoolSettings = field(default_factory=PoolSettings)
    # The oldest Python the project supports, as (3, 10): `target-version`, or
    # else the lower bound of `requires-python`; None when neither says.
    # Fixes that need newer Python (contextlib.aclosing) wait for it.
    target_version: Optional[Tuple[int, int]] = None
    # `cache-dir`, relative to the project root; where the cache lives does
    # not change findings, so it is left out of the settings' key.
    cache_dir: Optional[Path] = field(default=None, compare=False, repr=False)
    # `output-format`: how findings print unless the command line or
    # $POOLLINT_OUTPUT_FORMAT says otherwise; findings do not depend on it.
    output_format: Optional[str] = field(default=None, compare=False, repr=False)
    # `defer-to-ruff`: leave to ruff the blocking calls it reports itself
    # where the project's ruff configuration selects their ASYNC codes
    # (ruff_config.py). Applied to the findings after the cache, so it too
    # is left out of the settings' key.
    defer_to_ruff: bool = field(default=True, compare=False, repr=False)
    # Where each list of rule selectors came from: (option, where, selectors),
    # e.g. ("select", "--select", ("POL1",)). Only for error messages
    # (selection.validate_settings); merging loses the origin otherwise.
    selector_sources: Tuple[Tuple[str, str, Tuple[str, ...]], ...] = field(
        default=(), compare=False, repr=False
    )
    # Which files are checked, not what is found in one: left out of the
    # settings' key like cache_dir. force_exclude applies the excludes to
    # paths named on the command line too (pre-commit names every file);
    # respect_gitignore skips what git ignores while walking directories.
    force_exclude: bool = field(default=False, compare=False, repr=False)
    respect_gitignore: bool = field(default=True, compare=False, repr=False)

    @property
    def all_exclude(self) -> Tuple[str, ...]:
        return tuple(self.exclude) + tuple(self.extend_exclude)


# --------------------------------------------------------------------------- globs


def _strip_dot_slash(pattern: str) -> str:
    while pattern.startswith("./"):
        pattern = pattern[2:]
    return pattern


def _glob_variants(pattern: str) -> List[str]:
    """fnmatch's `*` already crosses `/`; only `**/` needs to also match nothing."""
    variants = [pattern]
    index = pattern.find("**/")
    if index != -1:
        head, tail = pattern[:index], pattern[index + 3 :]
        rest = _glob_variants(tail)
        variants = [head + "**/" + r for r in rest] + [head + r for r in rest]
    return variants


@functools.lru_cache(maxsize=256)
def _compile_globs(
    patterns: Tuple[str, ...],
) -> Tuple[Optional["re.Pattern[str]"], Optional["re.Pattern[str]"]]:
    """Two regexes: one for patterns tried on the basename too, one for path-only patterns."""
    anywhere: List[str] = []
    path_only: List[str] = []
    for raw in patterns:
        pattern = _strip_dot_slash(raw.replace("\\", "/"))
        if pattern.endswith("/"):
            pattern = pattern.rstrip("/")
        if not pattern:
            continue
        target = path_only if "/" in pattern else anywhere
        target.extend(fnmatch.translate(v) for v in _glob_variants(pattern))
    return (
        re.compile("|".join(anywhere)) if anywhere else None,
        re.compile("|".join(path_only)) if path_only else None,
    )


def path_matches_glob(
    patterns: Union[str, Sequence[str]], relpath: Optional[str], basename: Optional[str] = None
) -> bool:
    """Whether any glob matches `relpath` (posix, relative to the project root).

    A glob without "/" also matches the basename, a leading "./" and a trailing
    "/" are ignored, and "**/" matches zero or more directories. `relpath` may
    be None for a path outside the project, then only the basename is tried.
    """
    if isinstance(patterns, str):
        patterns = (patterns,)
    anywhere, path_only = _compile_globs(tuple(patterns))
    if relpath is not None:
        relpath = _strip_dot_slash(relpath.replace("\\", "/"))
        if basename is None:
            basename = relpath.rsplit("/", 1)[-1]
    candidates = [c for c in (relpath, basename) if c]
    if anywhere is not None and any(anywhere.match(c) for c in candidates):
        return True
    if path_only is not None and relpath and path_only.match(relpath):
        return True
    return False


# --------------------------------------------------------------------------- reading


def _read_toml(path: Path) -> Dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except RecursionError:
        # tomllib recurses into nested arrays and inline tables.
        raise ConfigError(f"{path}: invalid TOML: nested too deeply to read") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{path}: cannot read: {_one_line(reason)}") from None
    except ValueError as exc:
        # TOMLDecodeError, and the ValueError int() raises for an integer of
        # more digits than Python converts (4,300), which tomllib lets out.
        raise ConfigError(f"{path}: invalid TOML: {_one_line(str(exc))}") from None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _poollint_table(data: Mapping[str, Any]) -> Optional[Any]:
    tool = data.get("tool")
    if not isinstance(tool, dict):
        return None
    return tool.get("poollint")


def _find_config_with_data(
    start: Path,
) -> Tuple[Optional[Path], Optional[Dict[str, Any]], Optional[Dict[str, Any]]]:
    """The nearest pyproject.toml holding [tool.poollint] and its data, and
    the data of the nearest pyproject.toml of all (for requires-python)."""
    # realpath, not Path.resolve(): on Python < 3.13 resolve() raises
    # RuntimeError for a symlink loop (`a.py -> a.py` given as the first path).
    start = Path(os.path.realpath(os.path.abspath(start)))
    directory = start if start.is_dir() else start.parent
    nearest: Optional[Dict[str, Any]] = None
    for candidate_dir in (directory, *directory.parents):
        candidate = candidate_dir / "pyproject.toml"
        if not candidate.is_file():
            continue
        data = _read_toml(candidate)
        if nearest is None:
            nearest = data
        if _poollint_table(data) is not None:
            return candidate, data, nearest
    return None, None, nearest


def find_config(start: Path) -> Optional[Path]:
    """The nearest pyproject.toml holding [tool.poollint], from `start` up to the root.

    A pyproject.toml without the table is passed over, as ruff does with
    [tool.ruff]; one that cannot be read or parsed raises ConfigError.
    """
    return _find_config_with_data(Path(start))[0]


# --------------------------------------------------------------------------- validation


def _show(value: object) -> str:
    """A value as the user wrote it in TOML, for error messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


class _Reader:
    def __init__(self, path: Union[Path, str]) -> None:
        # A file, or the `--config 'KEY = VALUE'` an option came from.
        self.path = path

    def error(self, table: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: [{table}] {message}")

    def check_keys(self, table: str, data: Mapping[str, Any], known: Sequence[str]) -> None:
        for key in data:
            if key not in known:
                message = f"unknown key {key!r}"
                # Top-level keys are kebab-case like ruff's, pool keys are
                # SQLAlchemy's snake_case keyword names: people mix them up.
                import difflib

                close = difflib.get_close_matches(key.replace("_", "-"), known, n=1)
                close = close or difflib.get_close_matches(key.replace("-", "_"), known, n=1)
                if close:
                    message += f" (did you mean {close[0]!r}?)"
                raise self.error(table, message)

    def string_list(self, table: str, key: str, value: object) -> Tuple[str, ...]:
        if not isinstance(value, list):
            raise self.error(table, f"{key!r} must be a list of strings, got {_show(value)}")
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise self.error(
                    table, f"{key!r} must be a list of strings, got {_show(item)} at position {index + 1}"
                )
        return tuple(value)

    def boolean(self, table: str, key: str, value: object) -> bool:
        if not isinstance(value, bool):
            raise self.error(table, f"{key!r} must be true or false, got {_show(value)}")
        return value

    def integer(self, table: str, key: str, value: object, minimum: int) -> int:
        # bool is a subclass of int: `pool_size = true` must not read as 1.
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(table, f"{key!r} must be an integer, got {_show(value)}")
        if value < minimum:
            raise self.error(table, f"{key!r} must be >= {minimum}, got {value}")
        return value


_TOP_KEYS = (
    "select",
    "ignore",
    "extend-select",
    "exclude",
    "extend-exclude",
    "per-file-ignores",
    "unsafe-fixes",
    "cache-dir",
    "target-version",
    "output-format",
    "defer-to-ruff",
    "force-exclude",
    "respect-gitignore",
    "pool",
)
# [tool.poollint.pool] keys about the deployment rather than one engine:
# key -> (PoolSettings field, smallest value accepted).
_DEPLOYMENT_KEYS = {
    "max-pool-recycle": ("max_pool_recycle", 1),
    "workers": ("workers", 1),
    "max-connections": ("max_connections", 1),
    "thread-pool-size": ("thread_pool_size", 1),
}
_POOL_KEYS = ("required-settings",) + POOL_SETTING_KEYS + tuple(_DEPLOYMENT_KEYS)
_POOL_MINIMUM = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 0, "pool_recycle": 0}


def _parse_table(path: Union[Path, str], table: object) -> Tuple[Dict[str, Any], List[Tuple[str, str, Tuple[str, ...]]]]:
    """[tool.poollint] as Settings keyword arguments, plus where each selector list came from."""
    reader = _Reader(path)
    name = "tool.poollint"
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool] 'poollint' must be a table, got {_show(table)}")
    reader.check_keys(name, table, _TOP_KEYS)
    values: Dict[str, Any] = {}
    sources: List[Tuple[str, str, Tuple[str, ...]]] = []

    for key, attr in (
        ("select", "select"),
        ("ignore", "ignore"),
        ("extend-select", "extend_select"),
        ("exclude", "exclude"),
        ("extend-exclude", "extend_exclude"),
    ):
        if key in table:
            values[attr] = reader.string_list(name, key, table[key])
            if attr in ("select", "ignore", "extend_select"):
                sources.append((attr, f"[{name}] {key} ({path})", values[attr]))

    for key, attr in (
        ("unsafe-fixes", "unsafe_fixes"),
        ("force-exclude", "force_exclude"),
        ("respect-gitignore", "respect_gitignore"),
    ):
        if key in table:
            values[attr] = reader.boolean(name, key, table[key])

    if "defer-to-ruff" in table:
        values["defer_to_ruff"] = reader.boolean(name, "defer-to-ruff", table["defer-to-ruff"])

    if "cache-dir" in table:
        raw = table["cache-dir"]
        if not isinstance(raw, str) or not raw:
            raise reader.error(name, f"'cache-dir' must be a path (a string), got {_show(raw)}")
        values["cache_dir"] = Path(raw)

    if "target-version" in table:
        values["target_version"] = _parse_target_version(table["target-version"], f"{path}: [{name}] 'target-version'")
    if "output-format" in table:
        from poollint.reporters import FORMATS

        raw = table["output-format"]
        if raw not in FORMATS:
            raise reader.error(name, f"'output-format' must be one of {', '.join(FORMATS)}, got {_show(raw)}")
        values["output_format"] = raw

    if "per-file-ignores" in table:
        raw = table["per-file-ignores"]
        if not isinstance(raw, dict):
            raise reader.error(
                name, f"'per-file-ignores' must be a table of glob = [codes], got {_show(raw)}"
            )
        sub = f"{name}.per-file-ignores"
        pairs = []
        for glob, codes in raw.items():
            codes = reader.string_list(sub, glob, codes)
            pairs.append((glob, codes))
            sources.append(("per_file_ignores", f"[{sub}] {glob!r} ({path})", codes))
        values["per_file_ignores"] = tuple(pairs)

    if "pool" in table:
        raw = table["pool"]
        if not isinstance(raw, dict):
            raise reader.error(name, f"'pool' must be a table, got {_show(raw)}")
        values["pool"] = _parse_pool(reader, raw)
    return values, sources


# As ruff spells them; the oldest and newest Pythons either tool knows.
_TARGET_VERSION = re.compile(r"py3(?P<minor>[0-9]|1[0-9])")


def _parse_target_version(value: object, what: str) -> Tuple[int, int]:
    """`"py310"` -> (3, 10); `what` names the key or flag in the error."""
    match = _TARGET_VERSION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(f"{what} must be a Python version such as \"py310\", got {_show(value)}")
    return 3, int(match.group("minor"))


# One clause of requires-python: `>=3.10`, `~=3.9`, `==3.11.*`, `>3.8`.
_REQUIRES_CLAUSE = re.compile(r"\s*(?P<op>>=|~=|==|>)\s*(?P<major>[0-9]+)\.(?P<minor>[0-9]+)(?:\.[0-9*]+)*\s*")


def requires_python_floor(spec: object) -> Optional[Tuple[int, int]]:
    """The oldest major.minor a PEP 440 `requires-python` admits, or None.

    `>3.9` admits 3.9.1, so its floor is 3.9, as for `>=3.9`; upper bounds and
    exclusions do not raise the floor. Anything unreadable gives None: the
    floor only ever unlocks a fix, so not knowing it must cost nothing.
    """
    if not isinstance(spec, str):
        return None
    floor: Optional[Tuple[int, int]] = None
    for clause in spec.split(","):
        if not clause.strip() or re.match(r"\s*(<|<=|!=)", clause):
            continue
        match = _REQUIRES_CLAUSE.fullmatch(clause)
        if match is None:
            return None
        version = (int(match.group("major")), int(match.group("minor")))
        floor = version if floor is None else max(floor, version)
    return floor


def _requires_python(data: Optional[Mapping[str, Any]]) -> Optional[Tuple[int, int]]:
    project = data.get("project") if data else None
    return requires_python_floor(project.get("requires-python")) if isinstance(project, dict) else None


def _parse_pool(reader: _Reader, raw: Mapping[str, Any]) -> PoolSettings:
    name = "tool.poollint.pool"
    reader.check_keys(name, raw, _POOL_KEYS)
    required = DEFAULT_REQUIRED_POOL_SETTINGS
    if "required-settings" in raw:
        items = reader.string_list(name, "required-settings", raw["required-settings"])
        for item in items:
            if item not in POOL_SETTING_KEYS:
                expected = ", ".join(POOL_SETTING_KEYS)
                raise reader.error(
                    name, f"'required-settings' names unknown setting {item!r} (expected one of: {expected})"
                )
        required = tuple(dict.fromkeys(items))
    values = dict(DEFAULT_POOL_VALUES)
    for key, minimum in _POOL_MINIMUM.items():
        if key in raw:
            values[key] = reader.integer(name, key, raw[key], minimum)
    if "pool_pre_ping" in raw:
        values["pool_pre_ping"] = reader.boolean(name, "pool_pre_ping", raw["pool_pre_ping"])
    deployment = {
        attr: reader.integer(name, key, raw[key], minimum)
        for key, (attr, minimum) in _DEPLOYMENT_KEYS.items()
        if key in raw
    }
    return PoolSettings(required=required, values=values, **deployment)


# --------------------------------------------------------------------------- overrides

# option -> (CLI flag used in messages, how a CLI value combines with the file's)
_OVERRIDES = {
    "select": ("--select", "replace"),
    "ignore": ("--ignore", "extend"),
    "extend_select": ("--extend-select", "extend"),
    "exclude": ("--exclude", "replace"),
    "extend_exclude": ("--extend-exclude", "extend"),
    "per_file_ignores": ("--per-file-ignores", "replace"),
    "unsafe_fixes": ("--unsafe-fixes", "replace"),
    "target_version": ("--target-version", "replace"),
    "force_exclude": ("--force-exclude", "replace"),
    "respect_gitignore": ("--respect-gitignore", "replace"),
}
_BOOLEAN_OPTIONS = ("unsafe_fixes", "force_exclude", "respect_gitignore")
_CODE_OPTIONS = ("select", "ignore", "extend_select")


def _split_codes(values: Iterable[str]) -> Tuple[str, ...]:
    # Accepts both `--select POL1 --select POL2` and ruff's `--select POL1,POL2`.
    # An empty part is kept, for selection.py to reject as ruff does: dropped,
    # `--select "$CODES"` with CODES unset selected nothing and passed every file.
    out: List[str] = []
    for value in values:
        out.extend(part.strip() for part in str(value).split(","))
    return tuple(out)


def _normalise_override(option: str, value: object) -> object:
    if option in _BOOLEAN_OPTIONS:
        return bool(value)
    if option == "target_version":
        return value if isinstance(value, tuple) else _parse_target_version(value, "--target-version")
    if option == "per_file_ignores":
        items = value.items() if isinstance(value, Mapping) else value
        pairs = []
        for glob, codes in items:  # type: ignore[union-attr]
            codes = (codes,) if isinstance(codes, str) else codes
            pairs.append((str(glob), _split_codes(codes)))
        return tuple(pairs)
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Iterable):
        raise TypeError(f"override {option!r} must be a sequence of strings, got {value!r}")
    if option in _CODE_OPTIONS:
        return _split_codes(value)
    return tuple(str(v) for v in value)


def _dedupe(values: Iterable[str]) -> Tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _apply_overrides(
    values: Dict[str, Any], sources: List[Tuple[str, str, Tuple[str, ...]]], overrides: Mapping[str, object]
) -> None:
    if overrides.get("select") is not None:
        # As in ruff, a --select on the command line starts the selection
        # afresh: the config file's ignore and extend-select no longer apply,
        # so `--select POL101` runs POL101 even where the config ignores it.
        for option in ("ignore", "extend_select"):
            values.pop(option, None)
            sources[:] = [s for s in sources if s[0] != option]
    for option, raw in overrides.items():
        if option not in _OVERRIDES:
            raise TypeError(f"unknown settings override {option!r}")
        if raw is None:
            continue
        flag, how = _OVERRIDES[option]
        value = _normalise_override(option, raw)
        if how == "replace":
            values[option] = value
            if option in ("select", "per_file_ignores"):
                # Selectors the CLI replaced must not be reported as errors.
                sources[:] = [s for s in sources if s[0] != option]
        else:
            values[option] = _dedupe(tuple(values.get(option, ())) + tuple(value))  # type: ignore[arg-type]
        if option in _CODE_OPTIONS:
            sources.append((option, flag, value))  # type: ignore[arg-type]
        elif option == "per_file_ignores":
            for glob, codes in value:  # type: ignore[union-attr]
                sources.append((option, f"{flag} {glob!r}", codes))


# --------------------------------------------------------------------------- entry point


# ruff's `--config` takes either a file or a `KEY = VALUE` pair; ours does too,
# with the keys of [tool.poollint] (`--config "pool.workers = 4"`).
# option -> the Settings fields it sets, to tell whose selectors stand.
_SELECTOR_KEYS = {
    "select": "select",
    "ignore": "ignore",
    "extend-select": "extend_select",
    "per-file-ignores": "per_file_ignores",
}


def split_config_arguments(values: Sequence[str]) -> Tuple[Optional[str], Tuple[str, ...]]:
    """The config file and the `KEY = VALUE` options among `--config` values.

    A value naming an existing file is that file; any other value must be
    TOML setting one key of [tool.poollint]. At most one file may be given.
    """
    path: Optional[str] = None
    options: List[str] = []
    for value in values:
        if os.path.isfile(value):
            if path is not None:
                raise ConfigError(f"--config: give one configuration file, not two ({path}, {value})")
            path = value
            continue
        try:
            parsed = tomllib.loads(value)
        except tomllib.TOMLDecodeError as exc:
            if "=" not in value:
                problem = "is not a regular file" if os.path.exists(value) else "does not exist"
                raise ConfigError(f"{os.path.abspath(value)}: config file {problem}") from None
            raise ConfigError(f"--config {value!r}: not a file, nor a valid KEY = VALUE option: {_one_line(str(exc))}") from None
        if not parsed:
            raise ConfigError(f"--config {value!r}: not a file, nor a KEY = VALUE option")
        options.append(value)
    return path, tuple(options)


def _merge_options(
    table: Optional[Mapping[str, Any]], options: Sequence[str]
) -> Tuple[Dict[str, Any], List[Tuple[str, str, Tuple[str, ...]]], set]:
    """[tool.poollint] with the `--config` options laid over it (each checked on
    its own first, so that an error names the option); the selectors they
    bring, and the selector keys they replace."""
    merged: Dict[str, Any] = dict(table or {})
    sources: List[Tuple[str, str, Tuple[str, ...]]] = []
    replaced = set()
    for option in options:
        parsed = tomllib.loads(option)
        label = f"--config {option!r}"
        _, option_sources = _parse_table(label, parsed)
        sources.extend(option_sources)
        for key, value in parsed.items():
            if key == "pool" and isinstance(merged.get("pool"), dict):
                # A pool key replaces that key only: `pool.workers = 4` keeps
                # the file's pool_size.
                merged["pool"] = {**merged["pool"], **value}
            else:
                merged[key] = value
            if key in _SELECTOR_KEYS:
                replaced.add(_SELECTOR_KEYS[key])
    return merged, sources, replaced


def load_settings(
    start: Optional[Union[str, "os.PathLike[str]"]] = None,
    *,
    config_path: Optional[Union[str, "os.PathLike[str]"]] = None,
    overrides: Optional[Mapping[str, object]] = None,
    isolated: bool = False,
    config_options: Sequence[str] = (),
) -> Settings:
    """The effective settings for a run starting at `start` (default: the current directory).

    `config_path` names the file to use instead of searching upward;
    `isolated` reads no file at all (the project root is then the current
    directory). `config_options` are `KEY = VALUE` TOML options of
    [tool.poollint] that win over the file's (see split_config_arguments).
    `overrides` holds command-line values keyed by Settings field name, None
    meaning "not given"; they win over both. As in ruff, --select, --exclude,
    --per-file-ignores and --unsafe-fixes replace the file's value, while
    --ignore, --extend-select and --extend-exclude add to it.
    """
    data: Optional[Dict[str, Any]]
    if isolated:
        if config_path is not None:
            # ruff refuses the same: --isolated means no configuration file.
            raise ConfigError(f"--config {config_path}: cannot be used with --isolated, which reads no configuration file")
        path: Optional[Path] = None
        data = nearest = None
    elif config_path is not None:
        path = Path(os.path.abspath(config_path))
        if not path.is_file():
            problem = "is not a regular file" if path.exists() else "does not exist"
            raise ConfigError(f"{path}: config file {problem}")
        data = nearest = _read_toml(path)
    else:
        path, data, nearest = _find_config_with_data(Path(start) if start is not None else Path.cwd())

    values: Dict[str, Any] = {}
    sources: List[Tuple[str, str, Tuple[str, ...]]] = []
    table = _poollint_table(data) if path is not None and data is not None else None
    if table is not None:
        values, sources = _parse_table(path, table)  # type: ignore[arg-type]
    if config_options:
        merged, option_sources, replaced = _merge_options(table, config_options)
        values, _ = _parse_table(path or "--config", merged)
        sources = [s for s in sources if s[0] not in replaced] + option_sources
    if "target_version" not in values:
        # The configuration's own requires-python, or else (as ruff infers its
        # target) that of the nearest pyproject.toml without [tool.poollint].
        floor = _requires_python(data if data is not None else nearest)
        if floor is not None:
            values["target_version"] = floor
    if isolated and "defer_to_ruff" not in values:
        # No configuration file at all: ruff's is not read either, so
        # nothing is left to ruff (--config defer-to-ruff=true says otherwise).
        values["defer_to_ruff"] = False
    if overrides:
        _apply_overrides(values, sources, overrides)

    root = path.parent if path is not None else Path(os.path.abspath(Path.cwd()))
    return Settings(project_root=root, config_path=path, selector_sources=tuple(sources), **values)
