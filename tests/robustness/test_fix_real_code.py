"""`poollint check --fix --unsafe-fixes` on code nobody here wrote, and on the example app.

The source trees of installed packages (SQLAlchemy, FastAPI, Starlette,
Pydantic, click: the test extras and their dependencies) are copied to a
temporary directory and fixed there through the command line, as a user
would. Afterwards:

- every .py file that compiled before still compiles (compile() of its bytes,
  as Python reads it, coding line and all);
- the files that changed are exactly those `--diff` shows for a copy of the
  files as they were, with as many fixes as it announces; every other file
  is byte-identical (with no fix reported, every file is);
- a second `--fix` changes nothing.

The installed packages make the slow test (`-m "not slow"` leaves it out
locally; the normal run and CI run it).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Dict, List, Sequence, Set

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SHOP = ROOT / "examples" / "shop"
PACKAGES = ("sqlalchemy", "fastapi", "starlette", "pydantic", "click")
# Compiled extensions and bytecode are not source: not copied.
NOT_SOURCE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.pyd")


def _installed_tree(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{package} is not installed (pip install -e '.[test]')")
    return Path(list(spec.submodule_search_locations)[0])


def _snapshot(root: Path) -> Dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _poollint(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # The command line in a process of its own, as a user or pre-commit runs it.
    return subprocess.run(
        [sys.executable, "-m", "poollint", "check", *args, "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def _diffed_files(diff: str) -> Set[str]:
    """The files a unified diff changes: `--- name` directly followed by `+++ name`
    (a removed line that starts with `-- ` also shows as `--- `)."""
    lines = diff.splitlines()
    return {
        line[4:]
        for line, following in zip(lines, lines[1:])
        if line.startswith("--- ") and following == "+++ " + line[4:]
    }


def _count(pattern: str, text: str) -> int:
    match = re.search(pattern, text)
    return int(match.group(1)) if match else 0


def _compiles(data: bytes, name: str) -> bool:
    try:
        with warnings.catch_warnings():
            # Invalid escapes and the like in the libraries are not ours to report.
            warnings.simplefilter("ignore")
            compile(data, name, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _assert_clean_run(completed: subprocess.CompletedProcess) -> None:
    assert completed.returncode in (0, 1), completed.stderr
    assert "Traceback" not in completed.stderr, completed.stderr
    assert "internal error" not in completed.stderr + completed.stdout, completed.stdout + completed.stderr
    assert "POL904" not in completed.stdout, completed.stdout


def _write(root: Path, files: Dict[str, bytes]) -> None:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


def check_fix_invariants_on_tree(root: Path, targets: Sequence[str], pristine: Path) -> int:
    """Fix the files under `root` (the command line given `targets`), assert the
    properties in the module docstring; the number of fixes applied. `pristine`
    is an empty directory for a copy of the files as they were."""
    before = _snapshot(root)
    compiled_before = {name for name, data in before.items() if name.endswith(".py") and _compiles(data, name)}

    fixing = _poollint(root, *targets, "--fix", "--unsafe-fixes")
    _assert_clean_run(fixing)
    after = _snapshot(root)
    assert set(after) == set(before), "files appeared or disappeared"
    changed = {name for name in before if after[name] != before[name]}
    fixed = _count(r"\((\d+) fixed", fixing.stdout)

    broken: List[str] = [name for name in sorted(compiled_before) if not _compiles(after[name], name)]
    assert not broken, f"no longer compile after --fix: {broken}"

    if not fixed:
        assert not changed, f"no fix reported, yet these changed: {sorted(changed)}"
        # A second run would read the very same bytes: nothing more to prove.
        return 0

    # Which files had fixes: what --diff shows for the files as they were.
    _write(pristine, before)
    diff = _poollint(pristine, *targets, "--diff", "--unsafe-fixes")
    _assert_clean_run(diff)
    assert _snapshot(pristine) == before, "--diff wrote to the files"
    announced = _diffed_files(diff.stdout)
    assert changed == announced, f"changed {sorted(changed)}, --diff showed {sorted(announced)}"
    assert _count(r"Would fix (\d+) problem", diff.stderr) == fixed, fixing.stdout + diff.stderr

    again = _poollint(root, *targets, "--fix", "--unsafe-fixes")
    _assert_clean_run(again)
    assert _snapshot(root) == after, "a second --fix changed the files again"
    assert " fixed" not in again.stdout, again.stdout
    return fixed


@pytest.mark.slow
def test_fixing_installed_packages_corrupts_nothing(tmp_path: Path) -> None:
    present = [package for package in PACKAGES if importlib.util.find_spec(package) is not None]
    if not present:
        pytest.skip("none of the packages is installed (pip install -e '.[test]')")
    copies = tmp_path / "copies"
    for package in present:
        shutil.copytree(_installed_tree(package), copies / package, ignore=NOT_SOURCE)
    python_files = sum(1 for name in _snapshot(copies) if name.endswith(".py"))
    assert python_files > 100, "the copies hold too little code to prove anything"
    # Two processes: CI has two cores, and this run checks hundreds of files.
    check_fix_invariants_on_tree(copies, [*present, "-j2"], tmp_path / "pristine")


def test_fixing_the_example_app_corrupts_nothing(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(SHOP, shop, ignore=NOT_SOURCE)
    fixes = check_fix_invariants_on_tree(shop, ["."], tmp_path / "pristine")
    assert fixes > 5, "the example app has fixable findings in most modules"


def test_diffed_files_are_told_by_header_pairs() -> None:
    diff = "--- a.py\n+++ a.py\n@@ -1 +1 @@\n--- removed SQL comment\n+x\n--- b/c.py\n+++ b/c.py\n"
    assert _diffed_files(diff) == {"a.py", "b/c.py"}
