"""No input crashes poollint (issue 6, first promise).

For every file it is given, poollint prints findings, or one POL9xx finding
naming the file and the cause, and goes on with the other files. Each hostile
file below sits beside normal.py, whose one finding must still be reported.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Tuple

import pytest

from .helpers import BLOCKING, leftovers, run_cli, run_process

# -- hostile files, one per case ------------------------------------------------

BLOCKING_BYTES = BLOCKING.encode()
CHECKED = ("POL101",)  # checked like any file: its time.sleep() is found
SYNTAX = ("POL903",)
UNDECODABLE = ("POL902",)


def _since(version: Tuple[int, int]) -> Tuple[Tuple[str, ...], ...]:
    """New syntax: checked on Pythons that read it, one POL903 on older ones."""
    return (CHECKED,) if sys.version_info >= version else (SYNTAX,)


def _newest(version: Tuple[int, int]) -> Tuple[Tuple[str, ...], ...]:
    """Syntax of a Python newer than libcst may know: checked, or one clean POL903."""
    return (CHECKED, SYNTAX) if sys.version_info >= version else (SYNTAX,)


def _blocking_with(*lines: str, newline: str = "\n") -> bytes:
    """An async function whose time.sleep() is at the last line, after `lines`."""
    body = ["import time", "", "", "async def handler():", *lines, "    time.sleep(1)"]
    return (newline.join(body) + newline).encode()


@dataclass(frozen=True)
class Case:
    name: str
    content: bytes
    # Any of these lists of codes is right for the file (Python versions differ).
    expected: Tuple[Tuple[str, ...], ...]
    # A word the POL9xx message must hold: the cause, in the user's terms.
    cause: str = ""
    # The line of the one finding, when it is known on every Python.
    line: int = 0
    filename: str = "hostile.py"


CASES: Sequence[Case] = [
    Case("syntax-error", b"def f(:\n    pass\n", (SYNTAX,), "syntax error", 1),
    Case("not-utf8-without-coding-line", b"import time\nname = 'caf\xe9'\n", (UNDECODABLE,), "decode", 2),
    Case(
        "latin1-with-coding-line",
        b"# -*- coding: latin-1 -*-\nimport time\n\n\nasync def caf\xe9():\n    time.sleep(1)  # d\xe9j\xe0 vu\n",
        (CHECKED,),
        line=6,
    ),
    Case("cp1252-with-coding-line", b"# coding: cp1252\n" + _blocking_with("    note = '\x80 5'"), (CHECKED,), line=7),
    Case("unknown-codec-in-coding-line", b"# coding: klingon\n" + BLOCKING_BYTES, (UNDECODABLE,), "encoding"),
    Case("utf8-bom", b"\xef\xbb\xbf" + BLOCKING_BYTES, (CHECKED,), line=5),
    Case("utf8-bom-with-latin1-coding-line", b"\xef\xbb\xbf# coding: latin-1\n" + BLOCKING_BYTES, (UNDECODABLE,), "encoding"),
    Case("nul-bytes", BLOCKING_BYTES.replace(b"time.sleep", b"time\x00.sleep"), (UNDECODABLE,), "null bytes"),
    Case("binary-named-py", bytes(range(256)) * 16, (UNDECODABLE,), "decode"),
    Case("binary-without-nul", bytes(range(128, 256)) * 16, (UNDECODABLE,), "decode"),
    Case("crlf", BLOCKING_BYTES.replace(b"\n", b"\r\n"), (CHECKED,), line=5),
    Case("cr-only", BLOCKING_BYTES.replace(b"\n", b"\r"), (CHECKED,), line=5),
    Case("mixed-newlines", b"import time\r\n\n\r\nasync def handler():\n    time.sleep(1)\r\n", (CHECKED,), line=5),
    Case("tabs-and-form-feeds", b"\x0cimport time\n\x0c\n\nasync def handler():\n\ttime.sleep(1)\n", (CHECKED,), line=5),
    Case("no-newline-at-end", BLOCKING_BYTES.rstrip(b"\n"), (CHECKED,), line=5),
    Case("empty", b"", ((),)),
    Case("only-a-bom", b"\xef\xbb\xbf", ((),)),
    Case("only-comments", b"# a module of notes\n#\n# time.sleep(1) inside async def, said in a comment\n", ((),)),
    Case("python2-print-statement", b'import time\nprint "hello"\n', (SYNTAX,), "syntax error", 2),
    Case("python2-backticks-and-octal", b"x = `1`\nmode = 0777\n", (SYNTAX,), "syntax error"),
    Case("match-statement", _blocking_with("    match x:", "        case {'a': 1}:", "            pass"), _since((3, 10))),
    Case("pep695-generics", _blocking_with("    class Box[T]:", "        def get[U](self, x: U) -> T: ..."), _since((3, 12))),
    Case("pep695-type-alias", b"type Pair[T] = tuple[T, T]\n" + BLOCKING_BYTES, _since((3, 12))),
    Case("pep701-f-strings", _blocking_with("    x = f\"{'\\n'.join(f\"{f'{1}'}\" for _ in ())}\""), _since((3, 12))),
    Case("except-star", _blocking_with("    try:", "        pass", "    except* ValueError:", "        pass"), _since((3, 11))),
    Case("pep758-except-without-parentheses", _blocking_with("    try:", "        pass", "    except ValueError, TypeError:", "        pass"), _newest((3, 14))),
    Case("pep750-t-strings", _blocking_with("    name = 'x'", "    greeting = t'hello {name}'"), _newest((3, 14))),
    Case("deep-but-ordinary-nesting", _blocking_with("    total = 1" + " + 1" * 200, "    rows = " + "[" * 100 + "]" * 100), (CHECKED,), line=7),
    # Python's own parser gives up on these; poollint says so for the file.
    Case("nesting-past-pythons-parser", b"x = " + b"not " * 20000 + b"a\n", (SYNTAX,), "too"),
    Case("parentheses-past-pythons-tokenizer", b"x = " + b"(" * 300 + b"1" + b")" * 300 + b"\n", (SYNTAX,), "parenthes"),
    # Deep enough to exhaust the recursion of Python's compiler or of libcst
    # on some versions and not on others: checked, or one clean POL903.
    Case("very-deep-expression", _blocking_with("    x = 1" + " + 1" * 3000), (CHECKED, SYNTAX)),
    Case("very-deep-finding", b"import time\n\n\nasync def handler():\n    time.sleep(1" + b" + 1" * 3000 + b")\n", (CHECKED, SYNTAX)),
    Case("very-deep-call-chain", _blocking_with("    x = a" + "()" * 3000), (CHECKED, SYNTAX)),
    Case("lambda-chain", _blocking_with("    f = " + "lambda: " * 3000 + "1"), (CHECKED, SYNTAX)),
    Case("elif-chain", _blocking_with("    if a:", "        pass", *["    elif a:\n        pass"] * 3000), (CHECKED, SYNTAX)),
    Case("many-implicitly-joined-strings", _blocking_with("    s = " + " ".join(["'a'"] * 20000)), (CHECKED, SYNTAX)),
    # Numbers Python reads but cannot print or compare: they used to end in
    # an internal error (POL904, exit 2) in pass 1, in the rules, or in output.
    Case(
        "huge-hex-literal-in-engine",
        b"from sqlalchemy import create_engine\n"
        b"engine = create_engine('postgresql://app@db/shop', pool_size=0x" + b"F" * 5000 + b", max_overflow=0x"
        + b"F" * 5000 + b", pool_recycle=300, pool_pre_ping=True)\n",
        ((),),
    ),
    Case(
        "huge-product-in-engine",
        b"from sqlalchemy import create_engine\n"
        b"engine = create_engine('postgresql://app@db/shop', pool_size=5, max_overflow=10, pool_recycle="
        + b" * ".join([b"999999999999"] * 400) + b", pool_pre_ping=True)\n",
        ((),),
    ),
    Case(
        "infinite-and-nan-floats-in-engine",
        b"from sqlalchemy import create_engine\n"
        b"e1 = create_engine('postgresql://app@db/shop', pool_size=1e999, max_overflow=0, pool_recycle=1e999, pool_pre_ping=False)\n"
        b"e2 = create_engine('postgresql://app@db/shop', pool_size=5, max_overflow=10, pool_recycle=1e999 - 1e999, pool_pre_ping=True)\n",
        # max_overflow=0 is still worth saying, of a pool of unknown size.
        (("POL303",),),
    ),
    Case(
        "deeply-nested-engine-setting",
        b"from sqlalchemy import create_engine\n"
        b"engine = create_engine('postgresql://app@db/shop', pool_size=5, max_overflow=10, pool_recycle=1"
        + b" + 1" * 400 + b")\n",
        (("POL301",),),
    ),
    Case("huge-worker-count-in-dockerfile", b'CMD ["gunicorn", "-w", "' + b"9" * 5000 + b'", "app:app"]\n', ((),), filename="Dockerfile"),
    Case("unicode-digit-worker-count", b"web: uvicorn app:app --workers \xc2\xb2\n", ((),), filename="Procfile"),
    Case("huge-version-in-requirements", b"fastapi==" + b"9" * 5000 + b"\n", ((),), filename="requirements.txt"),
    Case("binary-requirements", bytes(range(256)) * 16 + b"\nfastapi==0.1\n", ((),), filename="requirements.txt"),
    Case("binary-dockerfile", b"CMD gunicorn -w 4\n" + bytes(range(256)) * 16, ((),), filename="Dockerfile"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_hostile_file_is_one_finding_and_the_others_are_checked(project: Path, case: Case) -> None:
    (project / case.filename).write_bytes(case.content)
    outcome = run_cli("check", ".")
    outcome.assert_no_crash()
    outcome.assert_normal_file_still_checked()
    findings = outcome.of(case.filename)
    assert tuple(f.code for f in findings) in case.expected, outcome.stdout
    for finding in findings:
        if finding.code.startswith("POL9"):
            assert len(findings) == 1, "a file poollint cannot read is one finding"
            assert case.cause in finding.message, finding.message
    if case.line:
        assert [f.line for f in findings] == [case.line], outcome.stdout


def test_the_whole_hostile_corpus_at_once_on_one_and_on_two_processes(tmp_path: Path) -> None:
    # Two processes share files out from 20 files on: the corpus is enough.
    for index, case in enumerate(CASES):
        directory = tmp_path / f"case{index:02d}"
        directory.mkdir()
        (directory / case.filename).write_bytes(case.content)
    (tmp_path / "normal.py").write_text(BLOCKING)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    outcomes = [run_cli("check", "--no-cache", jobs, str(tmp_path)) for jobs in ("-j1", "-j2")]
    for outcome in outcomes:
        outcome.assert_no_crash()
    assert outcomes[0].stdout == outcomes[1].stdout
    # `poollint engines` reads the same files: a warning each, never a crash.
    for output_format in ("text", "json"):
        engines = run_cli("engines", "--output-format", output_format, str(tmp_path))
        assert engines.exit_code == 0, engines.stdout + engines.stderr
        assert "Traceback" not in engines.stderr and "internal error" not in engines.stderr
    # Fixing: files poollint cannot read are never written; the others still parse.
    fixed = run_cli("check", "--no-cache", "-j2", "--fix", "--unsafe-fixes", str(tmp_path))
    fixed.assert_no_crash()
    unreadable = {Path(f.path) for f in outcomes[0].findings if f.code.startswith("POL9")}
    assert len(unreadable) > 10
    for path in unreadable:
        assert path.read_bytes() == before[path], path
    assert (tmp_path / "normal.py").read_text() != BLOCKING
    assert leftovers(tmp_path) == []


def test_a_5_mb_generated_file_is_checked(project: Path) -> None:
    # Generated modules (lookup tables, protobuf code) reach megabytes; one
    # of them must neither crash the run nor hold it up for minutes.
    rows = ["'''Generated: a lookup table, as code generators write them.'''", "TABLE = ["]
    size = 0
    index = 0
    while size < 5_000_000:
        row = f"    ({index}, 'name-{index:08d}', {index * 0.5!r}, b'\\x00\\x01', None),  # row {index}"
        rows.append(row)
        size += len(row) + 1
        index += 1
    rows.append("]")
    rows.extend(f"def lookup_{i}(key):\n    return TABLE[key % {i + 1}]\n" for i in range(2000))
    (project / "generated.py").write_text("\n".join(rows) + "\n")
    assert (project / "generated.py").stat().st_size > 5_000_000
    outcome = run_cli("check", "--no-cache", ".")
    outcome.assert_no_crash()
    outcome.assert_normal_file_still_checked()
    assert outcome.of("generated.py") == []


def _unreadable_by_this_user(path: Path) -> bool:
    path.chmod(0)
    return not os.access(path, os.R_OK)


def test_an_unreadable_file_mode_000(project: Path) -> None:
    target = project / "secret.py"
    target.write_text(BLOCKING)
    try:
        if not _unreadable_by_this_user(target):
            pytest.skip("mode 000 does not stop this user (root) from reading; see the simulated test")
        outcome = run_cli("check", ".")
    finally:
        target.chmod(0o644)
    outcome.assert_no_crash()
    outcome.assert_normal_file_still_checked()
    assert [(f.code, f.message) for f in outcome.of("secret.py")] == [("POL901", "cannot read file: Permission denied")]


def test_an_unreadable_file_simulated(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What mode 000 does for anyone but root, whoever runs the tests.
    target = project / "secret.py"
    target.write_text(BLOCKING)
    real_read_bytes = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "secret.py":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    outcome = run_cli("check", "--fix", ".")
    outcome.assert_no_crash()
    assert [(f.code, f.message) for f in outcome.of("secret.py")] == [("POL901", "cannot read file: Permission denied")]
    assert target.read_text() == BLOCKING
    assert "asyncio.sleep" in (project / "normal.py").read_text()


def _remove_gone(project: Path) -> None:
    gone = project / "gone.py"
    if gone.exists():
        gone.unlink()


@pytest.mark.parametrize("moment", ["after-discovery", "between-the-passes", "before-writing-fixes"])
def test_a_file_removed_while_the_run_is_under_way(project: Path, monkeypatch: pytest.MonkeyPatch, moment: str) -> None:
    from poollint import cli, engine, runner

    (project / "gone.py").write_text(BLOCKING)
    (project / "later.py").write_text(BLOCKING)
    if moment == "after-discovery":
        discover = cli.discover_files
        monkeypatch.setattr(cli, "discover_files", lambda *a, **k: (discover(*a, **k), _remove_gone(project))[0])
    elif moment == "between-the-passes":
        build = engine.build_index
        monkeypatch.setattr(engine, "build_index", lambda *a, **k: (build(*a, **k), _remove_gone(project))[0])
    else:
        write = runner.write_atomic
        monkeypatch.setattr(runner, "write_atomic", lambda *a, **k: (_remove_gone(project), write(*a, **k))[1])
    outcome = run_cli("check", "--fix", ".")
    outcome.assert_no_crash()
    assert [(f.code, f.message) for f in outcome.of("gone.py")] == [("POL901", "cannot read file: No such file or directory")]
    assert not (project / "gone.py").exists(), "a file removed is not written back"
    assert "asyncio.sleep" in (project / "later.py").read_text()
    assert "asyncio.sleep" in (project / "normal.py").read_text()
    assert leftovers(project) == []


symlinks = pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="needs POSIX symlinks")


@symlinks
def test_a_broken_symlink(project: Path) -> None:
    (project / "dangling.py").symlink_to(project / "missing.py")
    outcome = run_cli("check", ".")
    outcome.assert_no_crash()
    outcome.assert_normal_file_still_checked()
    assert [(f.code, f.message) for f in outcome.of("dangling.py")] == [("POL901", "cannot read file: No such file or directory")]


@symlinks
@pytest.mark.parametrize("given", ["the-directory", "the-link-first", "the-link-last"])
def test_a_file_symlink_loop(project: Path, given: str) -> None:
    # `self.py -> self.py`: given first on the command line, it used to end
    # the run with a RuntimeError from Path.resolve() (Python < 3.13).
    (project / "self.py").symlink_to(project / "self.py")
    args = {"the-directory": ["."], "the-link-first": ["self.py", "normal.py"], "the-link-last": ["normal.py", "self.py"]}
    outcome = run_cli("check", *args[given])
    outcome.assert_no_crash()
    outcome.assert_normal_file_still_checked()
    assert [f.code for f in outcome.of("self.py")] == ["POL901"]
    assert "symbolic links" in outcome.of("self.py")[0].message


@symlinks
def test_directory_symlink_loops_are_never_followed(project: Path) -> None:
    (project / "pkg").mkdir()
    (project / "pkg" / "a.py").write_text(BLOCKING)
    (project / "pkg" / "up").symlink_to(project, target_is_directory=True)
    (project / "pkg" / "self").symlink_to(project / "pkg", target_is_directory=True)
    (project / "a").symlink_to(project / "b", target_is_directory=True)
    (project / "b").symlink_to(project / "a", target_is_directory=True)
    outcome = run_process("check", "--no-cache", ".", cwd=project, timeout=60)
    outcome.assert_no_crash()
    assert sorted(outcome.codes_by_file()) == ["normal.py", "pkg/a.py"]


def test_a_path_that_does_not_exist(project: Path) -> None:
    outcome = run_cli("check", "normal.py", "nope.py")
    assert outcome.exit_code == 2
    assert outcome.stdout == ""
    assert outcome.stderr == "poollint: error: path 'nope.py' does not exist\n"


@pytest.mark.skipif(sys.platform == "darwin" or os.name == "nt", reason="file names there must be valid Unicode")
def test_a_file_name_that_is_not_utf8_and_a_message_quoting_a_lone_surrogate(project: Path) -> None:
    # A strict UTF-8 stdout (PYTHONIOENCODING, most desktop locales) used to
    # raise UnicodeEncodeError printing these, after every file was checked.
    name = os.fsdecode(b"caf\xe9.py")
    (project / name).write_text(BLOCKING)
    (project / "routes.py").write_text(
        "import time\n"
        "from fastapi import FastAPI\n"
        "app = FastAPI()\n"
        "@app.get('/\\ud800')\n"
        "async def index():\n"
        "    time.sleep(1)\n"
    )
    outcome = run_process("check", "--no-cache", ".", cwd=project, env={"PYTHONIOENCODING": "utf-8:strict"})
    outcome.assert_no_crash()
    outcome.assert_normal_file_still_checked()
    assert "caf\\xe9.py:5:5: POL101" in outcome.stdout  # the name's own byte, as the test decodes it
    assert "routes.py:6:5: POL101 [*] time.sleep() blocks the event loop in async route GET /\\ud800 (index)" in outcome.stdout


def test_a_database_port_that_is_a_digit_but_not_a_number(project: Path) -> None:
    # "²" passes str.isdigit() and fails int(): POL306 ended in an internal error.
    (project / "pyproject.toml").write_text("[tool.poollint.pool]\nworkers = 4\nmax-connections = 50\n")
    (project / "db.py").write_text(
        "from fastapi import FastAPI\n"
        "from sqlalchemy import create_engine\n"
        "from sqlalchemy.orm import sessionmaker\n"
        "app = FastAPI()\n"
        'engine = create_engine("postgresql://app@db:\u00b2/shop", pool_size=5, max_overflow=10, pool_recycle=300, pool_pre_ping=True)\n'
        "Session = sessionmaker(bind=engine)\n"
        "@app.get('/')\n"
        "def index():\n"
        "    with Session() as session:\n"
        "        session.execute('SELECT 1')\n"
    )
    outcome = run_cli("check", ".")
    outcome.assert_no_crash()
    outcome.assert_normal_file_still_checked()
    assert "POL306" in [f.code for f in outcome.of("db.py")]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_called_py_in_a_directory_is_not_waited_on(project: Path) -> None:
    # Opening a FIFO for reading blocks until someone writes: the walk keeps
    # regular files (and links to them) only.
    os.mkfifo(project / "pipe.py")
    outcome = run_process("check", "--no-cache", ".", cwd=project, timeout=60)
    outcome.assert_no_crash()
    outcome.assert_normal_file_still_checked()
    assert outcome.of("pipe.py") == []
