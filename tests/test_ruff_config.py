"""Reading the project's ruff configuration as ruff reads it (ruff_config.py).

Each configuration is also given to the real ruff, when it is installed, on a
file that makes every overlapping ASYNC rule fire: the codes ruff reports there
must be the codes poollint computes for that file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, FrozenSet, Optional

import pytest

from poollint.ruff_config import (
    DEFAULT_ASYNC_SINCE_0_16,
    OLDEST,
    OVERLAP_CODES,
    RuffConfigError,
    RuffLookup,
    load_ruff_config,
    nearest_ruff_config,
)

ALL = frozenset(OVERLAP_CODES)
DEFAULT_0_16 = DEFAULT_ASYNC_SINCE_0_16
# Cases where poollint knows less than ruff and assumes fewer codes: without
# `required-version`, ruff's default rule set is taken to hold no ASYNC rule,
# as before ruff 0.16 (the ruff running these tests is newer).
CONSERVATIVE = {"default-of-an-unknown-ruff-selects-no-async", "extend-select-of-an-unknown-ruff"}

# One call for each code poollint can leave to ruff.
PROBE = """\
import os
import subprocess
import time
from pathlib import Path

import httpx
import requests


async def every_code():
    requests.get("https://a.example")
    client = httpx.Client()
    client.get("https://a.example")
    os.popen("ls")
    subprocess.run(["ls"])
    os.waitpid(0, 0)
    open("terms.txt")
    Path("terms.txt").read_text()
    time.sleep(1)
"""


def _ruff() -> Optional[str]:
    beside = Path(sys.executable).parent / "ruff"
    return str(beside) if beside.exists() else shutil.which("ruff")


def _project(root: Path, files: Dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def _poollint_codes(root: Path, name: str) -> FrozenSet[str]:
    return RuffLookup().codes_for(root / name)


def _ruff_codes(root: Path) -> Dict[str, FrozenSet[str]]:
    ruff = _ruff()
    assert ruff is not None
    done = subprocess.run(
        [ruff, "check", "--no-cache", "--exit-zero", "--output-format", "json", "."],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    found: Dict[str, set] = {}
    for item in json.loads(done.stdout):
        name = Path(item["filename"]).resolve().relative_to(root.resolve()).as_posix()
        if item["code"] in ALL:
            found.setdefault(name, set()).add(item["code"])
    return {name: frozenset(codes) for name, codes in found.items()}


# (files of the project besides the probes, {probe file: the codes ruff reports there})
CASES = {
    "lint-select-linter": (
        {"pyproject.toml": '[tool.ruff.lint]\nselect = ["ASYNC"]\n'},
        {"app/x.py": ALL},
    ),
    "top-level-select-deprecated": (
        {"pyproject.toml": '[tool.ruff]\nselect = ["ASYNC2"]\n'},
        {"app/x.py": ALL},
    ),
    "lint-wins-over-top-level": (
        {"pyproject.toml": '[tool.ruff]\nselect = ["ASYNC"]\n[tool.ruff.lint]\nselect = ["ASYNC251"]\n'},
        {"app/x.py": {"ASYNC251"}},
    ),
    "default-of-an-unknown-ruff-selects-no-async": (
        {"pyproject.toml": "[tool.ruff]\nline-length = 100\n"},
        {"app/x.py": set()},
    ),
    "default-since-0.16": (
        {"pyproject.toml": '[tool.ruff]\nrequired-version = ">=0.16"\n'},
        {"app/x.py": DEFAULT_0_16},
    ),
    "default-of-a-pinned-ruff": (
        {"ruff.toml": 'required-version = "==0.17.6"\n[lint]\nignore = ["ASYNC251"]\n'},
        {"app/x.py": DEFAULT_0_16 - {"ASYNC251"}},
    ),
    "extend-select-adds-to-default": (
        {"ruff.toml": 'required-version = ">=0.16.0,<1"\n[lint]\nextend-select = ["ASYNC21", "ASYNC251"]\n'},
        {"app/x.py": DEFAULT_0_16 | {"ASYNC212"}},
    ),
    "extend-select-of-an-unknown-ruff": (
        {"ruff.toml": '[lint]\nextend-select = ["ASYNC21", "ASYNC251"]\n'},
        {"app/x.py": {"ASYNC210", "ASYNC212", "ASYNC251"}},
    ),
    "all-with-ignored-prefix": (
        {"ruff.toml": '[lint]\nselect = ["ALL"]\nignore = ["ASYNC22", "D203", "D213"]\n'},
        {"app/x.py": ALL - {"ASYNC220", "ASYNC221", "ASYNC222"}},
    ),
    "more-specific-select-wins": (
        {"ruff.toml": '[lint]\nselect = ["ASYNC251", "ASYNC230"]\nignore = ["ASYNC"]\n'},
        {"app/x.py": {"ASYNC251", "ASYNC230"}},
    ),
    "ignore-wins-a-tie": (
        {"ruff.toml": '[lint]\nselect = ["ASYNC2"]\nextend-ignore = ["ASYNC2"]\n'},
        {"app/x.py": set()},
    ),
    "dot-ruff-toml-before-ruff-toml-before-pyproject": (
        {
            ".ruff.toml": '[lint]\nselect = ["ASYNC251"]\n',
            "ruff.toml": '[lint]\nselect = ["ASYNC"]\n',
            "pyproject.toml": '[tool.ruff.lint]\nselect = ["ASYNC"]\n',
        },
        {"app/x.py": {"ASYNC251"}},
    ),
    "nearest-config-wins": (
        {
            "pyproject.toml": '[tool.ruff.lint]\nselect = ["ASYNC"]\n',
            "app/ruff.toml": '[lint]\nselect = ["ASYNC210"]\n',
        },
        {"app/x.py": {"ASYNC210"}, "y.py": ALL},
    ),
    "pyproject-without-ruff-table-is-passed-over": (
        {
            "pyproject.toml": '[tool.ruff.lint]\nselect = ["ASYNC"]\n',
            "app/pyproject.toml": '[project]\nname = "app"\n',
        },
        {"app/x.py": ALL},
    ),
    "extend-chain": (
        {
            "pyproject.toml": '[tool.ruff]\nselect = ["ASYNC25"]\n',
            "app/ruff.toml": 'extend = "../pyproject.toml"\n[lint]\nextend-select = ["ASYNC221"]\nignore = ["ASYNC2"]\n',
        },
        {"app/x.py": {"ASYNC221"}, "y.py": {"ASYNC251"}},
    ),
    "extend-keeps-base-selection": (
        {
            "base/ruff.toml": '[lint]\nselect = ["ASYNC"]\n',
            "ruff.toml": 'extend = "base/ruff.toml"\n[lint]\nextend-ignore = ["ASYNC240"]\n',
        },
        {"app/x.py": ALL - {"ASYNC240"}},
    ),
    "empty-select-carries-its-ignores-over": (
        {
            "base/ruff.toml": '[lint]\nselect = []\nignore = ["ASYNC251"]\n',
            "ruff.toml": 'extend = "base/ruff.toml"\n[lint]\nextend-select = ["ASYNC25"]\n',
        },
        {"app/x.py": set()},
    ),
    "per-file-ignores": (
        {
            "pyproject.toml": """\
                [tool.ruff.lint]
                select = ["ASYNC"]
                [tool.ruff.lint.per-file-ignores]
                "app/routes/*" = ["ASYNC251"]
                "jobs.py" = ["ASYNC2"]
                "!app/*" = ["ASYNC230"]
                [tool.ruff.lint.extend-per-file-ignores]
                "app/x.py" = ["ASYNC210"]
            """,
        },
        {
            "app/x.py": ALL - {"ASYNC210"},
            "app/routes/orders.py": ALL - {"ASYNC251"},
            "other/jobs.py": set(),
            "y.py": ALL - {"ASYNC230"},
        },
    ),
    "child-per-file-ignores-replace-base": (
        {
            "base/ruff.toml": '[lint]\nselect = ["ASYNC"]\n[lint.per-file-ignores]\n"x.py" = ["ASYNC251"]\n',
            "ruff.toml": 'extend = "base/ruff.toml"\n[lint.per-file-ignores]\n"y.py" = ["ASYNC210"]\n',
        },
        {"app/x.py": ALL, "y.py": ALL - {"ASYNC210"}},
    ),
    "excluded-files": (
        {
            "ruff.toml": 'extend-exclude = ["legacy"]\n[lint]\nselect = ["ASYNC"]\nexclude = ["app/generated_*.py"]\n',
        },
        {"app/x.py": ALL, "legacy/x.py": set(), "app/generated_api.py": set(), "venv2/x.py": ALL},
    ),
    "exclude-replaces-the-defaults": (
        {"ruff.toml": 'exclude = ["legacy"]\n[lint]\nselect = ["ASYNC"]\n'},
        {"app/x.py": ALL, "legacy/x.py": set()},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_codes_for_each_file(tmp_path: Path, case: str) -> None:
    files, expected = CASES[case]
    root = _project(tmp_path, {**files, **{name: PROBE for name in expected}})
    for name, codes in expected.items():
        assert _poollint_codes(root, name) == frozenset(codes), name


@pytest.mark.skipif(_ruff() is None, reason="ruff is not installed")
@pytest.mark.parametrize("case", sorted(CASES))
def test_codes_match_what_the_real_ruff_reports(tmp_path: Path, case: str) -> None:
    files, expected = CASES[case]
    root = _project(tmp_path, {**files, **{name: PROBE for name in expected}})
    reported = _ruff_codes(root)
    for name in expected:
        ours, ruffs = _poollint_codes(root, name), reported.get(name, frozenset())
        # Never a code ruff does not report there: that finding would be lost.
        assert ours <= ruffs, name
        if case not in CONSERVATIVE:
            assert ours == ruffs, name


def test_default_excludes_are_ruffs(tmp_path: Path) -> None:
    root = _project(tmp_path, {"ruff.toml": '[lint]\nselect = ["ASYNC"]\n', ".venv/lib/x.py": PROBE, "x.py": PROBE})
    assert _poollint_codes(root, ".venv/lib/x.py") == frozenset()
    assert _poollint_codes(root, "x.py") == ALL


def test_include_limits_the_files_ruff_lints(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        {"ruff.toml": 'include = ["src/**/*.py"]\n[lint]\nselect = ["ASYNC"]\n', "src/app/x.py": PROBE, "tools/x.py": PROBE},
    )
    assert _poollint_codes(root, "src/app/x.py") == ALL
    assert _poollint_codes(root, "tools/x.py") == frozenset()


def test_nearest_config_is_none_without_any(tmp_path: Path) -> None:
    _project(tmp_path, {"pyproject.toml": '[project]\nname = "x"\n', "app/x.py": PROBE})
    # Directories above tmp_path are not ours to vouch for; only the answer
    # for this tree matters.
    found = nearest_ruff_config(tmp_path / "app")
    assert found is None or tmp_path not in found.parents


@pytest.mark.parametrize(
    "files, cause",
    [
        ({"ruff.toml": "[lint\nselect = 1\n"}, "invalid TOML"),
        ({"pyproject.toml": "[tool.ruff\n"}, "invalid TOML"),
        ({"ruff.toml": '[lint]\nselect = "ASYNC"\n'}, "'select' must be a list of strings"),
        ({"ruff.toml": '[lint]\nselect = ["ASYNC299"]\n'}, "selector ruff does not know: 'ASYNC299'"),
        ({"ruff.toml": '[lint]\nignore = ["async"]\n'}, "selector ruff does not know: 'async'"),
        ({"ruff.toml": 'extend = "missing.toml"\n'}, "names a file that does not exist"),
        ({"ruff.toml": 'extend = "ruff.toml"\n'}, "chain loops"),
        ({"ruff.toml": 'lint = 3\n'}, "'lint' must be a table"),
        ({"ruff.toml": '[lint]\nselect = ["ASYNC"]\nper-file-ignores = ["x.py"]\n'}, "must be a table"),
        ({"ruff.toml": '[lint.per-file-ignores]\n"x.py" = ["ASYNC9"]\n'}, "selector ruff does not know: 'ASYNC9'"),
    ],
)
def test_a_configuration_ruff_refuses_is_an_error_naming_the_file(tmp_path: Path, files, cause: str) -> None:
    root = _project(tmp_path, files)
    config = root / next(iter(files))
    with pytest.raises(RuffConfigError) as info:
        load_ruff_config(nearest_ruff_config(root) or config)
    assert cause in str(info.value)
    assert str(config) in str(info.value)


@pytest.mark.skipif(_ruff() is None, reason="ruff is not installed")
@pytest.mark.parametrize(
    "config",
    ['[lint]\nselect = ["ASYNC299"]\n', "[lint\n", 'extend = "missing.toml"\n', '[lint]\nselect = "ASYNC"\n'],
)
def test_ruff_itself_refuses_those_configurations(tmp_path: Path, config: str) -> None:
    root = _project(tmp_path, {"ruff.toml": config, "x.py": PROBE})
    done = subprocess.run([_ruff(), "check", "--no-cache", "."], cwd=root, capture_output=True, text=True)  # type: ignore[list-item]
    assert done.returncode == 2, done.stdout + done.stderr


def test_an_unreadable_configuration_leaves_nothing_to_ruff_and_warns_once(tmp_path: Path) -> None:
    root = _project(tmp_path, {"ruff.toml": "[lint\n", "a.py": PROBE, "b/c.py": PROBE})
    lookup = RuffLookup()
    assert lookup.codes_for(root / "a.py") == frozenset()
    assert lookup.codes_for(root / "b" / "c.py") == frozenset()
    assert len(lookup.warnings) == 1
    assert str(root / "ruff.toml") in lookup.warnings[0] and "invalid TOML" in lookup.warnings[0]


def test_each_configuration_is_read_once_per_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import poollint.ruff_config as ruff_config

    root = _project(tmp_path, {"ruff.toml": '[lint]\nselect = ["ASYNC"]\n', "a/x.py": PROBE, "b/x.py": PROBE})
    loads = []
    original = ruff_config.load_ruff_config
    monkeypatch.setattr(ruff_config, "load_ruff_config", lambda path: loads.append(path) or original(path))
    lookup = RuffLookup()
    for name in ("a/x.py", "b/x.py", "a/y.py"):
        assert lookup.codes_for(root / name) == ALL
    assert loads == [root / "ruff.toml"]


@pytest.mark.parametrize(
    "required, newer",
    [
        (">=0.16", True),
        (">=0.16.0,<0.18", True),
        ("==0.17.6", True),
        ("0.16.2", True),
        ("~=0.17", True),
        (">0.16", True),
        (">=0.15.9", False),
        ("==0.15", False),
        ("<0.18", False),
        ("!=0.15.0", False),
        ("", False),
        ("latest", False),
    ],
)
def test_required_version_decides_ruffs_default_rule_set(tmp_path: Path, required: str, newer: bool) -> None:
    root = _project(tmp_path, {"ruff.toml": f'required-version = "{required}"\n', "x.py": PROBE})
    assert _poollint_codes(root, "x.py") == (DEFAULT_0_16 if newer else frozenset())


def test_each_directory_above_is_looked_at_once_per_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import poollint.ruff_config as ruff_config

    names = [f"pkg{i}/sub/x.py" for i in range(5)]
    root = _project(tmp_path, {"pyproject.toml": '[tool.ruff.lint]\nselect = ["ASYNC"]\n', **{n: PROBE for n in names}})
    reads = []
    original = ruff_config._read
    monkeypatch.setattr(ruff_config, "_read", lambda path: reads.append(path) or original(path))
    lookup = RuffLookup()
    assert all(lookup.codes_for(root / name) == ALL for name in names)
    assert reads.count(root / "pyproject.toml") == 2  # is it ruff's? then the configuration itself


PRE_COMMIT = """\
repos:
  - repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v5.0.0
    hooks:
      - id: end-of-file-fixer
  - repo: https://github.com/astral-sh/ruff-pre-commit
    # ruff's version
    rev: v{version}
    hooks:
      - id: ruff-check
        args: [--fix]
      - id: ruff-format
"""


@pytest.mark.parametrize("version, newer", [("0.17.6", True), ("0.16.0", True), ("0.15.12", False)])
def test_the_ruff_pre_commit_pins_tells_which_ruff_runs(tmp_path: Path, version: str, newer: bool) -> None:
    root = _project(
        tmp_path,
        {"pyproject.toml": "[tool.ruff]\nline-length = 100\n", ".pre-commit-config.yaml": PRE_COMMIT.format(version=version), "x.py": PROBE},
    )
    config = RuffLookup().config_for(root / "x.py")
    assert config.ruff_version == f"=={version}"  # type: ignore[union-attr]
    assert _poollint_codes(root, "x.py") == (DEFAULT_0_16 if newer else frozenset())


def test_required_version_wins_over_the_pre_commit_pin(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        {
            "ruff.toml": 'required-version = ">=0.15"\n',
            ".pre-commit-config.yaml": PRE_COMMIT.format(version="0.17.6"),
            "x.py": PROBE,
        },
    )
    config = RuffLookup().config_for(root / "x.py")
    assert config.ruff_version == ">=0.15"  # type: ignore[union-attr]
    assert config.runs_at_least((0, 15, 0)) and not config.runs_at_least((0, 16, 0))  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text",
    [
        "repos:\n  - repo: local\n    hooks:\n      - id: ruff\n",
        "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n    hooks:\n      - id: ruff\n"
        "  - repo: https://github.com/x/y\n    rev: v9.9.9\n",
        "repos: [{repo: https://github.com/astral-sh/ruff-pre-commit, rev: v0.17.6}]\n",
    ],
    ids=["local-hook", "no-rev-of-its-own", "flow-style"],
)
def test_a_pre_commit_file_without_a_readable_ruff_rev_says_nothing(tmp_path: Path, text: str) -> None:
    root = _project(tmp_path, {"ruff.toml": "line-length = 100\n", ".pre-commit-config.yaml": text, "x.py": PROBE})
    assert RuffLookup().config_for(root / "x.py").ruff_version is None  # type: ignore[union-attr]


def test_without_knowing_the_ruff_only_the_oldest_releases_calls_count(tmp_path: Path) -> None:
    root = _project(tmp_path, {"ruff.toml": '[lint]\nselect = ["ASYNC"]\n', "x.py": PROBE})
    config = RuffLookup().config_for(root / "x.py")
    assert config.ruff_version is None  # type: ignore[union-attr]
    assert config.runs_at_least(OLDEST) and not config.runs_at_least((0, 15, 0))  # type: ignore[union-attr]
