"""The README's CI snippets: their poollint commands run on the example app and give
what the CI services read (the files the upload steps name, in their formats)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path
from typing import Any, Dict, List

import pytest
from clirunner import cli_runner

from poollint.cli import main
from sarif_schema import validate as validate_sarif

ROOT = Path(__file__).resolve().parent.parent
yaml = pytest.importorskip("yaml")


def _section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _yaml_blocks(title: str) -> List[Dict[str, Any]]:
    blocks = re.findall(r"```yaml\n(.*?)```", _section(title), re.DOTALL)
    assert blocks, f"no yaml snippet under ## {title}"
    return [yaml.safe_load(block) for block in blocks]


def _github_steps(workflow: Dict[str, Any]) -> List[Dict[str, Any]]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


def _poollint_commands(commands: List[str]) -> List[List[str]]:
    found = [shlex.split(command) for command in commands if command.startswith("poollint ")]
    assert found, commands
    return [argv[1:] for argv in found]


def _run(argv: List[str]):  # type: ignore[no-untyped-def]
    runner = cli_runner()
    return runner.invoke(main, argv, catch_exceptions=False)


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example app as a CI job sees it: a fresh clone, the current directory."""
    root = tmp_path / "shop"
    shutil.copytree(ROOT / "examples" / "shop", root, ignore=shutil.ignore_patterns(".poollint_cache"))
    (root / ".git").mkdir()
    monkeypatch.chdir(root)
    for name in ("POOLLINT_OUTPUT_FORMAT", "POOLLINT_OUTPUT_FILE"):
        monkeypatch.delenv(name, raising=False)
    return root


def _option(argv: List[str], *names: str) -> str:
    for position, arg in enumerate(argv):
        if arg in names:
            return argv[position + 1]
    raise AssertionError(f"none of {names} in {argv}")


def test_github_sarif_job_writes_the_file_upload_sarif_reads(checkout: Path) -> None:
    sarif_workflow = _github_steps(_yaml_blocks("GitHub Actions")[0])
    (argv,) = _poollint_commands([step["run"] for step in sarif_workflow if "run" in step])
    (upload,) = [step for step in sarif_workflow if step.get("uses", "").startswith("github/codeql-action/upload-sarif@")]
    # The upload runs even though poollint exits 1 on findings.
    assert upload["if"] == "always()"
    result = _run(argv)
    assert result.exit_code == 1
    written = checkout / _option(argv, "-o", "--output-file")
    assert written.name == upload["with"]["sarif_file"]
    document = json.loads(written.read_text(encoding="utf-8"))
    validate_sarif(document)
    results = document["runs"][0]["results"]
    assert results
    for found in results:
        location = found["locations"][0]["physicalLocation"]["artifactLocation"]
        assert location["uriBaseId"] == "%SRCROOT%"
        assert (checkout / location["uri"]).is_file()


def test_github_annotations_job_prints_workflow_commands(checkout: Path) -> None:
    annotate_workflow = _github_steps(_yaml_blocks("GitHub Actions")[1])
    (argv,) = _poollint_commands([step["run"] for step in annotate_workflow if "run" in step])
    result = _run(argv)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith("::error title=poollint (POL") for line in lines)
    for line in lines:
        path = re.search(r",file=([^,]+),", line).group(1)  # type: ignore[union-attr]
        assert (checkout / path).is_file()


def test_gitlab_job_writes_the_code_quality_report_its_artifact_names(checkout: Path) -> None:
    (pipeline,) = _yaml_blocks("GitLab CI")
    (job,) = pipeline.values()
    (argv,) = _poollint_commands(job["script"])
    assert job["artifacts"]["when"] == "always"
    result = _run(argv)
    assert result.exit_code == 1
    report = checkout / _option(argv, "-o", "--output-file")
    assert report.name == job["artifacts"]["reports"]["codequality"]
    issues = json.loads(report.read_text(encoding="utf-8"))
    assert issues
    for issue in issues:
        assert set(issue) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["severity"] in ("info", "minor", "major", "critical", "blocker")
        assert (checkout / issue["location"]["path"]).is_file()
        assert isinstance(issue["location"]["lines"]["begin"], int)
    assert len({i["fingerprint"] for i in issues}) == len(issues)
