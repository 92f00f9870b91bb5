"""Property-based fuzzing: generated programs never crash poollint, and its fixes never corrupt them.

Three kinds of programs are generated:

- programs from Python's grammar (hypothesmith.from_grammar) and from libcst's
  node types (hypothesmith.from_node), put where the rules look: after a
  FastAPI + SQLAlchemy header, and as the body of an async route;
- programs built here from snippets of the FastAPI + SQLAlchemy mistakes the
  rules look for (blocking calls in async routes, sessions without a context
  manager, yield dependencies without try/finally, engines without pool
  settings or created per request...), with generated names, import aliases,
  decorators, nesting, indentation, line endings, one or two modules, and
  hypothesmith's code spliced in around and inside them.

For every program, with every rule selected (opt-in ones too):

- checking never raises and never reports an internal error (POL904); a file
  that libcst can parse gets no POL90x finding at all;
- the gates (gate.py) change no finding: with them off, the same findings;
- fixing (safe fixes only, then safe and unsafe ones), as `check --fix`
  does on files in a temporary directory (runner.run), writes only the files
  it reports fixed, with code that compiles and that libcst parses, keeps
  CRLF line endings where the file had only those, drops no fix on the
  programs built from snippets, and is idempotent: fixing again changes
  nothing;
- no finding whose fix was applied is reported again at its place. A place is
  told by the finding's code, message (line numbers aside: an added import
  shifts them) and the source text of the flagged code, counted as a multiset:
  a program may hold the same mistake twice, fixable once.

Profiles (registered in tests/conftest.py):

- `fast` (the default): few examples, derandomized, no example database, so
  every test run checks the same programs in a few seconds;
- `deep`: `POOLLINT_FUZZ=deep python -m pytest tests/robustness/test_fuzz.py`
  runs many more random examples with no deadline, keeping failures in
  `.hypothesis/` so that the next run tries them first. A failure prints the
  program; add it as a plain example test (test_fuzz_regressions.py) with
  the fix.
"""

from __future__ import annotations

import keyword
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import libcst as cst
import pytest

hypothesis = pytest.importorskip("hypothesis")
hypothesmith = pytest.importorskip("hypothesmith")

from hypothesis import HealthCheck, assume, currently_in_test_context, given, note, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import poollint.engine as engine_module  # noqa: E402
from poollint.config import PoolSettings, Settings  # noqa: E402
from poollint.diagnostic import FILE_CODES, INTERNAL_ERROR, FileResult, FixRequest  # noqa: E402
from poollint.rules import ALL_RULES  # noqa: E402
from poollint.runner import run  # noqa: E402
from poollint.testing import lint_sources  # noqa: E402

# Generated code is full of `1.0()` and the like, which compile() warns about.
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

ROOT = Path("/virtual")
_NEWLINE = re.compile(r"(\r\n|\r|\n)")
SAFE_ONLY = FixRequest(apply=True)
# The warning of a file whose fixes poollint withholds (engine.check_file).
WITHHELD = "fixes not applied: libcst would not write the rest of this file back unchanged"
SAFE_AND_UNSAFE = FixRequest(apply=True, unsafe=True)
# Opt-in rules too: a crash in a rule nobody selects by default is a crash all the same.
RULES = list(ALL_RULES)

# Settings that switch on the rules that need them (POL306 needs a budget)
# and change what the POL301 fix writes.
SETTINGS_VARIANTS = (
    Settings(project_root=ROOT, config_path=None),
    Settings(
        project_root=ROOT,
        config_path=None,
        pool=PoolSettings(
            values={"pool_size": 20, "pool_recycle": 600},
            workers=4,
            max_connections=50,
            max_pool_recycle=900,
        ),
    ),
)


# -- the properties ------------------------------------------------------------------


def _libcst_parses(text: str) -> bool:
    try:
        cst.parse_module(text)
    except Exception:  # whatever libcst raises, poollint must report, not raise
        return False
    return True


def _assert_no_crash(sources: Mapping[str, str], results: Mapping[str, FileResult]) -> None:
    for name, result in results.items():
        codes = [d.code for d in result.diagnostics]
        assert not result.internal_error and INTERNAL_ERROR not in codes, (name, result.diagnostics)
        if _libcst_parses(sources[name]):
            file_findings = [d for d in result.diagnostics if d.code in FILE_CODES]
            assert not file_findings, f"{name}: parses, yet {file_findings}"


def _lines(text: str) -> List[str]:
    """Lines as Python counts them: ended by CRLF, CR or LF (not by form feeds)."""
    parts = _NEWLINE.split(text)
    return [parts[i] + (parts[i + 1] if i + 1 < len(parts) else "") for i in range(0, len(parts), 2)]


def _place(text: str, d) -> Tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """What tells a finding apart from the others, wherever lines moved."""
    lines = _lines(text)
    start = sum(len(line) for line in lines[: d.line - 1]) + d.column - 1
    end = sum(len(line) for line in lines[: d.end_line - 1]) + d.end_column - 1 if d.end_line else start
    return (d.code, re.sub(r"\d+", "N", d.message), text[start:end])


def _places(sources: Mapping[str, str], results: Mapping[str, FileResult], fixable: Optional[FixRequest]) -> Counter:
    found: Counter = Counter()
    for name, result in results.items():
        for d in result.diagnostics:
            if fixable is None or (d.fix_safety is not None and fixable.allows(d.fix_safety)):
                found[(name,) + _place(sources[name], d)] += 1
    return found


def _note(text: str) -> None:
    """Printed with a failing example; the plain tests here call the same checks."""
    if currently_in_test_context():
        note(text)


def _only_crlf(text: str) -> bool:
    return "\r\n" in text and not re.search(r"(?<!\r)\n|\r(?!\n)", text)


def _run(root: Path, names: Sequence[str], settings: Settings, fix: FixRequest) -> Dict[str, FileResult]:
    """One poollint run over the project in `root`, as `check` runs it (writing fixes)."""
    settings = replace(settings, project_root=root)
    result = run([root / name for name in names], settings, RULES, fix, write=True, jobs=1, cache=None)
    return {Path(f.path).relative_to(root).as_posix(): f for f in result.files}


def _read(root: Path, names: Sequence[str]) -> Dict[str, bytes]:
    return {name: (root / name).read_bytes() for name in names}


def check_fix_invariants(
    sources: Mapping[str, str],
    settings: Settings,
    fix: FixRequest,
    *,
    expect_no_dropped_fix: bool = False,
) -> Dict[str, str]:
    """Fix `sources` on disk as `poollint check --fix` does and assert the
    properties in the module docstring; the fixed sources."""
    names = sorted(sources)
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        for name, text in sources.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(text.encode("utf-8"))
        original = _read(root, names)
        before = _run(root, names, settings, FixRequest())
        _assert_no_crash(sources, before)
        fixing = _run(root, names, settings, fix)
        _assert_no_crash(sources, fixing)
        on_disk = _read(root, names)
        # libcst would write these back otherwise than it read them (a form
        # feed before a statement...): poollint leaves them unfixed, and says so.
        withheld = {name for name, r in fixing.items() if any(WITHHELD in w for w in r.warnings)}
        for name in names:
            result = fixing[name]
            if expect_no_dropped_fix:
                dropped = [w for w in result.warnings if "fix dropped" in w]
                assert not dropped, f"{name}: {dropped}"
            if result.fixed_source is None:
                assert on_disk[name] == original[name], f"{name} changed, yet no fix was reported"
                continue
            assert on_disk[name] == result.fixed_source
            fixed_text = on_disk[name].decode("utf-8")
            _note(f"--- {name}, fixed ({fix}):\n{fixed_text}")
            # As Python reads the file: from bytes, honouring a coding line.
            compile(on_disk[name], name, "exec", dont_inherit=True)
            assert _libcst_parses(fixed_text), f"{name}: libcst cannot read the fixed code back"
            if _only_crlf(sources[name]):
                assert _only_crlf(fixed_text), f"{name}: the fix changed CRLF line endings"
        fixed = {name: data.decode("utf-8") for name, data in on_disk.items()}

        again = _run(root, names, settings, fix)
        _assert_no_crash(fixed, again)
        changed_again = {name: r.fixed_source for name, r in again.items() if r.fixed_source is not None}
        assert not changed_again, f"fixing the fixed code changed it again: {changed_again}"
        assert _read(root, names) == on_disk

    dropped_codes = {
        match.group(1)
        for r in fixing.values()
        for warning in r.warnings
        for match in [re.search(r"(POL\d{3}) fix dropped", warning)]
        if match
    }
    applied = Counter({place: n for place, n in _places(sources, before, fix).items() if place[0] not in withheld})
    if on_disk == original:
        assert not applied or dropped_codes, f"fixable findings, yet nothing was fixed: {applied}"
    everything_before = _places(sources, before, None)
    after = _places(fixed, again, None)
    for place, count in applied.items():
        if place[1] in dropped_codes:
            continue
        left_unfixed = everything_before[place] - count
        assert after[place] <= left_unfixed, f"a fixed finding is still reported at its place: {place}"
    return fixed


def _findings(results: Mapping[str, FileResult]) -> List[Tuple[str, int, int, str, str]]:
    return sorted((name, d.line, d.column, d.code, d.message) for name, r in results.items() for d in r.diagnostics)


def check_gates(sources: Mapping[str, str], settings: Settings) -> None:
    """The gates (gate.py) only skip work: with them off, nothing new is found."""
    gated = _findings(lint_sources(sources, RULES, settings=settings, root=ROOT))
    engine_module.GATES = False
    try:
        ungated = _findings(lint_sources(sources, RULES, settings=settings, root=ROOT))
    finally:
        engine_module.GATES = True
    assert ungated == gated


def check_program(sources: Mapping[str, str], settings: Settings, *, expect_no_dropped_fix: bool = False) -> None:
    check_gates(sources, settings)
    for fix in (SAFE_ONLY, SAFE_AND_UNSAFE):
        check_fix_invariants(sources, settings, fix, expect_no_dropped_fix=expect_no_dropped_fix)


# -- hypothesmith's programs, where the rules look ------------------------------------

HEADER = """\
import asyncio
import time
from fastapi import Depends, FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

engine = create_engine("postgresql+psycopg2://app@db/shop")
SessionLocal = sessionmaker(engine)
app = FastAPI()


def get_db():
    db = SessionLocal()
    yield db
    db.close()

"""

ROUTE = """\
@app.get("/generated")
async def generated(db: Session = Depends(get_db)):
    time.sleep(1)
    db.execute(text("select 1"))
"""

def indented(code: str, prefix: str) -> str:
    """`code` with `prefix` before each of its lines that holds anything.

    Lines are split where Python's tokenizer splits them (CRLF, CR, LF), not
    at the form feeds and other separators str.splitlines() knows.
    """
    parts = _NEWLINE.split(code)
    out = []
    for index, part in enumerate(parts):
        is_line = index % 2 == 0
        out.append(prefix + part if is_line and part.strip() else part)
    text = "".join(out)
    return text if _NEWLINE.search(text[-2:] if text else "\n") else text + "\n"


def _compiles(text: str) -> bool:
    try:
        compile(text, "generated.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _placements(generated: str) -> List[str]:
    """Where the generated code goes: after the header, and in an async route's body."""
    at_module = HEADER + generated
    in_route = HEADER + ROUTE + indented(generated, "    ")
    return [text for text in (at_module, in_route) if _compiles(text)]


GENERATOR_SETTINGS = settings(
    # hypothesmith throws away what it generates that does not compile, and
    # the snippet programs skip generated code that does not fit where it is
    # spliced: more filtering, and slower drawing, than the checks expect.
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)


@GENERATOR_SETTINGS
@given(generated=hypothesmith.from_grammar(), settings_=st.sampled_from(SETTINGS_VARIANTS))
def test_programs_from_the_grammar(generated: str, settings_: Settings) -> None:
    for text in _placements(generated):
        check_program({"main.py": text}, settings_)


@GENERATOR_SETTINGS
@given(generated=hypothesmith.from_node(), settings_=st.sampled_from(SETTINGS_VARIANTS))
def test_programs_from_libcst_nodes(generated: str, settings_: Settings) -> None:
    for text in _placements(generated):
        check_program({"main.py": text}, settings_)


# -- programs built from snippets of the mistakes poollint looks for -------------------

# Each snippet is a template: its {fields} are filled with the program's and
# the unit's generated names, and its four-space indents become the
# program's indent. `code` is the rule the snippet is written to trigger in
# its plain form; test_every_snippet_triggers_its_rule holds it to that.


@dataclass(frozen=True)
class Snippet:
    code: str
    kind: str  # "route", "dependency" or "module"
    template: str


ROUTE_SNIPPETS = (
    Snippet("POL101", "route", "async def {fn}({param}: int = 0):\n    {sleep}(0.1)\n    return {param}\n"),
    Snippet("POL101", "route", "async def {fn}():\n    {local} = {sleep}(1) or 0\n    return {local}\n"),
    Snippet("POL101", "route", "async def {fn}():\n    for {local} in range(3):\n        {sleep}(0.1)\n"),
    Snippet("POL101", "route", "async def {fn}():\n    return sum({sleep}(0) or 1 for {local} in range(2))\n"),
    Snippet("POL102", "route", 'async def {fn}():\n    return requests.get("http://api.internal/{local}").json()\n'),
    Snippet("POL103", "route", 'async def {fn}():\n    subprocess.run(["ls", "{local}"], check=True)\n'),
    Snippet("POL106", "route", 'async def {fn}():\n    {local} = psycopg2.connect("dbname=shop")\n    return {local}\n'),
    Snippet(
        "POL105",
        "route",
        'async def {fn}({db}: {Session} = {Depends}({get_db})):\n    return {db}.execute({text}("select 1")).all()\n',
    ),
    Snippet(
        "POL105",
        "route",
        "async def {fn}({db}: Annotated[{Session}, {Depends}({get_db})]):\n"
        "    {db}.add({local})\n"
        "    {db}.commit()  # the route's own comment\n"
        "    return {local}\n",
    ),
    Snippet(
        "POL201",
        "route",
        'def {fn}():\n    {db} = {Factory}()\n    {local} = {db}.execute({text}("select 1")).all()\n    return {local}\n',
    ),
    Snippet(
        "POL206",
        "route",
        'def {fn}():\n    {local} = {engine}.connect()\n    return {local}.execute({text}("select 1")).all()\n',
    ),
    Snippet(
        "POL205",
        "route",
        "def {fn}({tasks}: BackgroundTasks, {db}: {Session} = {Depends}({get_db})):\n"
        "    {tasks}.add_task({helper}, {db})\n"
        "    return {{}}\n",
    ),
    Snippet(
        "POL302",
        "route",
        "def {fn}():\n"
        '    {local} = {create_engine}("postgresql+psycopg2://app@db/reports")\n'
        "    with {local}.connect() as {conn}:\n"
        '        return {conn}.execute({text}("select 1")).all()\n',
    ),
    Snippet(
        "POL207",
        "route",
        "async def {fn}({db}: {AsyncSession} = {Depends}({get_async_db})):\n"
        '    {local} = await {db}.execute({text}("select 1"))\n'
        "    await asyncio.sleep(1)\n"
        "    return {local}\n",
    ),
    Snippet(
        "POL402",
        "route",
        "async def {fn}({db}: {AsyncSession} = {Depends}({get_async_db})):\n"
        "    {db}.add({local})\n"
        "    {db}.commit()\n"
        "    {db}.refresh({local})\n"
        "    return {local}\n",
    ),
    Snippet(
        "POL402",
        "route",
        "async def {fn}({param}: int, {db}: {AsyncSession} = {Depends}({get_async_db})):\n"
        "    if not {db}.get({local}, {param}):  # missing await\n"
        "        return None\n"
        '    return {db}.execute({text}("select 1"))\n',
    ),
    Snippet(
        "POL403",
        "route",
        "async def {fn}({db}: {AsyncSession} = {Depends}({get_async_db})):\n"
        '    return await asyncio.gather({db}.execute({text}("select 1")), {db}.execute({text}("select 2")))\n',
    ),
)

DEPENDENCY_SNIPPETS = (
    Snippet("POL202", "dependency", "def {fn}():\n    {db} = {Factory}()\n    yield {db}\n    {db}.close()\n"),
    Snippet(
        "POL202",
        "dependency",
        'def {fn}():\n    """Docstring stays."""\n    # one session per request\n'
        "    {db} = {Factory}()\n    yield {db}  # the route runs here\n    {db}.close()\n",
    ),
    Snippet("POL202", "dependency", "async def {fn}():\n    {db} = {AsyncFactory}()\n    yield {db}\n    await {db}.close()\n"),
    Snippet("POL203", "dependency", "def {fn}():\n    return {Factory}()\n"),
    Snippet("POL210", "dependency", "async def {fn}():\n    async for {db} in {get_async_db}():\n        yield {db}\n"),
)

MODULE_SNIPPETS = (
    Snippet("POL204", "module", "{local} = {Factory}()\n"),
    Snippet("POL301", "module", '{local} = {create_engine}("mysql+pymysql://app@db/shop", pool_size=5)\n'),
    Snippet(
        "POL301",
        "module",
        '{local} = {create_engine}(\n    "postgresql+psycopg2://app@db/shop",\n    echo=False,  # quiet\n    pool_size=10\n)\n',
    ),
    Snippet("POL303", "module", '{local} = {create_engine}("postgresql://app@db/shop", pool_size=5, max_overflow=0)\n'),
    Snippet("POL304", "module", '{local} = {create_engine}("postgresql://app@db/shop", pool_recycle=-1)\n'),
    Snippet("POL305", "module", '{local} = {create_engine}("sqlite:///./{local}.db", echo=True)\n'),
    Snippet("POL305", "module", '{local} = {create_engine}(\n    "sqlite:///./app.db",\n    echo=True,  # noisy\n)\n'),
    Snippet(
        "POL308",
        "module",
        '{local} = {create_engine}("postgresql://app@db/shop", poolclass=NullPool)\n'
        "{conn} = {sessionmaker}(bind={local})\n",
    ),
    Snippet("POL309", "module", '{local} = {create_async_engine}("postgresql+psycopg2://app@db/shop")\n'),
    Snippet("POL309", "module", '{local} = {create_engine}("sqlite+aiosqlite:///./app.db")\n'),
    Snippet("POL404", "module", "{local} = {async_sessionmaker}({async_engine})\n"),
    Snippet("POL405", "module", "{local} = {sessionmaker}(bind={async_engine})\n"),
    Snippet("POL501", "module", '{local} = {create_engine}("postgresql://app:hunter2@db/shop", pool_size=5)\n'),
    # A directive that suppresses nothing (POL905, opt-in: its fix edits the comment).
    Snippet("POL905", "module", "{local} = 1  # noqa: POL301, E501\n"),
)

SNIPPETS = ROUTE_SNIPPETS + DEPENDENCY_SNIPPETS + MODULE_SNIPPETS

# How the program gets time.sleep: (import line, the call's spelling).
SLEEP_IMPORTS = (
    ("import time", "time.sleep"),
    ("import time as {alias}", "{alias}.sleep"),
    ("from time import sleep", "sleep"),
    ("from time import sleep as {alias}", "{alias}"),
)

# The engine and session factories every program has.
ENGINE_URLS = (
    '"postgresql+psycopg2://app@db/shop"',
    '"postgresql://app:s3cret@db/shop"',
    '"sqlite:///./shop.db"',
    "DATABASE_URL",
    'os.environ["DATABASE_URL"]',
)
ENGINE_KWARGS = (
    "pool_size=5",
    "max_overflow=10",
    "pool_recycle=1800",
    "pool_pre_ping=True",
    "pool_timeout=30",
    "echo=True",
    "max_overflow=0",
    "**{options}",
)
ASYNC_FACTORIES = (
    "{async_sessionmaker}({async_engine}, expire_on_commit=False)",
    "{async_sessionmaker}({async_engine})",
    "{sessionmaker}({async_engine}, class_={AsyncSession})",
    "{sessionmaker}({async_engine})",
)
# The program's own dependencies, written right, and routes that make dependencies of them.
GOOD_GET_DB = (
    "def {get_db}():\n    with {Factory}() as {db}:\n        yield {db}\n",
    "def {get_db}():\n    {db} = {Factory}()\n    try:\n        yield {db}\n    finally:\n        {db}.close()\n",
)
GOOD_GET_ASYNC_DB = ("async def {get_async_db}():\n    async with {AsyncFactory}() as {db}:\n        yield {db}\n",)
DEPENDENCY_USERS = (
    '@{app}.get("/db")\ndef {get_db}_route(db={Depends}({get_db})):\n    return db\n\n\n'
    '@{app}.get("/async-db")\nasync def {get_async_db}_route(db={Depends}({get_async_db})):\n    return db\n'
)

# The program's names, every one generated: what its setup defines (a module
# of two imports these from the other), then the names it imports under.
OBJECT_FIELDS = ("app", "router", "engine", "async_engine", "Factory", "AsyncFactory", "get_db", "get_async_db")
IMPORT_FIELDS = (
    "Depends", "Session", "AsyncSession", "text", "create_engine", "create_async_engine",
    "sessionmaker", "async_sessionmaker", "alias", "options",
)  # fmt: skip
NAME_FIELDS = OBJECT_FIELDS + IMPORT_FIELDS

IDENTIFIERS = (
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True)
    # Soft keywords and non-ASCII names are names too.
    | st.sampled_from(["match", "case", "type", "_", "données", "сессия", "名前"])
).filter(lambda name: not keyword.iskeyword(name) and name.isidentifier())


@dataclass
class Unit:
    """One snippet in the program, its own names, and how it is wrapped."""

    snippet: Snippet
    names: Dict[str, str]
    decorators: List[str] = field(default_factory=list)
    # Outermost first: "if", "try", "class", "def".
    wrappers: List[Tuple[str, str]] = field(default_factory=list)
    method: str = "get"
    on_router: bool = False
    # Generated code put in the snippet's body (first line after the header).
    inside: Optional[str] = None


@dataclass
class Program:
    """Everything the snippet programs are built from; build() turns it into sources."""

    names: Dict[str, str]
    units: List[Unit]
    sleep_import: int = 0
    engine_url: int = 0
    engine_kwargs: Tuple[int, ...] = ()
    engine_multiline: bool = False
    async_factory: int = 0
    get_db: int = 0
    get_async_db: int = 0
    import_asyncio: bool = True
    future_import: bool = False
    docstring: bool = False
    two_modules: bool = False
    indent: str = "    "
    newline: str = "\n"
    # Generated code between the units, at module level.
    between: List[str] = field(default_factory=list)


def _fill(template: str, values: Mapping[str, str]) -> str:
    return template.format_map(values)


def _reindent(text: str, unit: str) -> str:
    return re.sub(r"^((?:    )+)", lambda m: unit * (len(m.group(1)) // 4), text, flags=re.MULTILINE)


def _route_decorator(unit: Unit, values: Mapping[str, str]) -> str:
    owner = values["router"] if unit.on_router else values["app"]
    return f'@{owner}.{unit.method}("/{unit.names["fn"]}")\n'


def _render_unit(program: Program, unit: Unit, values: Mapping[str, str]) -> str:
    local = dict(values)
    local.update(unit.names)
    step = program.indent
    body = _fill(unit.snippet.template, local)
    if unit.inside is not None:
        header, _, rest = body.partition("\n")
        rest_lines = rest.splitlines(keepends=True)
        # After a docstring, so that it stays the docstring.
        at = 1 if rest_lines and rest_lines[0].strip().startswith('"""') else 0
        generated = indented(unit.inside, step)
        body = header + "\n" + "".join(rest_lines[:at]) + generated + "".join(rest_lines[at:])
    decorators = "".join(f"@{d}\n" for d in unit.decorators)
    if unit.snippet.kind == "route":
        route = _route_decorator(unit, local)
        # Other decorators above or below the route's own: both occur in real code.
        decorators = decorators + route if len(unit.decorators) % 2 == 0 else route + decorators
    text = decorators + body if unit.snippet.kind != "module" else body
    for kind, name in reversed(unit.wrappers):
        if kind == "if":
            text = f"if {name}:\n" + indented(text, step)
        elif kind == "try":
            text = "try:\n" + indented(text, step) + f"except Exception:\n{step}pass\n"
        elif kind == "class":
            text = f"class {name}:\n" + indented(text, step)
        elif kind == "def":
            text = f"def {name}():\n" + indented(text, step) + f"{step}return None\n"
    if unit.snippet.kind == "dependency":
        # A route that uses it: the rules look at dependencies, not at any generator.
        text += (
            f'\n\n@{values["app"]}.get("/{unit.names["fn"]}")\n'
            f'def {unit.names["fn"]}_route({unit.names["param"]}={values["Depends"]}({unit.names["fn"]})):\n'
            f'{step}return {unit.names["param"]}\n'
        )
    return text


def _imports(program: Program, values: Mapping[str, str]) -> str:
    sleep_line, _ = SLEEP_IMPORTS[program.sleep_import]
    lines = [
        "import os",
        "import subprocess",
        "import requests",
        "import psycopg2",
        _fill(sleep_line, values),
        "from typing import Annotated",
        "from fastapi import APIRouter, BackgroundTasks, FastAPI",
        "from fastapi import Depends as {Depends}",
        "from sqlalchemy import NullPool",
        "from sqlalchemy import create_engine as {create_engine}, text as {text}",
        "from sqlalchemy.orm import Session as {Session}, sessionmaker as {sessionmaker}",
        "from sqlalchemy.ext.asyncio import AsyncSession as {AsyncSession}",
        "from sqlalchemy.ext.asyncio import async_sessionmaker as {async_sessionmaker}",
        "from sqlalchemy.ext.asyncio import create_async_engine as {create_async_engine}",
    ]
    if program.import_asyncio:
        lines.insert(0, "import asyncio")
    return "".join(_fill(line, values) + "\n" for line in lines)


def _engine(program: Program, values: Mapping[str, str]) -> str:
    args = [ENGINE_URLS[program.engine_url]] + [_fill(ENGINE_KWARGS[i], values) for i in program.engine_kwargs]
    if program.engine_multiline:
        call = "(\n" + "".join(f"    {arg},  # {i}\n" for i, arg in enumerate(args)) + ")"
    else:
        call = "(" + ", ".join(args) + ")"
    return (
        'DATABASE_URL = "postgresql+psycopg2://app@db/shop"\n'
        f"{values['options']} = {{}}\n"
        f"{values['engine']} = {values['create_engine']}{call}\n"
        f'{values["async_engine"]} = {values["create_async_engine"]}("postgresql+asyncpg://app@db/shop", pool_size=5, '
        "max_overflow=10, pool_recycle=1800, pool_pre_ping=True)\n"
        f"{values['Factory']} = {values['sessionmaker']}(bind={values['engine']})\n"
        f"{values['AsyncFactory']} = {_fill(ASYNC_FACTORIES[program.async_factory], values)}\n"
        f"{values['app']} = FastAPI()\n"
        f"{values['router']} = APIRouter()\n"
    )


def _dependencies(program: Program, values: Mapping[str, str]) -> str:
    local = dict(values, db="db")
    templates = (GOOD_GET_DB[program.get_db], GOOD_GET_ASYNC_DB[program.get_async_db], DEPENDENCY_USERS)
    return "\n\n".join(_reindent(_fill(t, local), program.indent) for t in templates)


def build(program: Program) -> Dict[str, str]:
    """The program's modules: main.py alone, or main.py importing from db.py."""
    values = dict(program.names)
    values["sleep"] = _fill(SLEEP_IMPORTS[program.sleep_import][1], values)
    header = ""
    if program.docstring:
        header += '"""A generated module."""\n'
    if program.future_import:
        header += "from __future__ import annotations\n"
    imports = _imports(program, values)
    setup = _reindent(_engine(program, values), program.indent) + "\n\n" + _dependencies(program, values)
    main_parts: List[str] = []
    db_parts: List[str] = []
    for position, unit in enumerate(program.units):
        rendered = _render_unit(program, unit, values)
        target = db_parts if program.two_modules and unit.snippet.kind != "route" else main_parts
        target.append(rendered)
        if position < len(program.between) and program.between[position]:
            target.append(program.between[position])
    if program.two_modules:
        exported = [program.names[k] for k in OBJECT_FIELDS]
        exported += [u.names["fn"] for u in program.units if u.snippet.kind == "dependency"]
        sources = {
            "app/__init__.py": "",
            "app/db.py": header + imports + setup + "\n\n" + "\n\n".join(db_parts),
            "app/main.py": header
            + imports
            + "from app.db import "
            + ", ".join(sorted(set(exported)))
            + "\n\n"
            + "\n\n".join(main_parts),
        }
    else:
        sources = {"main.py": header + imports + setup + "\n\n" + "\n\n".join(main_parts)}
    out = {}
    for name, text in sources.items():
        text = text if text.endswith("\n") or not text else text + "\n"
        # Bare LFs only: generated code may hold CRLFs of its own.
        out[name] = re.sub(r"(?<!\r)\n", program.newline, text) if program.newline != "\n" else text
    return out


def _reindented_template(snippet: Snippet, unit: str) -> Snippet:
    return replace(snippet, template=_reindent(snippet.template, unit))


# Built once: hypothesmith compiles Python's grammar for every strategy it makes.
GENERATED_CODE = hypothesmith.from_grammar(auto_target=False)


@st.composite
def snippet_programs(draw: st.DrawFn) -> Program:
    count = len(NAME_FIELDS)
    # Enough for up to five units of seven names, two decorators and two wrappers each.
    pool = draw(st.lists(IDENTIFIERS, min_size=count + 60, max_size=count + 60, unique=True))
    names = dict(zip(NAME_FIELDS, pool))
    spare = iter(pool[count:])
    indent = draw(st.sampled_from(["    ", "  ", "\t"]))
    units = []
    for snippet in draw(st.lists(st.sampled_from(SNIPPETS), min_size=1, max_size=5)):
        unit_names = {key: next(spare) for key in ("fn", "db", "local", "param", "conn", "tasks", "helper")}
        unit_names["get_db"] = names["get_db"]
        unit_names["get_async_db"] = names["get_async_db"]
        decorators = [next(spare) for _ in range(draw(st.integers(0, 2)))]
        wrapper_kinds = draw(st.lists(st.sampled_from(["if", "try", "class", "def"]), max_size=2))
        wrappers = [(kind, next(spare)) for kind in wrapper_kinds]
        inside = None
        if snippet.kind != "module" and draw(st.booleans()):
            inside = draw(GENERATED_CODE)
        units.append(
            Unit(
                snippet=_reindented_template(snippet, indent),
                names=unit_names,
                decorators=decorators if snippet.kind != "module" else [],
                wrappers=wrappers,
                method=draw(st.sampled_from(["get", "post", "put", "delete", "patch"])),
                on_router=draw(st.booleans()),
                inside=inside,
            )
        )
    between = draw(st.lists(GENERATED_CODE | st.just(""), max_size=2))
    program = Program(
        names=names,
        units=units,
        sleep_import=draw(st.integers(0, len(SLEEP_IMPORTS) - 1)),
        engine_url=draw(st.integers(0, len(ENGINE_URLS) - 1)),
        engine_kwargs=tuple(draw(st.lists(st.integers(0, len(ENGINE_KWARGS) - 1), unique=True, max_size=5))),
        engine_multiline=draw(st.booleans()),
        async_factory=draw(st.integers(0, len(ASYNC_FACTORIES) - 1)),
        get_db=draw(st.integers(0, len(GOOD_GET_DB) - 1)),
        get_async_db=draw(st.integers(0, len(GOOD_GET_ASYNC_DB) - 1)),
        import_asyncio=draw(st.booleans()),
        future_import=draw(st.booleans()),
        docstring=draw(st.booleans()),
        two_modules=draw(st.booleans()),
        indent=indent,
        newline=draw(st.sampled_from(["\n", "\n", "\r\n"])),
        between=between,
    )
    return program


@GENERATOR_SETTINGS
@given(program=snippet_programs(), settings_=st.sampled_from(SETTINGS_VARIANTS))
def test_programs_built_from_snippets(program: Program, settings_: Settings) -> None:
    sources = build(program)
    # Generated code may not fit where it is spliced (a `from __future__`
    # import mid-module, tabs against spaces): such programs are skipped.
    assume(all(_compiles(text) for text in sources.values()))
    for name, text in sources.items():
        _note(f"--- {name}\n{text}")
    check_program(sources, settings_, expect_no_dropped_fix=True)


# -- the snippets are not vacuous ------------------------------------------------------

PLAIN_NAMES = {key: key for key in NAME_FIELDS}
PLAIN_NAMES.update(alias="clock", options="ENGINE_OPTIONS", Factory="SessionLocal", AsyncFactory="AsyncSessionLocal")
UNIT_NAMES = {
    "fn": "handler",
    "db": "db",
    "local": "item",
    "param": "item_id",
    "conn": "conn",
    "tasks": "tasks",
    "helper": "send_mail",
    "get_db": "get_db",
    "get_async_db": "get_async_db",
}


def _plain_program(snippets: Sequence[Snippet]) -> Dict[str, str]:
    units = [
        Unit(snippet=snippet, names=dict(UNIT_NAMES, fn=f"handler_{i}", local=f"item_{i}"))
        for i, snippet in enumerate(snippets)
    ]
    return build(Program(names=PLAIN_NAMES, units=units, engine_kwargs=(0, 1, 2, 3)))


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[f"{s.code}-{i}" for i, s in enumerate(SNIPPETS)])
def test_every_snippet_triggers_its_rule(snippet: Snippet) -> None:
    """A snippet that stopped triggering its rule would leave the fuzzer
    checking fixes that never happen."""
    sources = _plain_program([snippet])
    results = lint_sources(sources, RULES, settings=SETTINGS_VARIANTS[0], root=ROOT)
    codes = {d.code for r in results.values() for d in r.diagnostics}
    assert snippet.code in codes, f"{snippet.code} not found in:\n{sources['main.py']}"


def test_a_program_of_every_snippet_keeps_the_fix_invariants() -> None:
    check_program(_plain_program(SNIPPETS), SETTINGS_VARIANTS[0], expect_no_dropped_fix=True)


def test_the_snippets_cover_every_fixable_rule() -> None:
    fixable = {rule.CODE for rule in ALL_RULES if rule.FIX_AVAILABILITY.value != "none"}
    assert fixable <= {s.code for s in SNIPPETS}


def test_indented_splits_lines_as_python_does() -> None:
    assert indented("a\r\nb\rc\x0cd\n", "  ") == "  a\r\n  b\r  c\x0cd\n"
    assert indented("x = 1", "\t") == "\tx = 1\n"
