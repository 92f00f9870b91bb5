"""--baseline and --write-baseline: keys by text, counts, fixed entries, pruning, bad files, --fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirunner import cli_runner as _runner

from poollint.baseline import Baseline, BaselineError, normalise
from poollint.cli import main

HANDLER = """\
import time


async def handler():
    time.sleep(1)
    return 1
"""



def invoke(*args: str):
    return _runner().invoke(main, ["check", "--no-cache", "-j1", *args], catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.poollint]\n")
    return tmp_path


def _findings(result) -> list:
    return [line.split(" ")[0] + " " + line.split(" ")[1] for line in result.stdout.splitlines() if ": POL" in line]


def test_write_then_check_reports_nothing(project: Path) -> None:
    (project / "app.py").write_text(HANDLER)
    written = invoke("--write-baseline", "baseline.json", ".")
    assert written.exit_code == 0
    assert written.stderr == "Wrote 1 finding to baseline.json.\n"
    assert json.loads((project / "baseline.json").read_text()) == {
        "version": 1,
        "findings": [{"path": "app.py", "code": "POL101", "source": "time.sleep(1)", "count": 1}],
    }
    result = invoke("--baseline", "baseline.json", ".")
    assert result.exit_code == 0 and result.stdout == "All checks passed!\n" and result.stderr == ""


def test_the_file_is_sorted_one_finding_a_line_and_written_the_same_twice(project: Path) -> None:
    (project / "b.py").write_text(HANDLER + "\n\nasync def other():\n    time.sleep(2)\n")
    (project / "a.py").write_text(HANDLER.replace("time.sleep(1)", 'time.sleep(1)  # "caf\u00e9"'))
    invoke("--write-baseline", "baseline.json", ".")
    first = (project / "baseline.json").read_bytes()
    invoke("--write-baseline", "baseline.json", ".")
    assert (project / "baseline.json").read_bytes() == first
    assert first.decode("utf-8").splitlines() == [
        "{",
        '  "version": 1,',
        '  "findings": [',
        '    {"path": "a.py", "code": "POL101", "source": "time.sleep(1) # \\"caf\u00e9\\"", "count": 1},',
        '    {"path": "b.py", "code": "POL101", "source": "time.sleep(1)", "count": 1},',
        '    {"path": "b.py", "code": "POL101", "source": "time.sleep(2)", "count": 1}',
        "  ]",
        "}",
    ]


def test_findings_moved_by_edits_above_them_stay_hidden(project: Path) -> None:
    (project / "app.py").write_text(HANDLER)
    invoke("--write-baseline", "baseline.json", ".")
    helper = "def helper():\n    return os\n\n\nasync def"
    shifted = '"""A module docstring."""\nimport os\n\n' + HANDLER.replace("async def", helper)
    (project / "app.py").write_text(shifted)
    assert invoke("--baseline", "baseline.json", ".").exit_code == 0
    # Re-indented (moved into a block): the same line, normalised.
    (project / "app.py").write_text(shifted.replace("    time.sleep(1)", "    if True:\n            time.sleep(1)"))
    assert invoke("--baseline", "baseline.json", ".").exit_code == 0


def test_a_finding_on_an_edited_line_is_new(project: Path) -> None:
    (project / "app.py").write_text(HANDLER)
    invoke("--write-baseline", "baseline.json", ".")
    (project / "app.py").write_text(HANDLER.replace("time.sleep(1)", "time.sleep(5)"))
    result = invoke("--baseline", "baseline.json", ".")
    assert result.exit_code == 1
    assert _findings(result) == ["app.py:5:5: POL101"]
    assert "1 baseline entry no longer matches (fixed)" in result.stderr


def test_identical_findings_on_identical_lines_are_counted(project: Path) -> None:
    twice = HANDLER.replace("    time.sleep(1)\n", "    time.sleep(1)\n    time.sleep(1)\n")
    (project / "app.py").write_text(twice)
    invoke("--write-baseline", "baseline.json", ".")
    entry = json.loads((project / "baseline.json").read_text())["findings"]
    assert entry == [{"path": "app.py", "code": "POL101", "source": "time.sleep(1)", "count": 2}]
    assert invoke("--baseline", "baseline.json", ".").exit_code == 0
    # A third one is new; the one nearest the end of the file is reported.
    (project / "app.py").write_text(twice.replace("    return 1", "    time.sleep(1)\n    return 1"))
    result = invoke("--baseline", "baseline.json", ".")
    assert result.exit_code == 1
    assert _findings(result) == ["app.py:7:5: POL101"]


def test_fixed_entries_are_reported_and_pruned_without_taking_in_new_findings(project: Path) -> None:
    (project / "app.py").write_text(HANDLER + "\n\nasync def other():\n    time.sleep(2)\n")
    invoke("--write-baseline", "baseline.json", ".")
    (project / "app.py").write_text(
        HANDLER.replace("time.sleep(1)", "pass") + "\n\nasync def other():\n    time.sleep(2)\n    time.sleep(3)\n"
    )
    result = invoke("--baseline", "baseline.json", ".")
    assert result.exit_code == 1
    assert _findings(result) == ["app.py:11:5: POL101"]
    assert result.stderr == (
        "1 baseline entry no longer matches (fixed): "
        "run with --baseline baseline.json --write-baseline baseline.json to prune.\n"
    )
    pruned = invoke("--baseline", "baseline.json", "--write-baseline", "baseline.json", ".")
    assert pruned.exit_code == 1  # the new finding is still reported, and not recorded
    assert _findings(pruned) == ["app.py:11:5: POL101"]
    assert pruned.stderr == (
        "Pruned 1 baseline entry that no longer matched (fixed).\nWrote 1 finding to baseline.json.\n"
    )
    assert [e["source"] for e in json.loads((project / "baseline.json").read_text())["findings"]] == [
        "time.sleep(2)"
    ]
    assert invoke("--baseline", "baseline.json", ".").stderr == ""


def test_pruning_keeps_what_the_run_did_not_check(project: Path) -> None:
    (project / "app").mkdir()
    (project / "app" / "views.py").write_text(HANDLER)
    (project / "scripts").mkdir()
    (project / "scripts" / "job.py").write_text(HANDLER)
    engine = 'from sqlalchemy import create_engine\n\nengine = create_engine("postgresql://db/app")\n'
    (project / "db.py").write_text(engine)
    invoke("--write-baseline", "baseline.json", ".")
    before = json.loads((project / "baseline.json").read_text())["findings"]
    assert [(e["path"], e["code"]) for e in before] == [
        ("app/views.py", "POL101"),
        ("db.py", "POL301"),
        ("scripts/job.py", "POL101"),
    ]
    # Another file, another rule: neither is judged fixed, both are kept.
    result = invoke("--select", "POL1", "--baseline", "baseline.json", "--write-baseline", "baseline.json", "app")
    assert result.exit_code == 0 and "Pruned" not in result.stderr
    assert json.loads((project / "baseline.json").read_text())["findings"] == before


def test_entries_of_a_deleted_file_are_fixed(project: Path) -> None:
    (project / "app.py").write_text(HANDLER)
    (project / "old.py").write_text(HANDLER)
    invoke("--write-baseline", "baseline.json", ".")
    (project / "old.py").unlink()
    assert "1 baseline entry no longer matches (fixed)" in invoke("--baseline", "baseline.json", ".").stderr
    invoke("--baseline", "baseline.json", "--write-baseline", "baseline.json", ".")
    assert [e["path"] for e in json.loads((project / "baseline.json").read_text())["findings"]] == ["app.py"]


def test_paths_are_relative_to_the_project_root_with_forward_slashes(project: Path, monkeypatch) -> None:
    (project / "app" / "routes").mkdir(parents=True)
    (project / "app" / "routes" / "orders.py").write_text(HANDLER)
    monkeypatch.chdir(project / "app")
    assert invoke("--write-baseline", "../baseline.json", "routes").exit_code == 0
    assert json.loads((project / "baseline.json").read_text())["findings"][0]["path"] == "app/routes/orders.py"
    monkeypatch.chdir(project)
    assert invoke("--baseline", "baseline.json", "app").exit_code == 0


def test_files_poollint_could_not_check_are_never_recorded(project: Path) -> None:
    (project / "app.py").write_text(HANDLER)
    (project / "broken.py").write_text("def f(:\n")
    result = invoke("--write-baseline", "baseline.json", ".")
    assert result.exit_code == 1
    assert _findings(result) == ["broken.py:1:7: POL903"]
    assert [e["path"] for e in json.loads((project / "baseline.json").read_text())["findings"]] == ["app.py"]


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "cannot read baseline baseline.json: No such file or directory"),
        ("{not json", "baseline.json is not a poollint baseline: invalid JSON (Expecting property name"),
        ("[]", 'baseline.json is not a poollint baseline: expected an object with "version" and "findings"'),
        ('{"version": 2, "findings": []}', "baseline.json: baseline version 2 is not one this poollint reads (1)"),
        ('{"version": 1, "findings": {}}', 'baseline.json is not a poollint baseline: "findings" is not a list'),
        (
            '{"version": 1, "findings": [{"path": "a.py", "code": "POL101", "source": "x", "count": 0}]}',
            'baseline.json is not a poollint baseline: finding 1 has no "count" of at least 1',
        ),
        (
            '{"version": 1, "findings": [{"path": "a.py", "code": "POL101", "count": 1}]}',
            'baseline.json is not a poollint baseline: finding 1 has no string "source"',
        ),
    ],
)
def test_a_bad_baseline_is_one_line_and_exit_2(project: Path, content, message: str) -> None:
    (project / "app.py").write_text(HANDLER)
    if content is not None:
        (project / "baseline.json").write_text(content)
    result = invoke("--baseline", "baseline.json", ".")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"poollint: error: {message}")
    assert result.stderr.count("\n") == 1


def test_a_baseline_that_cannot_be_written_is_one_line_and_exit_2(project: Path) -> None:
    (project / "app.py").write_text(HANDLER)
    result = invoke("--write-baseline", "missing/dir/baseline.json", ".")
    assert result.exit_code == 2
    assert result.stderr.startswith("poollint: error: cannot write baseline missing/dir/baseline.json:")
    assert result.stderr.count("\n") == 1


def test_fix_leaves_the_recorded_findings_alone(project: Path) -> None:
    (project / "app.py").write_text(HANDLER)
    invoke("--write-baseline", "baseline.json", ".")
    (project / "app.py").write_text(HANDLER + "\n\nasync def other():\n    time.sleep(2)\n")
    result = invoke("--baseline", "baseline.json", "--fix", ".")
    assert result.exit_code == 0, result.stdout
    text = (project / "app.py").read_text()
    assert "    time.sleep(1)\n" in text  # recorded: left as it is
    assert "    await asyncio.sleep(2)\n" in text  # new: fixed
    assert "Found 1 problem (1 fixed, 0 remaining)." in result.stdout
    # Without the baseline, --fix fixes it too.
    assert invoke("--fix", ".").exit_code == 0
    assert "await asyncio.sleep(1)" in (project / "app.py").read_text()


def test_the_exit_code_counts_only_reported_findings(project: Path) -> None:
    (project / "app.py").write_text(HANDLER)
    invoke("--write-baseline", "baseline.json", ".")
    assert invoke(".").exit_code == 1
    assert invoke("--baseline", "baseline.json", ".").exit_code == 0


def test_baseline_applies_after_noqa(project: Path) -> None:
    (project / "app.py").write_text(HANDLER.replace("time.sleep(1)", "time.sleep(1)  # noqa: POL101"))
    invoke("--write-baseline", "baseline.json", ".")
    assert json.loads((project / "baseline.json").read_text())["findings"] == []


@pytest.mark.parametrize(
    "line, expected",
    [
        ("    time.sleep(1)\n", "time.sleep(1)"),
        ("\ttime.sleep( 1 ,  2 )  # why\r", "time.sleep( 1 , 2 ) # why"),
        ("", ""),
    ],
)
def test_normalise(line: str, expected: str) -> None:
    assert normalise(line) == expected


def test_load_sums_entries_that_normalise_alike(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    entry = {"path": "a.py", "code": "POL101", "count": 1}
    findings = [{**entry, "source": "x  =  1"}, {**entry, "source": "x = 1"}]
    path.write_text(json.dumps({"version": 1, "findings": findings}))
    assert Baseline.load(path).counts == {"a.py": {("POL101", "x = 1"): 2}}
    path.write_text("\ufeff" + json.dumps({"version": 1, "findings": []}))  # written by an editor with a BOM
    assert Baseline.load(path).counts == {}
    with pytest.raises(BaselineError):
        Baseline.load(tmp_path / "missing.json")
