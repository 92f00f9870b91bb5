from __future__ import annotations

import os
from pathlib import Path

import pytest

from poollint.config import Settings
from poollint.discovery import discover_python_files, is_excluded


def touch(root: Path, *relpaths: str) -> None:
    for rel in relpaths:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")


def settings_for(root: Path, **kwargs) -> Settings:
    return Settings(project_root=root, config_path=None, **kwargs)


def rel(paths, root: Path):
    return [p.relative_to(root).as_posix() for p in paths]


@pytest.fixture
def project(tmp_path):
    touch(
        tmp_path,
        "app/main.py",
        "app/models.pyi",
        "app/README.md",
        "app/legacy/old.py",
        "app/__pycache__/main.cpython-311.py",
        ".venv/lib/site.py",
        "build/lib/app.py",
        "pkg.egg-info/x.py",
        "migrations/0001.py",
        "tests/test_app.py",
    )
    return tmp_path


def test_walk_collects_py_and_pyi_and_skips_default_excludes(project):
    found = discover_python_files([project], settings_for(project))
    assert rel(found, project) == [
        "app/legacy/old.py",
        "app/main.py",
        "app/models.pyi",
        "migrations/0001.py",
        "tests/test_app.py",
    ]


def test_extend_exclude_by_basename_and_by_relative_path(project):
    settings = settings_for(project, extend_exclude=("migrations", "app/legacy/*"))
    found = discover_python_files([project], settings)
    assert rel(found, project) == ["app/main.py", "app/models.pyi", "tests/test_app.py"]


def test_exclude_replaces_defaults(project):
    found = discover_python_files([project], settings_for(project, exclude=("__pycache__",)))
    assert ".venv/lib/site.py" in rel(found, project)


def test_file_patterns_exclude_files(project):
    found = discover_python_files([project], settings_for(project, extend_exclude=("*.pyi",)))
    assert "app/models.pyi" not in rel(found, project)


def test_relative_input_gives_relative_output(project, monkeypatch):
    monkeypatch.chdir(project)
    found = discover_python_files([Path("app"), Path("./tests")], settings_for(project))
    assert [p.as_posix() for p in found] == [
        "app/legacy/old.py",
        "app/main.py",
        "app/models.pyi",
        "tests/test_app.py",
    ]


def test_overlapping_inputs_are_deduplicated(project, monkeypatch):
    monkeypatch.chdir(project)
    found = discover_python_files([Path("app"), Path("app/main.py"), project / "app"], settings_for(project))
    assert sorted(p.name for p in found) == ["main.py", "models.pyi", "old.py"]


def test_explicit_excluded_file_is_kept(project):
    target = project / ".venv" / "lib" / "site.py"
    assert discover_python_files([target], settings_for(project)) == [target]


def test_explicit_excluded_directory_is_walked(project):
    found = discover_python_files([project / "build"], settings_for(project))
    assert rel(found, project) == ["build/lib/app.py"]


def test_force_exclude_drops_explicit_excluded_paths(project):
    settings = settings_for(project, extend_exclude=("app/legacy",))
    assert discover_python_files([project / ".venv" / "lib" / "site.py"], settings, force_exclude=True) == []
    assert discover_python_files([project / "app" / "legacy" / "old.py"], settings, force_exclude=True) == []
    assert discover_python_files([project / "build"], settings, force_exclude=True) == []


def test_explicit_non_python_file_is_kept(project):
    target = project / "app" / "README.md"
    assert discover_python_files([target], settings_for(project)) == [target]


# A path that does not exist, and directory symlink loops, through the command
# line: tests/robustness/test_hostile_input.py.


def test_is_excluded_checks_ancestors_up_to_the_project_root(tmp_path):
    settings = settings_for(tmp_path / "build")
    # The project root's own name does not count, only what lies below it.
    assert not is_excluded(tmp_path / "build" / "app.py", settings)
    assert is_excluded(tmp_path / "build" / "node_modules" / "x" / "a.py", settings)
    assert is_excluded(tmp_path / "elsewhere" / ".venv", settings)
    assert not is_excluded(tmp_path / "elsewhere" / "a.py", settings)


symlinks = pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="needs POSIX symlinks")


@symlinks
def test_explicit_symlinked_directory_is_walked_once(tmp_path):
    touch(tmp_path, "real/a.py")
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    found = discover_python_files([tmp_path / "link", tmp_path / "real"], settings_for(tmp_path))
    assert len(found) == 1


@symlinks
def test_file_symlinks_and_broken_symlinks_are_returned(tmp_path):
    touch(tmp_path, "real.py")
    (tmp_path / "alias.py").symlink_to(tmp_path / "real.py")
    (tmp_path / "dangling.py").symlink_to(tmp_path / "missing.py")
    found = discover_python_files([tmp_path], settings_for(tmp_path))
    assert rel(found, tmp_path) == ["alias.py", "dangling.py", "real.py"]
    assert discover_python_files([tmp_path / "dangling.py"], settings_for(tmp_path)) == [tmp_path / "dangling.py"]
