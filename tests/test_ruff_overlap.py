"""Which POL101-POL104 findings ruff reports too (rules/event_loop/_ruff.py),
and ruff's noqa comments silencing the matching finding (ruff_noqa.py).

A finding says ruff reports its call only where ruff surely does: checked
line by line against the real ruff when it is installed. A finding that says
so wrongly would be dropped while ruff stays silent.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional, Set, Tuple

import pytest

from poollint.config import Settings
from poollint.diagnostic import Diagnostic
from poollint.rules import RULES_BY_CODE
from poollint.ruff_config import OVERLAP_CODES
from poollint.ruff_noqa import FileDirectives, file_directives
from poollint.rules.event_loop import _ruff as overlap
from poollint.testing import lint_source

RULES = [RULES_BY_CODE[code] for code in ("POL101", "POL102", "POL103", "POL104")]

# `# reports: CODE`: poollint's finding says ruff reports it with CODE;
# `# reports: -`: it says ruff does not (and ruff must not, but where the line
# also says `conservative`: there ruff does, and poollint keeps its finding).
CALLS = '''\
import os
import subprocess
import time
import time as t
from pathlib import Path
from time import sleep

import httpx
import requests

BASE = Path("/srv")
ROOT = Path("/srv")
ROOT = Path("/var")
CLIENT = httpx.Client()
SHARED = httpx.Client()
SHARED = httpx.Client(timeout=5)


def wait_a_bit():
    time.sleep(0.1)


async def direct(annotated: Path, untyped):
    sum(time.sleep(0) or 1 for _ in range(1))  # reports: ASYNC251
    sum(t.sleep(0) or 1 for _ in range(1))  # reports: ASYNC251
    sum(sleep(0) or 1 for _ in range(1))  # reports: ASYNC251
    wait_a_bit()  # reports: -
    requests.get("https://a.example")  # reports: ASYNC210
    requests.request("GET", "https://a.example")  # reports: ASYNC210
    requests.api.get("https://a.example")  # reports: -
    httpx.stream("GET", "https://a.example")  # reports: -
    CLIENT.get("https://a.example")  # reports: ASYNC212
    SHARED.get("https://a.example")  # reports: -
    httpx.Client().get("https://a.example")  # reports: -
    local = httpx.Client()
    local.post("https://a.example")  # reports: ASYNC212
    again = httpx.Client()
    again = httpx.Client(timeout=1)
    again.post("https://a.example")  # reports: -
    session = requests.Session()
    session.get("https://a.example")  # reports: -
    subprocess.check_output(["ls"])  # reports: ASYNC221
    os.popen("ls")  # reports: ASYNC220
    subprocess.Popen(["ls"]).wait()  # reports: ASYNC220
    process = subprocess.Popen(["ls"])
    process.wait()  # reports: -
    open("x")  # reports: ASYNC230
    BASE.read_text()  # reports: ASYNC240
    BASE.open()  # reports: ASYNC230
    ROOT.read_text()  # reports: -
    ROOT.open()  # reports: - conservative: ruff types the last binding for ASYNC230
    (BASE / "x").read_text()  # reports: -
    annotated.read_text()  # reports: ASYNC240
    annotated.open()  # reports: -
    Path("x").write_text("")  # reports: ASYNC240
    Path.cwd().read_text()  # reports: -
    mine = Path("x")
    mine.read_bytes()  # reports: ASYNC240
    mine.open()  # reports: ASYNC230


async def with_a_class_body():
    # ruff's async context ends at a class body.
    class Inner:
        time.sleep(0)  # reports: -

    return Inner
'''

_REPORTS = re.compile(r"#\s*reports:\s*(?P<code>ASYNC\d{3}|-)(?P<conservative>.*conservative)?")


def _expected() -> Dict[int, Tuple[Optional[str], bool]]:
    found = {}
    for number, line in enumerate(CALLS.splitlines(), start=1):
        match = _REPORTS.search(line)
        if match:
            code = None if match.group("code") == "-" else match.group("code")
            found[number] = (code, bool(match.group("conservative")))
    return found


EXPECTED = _expected()


def _settings() -> Settings:
    return Settings(project_root=Path("/virtual"), config_path=None)


def _findings(source: str) -> Dict[int, Diagnostic]:
    result = lint_source(source, RULES, settings=_settings())
    return {d.line: d for d in result.diagnostics}


def test_every_marked_line_is_a_finding_saying_whether_ruff_reports_it() -> None:
    found = _findings(CALLS)
    assert set(found) == set(EXPECTED)
    for line, (code, _conservative) in EXPECTED.items():
        assert found[line].ruff_code == code, (line, CALLS.splitlines()[line - 1])


def _ruff() -> Optional[str]:
    beside = Path(sys.executable).parent / "ruff"
    return str(beside) if beside.exists() else shutil.which("ruff")


@pytest.mark.skipif(_ruff() is None, reason="ruff is not installed")
def test_ruff_reports_exactly_the_calls_poollint_says_it_does(tmp_path: Path) -> None:
    (tmp_path / "calls.py").write_text(CALLS, encoding="utf-8")
    done = subprocess.run(
        [_ruff(), "check", "--isolated", "--no-cache", "--exit-zero", "--select", "ASYNC", "--output-format", "json", "calls.py"],  # type: ignore[list-item]
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    ruff: Set[Tuple[int, str]] = {(item["location"]["row"], item["code"]) for item in json.loads(done.stdout)}
    for line, (code, conservative) in EXPECTED.items():
        reported = {c for row, c in ruff if row == line}
        if code is not None:
            assert reported == {code}, line
        elif not conservative:
            assert not reported & set(OVERLAP_CODES), (line, reported)
        else:
            assert reported, f"line {line} is marked conservative, but ruff does not report it"


def test_each_finding_says_from_which_ruff_on_ruff_reports_it() -> None:
    found = _findings(CALLS)
    since = {}
    for line, diagnostic in found.items():
        text = CALLS.splitlines()[line - 1].strip()
        since[text.split("(", 1)[0]] = diagnostic.ruff_since
    assert since["sum"] == overlap.OLDEST  # time.sleep() in a generator
    assert since["requests.get"] == overlap.OLDEST
    assert since["requests.request"] == (0, 17, 0)
    assert since["CLIENT.get"] == since["local.post"] == (0, 15, 0)
    assert since["BASE.read_text"] == since["annotated.read_text"] == (0, 17, 6)
    assert since["BASE.open"] == since["mine.open"] == overlap.OLDEST
    assert since["requests.api.get"] is None and since["wait_a_bit"] is None


def test_the_codes_of_the_rules_and_of_the_configuration_agree() -> None:
    codes = {value for name, value in vars(overlap).items() if re.fullmatch(r"ASYNC\d{3}", name)}
    assert codes == set(OVERLAP_CODES)
    assert set(overlap.RUFF_CALLS.values()) <= codes
    for rule in RULES:
        assert set(rule.RUFF_EQUIVALENT) <= codes


# -- noqa -------------------------------------------------------------------------

NOQA = """\
import subprocess
import time

import requests


def wait_a_bit():
    time.sleep(0.1)


async def handler():
    sum(time.sleep(0) or 1 for _ in range(1))  # noqa: ASYNC251
    sum(time.sleep(0) or 1 for _ in range(1))  # noqa: ASYNC210
    sum(time.sleep(0) or 1 for _ in range(1))  # noqa: ASYNC25
    sum(time.sleep(0) or 1 for _ in range(1))  # noqa: E501, ASYNC251 -- a reason
    sum(time.sleep(0) or 1 for _ in range(1)); requests.get("x")  # noqa: ASYNC251
    time.sleep(1)  # noqa: ASYNC251
    wait_a_bit()  # noqa: ASYNC251
    process = subprocess.Popen(["ls"])
    process.wait()  # noqa: ASYNC222
    process.wait()  # noqa: ASYNC220
    sum(time.sleep(0) or 1 for _ in range(1))  # ruff: noqa: ASYNC251
"""


def test_an_async_code_in_noqa_silences_the_matching_finding_only() -> None:
    found = {(d.line, d.code) for d in lint_source(NOQA, RULES, settings=_settings()).diagnostics}
    assert found == {
        (13, "POL101"),  # ASYNC210 is not this call's code
        (14, "POL101"),  # ruff reads no prefixes in noqa
        (16, "POL102"),  # the other finding on the line stays
        (21, "POL103"),  # Popen's wait() matches ASYNC222, not ASYNC220
        (22, "POL101"),  # `# ruff: noqa` after code is not a directive, for ruff either
    }


@pytest.mark.skipif(_ruff() is None, reason="ruff is not installed")
def test_ruff_reads_those_noqa_comments_alike(tmp_path: Path) -> None:
    (tmp_path / "noqa.py").write_text(NOQA, encoding="utf-8")
    done = subprocess.run(
        [_ruff(), "check", "--isolated", "--no-cache", "--exit-zero", "--select", "ASYNC", "--output-format", "json", "noqa.py"],  # type: ignore[list-item]
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = {item["location"]["row"] for item in json.loads(done.stdout)}
    # Where ruff's finding survives its noqa, poollint's does too, and the
    # reverse; ruff reports the Popen (19), poollint its wait() (20, 21), and
    # only ruff follows no helper (18).
    assert rows == {13, 14, 16, 19, 22}


def test_file_level_directives() -> None:
    assert file_directives("# ruff: noqa\nx = 1\n") == FileDirectives(exempt=True)
    assert file_directives("# flake8: NOQA\n") == FileDirectives(exempt=True)
    assert file_directives("# generated # ruff: noqa because it is generated\n") == FileDirectives(exempt=True)
    assert file_directives("#ruff:noqa:ASYNC251,ASYNC210\n") == FileDirectives(codes=frozenset({"ASYNC251", "ASYNC210"}))
    assert file_directives("    # flake8: noqa: ASYNC210 ASYNC221 why\n") == FileDirectives(
        codes=frozenset({"ASYNC210", "ASYNC221"})
    )
    # Not directives: after code, inside a string, a code list ruff refuses,
    # a tool name not in lower case.
    for source in (
        "x = 1  # ruff: noqa\n",
        's = """\n# ruff: noqa\n"""\n',
        "# ruff: noqa: async251\n",
        "# ruff: noqa: ASYNC\n",
        "# Ruff: noqa\n",
        "# ruff: noqa; not a directive\n",
        "# a note on `# ruff: noqa` in prose\n",
    ):
        assert file_directives(source) == FileDirectives(), source
    assert file_directives(b"# ruff: noqa: ASYNC251\r\n") == FileDirectives(codes=frozenset({"ASYNC251"}))


FILE_LEVEL = """\
# ruff: noqa: ASYNC251
import time

import requests


async def handler():
    sum(time.sleep(0) or 1 for _ in range(1))
    requests.get("https://a.example")
"""


def test_a_file_level_ruff_noqa_silences_the_matching_findings_of_the_file() -> None:
    found = lint_source(FILE_LEVEL, RULES, settings=_settings()).diagnostics
    assert [(d.line, d.code, d.ruff_code) for d in found] == [(9, "POL102", "ASYNC210")]


def test_a_file_ruff_skips_leaves_nothing_to_ruff() -> None:
    source = "# ruff: noqa\n" + FILE_LEVEL.split("\n", 1)[1]
    found = lint_source(source, RULES, settings=_settings()).diagnostics
    assert [(d.line, d.code, d.ruff_code) for d in found] == [(8, "POL101", None), (9, "POL102", None)]


DIRECTIVES = [
    "# ruff: noqa",
    "# flake8: NOQA",
    "# generated # ruff: noqa because it is generated",
    "#ruff:noqa:ASYNC251,ASYNC210",
    "    # flake8: noqa: ASYNC210 ASYNC221 why",
    "# ruff: noqa: ASYNC251",
    "# ruff: noqa: async251",
    "# ruff: noqa: ASYNC",
    "# Ruff: noqa",
    "# ruff: noqa; not a directive",
    "# a note on `# ruff: noqa` in prose",
    "x = 1  # ruff: noqa",
]


@pytest.mark.skipif(_ruff() is None, reason="ruff is not installed")
@pytest.mark.parametrize("directive", DIRECTIVES)
def test_file_directives_are_read_as_ruff_reads_them(tmp_path: Path, directive: str) -> None:
    source = (
        f"{directive}\nimport time\n\nimport requests\n\n\nasync def handler():\n"
        "    time.sleep(1)\n    requests.get('https://a.example')\n"
    )
    if directive.startswith(" "):
        source = f"if True:\n{directive}\n    pass\n" + source.split("\n", 1)[1]
    (tmp_path / "directive.py").write_text(source, encoding="utf-8")
    done = subprocess.run(
        [_ruff(), "check", "--isolated", "--no-cache", "--exit-zero", "--select", "ASYNC", "--output-format", "json", "directive.py"],  # type: ignore[list-item]
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    reported = {item["code"] for item in json.loads(done.stdout)}
    read = file_directives(source)
    assert reported == (set() if read.exempt else {"ASYNC251", "ASYNC210"} - read.codes)
