"""A configuration error is one clear line (issue 6, fifth promise).

Whatever is wrong in [tool.poollint] or on the command line, poollint prints
one line on stderr naming the file (or the flag) and the key, checks nothing,
and exits 2; never a traceback. tests/test_config.py holds the exact wording
of each type error; here each kind of mistake goes through the command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence, Tuple

import pytest

from .helpers import Outcome, run_cli, run_process


def _one_clear_line(outcome: Outcome, *names: str) -> str:
    assert outcome.exit_code == 2, outcome
    assert outcome.stdout == "", "nothing is checked"
    assert "Traceback" not in outcome.stdout + outcome.stderr
    assert outcome.stderr.count("\n") == 1, outcome.stderr
    line = outcome.stderr.rstrip("\n")
    assert line.startswith("poollint: error: "), line
    for name in names:
        assert name in line, f"{name!r} not in {line!r}"
    return line


PYPROJECT_CASES: Sequence[Tuple[str, str, Tuple[str, ...]]] = [
    ("invalid TOML", "[tool.poollint]\nselect = [\n", ("invalid TOML",)),
    ("a table twice", "[tool.poollint]\n[tool.poollint]\n", ("invalid TOML",)),
    ("unknown key", "[tool.poollint]\nselekt = ['POL1']\n", ("unknown key 'selekt'", "did you mean 'select'")),
    ("unknown pool key", "[tool.poollint.pool]\npool-size = 3\n", ("[tool.poollint.pool]", "'pool-size'")),
    ("poollint not a table", "[tool]\npoollint = 1\n", ("'poollint' must be a table",)),
    ("wrong type: select", "[tool.poollint]\nselect = 'POL1'\n", ("'select' must be a list of strings",)),
    ("wrong type: a code", "[tool.poollint]\nignore = ['POL1', 101]\n", ("'ignore'", "101")),
    ("wrong type: unsafe-fixes", "[tool.poollint]\nunsafe-fixes = 'yes'\n", ("'unsafe-fixes' must be true or false",)),
    ("wrong type: per-file-ignores", "[tool.poollint.per-file-ignores]\n'tests/*' = 'POL1'\n", ("'tests/*'", "list of strings")),
    ("wrong type: pool value", "[tool.poollint.pool]\npool_size = 'ten'\n", ("'pool_size' must be an integer",)),
    ("out of range: workers", "[tool.poollint.pool]\nworkers = 0\n", ("'workers' must be >= 1",)),
    ("unknown code in select", "[tool.poollint]\nselect = ['POL777']\n", ("'POL777'", "[tool.poollint] select")),
    ("unknown code in ignore", "[tool.poollint]\nignore = ['POL777']\n", ("'POL777'", "[tool.poollint] ignore")),
    ("unknown code in extend-select", "[tool.poollint]\nextend-select = ['XYZ1']\n", ("'XYZ1'", "extend-select")),
    ("unknown code in per-file-ignores", "[tool.poollint.per-file-ignores]\n'tests/*' = ['POL777']\n", ("'POL777'", "per-file-ignores", "'tests/*'")),
    ("a code in lower case", "[tool.poollint]\nselect = ['pol101']\n", ("'pol101'", "did you mean 'POL101'")),
    ("an empty code", "[tool.poollint]\nselect = ['']\n", ("''", "[tool.poollint] select")),
    ("a rule name for a code", "[tool.poollint]\nignore = ['blocking-sleep']\n", ("did you mean 'POL101'",)),
    # tomllib's own failures, which used to escape as tracebacks:
    ("arrays nested past Python's recursion limit", "[tool.poollint]\nselect = " + "[" * 5000 + "]" * 5000 + "\n", ("invalid TOML", "nested")),
    ("an integer past Python's int-from-str limit", "[tool.poollint.pool]\nworkers = " + "9" * 5000 + "\n", ("invalid TOML", "digits")),
]


@pytest.mark.parametrize("text, names", [case[1:] for case in PYPROJECT_CASES], ids=[case[0] for case in PYPROJECT_CASES])
def test_a_bad_pyproject_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, names: Tuple[str, ...]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(text)
    (tmp_path / "a.py").write_text("x = 1\n")
    _one_clear_line(run_cli("check", "a.py"), str(tmp_path / "pyproject.toml"), *names)


def test_a_pyproject_toml_that_is_not_utf8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_bytes(b"[tool.poollint]\n# caf\xe9\n")
    _one_clear_line(run_cli("check", "."), str(tmp_path / "pyproject.toml"), "cannot read", "decode")


@pytest.mark.parametrize("command", ["check", "engines", "clean"])
def test_every_command_reports_a_bad_config_the_same_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.poollint]\nselekt = ['POL1']\n")
    _one_clear_line(run_cli(command), str(tmp_path / "pyproject.toml"), "unknown key 'selekt'")


COMMAND_LINE_CASES: Sequence[Tuple[str, Tuple[str, ...], Tuple[str, ...]]] = [
    ("unknown code in --select", ("--select", "POL777"), ("'POL777'", "--select")),
    ("unknown code in --ignore", ("--ignore", "POL1,POL777"), ("'POL777'", "--ignore")),
    ("unknown code in --extend-select", ("--extend-select", "XX"), ("'XX'", "--extend-select")),
    # An empty --select used to select nothing and pass every file (ruff: an error too).
    ("an empty --select", ("--select", ""), ("''", "--select")),
    ("a trailing comma in --select", ("--select", "POL101,"), ("''", "--select")),
    ("--config that does not exist", ("--config", "nope.toml"), ("nope.toml", "does not exist")),
    ("--config naming a directory", ("--config", "."), ("config file is not a regular file",)),
    ("-j 0", ("-j", "0"), ("-j/--jobs", "'0'")),
    ("-j that is not a number", ("-j", "many"), ("-j/--jobs", "'many'")),
]


@pytest.mark.parametrize("args, names", [case[1:] for case in COMMAND_LINE_CASES], ids=[case[0] for case in COMMAND_LINE_CASES])
def test_a_bad_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: Tuple[str, ...], names: Tuple[str, ...]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text("import time\n\nasync def f():\n    time.sleep(1)\n")
    _one_clear_line(run_cli("check", *args, "a.py"), *names)


def test_the_wording_of_an_unknown_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    line = _one_clear_line(run_cli("check", "--select", "POL777", "."))
    assert line == "poollint: error: unknown rule code or prefix 'POL777' in --select"


def test_a_config_error_in_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    # The ones that used to escape, in a process of its own: what a user sees.
    (tmp_path / "pyproject.toml").write_text("[tool.poollint]\nselect = " + "[" * 5000 + "]" * 5000 + "\n")
    _one_clear_line(run_process("check", ".", cwd=tmp_path), "pyproject.toml", "invalid TOML")
