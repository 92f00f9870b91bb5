"""Which files to check: walk the given paths, keep Python sources (and, when
asked, the deployment files of deployment.py), skip excluded ones."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

from poollint.config import Settings, path_matches_glob
from poollint.deployment import deployment_kind

__all__ = ["DiscoveryError", "PYTHON_SUFFIXES", "discover_files", "discover_python_files", "is_excluded"]

PYTHON_SUFFIXES = (".py", ".pyi")


class DiscoveryError(FileNotFoundError):
    """A path given on the command line that does not exist; str() is one line."""


def _root(settings: Settings) -> str:
    return os.path.abspath(settings.project_root)


def _relative(abs_path: str, root: str) -> Optional[str]:
    """`abs_path` relative to `root` in posix form, or None when it lies outside."""
    for path, base in ((abs_path, root), (os.path.realpath(abs_path), os.path.realpath(root))):
        try:
            if os.path.commonpath([path, base]) != base:
                continue
        except ValueError:  # different drives on Windows
            continue
        rel = os.path.relpath(path, base)
        return "" if rel == "." else rel.replace(os.sep, "/")
    return None


def is_excluded(path: Path, settings: Settings) -> bool:
    """Whether `path`, or a directory between it and the project root, matches an exclude pattern.

    A pattern matches an entry's basename or its posix path relative to the
    project root. The project root itself is never excluded; for a path
    outside it, only the path's own basename is tried.
    """
    patterns = settings.all_exclude
    if not patterns:
        return False
    abs_path = os.path.abspath(path)
    rel = _relative(abs_path, _root(settings))
    if rel is None:
        return path_matches_glob(patterns, None, os.path.basename(abs_path))
    if not rel:
        return False
    parts = rel.split("/")
    return any(path_matches_glob(patterns, "/".join(parts[: i + 1])) for i in range(len(parts)))


def discover_python_files(
    paths: Sequence[Path], settings: Settings, *, force_exclude: bool = False
) -> List[Path]:
    """The *.py and *.pyi files under `paths` (see discover_files)."""
    return discover_files(paths, settings, force_exclude=force_exclude)


def discover_files(
    paths: Sequence[Path], settings: Settings, *, force_exclude: bool = False, deployment: bool = False
) -> List[Path]:
    """The *.py and *.pyi files under `paths`, deduplicated and sorted by posix string.

    With `deployment`, also the deployment files (requirements files,
    pyproject.toml, lock files, Dockerfiles, Procfiles, compose files: see
    deployment.deployment_kind) the walk meets, under the same excludes.

    Directories are walked without following directory symlinks. Paths keep
    the form they were given in (relative stays relative, as ruff and flake8
    print them). A file named explicitly is kept even when excluded, and
    whatever its suffix, unless `force_exclude`. A broken symlink is returned
    so that the engine reports the read error. A missing path raises
    DiscoveryError.
    """
    root = _root(settings)
    patterns = settings.all_exclude
    found: Dict[str, Path] = {}
    visited: Set[Tuple[int, int]] = set()

    def add(path: Path) -> None:
        found.setdefault(os.path.normcase(os.path.abspath(path)), path)

    for given in paths:
        given = Path(given)
        if not os.path.lexists(given):
            raise DiscoveryError(f"path {str(given)!r} does not exist")
        if force_exclude and is_excluded(given, settings):
            continue
        if given.is_dir():
            _walk(given, _relative(os.path.abspath(given), root), patterns, visited, add, deployment)
        else:
            add(given)

    return sorted(found.values(), key=lambda p: p.as_posix())


def _walk(
    top: Path,
    top_rel: Optional[str],
    patterns: Tuple[str, ...],
    visited: Set[Tuple[int, int]],
    add: Callable[[Path], None],
    deployment: bool = False,
) -> None:
    stack: List[Tuple[Path, Optional[str]]] = [(top, top_rel)]
    while stack:
        directory, rel = stack.pop()
        try:
            stat = os.stat(directory)
        except OSError:
            continue
        key = (stat.st_dev, stat.st_ino)
        # Directory symlinks are not followed, but a bind mount or an explicit
        # path may still reach the same directory twice.
        if key in visited:
            continue
        visited.add(key)
        try:
            with os.scandir(directory) as entries:
                children = list(entries)
        except OSError:
            # An unreadable directory cannot hold anything we could read.
            continue
        for entry in children:
            name = entry.name
            child_rel = (f"{rel}/{name}" if rel else name) if rel is not None else None
            if patterns and path_matches_glob(patterns, child_rel, name):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((directory / name, child_rel))
                    continue
                if not name.endswith(PYTHON_SUFFIXES) and not (
                    deployment and deployment_kind(f"{directory.name}/{name}") is not None
                ):
                    continue
                if entry.is_symlink():
                    # A link to a file is a file; a dangling one is kept for the
                    # engine to report; a link to a directory is not walked.
                    if os.path.isdir(entry.path):
                        continue
                elif not entry.is_file():
                    continue
            except OSError:
                continue
            add(directory / name)
