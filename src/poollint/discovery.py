"""Which files to check: walk the given paths, keep Python sources (and, when
asked, the deployment files of deployment.py), skip excluded ones and, by
default, the ones git ignores (gitignore.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

from poollint.config import Settings, path_matches_glob
from poollint.deployment import deployment_kind
from poollint.gitignore import IgnoreFile, Repository, find_work_tree, is_ignored

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
    paths: Sequence[Path],
    settings: Settings,
    *,
    force_exclude: bool = False,
    deployment: bool = False,
    respect_gitignore: Optional[bool] = None,
) -> List[Path]:
    """The *.py and *.pyi files under `paths`, deduplicated and sorted by posix string.

    With `deployment`, also the deployment files (requirements files,
    pyproject.toml, lock files, Dockerfiles, Procfiles, compose files: see
    deployment.deployment_kind) the walk meets, under the same excludes.

    Directories are walked without following directory symlinks. Paths keep
    the form they were given in (relative stays relative, as ruff and flake8
    print them). A file named explicitly is kept even when excluded, and
    whatever its suffix, unless `force_exclude` (or the settings' force-exclude).
    With `respect_gitignore` (default: the settings' respect-gitignore), what
    git ignores is skipped while walking; a path named explicitly is kept
    even when git ignores it, as ruff does. A broken symlink is returned so
    that the engine reports the read error. A missing path raises
    DiscoveryError.
    """
    root = _root(settings)
    patterns = settings.all_exclude
    force_exclude = force_exclude or settings.force_exclude
    if respect_gitignore is None:
        respect_gitignore = settings.respect_gitignore
    found: Dict[str, Path] = {}
    visited: Set[Tuple[int, int]] = set()
    repositories: Dict[str, Repository] = {}

    def add(path: Path) -> None:
        found.setdefault(os.path.normcase(os.path.abspath(path)), path)

    for given in paths:
        given = Path(given)
        if not os.path.lexists(given):
            raise DiscoveryError(f"path {str(given)!r} does not exist")
        if force_exclude and is_excluded(given, settings):
            continue
        if given.is_dir():
            git = _git_position(given, repositories) if respect_gitignore else None
            _walk(
                given,
                _relative(os.path.abspath(given), root),
                patterns,
                visited,
                add,
                deployment,
                repositories if respect_gitignore else None,
                git,
            )
        else:
            add(given)

    return sorted(found.values(), key=lambda p: p.as_posix())


# Where a walked directory lies in git: its work tree, its posix path
# relative to the tree's top, and the ignore files of the directories above
# it (None: not known yet, for where a walk starts); None outside any
# repository (or when git's ignore files are not respected).
_GitPosition = Optional[Tuple[Repository, str, Optional[Tuple[IgnoreFile, ...]]]]


def _repository(top: str, repositories: Dict[str, Repository]) -> Repository:
    """One Repository per work tree and discovery: its ignore files are read once."""
    if top not in repositories:
        repositories[top] = Repository(top)
    return repositories[top]


def _git_position(directory: Path, repositories: Dict[str, Repository]) -> _GitPosition:
    top = find_work_tree(os.path.abspath(directory))
    if top is None:
        return None
    repository = _repository(top, repositories)
    rel = os.path.relpath(os.path.abspath(directory), repository.top)
    return repository, "" if rel == "." else rel.replace(os.sep, "/"), None


def _walk(
    top: Path,
    top_rel: Optional[str],
    patterns: Tuple[str, ...],
    visited: Set[Tuple[int, int]],
    add: Callable[[Path], None],
    deployment: bool = False,
    repositories: Optional[Dict[str, Repository]] = None,
    top_git: _GitPosition = None,
) -> None:
    """Walk `top`; with `repositories` (the work trees met so far), skip what
    git ignores, starting from `top_git`."""
    stack: List[Tuple[Path, Optional[str], _GitPosition]] = [(top, top_rel, top_git)]
    while stack:
        directory, rel, git = stack.pop()
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
        ignores: Tuple[IgnoreFile, ...] = ()
        if repositories is not None:
            names = {entry.name for entry in children}
            if (git is None or git[1]) and ".git" in names:
                # A nested repository (a submodule, a vendored checkout) has
                # its own ignore files; the outer ones stop at its top.
                nested = _repository(os.path.abspath(directory), repositories)
                git = (nested, "", nested.outer)
            if git is not None:
                if git[2] is None:
                    ignores = git[0].stack_for(git[1])
                else:
                    # The listing tells whether there is a .gitignore here:
                    # no failed open() per directory to find out.
                    own = git[0].gitignore(git[1]) if ".gitignore" in names else None
                    ignores = git[2] + (own,) if own is not None else git[2]
        for entry in children:
            name = entry.name
            child_rel = (f"{rel}/{name}" if rel else name) if rel is not None else None
            if patterns and path_matches_glob(patterns, child_rel, name):
                continue
            child_git: _GitPosition = None
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                if git is not None:
                    child_git = (git[0], f"{git[1]}/{name}" if git[1] else name, ignores)
                    if ignores and is_ignored(ignores, child_git[1], is_dir):
                        continue
                if is_dir:
                    stack.append((directory / name, child_rel, child_git))
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
