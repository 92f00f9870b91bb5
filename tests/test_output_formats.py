"""Every --output-format, exactly, on one small project; escaping; SARIF against its schema."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Dict, List

import pytest
from clirunner import cli_runner as _runner

from poollint.cli import main
from poollint.diagnostic import Diagnostic, FileResult
from poollint.output import OutputOptions, emit
from poollint.reporters import FORMATS, Report, get_reporter
from poollint.reporters.github import escape_data, escape_property
from poollint.runner import RunResult
from sarif_schema import validate as validate_sarif

DATA = Path(__file__).resolve().parent / "data"
DOCS = "https://github.com/poollint/poollint/blob/main/docs/rules/"

SAMPLE = {
    "app/routes.py": """\
import time

import requests
from fastapi import FastAPI

app = FastAPI()


@app.get("/orders")
async def list_orders():
    time.sleep(1)
    return requests.get("http://stock.internal/orders").json()


@app.get("/stock")
async def stock():
    time.sleep(2)
    return []
""",
    "app/db.py": """\
from sqlalchemy import create_engine

engine = create_engine("sqlite:///shop.db", echo=True)
""",
    "app/broken.py": "def broken(:\n    pass\n",
}

ECHO = (
    "echo=True on create_engine() logs every statement with its parameters: slow under load and it leaks data "
    "into the logs; read it from settings or drop it"
)
SLEEP_ORDERS = "time.sleep() blocks the event loop in async route GET /orders (list_orders)"
SLEEP_STOCK = "time.sleep() blocks the event loop in async route GET /stock (stock)"
HTTP = "requests.get() blocks the event loop in async route GET /orders (list_orders)"
SYNTAX = "syntax error: invalid syntax"



def check(*args: str):
    return _runner().invoke(main, ["check", "--no-cache", "-j1", *args], catch_exceptions=False)


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository (it has a .git) holding the sample project; the current directory."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    for name, text in SAMPLE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    monkeypatch.chdir(root)
    for name in ("POOLLINT_OUTPUT_FORMAT", "POOLLINT_OUTPUT_FILE", "CI_PROJECT_DIR"):
        monkeypatch.delenv(name, raising=False)
    return root


SUMMARY = "Found 5 problems (2 fixable with --fix).\n1 hidden fix can be enabled with the --unsafe-fixes option.\n"

CONCISE = f"""\
app/broken.py:1:12: POL903 {SYNTAX}
app/db.py:3:45: POL305 {ECHO}
app/routes.py:11:5: POL101 [*] {SLEEP_ORDERS}
app/routes.py:12:12: POL102 {HTTP}
app/routes.py:17:5: POL101 [*] {SLEEP_STOCK}
"""

FULL = f"""\
app/broken.py:1:12: POL903 {SYNTAX}
  |
1 | def broken(:
  |            ^ POL903
2 |     pass
  |

app/db.py:3:45: POL305 {ECHO}
  |
1 | from sqlalchemy import create_engine
2 |
3 | engine = create_engine("sqlite:///shop.db", echo=True)
  |                                             ^^^^^^^^^ POL305
  |
  = help: Remove `echo`

app/routes.py:11:5: POL101 [*] {SLEEP_ORDERS}
   |
 9 | @app.get("/orders")
10 | async def list_orders():
11 |     time.sleep(1)
   |     ^^^^^^^^^^^^^ POL101
12 |     return requests.get("http://stock.internal/orders").json()
   |
  = help: Use `await asyncio.sleep(...)`

app/routes.py:12:12: POL102 {HTTP}
   |
10 | async def list_orders():
11 |     time.sleep(1)
12 |     return requests.get("http://stock.internal/orders").json()
   |            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ POL102
   |

app/routes.py:17:5: POL101 [*] {SLEEP_STOCK}
   |
15 | @app.get("/stock")
16 | async def stock():
17 |     time.sleep(2)
   |     ^^^^^^^^^^^^^ POL101
18 |     return []
   |
  = help: Use `await asyncio.sleep(...)`

"""

PYLINT = f"""\
app/broken.py:1: [POL903] {SYNTAX}
app/db.py:3: [POL305] {ECHO}
app/routes.py:11: [POL101] {SLEEP_ORDERS}
app/routes.py:12: [POL102] {HTTP}
app/routes.py:17: [POL101] {SLEEP_STOCK}
"""

GITHUB = f"""\
::error title=poollint (POL903),file=app/broken.py,line=1,col=12,endLine=1,endColumn=12::POL903 {SYNTAX}
::error title=poollint (POL305),file=app/db.py,line=3,col=45,endLine=3,endColumn=54::POL305 {ECHO}
::error title=poollint (POL101),file=app/routes.py,line=11,col=5,endLine=11,endColumn=18::POL101 {SLEEP_ORDERS}
::error title=poollint (POL102),file=app/routes.py,line=12,col=12,endLine=12,endColumn=56::POL102 {HTTP}
::error title=poollint (POL101),file=app/routes.py,line=17,col=5,endLine=17,endColumn=18::POL101 {SLEEP_STOCK}
"""

JUNIT = f"""\
<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="poollint" tests="5" failures="5" errors="0">
    <testsuite name="app/broken.py" tests="1" failures="1" errors="0">
        <testcase name="org.poollint.POL903" classname="app/broken" line="1" column="12">
            <failure message="{SYNTAX}">line 1, col 12, {SYNTAX}</failure>
        </testcase>
    </testsuite>
    <testsuite name="app/db.py" tests="1" failures="1" errors="0">
        <testcase name="org.poollint.POL305" classname="app/db" line="3" column="45">
            <failure message="{ECHO}">line 3, col 45, {ECHO}</failure>
        </testcase>
    </testsuite>
    <testsuite name="app/routes.py" tests="3" failures="3" errors="0">
        <testcase name="org.poollint.POL101" classname="app/routes" line="11" column="5">
            <failure message="{SLEEP_ORDERS}">line 11, col 5, {SLEEP_ORDERS}</failure>
        </testcase>
        <testcase name="org.poollint.POL102" classname="app/routes" line="12" column="12">
            <failure message="{HTTP}">line 12, col 12, {HTTP}</failure>
        </testcase>
        <testcase name="org.poollint.POL101" classname="app/routes" line="17" column="5">
            <failure message="{SLEEP_STOCK}">line 17, col 5, {SLEEP_STOCK}</failure>
        </testcase>
    </testsuite>
</testsuites>
"""


def _records(root: Path) -> List[Dict[str, Any]]:
    def at(row: int, column: int) -> Dict[str, int]:
        return {"row": row, "column": column}

    def sleep_fix(line: int, seconds: int) -> Dict[str, Any]:
        return {
            "applicability": "safe",
            "message": "Use `await asyncio.sleep(...)`",
            "edits": [
                {"content": "import asyncio\n", "location": at(5, 1), "end_location": at(5, 1)},
                {"content": f"await asyncio.sleep({seconds})", "location": at(line, 5), "end_location": at(line, 18)},
            ],
        }

    def record(path: str, code: str, name: str, message: str, start, end, fix, page: str) -> Dict[str, Any]:
        return {
            "code": code,
            "name": name,
            "message": message,
            "filename": str(root / path),
            "location": at(*start),
            "end_location": at(*end),
            "noqa_row": None if code == "POL903" else start[0],
            "url": DOCS + page,
            "fix": fix,
        }

    echo_fix = {
        "applicability": "unsafe",
        "message": "Remove `echo`",
        "edits": [{"content": 'create_engine("sqlite:///shop.db")', "location": at(3, 10), "end_location": at(3, 55)}],
    }
    return [
        record("app/broken.py", "POL903", "syntax-error", SYNTAX, (1, 12), (1, 12), None, "index.md#files-poollint-could-not-check"),
        record("app/db.py", "POL305", "echo-enabled", ECHO, (3, 45), (3, 54), echo_fix, "POL305.md"),
        record("app/routes.py", "POL101", "blocking-sleep", SLEEP_ORDERS, (11, 5), (11, 18), sleep_fix(11, 1), "POL101.md"),
        record("app/routes.py", "POL102", "blocking-http", HTTP, (12, 12), (12, 56), None, "POL102.md"),
        record("app/routes.py", "POL101", "blocking-sleep", SLEEP_STOCK, (17, 5), (17, 18), sleep_fix(17, 2), "POL101.md"),
    ]


def test_every_format_is_tested_here() -> None:
    tested = {"concise", "full", "pylint", "github", "junit", "json", "json-lines", "gitlab", "sarif"}
    assert set(FORMATS) == tested


def test_concise_marks_what_fix_would_fix_and_ends_with_the_summary(sample: Path) -> None:
    result = check()
    assert (result.exit_code, result.stdout, result.stderr) == (1, CONCISE + SUMMARY, "")
    assert check("--output-format", "concise").stdout == CONCISE + SUMMARY


def test_concise_marks_unsafe_fixes_too_when_they_are_allowed(sample: Path) -> None:
    result = check("--unsafe-fixes")
    assert f"app/db.py:3:45: POL305 [*] {ECHO}\n" in result.stdout
    assert result.stdout.endswith("Found 5 problems (3 fixable with --fix --unsafe-fixes).\n")


def test_full_shows_the_code_under_each_finding(sample: Path) -> None:
    result = check("--output-format", "full")
    assert (result.exit_code, result.stdout) == (1, FULL + SUMMARY)


@pytest.mark.parametrize(
    "name, expected", [("pylint", PYLINT), ("github", GITHUB), ("junit", JUNIT)], ids=["pylint", "github", "junit"]
)
def test_line_formats_print_their_document_alone(sample: Path, name: str, expected: str) -> None:
    result = check("--output-format", name)
    assert (result.exit_code, result.stdout, result.stderr) == (1, expected, "")


def test_json_has_ruffs_fields_with_fix_edits_and_the_rules_page(sample: Path) -> None:
    result = check("--output-format", "json")
    assert result.exit_code == 1
    assert result.stdout == json.dumps(_records(sample), indent=2, sort_keys=True) + "\n"


def test_json_lines_is_one_record_per_line(sample: Path) -> None:
    result = check("--output-format", "json-lines")
    expected = "".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in _records(sample))
    assert (result.exit_code, result.stdout) == (1, expected)


def test_json_edits_turn_the_file_into_what_fix_writes(sample: Path) -> None:
    records = json.loads(check("--output-format", "json", "--unsafe-fixes").stdout)
    (edits,) = [r["fix"]["edits"] for r in records if r["code"] == "POL305"]
    source = (sample / "app/db.py").read_text()
    lines = source.splitlines(keepends=True)
    (edit,) = edits
    start = sum(map(len, lines[: edit["location"]["row"] - 1])) + edit["location"]["column"] - 1
    end = sum(map(len, lines[: edit["end_location"]["row"] - 1])) + edit["end_location"]["column"] - 1
    edited = source[:start] + edit["content"] + source[end:]
    check("--fix", "--unsafe-fixes", "app/db.py")
    assert (sample / "app/db.py").read_text() == edited


def test_gitlab_code_quality_report(sample: Path) -> None:
    result = check("--output-format", "gitlab")
    issues = json.loads(result.stdout)
    assert [(i["check_name"], i["description"], i["severity"], i["location"]) for i in issues] == [
        ("POL903", f"POL903: {SYNTAX}", "major", {"path": "app/broken.py", "lines": {"begin": 1, "end": 1}}),
        ("POL305", f"POL305: {ECHO}", "major", {"path": "app/db.py", "lines": {"begin": 3, "end": 3}}),
        ("POL101", f"POL101: {SLEEP_ORDERS}", "major", {"path": "app/routes.py", "lines": {"begin": 11, "end": 11}}),
        ("POL102", f"POL102: {HTTP}", "major", {"path": "app/routes.py", "lines": {"begin": 12, "end": 12}}),
        ("POL101", f"POL101: {SLEEP_STOCK}", "major", {"path": "app/routes.py", "lines": {"begin": 17, "end": 17}}),
    ]
    assert result.stdout == json.dumps(issues, indent=2) + "\n"
    fingerprints = [i["fingerprint"] for i in issues]
    assert len(set(fingerprints)) == len(fingerprints)


def test_fingerprints_survive_edits_elsewhere_and_tell_twins_apart(sample: Path) -> None:
    routes = sample / "app/routes.py"
    routes.write_text(routes.read_text() + '\n\n@app.get("/again")\nasync def again():\n    time.sleep(1)\n')
    before = {(i["location"]["lines"]["begin"], i["fingerprint"]) for i in json.loads(check("--output-format", "gitlab").stdout)}
    routes.write_text("# A comment that moves every line down.\n\n" + routes.read_text())
    after = {(i["location"]["lines"]["begin"], i["fingerprint"]) for i in json.loads(check("--output-format", "gitlab").stdout)}
    assert {f for _, f in before} == {f for _, f in after}
    # `time.sleep(1)` twice in one file: same path, code and text, two fingerprints.
    twins = [f for line, f in before if line in (11, 23)]
    assert len(set(twins)) == 2


def test_sarif_validates_against_the_official_schema(sample: Path) -> None:
    result = check("--output-format", "sarif")
    assert result.exit_code == 1
    validate_sarif(json.loads(result.stdout))


def test_the_schema_check_catches_a_broken_document(sample: Path) -> None:
    document = json.loads(check("--output-format", "sarif").stdout)
    del document["runs"][0]["tool"]["driver"]["name"]
    document["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(AssertionError):
        validate_sarif(document)


def test_sarif_is_what_github_code_scanning_reads(sample: Path) -> None:
    from poollint import __version__
    from poollint.rules import RULES_BY_CODE

    document = json.loads(check("--output-format", "sarif").stdout)
    assert document["$schema"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    assert document["version"] == "2.1.0"
    (run,) = document["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"], driver["informationUri"]) == (
        "poollint",
        __version__,
        "https://github.com/poollint/poollint",
    )
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": sample.resolve().as_uri() + "/"}}
    assert run["columnKind"] == "unicodeCodePoints"
    rules = driver["rules"]
    assert [r["id"] for r in rules] == ["POL101", "POL102", "POL305", "POL903"]
    sleep = RULES_BY_CODE["POL101"]
    assert rules[0]["name"] == "blocking-sleep"
    assert rules[0]["shortDescription"]["text"].startswith("Flags `time.sleep()` called directly inside an `async def`")
    assert rules[0]["fullDescription"]["text"] == sleep.summary()
    assert rules[0]["help"]["text"] == sleep.docs()
    assert rules[0]["help"]["markdown"].startswith("# blocking-sleep (POL101)")
    assert rules[0]["helpUri"] == DOCS + "POL101.md"
    assert rules[3]["name"] == "syntax-error" and rules[3]["helpUri"].endswith("index.md#files-poollint-could-not-check")

    results = run["results"]
    assert [(r["ruleId"], r["ruleIndex"], r["level"]) for r in results] == [
        ("POL903", 3, "error"),
        ("POL305", 2, "error"),
        ("POL101", 0, "error"),
        ("POL102", 1, "error"),
        ("POL101", 0, "error"),
    ]
    assert results[2]["message"] == {"text": SLEEP_ORDERS}
    assert results[2]["locations"] == [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": "app/routes.py", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 11, "startColumn": 5, "endLine": 11, "endColumn": 18},
            }
        }
    ]
    # A finding about a whole file has no span: its region is its start.
    assert results[0]["locations"][0]["physicalLocation"]["region"] == {"startLine": 1, "startColumn": 12}
    fingerprints = [r["partialFingerprints"]["poollintFindingHash/v1"] for r in results]
    assert len(set(fingerprints)) == 5
    gitlab = [i["fingerprint"] for i in json.loads(check("--output-format", "gitlab").stdout)]
    assert fingerprints == gitlab
    assert results[2]["fixes"] == [
        {
            "description": {"text": "Use `await asyncio.sleep(...)`"},
            "artifactChanges": [
                {
                    "artifactLocation": {"uri": "app/routes.py", "uriBaseId": "%SRCROOT%"},
                    "replacements": [
                        {
                            "deletedRegion": {"startLine": 5, "startColumn": 1, "endLine": 5, "endColumn": 1},
                            "insertedContent": {"text": "import asyncio\n"},
                        },
                        {
                            "deletedRegion": {"startLine": 11, "startColumn": 5, "endLine": 11, "endColumn": 18},
                            "insertedContent": {"text": "await asyncio.sleep(1)"},
                        },
                    ],
                }
            ],
            "properties": {"applicability": "safe"},
        }
    ]
    assert "fixes" not in results[3]
    assert run["invocations"] == [{"executionSuccessful": True}]


def test_paths_are_relative_to_the_repository_root_from_a_subdirectory(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(sample / "app")
    github = check("--output-format", "github", "routes.py").stdout
    assert "file=app/routes.py," in github
    document = json.loads(check("--output-format", "sarif", "routes.py").stdout)
    location = document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "app/routes.py", "uriBaseId": "%SRCROOT%"}
    validate_sarif(document)


def test_clean_runs_print_empty_documents(sample: Path) -> None:
    for name in SAMPLE:
        (sample / name).unlink()
    (sample / "app" / "ok.py").write_text("x = 1\n")
    expected = {
        "concise": "All checks passed!\n",
        "full": "All checks passed!\n",
        "pylint": "",
        "github": "",
        "json": "[]\n",
        "json-lines": "",
        "gitlab": "[]\n",
    }
    for name, text in expected.items():
        result = check("--output-format", name)
        assert (name, result.exit_code, result.stdout) == (name, 0, text)
    junit = check("--output-format", "junit").stdout
    assert '<testcase name="No errors found" classname="poollint"/>' in junit
    ET.fromstring(junit)
    sarif = json.loads(check("--output-format", "sarif").stdout)
    assert sarif["runs"][0]["results"] == [] and sarif["runs"][0]["tool"]["driver"]["rules"] == []
    validate_sarif(sarif)


# -- escaping --------------------------------------------------------------------

TRICKY = 'a 100% "odd" <message>, with: commas & colons\r\nand a second line\x00\x1b end'


def _tricky_report(root: Path) -> Report:
    path = root / "we,ird:name%.py"
    path.write_text("x = 1\n")
    finding = Diagnostic(code="POL101", message=TRICKY, line=1, column=1, end_line=1, end_column=2)
    return Report(RunResult(files=[FileResult(path=path, diagnostics=[finding])]), root=root)


def test_github_escapes_as_the_actions_toolkit_does(tmp_path: Path) -> None:
    assert escape_data("100%\r\n:,") == "100%25%0D%0A:,"
    assert escape_property("100%\r\n:,") == "100%25%0D%0A%3A%2C"
    text = get_reporter("github").render(_tricky_report(tmp_path))
    assert text.count("\n") == 1
    assert text == (
        "::error title=poollint (POL101),file=we%2Cird%3Aname%25.py,line=1,col=1,endLine=1,endColumn=2::"
        "POL101 a 100%25 \"odd\" <message>, with: commas & colons%0D%0Aand a second line\x00\x1b end\n"
    )


def test_junit_is_valid_xml_whatever_the_message(tmp_path: Path) -> None:
    text = get_reporter("junit").render(_tricky_report(tmp_path))
    root = ET.fromstring(text)
    (suite,) = root
    assert suite.get("name") == (tmp_path / "we,ird:name%.py").as_posix()
    (case,) = suite
    (failure,) = case
    kept = TRICKY.replace("\x00", "\ufffd").replace("\x1b", "\ufffd")
    assert failure.get("message") == kept
    # Character data normalises a lone CR, as every XML parser does.
    assert failure.text == "line 1, col 1, " + kept.replace("\r\n", "\n")


def test_json_round_trips_any_message(tmp_path: Path) -> None:
    report = _tricky_report(tmp_path)
    for name in ("json", "json-lines"):
        text = get_reporter(name).render(report)
        (record,) = json.loads(text) if name == "json" else [json.loads(line) for line in text.splitlines()]
        assert record["message"] == TRICKY


def test_internal_errors_are_reported_in_every_format_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "app.py"
    path.write_text("x = 1\n")
    crash = Diagnostic(code="POL904", message="internal error while checking this file: KeyError: 'x'", line=1, column=1)
    result = RunResult(files=[FileResult(path=path, diagnostics=[crash], internal_error=True)])
    for name in FORMATS:
        code = emit(result, get_reporter(name), OutputOptions(), fixing=False, unsafe_fixes=False, exit_zero=True)
        out = capsys.readouterr().out
        assert code == 2
        assert "POL904" in out and "KeyError" in out, name


def test_rule_pages_are_in_the_repository_pyproject_names() -> None:
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    from poollint.reporters import REPOSITORY_URL, RULE_DOCS_URL

    project = tomllib.loads((DATA.parent.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["urls"]["Repository"] == REPOSITORY_URL
    assert project["urls"]["Documentation"] == RULE_DOCS_URL + "index.md"
    for code in ("POL101", "POL501"):
        assert (DATA.parent.parent / "docs" / "rules" / f"{code}.md").is_file()


def test_github_gives_columns_only_for_a_one_line_span(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    path.write_text("x = f(\n    1,\n)\n")
    finding = Diagnostic(code="POL403", message="m", line=1, column=5, end_line=3, end_column=2)
    report = Report(RunResult(files=[FileResult(path=path, diagnostics=[finding])]), root=tmp_path)
    assert get_reporter("github").render(report) == "::error title=poollint (POL403),file=app.py,line=1,endLine=3::POL403 m\n"
