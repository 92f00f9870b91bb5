"""Living beside ruff (issue 7): where the project's ruff configuration
selects the ASYNC codes, POL101-POL104 leave to ruff the calls ruff reports
itself and cannot fix, and keep the rest.

tests/fixtures/beside_ruff/ marks each blocking call with who reports it when
ruff selects ASYNC (its README says how). Each test copies it, writes a ruff
configuration beside it, and runs poollint on the copy; with ruff installed,
the real ruff runs on it too.
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
from click.testing import CliRunner

from poollint.cli import main
from poollint.config import ConfigError, load_settings
from poollint.discovery import discover_files
from poollint.rules import RULES_BY_CODE
from poollint.runner import RunResult, run

FIXTURE = Path(__file__).parent / "fixtures" / "beside_ruff"
OVERLAPPING = ("POL101", "POL102", "POL103", "POL104")
_EXPECT = re.compile(r"#\s*expect:\s*(?P<who>both|ruff-only|newer-ruff|ruff|poollint|none)\b")

Line = Tuple[str, int]  # (path relative to the project, line)


def _marks() -> Dict[Line, str]:
    found = {}
    for path in sorted(FIXTURE.rglob("*.py")):
        name = path.relative_to(FIXTURE).as_posix()
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = _EXPECT.search(text)
            if match:
                found[(name, number)] = match.group("who")
    return found


MARKS = _marks()


def _marked(*who: str) -> Set[Line]:
    return {line for line, mark in MARKS.items() if mark in who}


def _project(tmp_path: Path, files: Dict[str, str]) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def _check(root: Path) -> RunResult:
    settings = load_settings(root)
    files = discover_files([root], settings)
    return run(files, settings, [RULES_BY_CODE[code] for code in OVERLAPPING], jobs=1)


def _lines(root: Path, result: RunResult) -> Set[Line]:
    return {(f.path.relative_to(root).as_posix(), d.line) for f in result.files for d in f.diagnostics}


def _codes(root: Path, result: RunResult) -> Dict[Line, str]:
    return {(f.path.relative_to(root).as_posix(), d.line): d.code for f in result.files for d in f.diagnostics}


# Every ASYNC code poollint can leave to ruff, selected in the ways people
# write it; which ruff runs is not said, so poollint keeps the calls only
# recent ruffs report.
SELECTING_EVERY_CODE = {
    "pyproject-lint-select": {"pyproject.toml": '[tool.ruff.lint]\nselect = ["ASYNC"]\n'},
    "pyproject-top-level-select": {"pyproject.toml": '[tool.ruff]\nselect = ["E", "F", "ASYNC2"]\n'},
    "ruff-toml-extend-select": {"ruff.toml": '[lint]\nextend-select = ["ASYNC"]\n'},
    "dot-ruff-toml-all": {".ruff.toml": '[lint]\nselect = ["ALL"]\nignore = ["D", "ANN", "S"]\n'},
    "extended-base": {
        "ruff.toml": 'extend = "config/ruff-base.toml"\nline-length = 100\n',
        "config/ruff-base.toml": '[lint]\nselect = ["E4", "F", "ASYNC"]\n',
    },
    "with-poollint-table": {
        "pyproject.toml": '[tool.poollint]\nextend-select = ["POL104"]\n\n[tool.ruff.lint]\nselect = ["ASYNC"]\n'
    },
}

# The same, saying which ruff runs: every call ruff reports is left to it.
KNOWING_THE_RUFF = {
    "required-version": {"pyproject.toml": '[tool.ruff]\nrequired-version = ">=0.17.6"\n[tool.ruff.lint]\nselect = ["ASYNC"]\n'},
    "pre-commit-rev": {
        "ruff.toml": '[lint]\nextend-select = ["ASYNC"]\n',
        ".pre-commit-config.yaml": (
            "repos:\n"
            "  - repo: https://github.com/astral-sh/ruff-pre-commit\n"
            "    rev: v0.17.6\n"
            "    hooks:\n"
            "      - id: ruff-check\n"
        ),
    },
    "defaults-of-a-recent-ruff": {
        # No select: ruff's own default rule set (0.16 on) with the two that
        # are not in it added.
        "ruff.toml": 'required-version = "==0.17.6"\n[lint]\nextend-select = ["ASYNC212", "ASYNC240"]\n',
    },
}

# Configurations under which ruff reports none of these calls.
SELECTING_NONE = {
    "no-configuration": {},
    "other-rules": {"pyproject.toml": '[tool.ruff.lint]\nselect = ["E", "F", "B"]\n'},
    "async-ignored": {"ruff.toml": '[lint]\nselect = ["ALL"]\nignore = ["ASYNC2"]\n'},
    "defer-to-ruff-off": {
        "pyproject.toml": '[tool.poollint]\ndefer-to-ruff = false\n\n[tool.ruff.lint]\nselect = ["ASYNC"]\n'
    },
    "nearest-configuration-wins": {
        "pyproject.toml": '[tool.ruff.lint]\nselect = ["ASYNC"]\n',
        "app/ruff.toml": '[lint]\nselect = ["E"]\n',
    },
    "app-excluded-from-ruff": {"pyproject.toml": '[tool.ruff]\nextend-exclude = ["app"]\n[tool.ruff.lint]\nselect = ["ASYNC"]\n'},
}


@pytest.mark.parametrize("variant", sorted(SELECTING_EVERY_CODE))
def test_with_async_selected_only_what_ruff_cannot_report_remains(tmp_path: Path, variant: str) -> None:
    root = _project(tmp_path, SELECTING_EVERY_CODE[variant])
    assert _lines(root, _check(root)) == _marked("both", "poollint", "newer-ruff")


@pytest.mark.parametrize("variant", sorted(KNOWING_THE_RUFF))
def test_knowing_which_ruff_runs_leaves_it_every_call_it_reports(tmp_path: Path, variant: str) -> None:
    root = _project(tmp_path, KNOWING_THE_RUFF[variant])
    assert _lines(root, _check(root)) == _marked("both", "poollint")


def test_an_older_ruff_keeps_what_it_does_not_report(tmp_path: Path) -> None:
    # ruff 0.15 has ASYNC212 but neither ASYNC240 nor requests.request().
    root = _project(tmp_path, {"ruff.toml": 'required-version = "~=0.15.0"\n[lint]\nselect = ["ASYNC"]\n'})
    kept = _lines(root, _check(root)) - _marked("both", "poollint")
    newer = {line for line in _marked("newer-ruff") if "client.get" in _text(line) or "partner.get" in _text(line)}
    assert kept == _marked("newer-ruff") - newer


def _text(line: Line) -> str:
    return (FIXTURE / line[0]).read_text(encoding="utf-8").splitlines()[line[1] - 1]


@pytest.mark.parametrize("variant", sorted(SELECTING_NONE))
def test_without_async_selected_every_finding_remains(tmp_path: Path, variant: str) -> None:
    root = _project(tmp_path, SELECTING_NONE[variant])
    assert _lines(root, _check(root)) == _marked("both", "ruff", "newer-ruff", "poollint")


def test_what_poollint_keeps_is_fixable_or_out_of_ruffs_sight(tmp_path: Path) -> None:
    root = _project(tmp_path, KNOWING_THE_RUFF["required-version"])
    result = _check(root)
    for file_result in result.files:
        for d in file_result.diagnostics:
            line = (file_result.path.relative_to(root).as_posix(), d.line)
            # Fixable ones ruff reports too; the others ruff cannot report.
            assert (d.fix_safety is not None) == (MARKS[line] == "both"), line


def test_ignoring_one_code_brings_back_its_findings_only(tmp_path: Path) -> None:
    plain = _project(tmp_path / "a", {})
    everything = _codes(plain, _check(plain))
    root = _project(tmp_path / "b", {"ruff.toml": '[lint]\nselect = ["ASYNC"]\nignore = ["ASYNC251"]\n'})
    sleeps_back = {line for line in _marked("ruff") if everything[line] == "POL101"}
    assert sleeps_back, "the fixture must have sleeps ruff reports and poollint cannot fix"
    assert _lines(root, _check(root)) == _marked("both", "poollint", "newer-ruff") | sleeps_back


def test_per_file_ignores_bring_back_that_files_findings(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        {"pyproject.toml": '[tool.ruff.lint]\nselect = ["ASYNC"]\n[tool.ruff.lint.per-file-ignores]\n"app/routes.py" = ["ASYNC2"]\n'},
    )
    routes = {line for line in _marked("ruff") if line[0] == "app/routes.py"}
    assert _lines(root, _check(root)) == _marked("both", "poollint", "newer-ruff") | routes


def test_an_unreadable_ruff_configuration_keeps_every_finding_and_warns(tmp_path: Path) -> None:
    root = _project(tmp_path, {"ruff.toml": '[lint]\nselect = ["ASYNC", "ASYNC299"]\n'})
    result = _check(root)
    assert _lines(root, result) == _marked("both", "ruff", "newer-ruff", "poollint")
    assert len(result.warnings) == 1
    assert "ruff.toml" in result.warnings[0] and "ASYNC299" in result.warnings[0]


def test_defer_to_ruff_must_be_a_boolean(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.poollint]\ndefer-to-ruff = "yes"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[tool\.poollint\] 'defer-to-ruff' must be true or false"):
        load_settings(tmp_path)


def test_a_changed_ruff_configuration_counts_on_a_warm_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What is left to ruff is decided after the cache, so the cache never
    # serves findings computed under another ruff configuration.
    root = _project(tmp_path, {"pyproject.toml": '[tool.poollint]\nextend-select = ["POL104"]\n'})
    monkeypatch.chdir(root)
    runner = CliRunner()
    cold = runner.invoke(main, ["check", "app"])
    (root / "ruff.toml").write_text('required-version = ">=0.17.6"\n[lint]\nselect = ["ASYNC"]\n', encoding="utf-8")
    warm = runner.invoke(main, ["check", "app"])
    assert cold.exit_code == warm.exit_code == 1
    count = re.compile(r"Found (\d+) problem")
    assert int(count.search(warm.output).group(1)) < int(count.search(cold.output).group(1))  # type: ignore[union-attr]
    assert len(_marked("both", "poollint")) == int(count.search(warm.output).group(1))  # type: ignore[union-attr]


def test_isolated_reads_no_ruff_configuration_either(tmp_path: Path) -> None:
    root = _project(tmp_path, {"ruff.toml": '[lint]\nselect = ["ASYNC"]\n'})
    settings = load_settings(root, isolated=True)
    assert settings.defer_to_ruff is False
    files = discover_files([root], settings)
    result = run(files, settings, [RULES_BY_CODE[code] for code in OVERLAPPING], jobs=1)
    assert _lines(root, result) == _marked("both", "poollint", "newer-ruff", "ruff")


def test_show_settings_says_what_is_left_to_ruff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path, {"pyproject.toml": '[tool.poollint]\n\n[tool.ruff.lint]\nextend-select = ["ASYNC25", "ASYNC210"]\n'})
    monkeypatch.chdir(root)
    shown = CliRunner().invoke(main, ["check", "--show-settings"]).output
    assert "defer-to-ruff: true" in shown
    assert f"ruff: {root / 'pyproject.toml'} selects ASYNC210, ASYNC251" in shown
    assert "ruff: version unknown (set required-version)" in shown
    (root / "pyproject.toml").write_text('[tool.poollint]\ndefer-to-ruff = false\n', encoding="utf-8")
    shown = CliRunner().invoke(main, ["check", "--show-settings"]).output
    assert "defer-to-ruff: false" in shown


# -- against the real ruff ------------------------------------------------------


def _ruff() -> Optional[str]:
    beside = Path(sys.executable).parent / "ruff"
    return str(beside) if beside.exists() else shutil.which("ruff")


def _ruff_version() -> Tuple[int, ...]:
    done = subprocess.run([_ruff(), "--version"], capture_output=True, text=True, check=True)  # type: ignore[list-item]
    return tuple(int(part) for part in re.findall(r"\d+", done.stdout)[:3])


# The ruff release the fixture's marks were checked against; newer ones may
# report more (and poollint then keeps reporting it too, never less).
CHECKED_RUFF = (0, 17, 6)


def _ruff_lines(root: Path) -> Set[Line]:
    done = subprocess.run(
        [_ruff(), "check", "--no-cache", "--exit-zero", "--output-format", "json", "."],  # type: ignore[list-item]
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        (Path(item["filename"]).resolve().relative_to(root.resolve()).as_posix(), item["location"]["row"])
        for item in json.loads(done.stdout)
        if item["code"].startswith("ASYNC")
    }


# {name: the [lint] table}; each is run saying which ruff runs (the one
# installed, in required-version) and without saying it.
RUFF_CONFIGS = {
    "every-code": 'select = ["ASYNC"]\n',
    "sleeps-ignored": 'select = ["ASYNC"]\nignore = ["ASYNC251"]\n',
    "http-only": 'select = ["ASYNC21"]\n',
    "ruffs-own-default": "",
}


@pytest.mark.skipif(
    _ruff() is None or _ruff_version() < CHECKED_RUFF, reason=f"needs ruff {CHECKED_RUFF} or newer"
)
def test_the_fixture_marks_what_the_real_ruff_reports(tmp_path: Path) -> None:
    root = _project(tmp_path, {"ruff.toml": "[lint]\n" + RUFF_CONFIGS["every-code"]})
    assert _ruff_lines(root) == _marked("both", "ruff", "newer-ruff", "ruff-only")


@pytest.mark.skipif(_ruff() is None, reason="ruff is not installed")
@pytest.mark.parametrize("config", sorted(RUFF_CONFIGS))
@pytest.mark.parametrize("version_known", [True, False], ids=["version-known", "version-unknown"])
def test_ruff_and_poollint_together_report_every_call_once(tmp_path: Path, config: str, version_known: bool) -> None:
    installed = ".".join(map(str, _ruff_version()))
    required = f'required-version = "=={installed}"\n' if version_known else ""
    root = _project(tmp_path, {"ruff.toml": f"{required}[lint]\n{RUFF_CONFIGS[config]}"})
    ruff = _ruff_lines(root)
    result = _check(root)
    ours = _lines(root, result)
    fixable = {
        (f.path.relative_to(root).as_posix(), d.line) for f in result.files for d in f.diagnostics if d.fix_safety
    }
    # Every call poollint reports without ruff (ruff-only lines are ruff's
    # to report or not: poollint reports that blocking elsewhere or never).
    blocking = _marked("both", "ruff", "poollint")
    assert blocking <= ruff | ours, "a blocking call nobody reports"
    # Both report a call only where poollint brings its fix, or where it
    # cannot tell that the project's ruff is recent enough to report it (the
    # calls only recent ruffs report; without `select`, every call of ruff's
    # default rule set, which grew in 0.16).
    doubled = ruff & ours - fixable
    if version_known:
        assert not doubled
    elif config == "ruffs-own-default":
        assert doubled <= _marked("ruff", "newer-ruff")
    else:
        assert doubled <= _marked("newer-ruff")
    assert not (ruff | ours) & _marked("none"), "a call silenced with # noqa for ruff"


def test_the_ruff_page_is_generated_and_up_to_date() -> None:
    from poollint.rules import ALL_RULES
    from poollint.ruledocs import GENERATED, RUFF_PAGE, generated_ruff_page

    root = Path(__file__).resolve().parent.parent
    text = generated_ruff_page()
    assert (root / RUFF_PAGE).read_text(encoding="utf-8") == text, "run: python scripts/document_rules.py"
    assert text.startswith(GENERATED)
    for rule in ALL_RULES:
        assert f"| [{rule.CODE}](rules/{rule.CODE}.md) | {rule.NAME} |" in text
    assert "Running beside ruff" in (root / "README.md").read_text(encoding="utf-8")


def test_the_readme_snippet_leaves_ruffs_calls_to_ruff(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Running beside ruff\n", 1)[1].split("\n## ", 1)[0]
    snippet = re.search(r"```toml\n(.*?)```", section, re.DOTALL).group(1)  # type: ignore[union-attr]
    root = _project(tmp_path, {"pyproject.toml": snippet})
    assert _lines(root, _check(root)) == _marked("both", "poollint")
