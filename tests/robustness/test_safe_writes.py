"""--fix never leaves a file half-written nor changed in any way but the fix (issue 6, fourth promise).

A fixed file replaces the old one in one rename (writer.py), with the old
one's mode, owner, encoding and newlines. A run that stops (a fix that
raises, Ctrl-C, a full disk) leaves every file either as it was or as fixed,
and no temporary file behind. A read-only file that needs a fix is reported.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import List

import libcst as cst
import pytest

from poollint.rule import Fix, FixSafety, PoolRule

from .helpers import BLOCKING, SRC, leftovers, run_cli

FIXED_TAIL = "    await asyncio.sleep(1)\n"


def _fixed(text: str) -> bool:
    return "await asyncio.sleep(1)" in text and "time.sleep" not in text


# -- atomic replace ---------------------------------------------------------------


def test_a_fix_is_written_to_a_temporary_file_then_renamed_over_the_original(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from poollint import writer

    seen: List[tuple] = []
    real_replace = os.replace

    def replace(source: str, destination: "os.PathLike[str]") -> None:
        # At the moment of the rename: the new bytes are whole and on disk
        # beside the file, and the file itself is still the old one.
        if Path(destination).name == "normal.py":
            seen.append((Path(source).parent, Path(source).read_text(), Path(destination).read_text()))
        real_replace(source, destination)

    monkeypatch.setattr(writer.os, "replace", replace)
    inode = os.stat(project / "normal.py").st_ino
    outcome = run_cli("check", "--fix", "normal.py")
    assert outcome.exit_code == 0
    [(directory, new, old)] = seen
    assert directory == project
    assert _fixed(new) and old == BLOCKING
    assert (project / "normal.py").read_text() == new
    assert os.stat(project / "normal.py").st_ino != inode, "a new file, never the old one rewritten in place"
    assert leftovers(project) == []


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755, 0o444])
def test_the_file_keeps_its_mode(project: Path, mode: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from poollint import writer

    target = project / "normal.py"
    target.chmod(mode)
    if mode == 0o444:
        # Only root gets here: anyone else is told the file is read-only
        # (test_a_read_only_file_that_needs_a_fix_is_reported).
        monkeypatch.setattr(writer.os, "access", lambda path, how: True)
    run_cli("check", "--fix", "normal.py")
    assert _fixed(target.read_text())
    assert stat.S_IMODE(target.stat().st_mode) == mode


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root may give a file to another owner")
def test_the_file_keeps_its_owner(project: Path) -> None:
    # A container running as root over a mounted checkout must not hand the
    # user's files to root.
    target = project / "normal.py"
    os.chown(target, 4321, 8765)
    run_cli("check", "--fix", "normal.py")
    assert _fixed(target.read_text())
    assert (target.stat().st_uid, target.stat().st_gid) == (4321, 8765)


@pytest.mark.skipif(os.name == "nt", reason="needs POSIX symlinks")
def test_a_symlink_stays_a_symlink_and_its_target_is_fixed(project: Path) -> None:
    (project / "real").mkdir()
    (project / "normal.py").rename(project / "real" / "module.py")
    (project / "normal.py").symlink_to(project / "real" / "module.py")
    run_cli("check", "--fix", "normal.py")
    assert (project / "normal.py").is_symlink()
    assert _fixed((project / "real" / "module.py").read_text())
    assert leftovers(project) == []


# -- encoding and newlines --------------------------------------------------------


@pytest.mark.parametrize(
    "name, before, after",
    [
        (
            "latin-1 with its coding line",
            "# -*- coding: latin-1 -*-\nimport time\n\n\nasync def caf\u00e9():\n    time.sleep(1)  # d\u00e9j\u00e0\n".encode("latin-1"),
            "# -*- coding: latin-1 -*-\nimport time\nimport asyncio\n\n\nasync def caf\u00e9():\n"
            "    await asyncio.sleep(1)  # d\u00e9j\u00e0\n".encode("latin-1"),
        ),
        (
            "latin-1 and CRLF together",
            "# -*- coding: latin-1 -*-\r\nimport time\r\n\r\nasync def caf\u00e9():\r\n    time.sleep(1)  # d\u00e9j\u00e0\r\n".encode("latin-1"),
            "# -*- coding: latin-1 -*-\r\nimport time\r\nimport asyncio\r\n\r\nasync def caf\u00e9():\r\n"
            "    await asyncio.sleep(1)  # d\u00e9j\u00e0\r\n".encode("latin-1"),
        ),
        (
            "cp1252 with its coding line",
            "# coding: cp1252\nimport time\n\n\nasync def handler():\n    time.sleep(1)  # \u20ac\n".encode("cp1252"),
            "# coding: cp1252\nimport time\nimport asyncio\n\n\nasync def handler():\n"
            "    await asyncio.sleep(1)  # \u20ac\n".encode("cp1252"),
        ),
        (
            "a UTF-8 BOM",
            b"\xef\xbb\xbf" + BLOCKING.encode(),
            b"\xef\xbb\xbfimport time\nimport asyncio\n\n\nasync def handler():\n" + FIXED_TAIL.encode(),
        ),
        (
            "UTF-8 without a BOM",
            BLOCKING.replace("handler", "h\u00e4ndler").encode(),
            "import time\nimport asyncio\n\n\nasync def h\u00e4ndler():\n".encode() + FIXED_TAIL.encode(),
        ),
        (
            "CRLF",
            BLOCKING.replace("\n", "\r\n").encode(),
            b"import time\r\nimport asyncio\r\n\r\n\r\nasync def handler():\r\n    await asyncio.sleep(1)\r\n",
        ),
        (
            "CR alone, no CR at the end",
            BLOCKING.rstrip("\n").replace("\n", "\r").encode(),
            b"import time\rimport asyncio\r\r\rasync def handler():\r    await asyncio.sleep(1)",
        ),
        (
            # Lines the fix does not touch keep their own ending; new ones take the first line's.
            "mixed newlines",
            b"import time\r\n\n\r\nasync def handler():\n    time.sleep(1)\r\n",
            b"import time\r\nimport asyncio\r\n\n\r\nasync def handler():\n    await asyncio.sleep(1)\r\n",
        ),
        (
            "no newline at the end",
            BLOCKING.rstrip("\n").encode(),
            b"import time\nimport asyncio\n\n\nasync def handler():\n    await asyncio.sleep(1)",
        ),
        (
            "tabs and form feeds",
            b"import time\n\x0c\n\nasync def handler():\n\ttime.sleep(1)  \x0c\n",
            b"import time\nimport asyncio\n\x0c\n\nasync def handler():\n\tawait asyncio.sleep(1)  \x0c\n",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_the_fixed_file_keeps_its_encoding_and_newlines(project: Path, name: str, before: bytes, after: bytes) -> None:
    target = project / "normal.py"
    target.write_bytes(before)
    outcome = run_cli("check", "--fix", "normal.py")
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert target.read_bytes() == after
    assert run_cli("check", "--fix", "normal.py").exit_code == 0
    assert target.read_bytes() == after, "fixing again changes nothing"


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(BLOCKING.replace("\n", "\r").encode(), id="CR alone, with a CR at the end"),
        pytest.param(b"\x0cimport time\n\n\nasync def handler():\n    time.sleep(1)\n", id="a form feed before a statement"),
    ],
)
def test_a_file_libcst_would_not_write_back_unchanged_is_reported_not_fixed(project: Path, content: bytes) -> None:
    # libcst drops these bytes when it writes a module back (the last lone CR,
    # a form feed before a statement); a fix would have changed them too.
    target = project / "normal.py"
    target.write_bytes(content)
    outcome = run_cli("check", "--no-cache", "--fix", "normal.py")
    assert outcome.exit_code == 1
    assert target.read_bytes() == content
    assert [f.code for f in outcome.findings] == ["POL101"]
    assert outcome.stderr == (
        "warning: normal.py: fixes not applied: libcst would not write the rest of this file back unchanged\n"
    )


# -- interrupted runs -------------------------------------------------------------


class BreaksOnItsSecondRound(PoolRule):
    """Fixes `go()` to `went()`, then raises on the fixed code: a rule bug midway through a file's fixes."""

    CODE = "POL991"
    NAME = "breaks-on-its-second-round"
    MESSAGE = "go() call"
    TRIGGERS = ("go", "went")

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "went":
            raise RuntimeError("a bug in the rule, on code its own fix wrote")
        if isinstance(node.func, cst.Name) and node.func.value == "go":
            self.report(node, fix=Fix(node, node.with_changes(func=cst.Name("went")), FixSafety.SAFE))


class RenamesGo(PoolRule):
    """Fixes `go()` to `went()` and is satisfied with it."""

    CODE = "POL992"
    NAME = "renames-go"
    MESSAGE = "go() call"
    TRIGGERS = ("go(",)

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "go":
            self.report(node, fix=Fix(node, node.with_changes(func=cst.Name("went")), FixSafety.SAFE))


def test_a_fix_that_raises_midway_leaves_that_file_as_it_was(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from poollint import cli

    (project / "a.py").write_text("go()\n")
    (project / "b.py").write_text("x = 1\ngo()\n")
    monkeypatch.setattr(cli, "select_rules_for_settings", lambda rules, settings: [BreaksOnItsSecondRound])
    outcome = run_cli("check", "--no-cache", "--fix", "a.py", "b.py")
    assert outcome.exit_code == 2, "a bug in poollint exits 2"
    assert [f.code for f in outcome.findings] == ["POL904", "POL904"]
    assert "a bug in the rule" in outcome.findings[0].message
    assert (project / "a.py").read_text() == "go()\n"
    assert (project / "b.py").read_text() == "x = 1\ngo()\n"
    assert leftovers(project) == []


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temporary_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from poollint import writer

    (project / "other.py").write_text(BLOCKING)
    real_fsync = os.fsync
    calls = []

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(writer.os, "fsync", fsync)
    outcome = run_cli("check", "--no-cache", "--fix", "normal.py", "other.py")
    assert "normal.py: cannot write fixes: No space left on device" in outcome.stderr
    assert (project / "normal.py").read_text() == BLOCKING
    assert [f.code for f in outcome.of("normal.py")] == ["POL101"], "the finding the fix would have settled stays"
    assert _fixed((project / "other.py").read_text()), "the next file is still fixed"
    assert leftovers(project) == []
    assert outcome.exit_code == 1


def test_a_rename_that_fails_leaves_the_old_file_and_no_temporary_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from poollint import writer

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer.os, "replace", fail)
    outcome = run_cli("check", "--no-cache", "--fix", "normal.py")
    assert (project / "normal.py").read_text() == BLOCKING
    assert leftovers(project) == []
    assert "No space left on device" in outcome.stderr


_INTERRUPT_AT_SECOND_WRITE = textwrap.dedent(
    """
    import os, signal, sys
    from poollint import writer

    written = []
    real_fsync = os.fsync

    def fsync(fd):
        real_fsync(fd)
        written.append(fd)
        if len(written) == 2:
            # Ctrl-C while the second fixed file is on its way to disk.
            os.kill(os.getpid(), signal.SIGINT)

    writer.os.fsync = fsync
    from poollint.cli import main
    main(["check", "--no-cache", "-j1", "--fix", "a.py", "b.py", "c.py"], prog_name="poollint")
    """
)

_INTERRUPT_WHILE_WORKERS_CHECK = textwrap.dedent(
    """
    import os, signal, sys
    from concurrent.futures import Future

    real_result = Future.result

    def result(self, timeout=None):
        # Ctrl-C while the worker processes are checking files.
        os.kill(os.getpid(), signal.SIGINT)
        return real_result(self, timeout)

    Future.result = result
    from poollint.cli import main
    main(["check", "--no-cache", "-j2", "--fix", "."], prog_name="poollint")
    """
)


def _run_script(script: str, cwd: Path) -> "subprocess.CompletedProcess[str]":
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])))
    return subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.skipif(os.name == "nt", reason="sends itself SIGINT")
def test_ctrl_c_while_writing_leaves_every_file_old_or_new(project: Path) -> None:
    for name in ("a.py", "b.py", "c.py"):
        (project / name).write_text(BLOCKING)
    completed = _run_script(_INTERRUPT_AT_SECOND_WRITE, project)
    assert completed.returncode == 130, completed.stderr
    assert completed.stderr == "poollint: interrupted\n"
    assert "Traceback" not in completed.stdout + completed.stderr
    assert _fixed((project / "a.py").read_text())
    # b.py was on its way: its temporary file is gone and the file is whole.
    assert (project / "b.py").read_text() == BLOCKING
    assert (project / "c.py").read_text() == BLOCKING
    assert leftovers(project) == []


@pytest.mark.skipif(os.name == "nt", reason="sends itself SIGINT")
def test_ctrl_c_while_worker_processes_check_writes_nothing(project: Path) -> None:
    # Files are written only once every result is in: stopped before, none is.
    for index in range(30):
        (project / f"m{index:02d}.py").write_text(BLOCKING)
    completed = _run_script(_INTERRUPT_WHILE_WORKERS_CHECK, project)
    assert completed.returncode == 130, completed.stderr
    assert completed.stderr == "poollint: interrupted\n"
    assert all(path.read_text() == BLOCKING for path in project.glob("*.py"))
    assert leftovers(project) == []


# -- files that cannot be written ----------------------------------------------------


def test_a_read_only_file_that_needs_a_fix_is_reported(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from poollint import writer

    target = project / "normal.py"
    target.chmod(0o444)
    (project / "other.py").write_text(BLOCKING)
    if os.access(target, os.W_OK):
        # Root may write anything: have the permission check say what it says to anyone else.
        real_access = os.access
        monkeypatch.setattr(
            writer.os, "access", lambda path, how: False if Path(path).name == "normal.py" else real_access(path, how)
        )
    outcome = run_cli("check", "--no-cache", "--fix", ".")
    assert outcome.exit_code == 1
    assert "normal.py: cannot write fixes: the file is read-only" in outcome.stderr
    assert [f.code for f in outcome.of("normal.py")] == ["POL101"]
    assert target.read_text() == BLOCKING
    assert stat.S_IMODE(target.stat().st_mode) == 0o444
    assert _fixed((project / "other.py").read_text())
    assert leftovers(project) == []


def test_a_directory_where_no_file_can_be_created(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    (project / "locked").mkdir()
    (project / "locked" / "inner.py").write_text(BLOCKING)
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args: object, dir: object = None, **kwargs: object):  # type: ignore[no-untyped-def]
        if dir is not None and Path(str(dir)).name == "locked":
            raise PermissionError(13, "Permission denied", str(dir))
        return real_mkstemp(*args, dir=dir, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    outcome = run_cli("check", "--no-cache", "--fix", ".")
    assert "locked/inner.py: cannot write fixes: Permission denied" in outcome.stderr.replace(os.sep, "/")
    assert (project / "locked" / "inner.py").read_text() == BLOCKING
    assert _fixed((project / "normal.py").read_text())
    assert leftovers(project) == []
