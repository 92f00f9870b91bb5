"""poollint never imports, executes or evaluates the code it checks (issue 6, sixth promise).

Every file below would leave a marker file behind if any of it ran: at
import (module level, a class body, a decorator, a default argument), as a
package's __init__.py, as pytest's conftest.py, as setup.py, or as
gunicorn.conf.py, which poollint reads for its worker count. Each also holds
findings, some with fixes, so every pass runs on it, --fix included, on one
process and on several.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List

import pytest

from .helpers import Outcome, run_cli, run_process


def _side_effect(marker: Path, where: str) -> str:
    """Python that writes `marker` when it runs, by several routes at once."""
    return f"""\
import pathlib as _pathlib
_pathlib.Path({str(marker)!r}).write_text({where!r})


def _touch(*args, **kwargs):
    _pathlib.Path({str(marker)!r} + ".decorator").write_text({where!r})
    return lambda function: function


class Meta(type):
    _pathlib.Path({str(marker)!r} + ".class-body").write_text({where!r})


@_touch()
def helper(value=_pathlib.Path({str(marker)!r} + ".default").write_text({where!r})):
    return value


if __name__ == "__main__":
    _pathlib.Path({str(marker)!r} + ".main").write_text({where!r})
"""


_FINDINGS = """
import time
from fastapi import FastAPI
from sqlalchemy import create_engine

app = FastAPI()
engine = create_engine("postgresql://app@db/shop", echo=True)


@app.get("/orders")
async def orders():
    time.sleep(1)
    return {"orders": eval("__import__('pathlib').Path('EVAL_MARKER').write_text('eval')")}
"""

# Names that a tool could be tempted to import or run (pytest, setuptools,
# gunicorn, a package import); the last ones make -j2 use worker processes.
_NAMES = [
    "conftest.py",
    "setup.py",
    "gunicorn.conf.py",
    "app/__init__.py",
    "app/__main__.py",
    "app/routes.py",
    "app/tests/conftest.py",
    "docs/conf.py",
    "noxfile.py",
    "manage.py",
    "sitecustomize.py",
    "usercustomize.py",
] + [f"app/module_{i:02d}.py" for i in range(12)]


def _project(root: Path) -> List[Path]:
    markers = []
    for index, name in enumerate(_NAMES):
        path = root / "project" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        marker = root / "markers" / f"ran-{index:02d}"
        markers.append(marker)
        body = _side_effect(marker, name) + _FINDINGS.replace("EVAL_MARKER", str(marker) + ".eval")
        if name == "gunicorn.conf.py":
            body += "\nworkers = int(_pathlib.Path(__file__).read_text() and 4)\n"
        path.write_text(body)
    (root / "markers").mkdir()
    (root / "project" / "pyproject.toml").write_text(
        '[project]\nname = "shop"\ndependencies = ["fastapi==0.110.0"]\n'
    )
    (root / "project" / "Dockerfile").write_text('CMD ["gunicorn", "-w", "4", "app:app"]\n')
    return markers


def _assert_nothing_ran(root: Path) -> None:
    assert list((root / "markers").iterdir()) == [], "code under check ran"


@pytest.mark.parametrize("jobs", ["-j1", "-j2"])
@pytest.mark.parametrize("fix", [False, True], ids=["check", "fix"])
def test_checked_code_never_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: str, fix: bool) -> None:
    _project(tmp_path)
    monkeypatch.chdir(tmp_path / "project")
    outcome = run_cli("check", "--no-cache", jobs, *(["--fix"] if fix else []), ".")
    assert outcome.exit_code == 1, outcome.stdout + outcome.stderr
    _assert_every_file_went_through(tmp_path, outcome, fix)
    _assert_nothing_ran(tmp_path)


def _assert_every_file_went_through(root: Path, outcome: Outcome, fix: bool) -> None:
    if fix:
        fixed = [name for name in _NAMES if "await asyncio.sleep(1)" in (root / "project" / name).read_text()]
        assert fixed == _NAMES, outcome.stdout
    else:
        checked = [name for name in _NAMES if "POL101" in outcome.codes_by_file().get(name, [])]
        assert checked == _NAMES, outcome.stdout


def test_gunicorn_conf_is_read_for_workers_by_parsing_only(tmp_path: Path) -> None:
    _project(tmp_path)
    (tmp_path / "project" / "gunicorn.conf.py").write_text(
        "import pathlib\n"
        f"pathlib.Path({str(tmp_path / 'markers' / 'gunicorn')!r}).write_text('ran')\n"
        "workers = 3\n"
    )
    outcome = run_cli("engines", "--output-format", "json", str(tmp_path / "project"))
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert '"workers": 3' in outcome.stdout or '"workers":3' in outcome.stdout.replace(" ", "")
    _assert_nothing_ran(tmp_path)


def test_checked_code_never_runs_in_a_process_of_its_own(tmp_path: Path) -> None:
    # A user's way in: no CliRunner, real worker processes, and the project
    # as the current directory (where a sitecustomize.py sits).
    _project(tmp_path)
    outcome = run_process("check", "--no-cache", "-j2", "--fix", ".", cwd=tmp_path / "project")
    assert outcome.exit_code == 1, outcome.stdout + outcome.stderr
    _assert_every_file_went_through(tmp_path, outcome, fix=True)
    _assert_nothing_ran(tmp_path)
    assert not any(name.endswith(".pyc") for _, _, files in os.walk(tmp_path / "project") for name in files)


def test_the_markers_do_appear_when_the_code_runs(tmp_path: Path) -> None:
    # The control: run one of the files as Python would, and every route the
    # other tests rely on leaves its marker.
    import subprocess
    import sys

    markers = _project(tmp_path)
    index = _NAMES.index("setup.py")
    # It fails further down (no database driver here): the markers come first.
    subprocess.run([sys.executable, str(tmp_path / "project" / "setup.py")], capture_output=True)
    ran = sorted(path.name for path in (tmp_path / "markers").iterdir())
    name = markers[index].name
    assert ran == sorted([name, f"{name}.class-body", f"{name}.decorator", f"{name}.default", f"{name}.main"])
