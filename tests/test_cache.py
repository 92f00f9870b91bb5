"""The per-file cache: same findings as a cold run, less work, never stale."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path
from typing import Callable, List

import pytest
from clirunner import cli_runner as _runner

import poollint.engine as engine_module
import poollint.runner as runner_module
from poollint.cache import CACHE_DIR_NAME
from poollint.cli import main

PROJECT = Path(__file__).parent / "fixtures" / "project"



@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(PROJECT, root)
    (root / "pyproject.toml").write_text("[tool.poollint]\n")
    monkeypatch.chdir(root)
    # The default place, at the project root, unless a test says otherwise.
    monkeypatch.delenv("POOLLINT_CACHE_DIR", raising=False)
    return root


class Counter:
    """How many files each pass worked on in one run (in-process, -j1)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.checked: List[str] = []
        self.parsed: List[str] = []
        check_task = runner_module._check_task
        facts_task = runner_module._facts_task

        def counting_check(state, path):  # type: ignore[no-untyped-def]
            self.checked.append(Path(path).name)
            return check_task(state, path)

        def counting_facts(root, path):  # type: ignore[no-untyped-def]
            self.parsed.append(Path(path).name)
            return facts_task(root, path)

        monkeypatch.setattr(runner_module, "_check_task", counting_check)
        monkeypatch.setattr(runner_module, "_facts_task", counting_facts)

    def reset(self) -> None:
        self.checked.clear()
        self.parsed.clear()


def check(*args: str) -> str:
    result = _runner().invoke(main, ["check", "-j1", *args, "."], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.stderr
    return result.stdout


def test_warm_run_reports_the_same_and_parses_nothing(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cold = check("--no-cache")
    assert "POL202" in cold
    counter = Counter(monkeypatch)
    first = check()
    assert first == cold
    assert counter.checked and counter.parsed
    counter.reset()
    warm = check()
    assert warm == cold
    assert (counter.checked, counter.parsed) == ([], [])


def test_cache_lives_at_the_project_root_and_ignores_itself(project: Path) -> None:
    (project / "app" / "routers").joinpath("nested.py").write_text("x = 1\n")
    result = _runner().invoke(main, ["check", "-j1", "app/routers"], catch_exceptions=False)
    assert result.exit_code in (0, 1)
    cache = project / CACHE_DIR_NAME
    assert cache.is_dir()
    assert (cache / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (cache / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert not (project / "app" / "routers" / CACHE_DIR_NAME).exists()


def test_no_cache_writes_nothing(project: Path) -> None:
    check("--no-cache")
    assert not (project / CACHE_DIR_NAME).exists()


def test_cache_dir_option_and_environment(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check("--cache-dir", str(tmp_path / "from-option"))
    assert (tmp_path / "from-option" / "CACHEDIR.TAG").exists()
    monkeypatch.setenv("POOLLINT_CACHE_DIR", str(tmp_path / "from-env"))
    check()
    assert (tmp_path / "from-env" / "CACHEDIR.TAG").exists()
    assert not (project / CACHE_DIR_NAME).exists()


def test_cache_dir_in_the_config(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.poollint]\ncache-dir = "build/lint-cache"\n')
    check()
    assert (project / "build" / "lint-cache" / "CACHEDIR.TAG").exists()


def test_clean_removes_the_cache(project: Path) -> None:
    check()
    assert (project / CACHE_DIR_NAME).is_dir()
    result = _runner().invoke(main, ["clean"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "Removed" in result.stdout
    assert not (project / CACHE_DIR_NAME).exists()
    again = _runner().invoke(main, ["clean"], catch_exceptions=False)
    assert again.exit_code == 0 and again.stdout == ""


def test_clean_refuses_a_directory_that_is_not_a_cache(project: Path, tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    result = _runner().invoke(main, ["clean", "--cache-dir", str(precious)])
    assert result.exit_code == 2
    assert (precious / "notes.txt").exists()


def test_an_unrelated_change_rechecks_only_that_file(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check()
    counter = Counter(monkeypatch)
    cache_py = project / "app" / "cache.py"
    cache_py.write_text("# a comment on top\n" + cache_py.read_text())
    assert check() == check("--no-cache")
    counter.reset()
    cache_py.write_text("# another comment on top\n" + cache_py.read_text())
    check()
    assert counter.parsed == ["cache.py"]
    assert counter.checked == ["cache.py"]


def _edit(path: Path, old: str, new: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        target = root / path
        text = target.read_text()
        assert old in text, (path, old)
        target.write_text(text.replace(old, new, 1))

    return apply


def _prepend(path: Path, text: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        target = root / path
        target.write_text(text + target.read_text())

    return apply


def _write(path: Path, text: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        (root / path).write_text(text)

    return apply


def _remove(path: Path) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        (root / path).unlink()

    return apply


# Each edit changes what other modules' findings depend on: a dependency
# gains its finally, the db module's lines move (messages cite them), a new
# module adds a route using a dependency, a module goes away.
EDITS = [
    ("a dependency is fixed", _edit(Path("app/deps.py"), "    yield db\n    db.close()", "    try:\n        yield db\n    finally:\n        db.close()")),
    ("lines move in the db package", _prepend(Path("app/db/primary.py"), "# moved\n# down\n")),
    (
        "a new router uses a dependency",
        _write(
            Path("app/routers/extra.py"),
            "import time\n\nfrom fastapi import APIRouter, Depends\n\nfrom app.deps import get_reporting_db\n\n"
            "router = APIRouter()\n\n\n@router.get('/extra')\nasync def extra(db=Depends(get_reporting_db)):\n"
            "    time.sleep(1)\n    return db.execute('select 1')\n",
        ),
    ),
    ("the new router goes away", _remove(Path("app/routers/extra.py"))),
    ("a dependency is broken again", _edit(Path("app/deps.py"), "    try:\n        yield db\n    finally:\n        db.close()", "    yield db\n    db.close()")),
]


def test_cached_findings_follow_every_change_in_other_modules(project: Path) -> None:
    check()
    for why, edit in EDITS:
        edit(project)
        warm = check()
        assert warm == check("--no-cache"), why
        assert check() == warm, why  # and once more, from the cache only


def test_settings_are_part_of_the_key(project: Path) -> None:
    everything = check()
    only_leaks = check("--select", "POL2")
    assert only_leaks == check("--no-cache", "--select", "POL2")
    assert only_leaks != everything
    assert check() == everything


def test_a_damaged_cache_is_ignored_and_rewritten(project: Path) -> None:
    expected = check()
    for found in (project / CACHE_DIR_NAME).rglob("*.findings"):
        found.write_bytes(b"not a pickle")
    for found in (project / CACHE_DIR_NAME).rglob("*.facts"):
        found.write_bytes(found.read_bytes()[:100])
    assert check() == expected
    assert check() == expected


def test_the_cache_never_builds_foreign_objects(project: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, (f"touch {marker}",))

    expected = check()
    for found in (project / CACHE_DIR_NAME).rglob("*.findings"):
        found.write_bytes(pickle.dumps((1, {"x": Exploit()})))
    assert check() == expected
    assert not marker.exists()


def test_fix_still_fixes_a_file_whose_findings_are_cached(project: Path) -> None:
    check()
    result = _runner().invoke(main, ["check", "-j1", "--fix", "."], catch_exceptions=False)
    assert "Fixed" in result.stdout or "fixed" in result.stdout
    assert check() == check("--no-cache")


def test_parallel_runs_share_the_cache(project: Path) -> None:
    expected = check("--no-cache")
    result = _runner().invoke(main, ["check", "-j2", "."], catch_exceptions=False)
    assert result.stdout == expected
    assert check() == expected


def test_an_unwritable_cache_is_a_warning_not_a_failure(project: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    expected = check("--no-cache")
    result = _runner().invoke(main, ["check", "-j1", "--cache-dir", str(blocker / "cache"), "."], catch_exceptions=False)
    assert result.stdout == expected
    assert "cannot write the cache" in result.stderr


def test_facts_of_a_file_are_reused_by_content(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check()
    calls: List[str] = []
    original = engine_module.collect_facts

    def counting(source, module, path, is_package=False):  # type: ignore[no-untyped-def]
        calls.append(path)
        return original(source, module, path, is_package)

    monkeypatch.setattr(engine_module, "collect_facts", counting)
    services = project / "app" / "services.py"
    services.write_text(services.read_text() + "\n\ndef added():\n    return 1\n")
    check()
    assert calls == ["app/services.py"]


def test_a_run_answered_from_the_cache_never_imports_libcst(project: Path) -> None:
    import subprocess
    import sys

    check()
    # Neither libcst nor a process pool: together half of a warm run's start-up.
    heavy = ["libcst", "multiprocessing", "concurrent.futures", "difflib", "tempfile"]
    probe = (
        "import sys\n"
        "from poollint.cli import main\n"
        "try:\n"
        "    main(['check', '.'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print([name for name in {heavy!r} if name in sys.modules], file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=project, capture_output=True, text=True, check=True)
    assert done.stderr.strip().splitlines()[-1] == "[]"
    assert "POL202" in done.stdout
