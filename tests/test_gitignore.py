"""git's ignore rules (gitignore.py) and how discovery applies them: pattern by
pattern, in a walk, and against git itself on generated trees."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from poollint.config import Settings
from poollint.discovery import discover_files, discover_python_files
from poollint.gitignore import compile_pattern, parse_ignore_file

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")


@pytest.fixture(autouse=True)
def _no_user_git_config(tmp_path_factory, monkeypatch):
    """The user's global excludes file must not change what these tests see."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return home


def ignored(pattern: str, path: str, is_dir: bool = False) -> bool:
    return parse_ignore_file(pattern + "\n").decide(path, is_dir) is True


@pytest.mark.parametrize(
    "pattern, path, expected",
    [
        # A name without a slash matches at any depth.
        ("gen.py", "gen.py", True),
        ("gen.py", "app/deep/gen.py", True),
        ("gen.py", "app/gen.pyc", False),
        # A slash at the start or in the middle anchors to the file's directory.
        ("/gen.py", "gen.py", True),
        ("/gen.py", "app/gen.py", False),
        ("app/gen.py", "app/gen.py", True),
        ("app/gen.py", "src/app/gen.py", False),
        # `*` and `?` stop at `/`.
        ("app/*.py", "app/a.py", True),
        ("app/*.py", "app/sub/a.py", False),
        ("?.py", "a.py", True),
        ("?.py", "ab.py", False),
        # `**` crosses directories at the start, in the middle and at the end.
        ("**/gen.py", "gen.py", True),
        ("**/gen.py", "a/b/gen.py", True),
        ("app/**/gen.py", "app/gen.py", True),
        ("app/**/gen.py", "app/a/b/gen.py", True),
        ("app/**", "app/a/b.py", True),
        ("app/**", "app", False),
        # Elsewhere `**` is a plain `*`...
        ("a**b.py", "axxb.py", True),
        ("x/a**b.py", "x/a/b.py", False),
        ("x/a**/b.py", "x/ay/b.py", True),
        ("x/a**/b.py", "x/ay/z/b.py", True),
        # ...but git matches the text before the first wildcard separately,
        # which makes a `**` right after it a leading one.
        ("a**/b.py", "ab.py", True),
        ("a**/b.py", "ay/z/b.py", True),
        # Character classes, negated ones, ranges; never `/`.
        ("[ab].py", "a.py", True),
        ("[ab].py", "c.py", False),
        ("[!ab].py", "c.py", True),
        ("[^ab].py", "a.py", False),
        ("[a-c].py", "b.py", True),
        ("x[!a]y", "x/y", False),
        ("[[:digit:]].py", "7.py", True),
        # git tries a range's first character alone, then the range.
        ("[b-a].py", "b.py", True),
        ("[b-a].py", "a.py", False),
        # Escapes, comments and trailing spaces.
        ("\\#gen.py", "#gen.py", True),
        ("\\!gen.py", "!gen.py", True),
        ("gen.py   ", "gen.py", True),
        ("gen.py\\ ", "gen.py ", True),
        ("gen\\*.py", "genx.py", False),
        ("gen\\*.py", "gen*.py", True),
        # git matches nothing for a pattern it cannot parse.
        ("[ab.py", "a.py", False),
        ("[ab.py", "[ab.py", False),
    ],
)
def test_pattern(pattern: str, path: str, expected: bool) -> None:
    assert ignored(pattern, path) is expected


def test_blank_and_comment_lines_are_no_patterns() -> None:
    assert compile_pattern("") is None
    assert compile_pattern("   ") is None
    assert compile_pattern("# build/") is None


def test_directory_only_patterns_leave_files_alone() -> None:
    assert ignored("out/", "out", is_dir=True)
    assert ignored("out/", "app/out", is_dir=True)
    assert not ignored("out/", "out", is_dir=False)


def test_last_matching_pattern_wins_and_negation_re_includes() -> None:
    rules = parse_ignore_file("*.py\n!keep.py\n")
    assert rules.decide("a.py", False) is True
    assert rules.decide("keep.py", False) is False
    assert parse_ignore_file("!keep.py\n*.py\n").decide("keep.py", False) is True


# --------------------------------------------------------------------------- walking


def write(root: Path, *relpaths: str, text: str = "x = 1\n") -> None:
    for rel in relpaths:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def found(root: Path, *paths: Path, **kwargs) -> list:
    settings = Settings(project_root=root, config_path=None)
    return [p.relative_to(root).as_posix() for p in discover_files(list(paths) or [root], settings, **kwargs)]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git" / "info").mkdir(parents=True)
    return tmp_path


def test_gitignore_files_from_the_top_down(repo: Path) -> None:
    write(repo, "app/main.py", "app/gen.py", "app/keep_gen.py", "app/sub/gen.py", "out/x.py", "app/out.py")
    (repo / ".gitignore").write_text("*gen.py\nout/\n")
    (repo / "app" / ".gitignore").write_text("!keep_gen.py\n")
    assert found(repo) == ["app/keep_gen.py", "app/main.py", "app/out.py"]
    assert found(repo, respect_gitignore=False) == [
        "app/gen.py",
        "app/keep_gen.py",
        "app/main.py",
        "app/out.py",
        "app/sub/gen.py",
        "out/x.py",
    ]


def test_nothing_below_an_ignored_directory_is_re_included(repo: Path) -> None:
    write(repo, "out/keep.py", "out/x.py")
    (repo / ".gitignore").write_text("out/\n!out/keep.py\n")
    assert found(repo) == []


def test_a_deeper_gitignore_is_anchored_to_its_own_directory(repo: Path) -> None:
    write(repo, "gen.py", "app/gen.py", "app/sub/gen.py")
    (repo / "app" / ".gitignore").write_text("/gen.py\n")
    assert found(repo) == ["app/sub/gen.py", "gen.py"]


def test_walking_a_subdirectory_still_applies_the_gitignores_above(repo: Path) -> None:
    write(repo, "app/gen.py", "app/main.py")
    (repo / ".gitignore").write_text("app/gen.py\n")
    assert found(repo, repo / "app") == ["app/main.py"]


def test_paths_named_explicitly_are_checked_even_when_ignored(repo: Path) -> None:
    # As in ruff: only what a walk finds is filtered; --force-exclude applies
    # the excludes, not the ignore files.
    write(repo, "gen.py", "out/x.py", "out/gen.py")
    (repo / ".gitignore").write_text("gen.py\nout/\n")
    assert found(repo, repo / "gen.py") == ["gen.py"]
    assert found(repo, repo / "gen.py", force_exclude=True) == ["gen.py"]
    assert found(repo, repo / "out") == ["out/x.py"]


def test_info_exclude_and_the_global_excludes_file(repo: Path, _no_user_git_config: Path) -> None:
    write(repo, "a.py", "b.py", "c.py", "d.py")
    (repo / ".git" / "info" / "exclude").write_text("a.py\n")
    global_ignore = _no_user_git_config / ".config" / "git" / "ignore"
    global_ignore.parent.mkdir(parents=True)
    global_ignore.write_text("b.py\nd.py\n")
    # The repository's files take precedence over the global one.
    (repo / ".gitignore").write_text("!d.py\n")
    assert found(repo) == ["c.py", "d.py"]


def test_core_excludes_file_from_the_user_config(repo: Path, _no_user_git_config: Path) -> None:
    write(repo, "a.py", "b.py")
    (_no_user_git_config / "my-ignores").write_text("a.py\n")
    (_no_user_git_config / ".gitconfig").write_text('[user]\n\tname = x\n[core]\n\texcludesFile = "~/my-ignores"\n')
    assert found(repo) == ["b.py"]


def test_a_linked_worktree_reads_the_shared_info_exclude(tmp_path: Path) -> None:
    main_git = tmp_path / "main" / ".git"
    (main_git / "worktrees" / "wt").mkdir(parents=True)
    (main_git / "info").mkdir()
    (main_git / "info" / "exclude").write_text("local.py\n")
    (main_git / "worktrees" / "wt" / "commondir").write_text("../..\n")
    tree = tmp_path / "wt"
    write(tree, "local.py", "app.py")
    (tree / ".git").write_text(f"gitdir: {main_git / 'worktrees' / 'wt'}\n")
    assert found(tree) == ["app.py"]


def test_gitignore_counts_only_inside_a_repository(tmp_path: Path) -> None:
    # ruff (and git) read no .gitignore outside a work tree.
    write(tmp_path, "gen.py", "app.py")
    (tmp_path / ".gitignore").write_text("gen.py\n")
    assert found(tmp_path) == ["app.py", "gen.py"]


def test_a_nested_repository_has_its_own_ignore_files(repo: Path) -> None:
    write(repo, "vendor/lib/gen.py", "vendor/lib/other.py", "app/other.py", "app/main.py")
    (repo / ".gitignore").write_text("other.py\n")
    (repo / "vendor" / "lib" / ".git").mkdir(parents=True)
    (repo / "vendor" / "lib" / ".gitignore").write_text("gen.py\n")
    assert found(repo) == ["app/main.py", "vendor/lib/other.py"]
    # Outside any repository, only the nested one's files count.
    shutil.rmtree(repo / ".git")
    assert found(repo) == ["app/main.py", "app/other.py", "vendor/lib/other.py"]


def test_deployment_files_are_ignored_like_sources(repo: Path) -> None:
    write(repo, "app/main.py", "requirements.txt", "old/requirements.txt", "old/Dockerfile")
    (repo / ".gitignore").write_text("old/\n")
    assert found(repo, deployment=True) == ["app/main.py", "requirements.txt"]


def test_settings_turn_it_off(repo: Path) -> None:
    write(repo, "gen.py")
    (repo / ".gitignore").write_text("gen.py\n")
    settings = Settings(project_root=repo, config_path=None, respect_gitignore=False)
    assert [p.name for p in discover_python_files([repo], settings)] == ["gen.py"]


# --------------------------------------------------------------------------- against git itself

_TOKENS = (
    "*", "**", "***", "?", "a", "b", "x", ".py", "/", "**/", "/**", "[ab]", "[!a]", "[^b]", "[a-b]",
    "[b-a]", "[]a]", "[[:alpha:]]", "[", "\\*", "\\!", "\\ ", " ", "#", "!", ".", "\\/",
)
_DIRS = ("a", "b", "ab", "x")
_FILES = ("a.py", "b.py", "ab.py", "x.py", "xb.py")


def _generated_case(rng: random.Random, root: Path) -> None:
    for _ in range(20):
        parts = [rng.choice(_DIRS) for _ in range(rng.randint(0, 3))] + [rng.choice(_FILES)]
        target = root.joinpath(*parts)
        if any(parent.is_file() for parent in target.parents) or target.is_dir():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("x = 1\n")
    directories = [root] + sorted(p for p in root.rglob("*") if p.is_dir())
    for directory in rng.sample(directories, min(len(directories), rng.randint(1, 3))):
        lines = []
        for _ in range(rng.randint(1, 4)):
            line = "".join(rng.choice(_TOKENS) for _ in range(rng.randint(1, 4)))
            lines.append(("!" if rng.random() < 0.2 else "") + line)
        (directory / ".gitignore").write_text("\n".join(lines) + "\n")


@needs_git
def test_discovery_skips_exactly_what_git_ignores(tmp_path: Path) -> None:
    """Generated trees with generated .gitignore files (one case per
    directory: each case's patterns are anchored to it), compared with
    `git ls-files --others --exclude-standard`."""
    rng = random.Random(20240607)
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    cases = [f"case{n}" for n in range(200)]
    for case in cases:
        (repo / case).mkdir()
        _generated_case(rng, repo / case)
    listed = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.splitlines()
    expected = sorted(p for p in listed if p.endswith(".py"))
    settings = Settings(project_root=repo, config_path=None, exclude=(".git",))
    ours = sorted(p.relative_to(repo).as_posix() for p in discover_files([repo], settings))
    for case in cases:
        mine = [p for p in ours if p.startswith(case + "/")]
        gits = [p for p in expected if p.startswith(case + "/")]
        if mine != gits:
            patterns = {
                str(g.relative_to(repo)): g.read_text() for g in (repo / case).rglob(".gitignore")
            }
            pytest.fail(f"{case}: git keeps {sorted(set(gits) - set(mine))}, we keep {sorted(set(mine) - set(gits))}; {patterns}")
    assert len(expected) > 700


@needs_git
def test_a_real_git_worktree(tmp_path: Path) -> None:
    main = tmp_path / "main"
    main.mkdir()
    run = lambda *args, cwd=main: subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    write(main, "app.py")
    run("add", "app.py")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    (main / ".git" / "info" / "exclude").write_text("scratch.py\n")
    run("worktree", "add", "-q", str(tmp_path / "wt"))
    write(tmp_path / "wt", "scratch.py", "new.py")
    assert found(tmp_path / "wt") == ["app.py", "new.py"]
    if os.name != "nt":
        listed = run("ls-files", "--others", "--exclude-standard", cwd=tmp_path / "wt").stdout.decode().split()
        assert listed == ["new.py"]
