"""Files that say how the project is installed and run, read for two facts.

Besides Python sources poollint reads the project's dependency files
(requirements*.txt, requirements/*.txt, constraints*.txt, pyproject.toml,
Pipfile, Pipfile.lock, poetry.lock, uv.lock, pdm.lock) for the requirements
of the packages in WATCHED_PACKAGES, and the files that start its server
(Dockerfile*, Containerfile, Procfile, docker-compose*.yml / compose*.yaml,
and gunicorn's Python config file) for the number of worker processes. They
are found by the same walk and excludes as source files (discovery.py), read
once per content in pass 1 and cached like source facts (runner.py), and the
project index holds them (project.py) for the rules that ask.

Nothing here is parsed as Python, nothing is run, and a file that cannot be
read as what its name says (invalid TOML, say) simply gives no facts: these
files are read for hints, they are not poollint's to judge.

This module imports no parser at import time: discovery asks it about file
names on every run, also runs answered from the cache.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Sequence, Tuple

if TYPE_CHECKING:
    from poollint.diagnostic import Diagnostic

__all__ = [
    "DEPENDENCY_KINDS",
    "DEPLOYMENT_RULES",
    "DeploymentContext",
    "DeploymentFacts",
    "LOCK_KINDS",
    "Pin",
    "Workers",
    "WATCHED_PACKAGES",
    "deployment_kind",
    "gunicorn_facts",
    "is_gunicorn_config",
    "read_deployment",
    "reads_deployment_files",
]

SLOTS = {"slots": True} if sys.version_info >= (3, 10) else {}

# Packages whose requirements are kept (normalised as PEP 503 does).
WATCHED_PACKAGES = frozenset({"fastapi"})
# The rules that need these files: without one of them selected, `check`
# never even lists them. tests/test_deployment.py checks it against the rules.
DEPLOYMENT_RULES = frozenset({"POL208", "POL310", "POL311"})

# Kinds of file, by name.
REQUIREMENTS = "requirements"
PYPROJECT = "pyproject"
PIPFILE = "pipfile"
PIPFILE_LOCK = "pipfile-lock"
LOCK = "lock"  # poetry.lock, uv.lock, pdm.lock
DOCKERFILE = "dockerfile"
PROCFILE = "procfile"
COMPOSE = "compose"
GUNICORN = "gunicorn"  # a Python file: read as Python too

DEPENDENCY_KINDS = frozenset({REQUIREMENTS, PYPROJECT, PIPFILE, PIPFILE_LOCK, LOCK})
# Files holding what a resolver picked rather than what the project asks for.
LOCK_KINDS = frozenset({PIPFILE_LOCK, LOCK})

_REQUIREMENTS_NAME = re.compile(r"^(?:.*[-_.])?(?:requirements|constraints)(?:[-_.].*)?\.txt$")
_LOCK_NAMES = frozenset({"poetry.lock", "uv.lock", "pdm.lock"})
_COMPOSE_NAME = re.compile(r"^(?:docker-)?compose(?:[-_.].*)?\.ya?ml$")
_DOCKERFILE_NAME = re.compile(r"^(?:(?:docker|container)file(?:[-_.].*)?|.+\.(?:docker|container)file)$")
_GUNICORN_NAME = re.compile(r"^gunicorn[-_.]?conf(?:ig)?\.py$")


def reads_deployment_files(rules: Iterable[object]) -> bool:
    """Whether any of `rules` (classes or catalog entries) needs these files."""
    return any(getattr(rule, "CODE", None) in DEPLOYMENT_RULES for rule in rules)


def deployment_kind(path: str) -> Optional[str]:
    """The kind of deployment file `path` (posix or native) names, or None."""
    parts = path.replace("\\", "/").rsplit("/", 2)
    name = parts[-1].lower()
    if not name:
        return None
    if name.endswith(".py"):
        return GUNICORN if _GUNICORN_NAME.match(name) else None
    if name.endswith(".txt"):
        if _REQUIREMENTS_NAME.match(name):
            return REQUIREMENTS
        if len(parts) > 1 and parts[-2].lower() == "requirements":
            return REQUIREMENTS
        return None
    if name == "pyproject.toml":
        return PYPROJECT
    if name == "pipfile":
        return PIPFILE
    if name == "pipfile.lock":
        return PIPFILE_LOCK
    if name in _LOCK_NAMES:
        return LOCK
    if name == "procfile" or name.startswith("procfile."):
        return PROCFILE
    if _COMPOSE_NAME.match(name):
        return COMPOSE
    if _DOCKERFILE_NAME.match(name):
        return DOCKERFILE
    return None


def is_gunicorn_config(path: str) -> bool:
    return deployment_kind(path) == GUNICORN


# -- facts ----------------------------------------------------------------------


@dataclass(frozen=True, **SLOTS)
class Pin:
    """One requirement of a watched package, where it is written."""

    package: str
    # The version part as written (`==0.78.0`, `^0.78`, `>=0.70,<0.80`); ""
    # when the requirement names no version; for a lock file `==<version>`.
    spec: str
    # How `spec` reads: "pep440" or "poetry" (see versions.py).
    style: str
    # The requirement as the message shows it (`fastapi[all]==0.78.0`).
    text: str
    line: int
    column: int  # 1-based
    end_column: int
    # A lock file's resolved version rather than a requirement.
    locked: bool = False
    # Under an environment marker (`; python_version < "3.8"`), or one of
    # several alternatives: holds only in some environments.
    conditional: bool = False
    # Something other than a version: a URL, a path, an unreadable value.
    unknown: bool = False


@dataclass(frozen=True, **SLOTS)
class Workers:
    """A number of worker processes a command or config file asks for."""

    # None: the file starts a server without a count poollint can read (none
    # given: $WEB_CONCURRENCY or 1; `--workers $WORKERS`): it may be one.
    count: Optional[int]
    line: int
    # How the file says it: `uvicorn --workers 4`, `gunicorn -w 4`, `workers = 4`.
    command: str


@dataclass(**SLOTS)
class DeploymentFacts:
    path: str  # relative to the project root, posix
    kind: str
    digest: str = ""
    pins: Tuple[Pin, ...] = ()
    workers: Tuple[Workers, ...] = ()


class DeploymentError(Exception):
    """A bug while reading a deployment file (not a problem of the file)."""


def read_deployment(data: bytes, path: str, kind: str) -> DeploymentFacts:
    """The facts of one deployment file of kind `kind` (deployment_kind())."""
    text = data.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    facts = DeploymentFacts(path=path, kind=kind)
    try:
        if kind in DEPENDENCY_KINDS:
            if not any(package in text.lower() for package in WATCHED_PACKAGES):
                return facts  # nothing to find: no parse
            facts.pins = tuple(_READERS[kind](text))
        elif kind in (DOCKERFILE, PROCFILE, COMPOSE):
            if not _SERVER_WORDS.search(text):
                return facts
            facts.workers = tuple(_WORKER_READERS[kind](text))
    except RecursionError:
        return facts
    except Exception as exc:  # a bug here, not a problem of the file
        raise DeploymentError(f"{type(exc).__name__}: {exc}") from exc
    return facts


def gunicorn_facts(data: bytes, path: str) -> Optional[DeploymentFacts]:
    """gunicorn's config file: `workers = 4` at module level (the last one).
    Any other value (`multiprocessing.cpu_count() * 2 + 1`, an environment
    lookup) is a count poollint cannot read; no `workers` says nothing."""
    text = data.decode("utf-8", errors="replace")
    values = [(m.group(1).strip(), text.count("\n", 0, m.start()) + 1) for m in _GUNICORN_WORKERS.finditer(text)]
    if not values:
        return None
    value, line = values[-1]
    known = all(_count(v) is not None for v, _ in values)
    workers = Workers(_count(value) if known else None, line, f"workers = {value}")
    return DeploymentFacts(path=path, kind=GUNICORN, workers=(workers,))


def _count(text: str) -> Optional[int]:
    """A worker count written as a positive number; None for anything else.

    str.isdigit() alone lets through what int() rejects: "²", and 5,000
    digits (past Python's int-from-str limit); both were internal errors."""
    if text.isascii() and text.isdigit() and len(text) <= 9 and int(text) > 0:
        return int(text)
    return None


_GUNICORN_WORKERS = re.compile(r"^workers\s*(?::\s*int\s*)?=\s*([^#\n]*?)\s*(?:#[^\n]*)?$", re.MULTILINE)


# -- requirements ---------------------------------------------------------------

_REQUIREMENT = re.compile(
    r"^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?P<extras>\[[^\]]*\])?\s*(?P<rest>.*)$"
)


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pep508(requirement: str, line: int, column: int, style: str = "pep440") -> Optional[Pin]:
    """A Pin from a PEP 508 requirement string, when it names a watched package."""
    match = _REQUIREMENT.match(requirement.strip())
    if match is None:
        return None
    package = normalise(match.group("name"))
    if package not in WATCHED_PACKAGES:
        return None
    rest = match.group("rest").strip()
    conditional = ";" in rest
    spec = rest.split(";", 1)[0].strip()
    unknown = spec.startswith("@") or "$" in spec
    if spec.startswith("(") and spec.endswith(")"):
        spec = spec[1:-1].strip()
    shown = requirement.strip().split(";", 1)[0].strip()
    return Pin(
        package=package,
        spec="" if unknown else spec,
        style=style,
        text=shown,
        line=line,
        column=column,
        end_column=column + len(shown),
        conditional=conditional,
        unknown=unknown,
    )


def _without_comment(line: str) -> str:
    """A requirements line without its comment (`#` at the start or after whitespace)."""
    if line.lstrip().startswith("#"):
        return ""
    match = re.search(r"\s#", line)
    return line[: match.start()] if match else line


def _requirements(text: str) -> List[Pin]:
    pins = []
    continued = False
    for number, raw in enumerate(text.splitlines(), start=1):
        was_continued, continued = continued, raw.rstrip().endswith("\\")
        if was_continued:
            continue  # `--hash=...` lines of the requirement above
        line = _without_comment(raw.rstrip().rstrip("\\"))
        stripped = line.strip()
        if not stripped or stripped.startswith("-"):
            continue  # options: -r, -c, -e, --index-url...
        # Per-requirement options follow the requirement: `pkg==1 --hash=...`.
        requirement = re.split(r"\s--?[A-Za-z]", stripped, maxsplit=1)[0]
        pin = _pep508(requirement, number, line.index(stripped) + 1)
        if pin is not None:
            pins.append(pin)
    return pins


# -- TOML files -----------------------------------------------------------------

_TABLE_HEADER = re.compile(r"^\s*\[\[?\s*(?P<name>[^\[\]]+?)\s*\]\]?\s*(?:#.*)?$")


def _tables(lines: Sequence[str]) -> Dict[str, Tuple[int, int]]:
    """TOML table name -> (first line, line after its last), 0-based; "" for the top."""
    found: Dict[str, Tuple[int, int]] = {}
    name, start = "", 0
    for number, line in enumerate(lines):
        match = _TABLE_HEADER.match(line)
        if match is None:
            continue
        found.setdefault(name, (start, number))
        name = re.sub(r"\s*\.\s*", ".", match.group("name")).replace('"', "").replace("'", "")
        start = number
    found.setdefault(name, (start, len(lines)))
    return found


def _locate(
    lines: Sequence[str], pattern: "re.Pattern[str]", span: Optional[Tuple[int, int]]
) -> Optional[Tuple[int, int, int]]:
    """(1-based line, 1-based column, end column) of the first match in `span`."""
    if span is None:
        return None
    for number in range(span[0], span[1]):
        match = pattern.search(lines[number])
        if match is not None:
            start = match.start("at") if "at" in pattern.groupindex else match.start()
            return number + 1, start + 1, len(lines[number].rstrip()) + 1
    return None


def _load_toml(text: str) -> Optional[dict]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError):
        return None


def _key_pattern(package: str) -> "re.Pattern[str]":
    """`fastapi = ...` / `"FastAPI" = ...`: the key of a watched package."""
    spelled = r"[-_.]+".join(re.escape(part) for part in package.split("-"))
    return re.compile(rf"""^\s*(?P<at>["']?{spelled}["']?)\s*=""", re.IGNORECASE)


def _pyproject(text: str) -> List[Pin]:
    data = _load_toml(text)
    if not isinstance(data, dict):
        return []
    lines = text.splitlines()
    tables = _tables(lines)
    pins: List[Pin] = []
    project = data.get("project")
    dependencies = project.get("dependencies") if isinstance(project, dict) else None
    for requirement in dependencies if isinstance(dependencies, list) else ():
        if not isinstance(requirement, str):
            continue
        found = _pep508(requirement, 1, 1)
        if found is None:
            continue
        quoted = re.compile(rf"""["'](?P<at>\s*{re.escape(requirement.strip())})""")
        where = _locate(lines, quoted, tables.get("project")) or _header(tables, "project")
        pins.append(_placed(found, where))
    poetry = _dig(data, "tool", "poetry", "dependencies")
    if isinstance(poetry, dict):
        pins += _table_pins(poetry, lines, tables, "tool.poetry.dependencies", "poetry")
    return pins


def _pipfile(text: str) -> List[Pin]:
    data = _load_toml(text)
    packages = data.get("packages") if isinstance(data, dict) else None
    if not isinstance(packages, dict):
        return []
    return _table_pins(packages, text.splitlines(), _tables(text.splitlines()), "packages", "pep440")


def _table_pins(
    table: dict, lines: Sequence[str], tables: Dict[str, Tuple[int, int]], name: str, style: str
) -> List[Pin]:
    """Pins of a TOML table of `package = constraint` (Poetry, Pipfile)."""
    pins = []
    for key, value in table.items():
        package = normalise(str(key))
        if package not in WATCHED_PACKAGES:
            continue
        conditional = False
        unknown = False
        if isinstance(value, dict):
            conditional = "markers" in value or "platform" in value or "sys_platform" in value
            unknown = "version" not in value  # git, path, url
            value = value.get("version", "")
        elif isinstance(value, list):
            conditional, unknown, value = True, True, ""  # one constraint per environment
        if not isinstance(value, str):
            unknown, value = True, ""
        where = (
            _locate(lines, _key_pattern(package), tables.get(name))
            or _header(tables, f"{name}.{key}")
            or _header(tables, name)
        )
        line, column, end = where or (1, 1, 1)
        spec = value.strip()
        pins.append(
            Pin(
                package=package,
                spec=spec,
                style=style,
                text=f'{key} = "{spec}"',
                line=line,
                column=column,
                end_column=end,
                conditional=conditional,
                unknown=unknown,
            )
        )
    return pins


def _header(tables: Dict[str, Tuple[int, int]], name: str) -> Optional[Tuple[int, int, int]]:
    span = tables.get(name)
    return (span[0] + 1, 1, 1) if span is not None and name else None


def _placed(pin: Pin, where: Optional[Tuple[int, int, int]]) -> Pin:
    line, column, end = where or (1, 1, 1)
    return Pin(
        package=pin.package,
        spec=pin.spec,
        style=pin.style,
        text=pin.text,
        line=line,
        column=column,
        end_column=column + len(pin.text) if where else column,
        conditional=pin.conditional,
        unknown=pin.unknown,
    )


def _dig(data: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


# -- lock files ----------------------------------------------------------------

_LOCK_NAME = re.compile(r'^name\s*=\s*"(?P<name>[^"]+)"\s*(?:#.*)?$')
_LOCK_VERSION = re.compile(r'^version\s*=\s*"(?P<version>[^"]+)"\s*(?:#.*)?$')


def _lock(text: str) -> List[Pin]:
    """poetry.lock, uv.lock, pdm.lock: `[[package]]` tables with `name` and
    `version` keys. Read line by line: a lock runs to megabytes, and only the
    watched packages' two lines matter."""
    lines = text.splitlines()
    pins = []
    for number, line in enumerate(lines):
        match = _LOCK_NAME.match(line)
        if match is None or normalise(match.group("name")) not in WATCHED_PACKAGES:
            continue
        for following in lines[number + 1 :]:
            if following.startswith("["):
                break
            version = _LOCK_VERSION.match(following)
            if version is not None:
                value = version.group("version")
                pins.append(
                    Pin(
                        package=normalise(match.group("name")),
                        spec=f"=={value}",
                        style="pep440",
                        text=f"{match.group('name')} {value}",
                        line=number + 1,
                        column=1,
                        end_column=len(line.rstrip()) + 1,
                        locked=True,
                    )
                )
                break
    return pins


def _pipfile_lock(text: str) -> List[Pin]:
    import json

    try:
        data = json.loads(text)
    except ValueError:
        return []
    default = data.get("default") if isinstance(data, dict) else None
    if not isinstance(default, dict):
        return []
    lines = text.splitlines()
    start = next((n for n, line in enumerate(lines) if re.match(r'^\s*"default"\s*:', line)), 0)
    pins = []
    for key, entry in default.items():
        package = normalise(str(key))
        if package not in WATCHED_PACKAGES or not isinstance(entry, dict):
            continue
        version = entry.get("version")
        pattern = re.compile(rf'^\s*(?P<at>"{re.escape(str(key))}")\s*:')
        line, column, end = _locate(lines, pattern, (start, len(lines))) or (1, 1, 1)
        known = isinstance(version, str) and version.startswith("==")
        pins.append(
            Pin(
                package=package,
                spec=version if known else "",  # type: ignore[arg-type]
                style="pep440",
                text=f"{key} {version[2:] if known else '(not a version)'}",  # type: ignore[index]
                line=line,
                column=column,
                end_column=end,
                locked=True,
                conditional="markers" in entry,
                unknown=not known,
            )
        )
    return pins


_READERS = {
    REQUIREMENTS: _requirements,
    PYPROJECT: _pyproject,
    PIPFILE: _pipfile,
    PIPFILE_LOCK: _pipfile_lock,
    LOCK: _lock,
}


# -- commands that start the server --------------------------------------------

# Servers that take a number of worker processes, and the flags they take it by.
_SERVER_FLAGS = {
    "uvicorn": ("--workers",),
    "gunicorn": ("--workers", "-w"),
    "hypercorn": ("--workers", "-w"),
    "granian": ("--workers",),
    "fastapi run": ("--workers",),
}
_SERVER_WORDS = re.compile(r"\b(?:uvicorn|gunicorn|hypercorn|granian|fastapi)\b")
_SEPARATORS = frozenset({"&&", "||", ";", "|", "&"})

# A command as (token, line) pairs.
Tokens = List[Tuple[str, int]]


def _split(text: str, line: int, depth: int = 0) -> Tokens:
    """Shell words of one line; a line shlex cannot read (an open quote
    continued on the next line) is split on whitespace."""
    import shlex

    try:
        words = shlex.split(text, comments=True)
    except ValueError:
        words = [word.strip("\"'") for word in text.split()]
    found: Tokens = []
    for word in words:
        if any(space in word for space in " \t\n") and depth < 2:
            # A whole command in one word: `sh -c "alembic upgrade head && gunicorn ..."`.
            found += _split(word, line, depth + 1)
            found.append((";", line))
            continue
        # `4;` and `app:app&&` end a command as much as a separate `;` does.
        stripped = word.rstrip(";&|")
        if stripped:
            found.append((stripped, line))
        if stripped != word:
            found.append((";", line))
    return found


def _workers_in(tokens: Tokens) -> List[Workers]:
    """`--workers N` / `-w N` given to a server started by the command."""
    found = []
    position = 0
    while position < len(tokens):
        word = tokens[position][0]
        program = word.rsplit("/", 1)[-1]
        if program == "fastapi" and position + 1 < len(tokens) and tokens[position + 1][0] == "run":
            program = "fastapi run"
            position += 1
        flags = _SERVER_FLAGS.get(program)
        started = tokens[position][1]
        position += 1
        if flags is None:
            continue
        counts: List[Workers] = []
        while position < len(tokens) and tokens[position][0] not in _SEPARATORS:
            word, line = tokens[position]
            value: Optional[str] = None
            flag = word
            if word in flags and position + 1 < len(tokens):
                value = tokens[position + 1][0]
                position += 1
            elif word.startswith("--workers="):
                flag, value = "--workers", word.split("=", 1)[1]
            elif "-w" in flags and word.startswith("-w") and word[2:].isdigit():
                flag, value = "-w", word[2:]
            if value is not None:
                counts.append(Workers(_count(value), line, f"{program} {flag} {value}"))
            position += 1
        # The last flag wins, as in argparse and gunicorn; none: the default.
        found.append(counts[-1] if counts else Workers(None, started, program))
    return found


def _dockerfile(text: str) -> List[Workers]:
    """CMD and ENTRYPOINT of every stage (the last of each per stage)."""
    stages: List[Dict[str, List[Tuple[str, int]]]] = [{}]
    current: Optional[Tuple[str, List[Tuple[str, int]]]] = None
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if current is None:
            if not stripped or stripped.startswith("#"):
                continue
            match = re.match(r"([A-Za-z]+)\s*(.*)$", stripped)
            if match is None:
                continue
            current = (match.group(1).upper(), [])
            piece = match.group(2)
        else:
            if not stripped or stripped.startswith("#"):
                continue  # Docker drops comment lines inside a continued instruction
            piece = raw
        continued = piece.rstrip().endswith("\\")
        current[1].append((piece.rstrip()[:-1] if continued else piece, number))
        if continued:
            continue
        keyword, pieces = current
        current = None
        if keyword == "FROM":
            stages.append({})
        elif keyword in ("CMD", "ENTRYPOINT"):
            stages[-1][keyword] = pieces
    found = []
    for stage in stages:
        tokens: Tokens = []
        for keyword in ("ENTRYPOINT", "CMD"):
            if keyword in stage:
                tokens += _instruction_tokens(stage[keyword])
        found += _workers_in(tokens)
    return found


def _instruction_tokens(pieces: List[Tuple[str, int]]) -> Tokens:
    joined = " ".join(piece for piece, _ in pieces).strip()
    if joined.startswith("["):
        import json

        try:
            words = json.loads(joined)
        except ValueError:
            words = None
        if isinstance(words, list) and all(isinstance(w, str) for w in words):
            return _exec_form(words, pieces)
    tokens: Tokens = []
    for piece, line in pieces:
        tokens += _split(piece, line)
    return tokens


def _exec_form(words: List[str], pieces: List[Tuple[str, int]]) -> Tokens:
    """Words of an exec-form `["gunicorn", "-w", "4", ...]`, each with the line
    it is written on; a word holding a whole command (`sh -c "..."`) is split."""
    tokens: Tokens = []
    index = 0
    for word in words:
        needle = '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
        while index < len(pieces) - 1 and needle not in pieces[index][0]:
            index += 1
        line = pieces[min(index, len(pieces) - 1)][1]
        tokens += _split(word, line) if " " in word.strip() else [(word, line)]
    return tokens


def _procfile(text: str) -> List[Workers]:
    found = []
    for number, raw in enumerate(text.splitlines(), start=1):
        match = re.match(r"^\s*[A-Za-z0-9_-]+\s*:\s*(.*)$", raw)
        if match is None or raw.lstrip().startswith("#"):
            continue
        found += _workers_in(_split(match.group(1), number))
    return found


_COMPOSE_KEY = re.compile(r"^(?P<indent>\s*)(?:-\s+)?(?:command|entrypoint)\s*:\s*(?P<rest>.*)$")


def _yaml_comment_free(line: str) -> str:
    """A YAML line without its comment (`#` after whitespace, outside quotes)."""
    quote = None
    for position, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (position == 0 or line[position - 1].isspace()):
            return line[:position]
    return line


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _compose(text: str) -> List[Workers]:
    """`command:` and `entrypoint:` of every service: a string, a flow list
    (`["uvicorn", "--workers", "4"]`), a block list or a block scalar (`>`/`|`)."""
    lines = text.splitlines()
    found = []
    for number, raw in enumerate(lines):
        match = _COMPOSE_KEY.match(raw)
        if match is None:
            continue
        indent = len(match.group("indent"))
        rest = _yaml_comment_free(match.group("rest")).strip()
        tokens: Tokens = []
        if rest.startswith("["):
            flow, last = rest, number
            while "]" not in flow and last + 1 < len(lines):
                last += 1
                flow += " " + _yaml_comment_free(lines[last]).strip()
            for item in flow.strip().lstrip("[").split("]", 1)[0].split(","):
                word = _unquote(item)
                if word:
                    tokens += _split(word, number + 1) if " " in word else [(word, number + 1)]
        elif rest and rest[0] not in "|>":
            tokens += _split(_unquote(rest), number + 1)
        else:
            for offset, following in enumerate(lines[number + 1 :], start=number + 2):
                content = _yaml_comment_free(following)
                if not content.strip():
                    continue
                if len(content) - len(content.lstrip()) <= indent:
                    break
                item = content.strip()
                if item.startswith("- ") or item == "-":
                    word = _unquote(item[1:])
                    tokens += _split(word, offset) if " " in word else [(word, offset)]
                else:
                    tokens += _split(item, offset)
        found += _workers_in(tokens)
    return found


_WORKER_READERS = {DOCKERFILE: _dockerfile, PROCFILE: _procfile, COMPOSE: _compose}


# -- checking deployment files --------------------------------------------------


class DeploymentContext:
    """What a rule sees of a deployment file it reports in (PoolRule.check_deployment)."""

    def __init__(self, facts: DeploymentFacts, index: object, settings: object) -> None:
        self.facts = facts
        self.index = index
        self.settings = settings
        self.reports: List["Diagnostic"] = []

    def report(self, code: str, pin: Pin, message: str) -> None:
        from poollint.diagnostic import Diagnostic

        self.reports.append(
            Diagnostic(
                code=code,
                message=message,
                line=pin.line,
                column=pin.column,
                end_line=pin.line,
                end_column=max(pin.end_column, pin.column),
            )
        )
