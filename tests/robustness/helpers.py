"""What the robustness tests share: the real command line, and a reading of its output.

Each test runs `poollint` as a user would (click's CliRunner on poollint.cli:main,
or a subprocess where a real process matters) and checks what it printed, its
exit code and the files on disk afterwards.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from clirunner import cli_runner as _runner

from poollint.cli import main

SRC = Path(__file__).resolve().parents[2] / "src"

# A file with one known finding: every hostile file sits beside it, and the
# test asserts this finding is still reported (the run went on).
BLOCKING = """\
import time


async def handler():
    time.sleep(1)
"""
BLOCKING_FINDING = ("normal.py", 5, "POL101")

FINDING = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<column>\d+): (?P<code>POL\d{3}) (?P<message>.*)$")


@dataclass
class Finding:
    path: str
    line: int
    column: int
    code: str
    message: str


@dataclass
class Outcome:
    """What one run printed and returned."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def findings(self) -> List[Finding]:
        found = []
        for line in self.stdout.splitlines():
            match = FINDING.match(line)
            if match:
                found.append(
                    Finding(match["path"], int(match["line"]), int(match["column"]), match["code"], match["message"])
                )
        return found

    def codes_by_file(self) -> Dict[str, List[str]]:
        by_file: Dict[str, List[str]] = {}
        for finding in self.findings:
            by_file.setdefault(finding.path, []).append(finding.code)
        return by_file

    def of(self, path: str) -> List[Finding]:
        return [f for f in self.findings if f.path == path]

    def assert_no_crash(self) -> None:
        """No traceback, no internal error: every problem was said in a line."""
        everything = self.stdout + self.stderr
        assert "Traceback" not in everything, everything
        assert "internal error" not in everything, everything
        assert "POL904" not in everything, everything
        assert self.exit_code in (0, 1), everything

    def assert_normal_file_still_checked(self) -> None:
        path, line, code = BLOCKING_FINDING
        assert [(f.line, f.code) for f in self.of(path)] == [(line, code)], self.stdout + self.stderr



def run_cli(*args: str) -> Outcome:
    """`poollint ARGS` through click's CliRunner, in this process."""
    result = _runner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # CliRunner swallows what would have been a traceback: make it one.
        raise AssertionError(f"poollint {' '.join(args)} raised {result.exception!r}") from result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


def run_process(*args: str, cwd: Path, env: Optional[Dict[str, str]] = None, timeout: float = 120) -> Outcome:
    """`python -m poollint ARGS` in a process of its own (signals, real streams)."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), environment.get("PYTHONPATH")]))
    environment.update(env or {})
    completed = subprocess.run(
        [sys.executable, "-m", "poollint", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        timeout=timeout,
    )
    return Outcome(
        completed.returncode,
        completed.stdout.decode("utf-8", "backslashreplace"),
        completed.stderr.decode("utf-8", "backslashreplace"),
    )


def leftovers(directory: Path) -> List[str]:
    """Temporary files a write may have left behind."""
    return sorted(p.name for p in directory.rglob("*") if "poollint-tmp" in p.name or p.name.startswith(".tmp"))
