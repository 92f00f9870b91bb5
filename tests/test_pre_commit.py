"""The pre-commit hooks of this checkout, run by real pre-commit on a small
git repository: through `pre-commit try-repo`, and through the README's
`.pre-commit-config.yaml` snippet.

pre-commit builds each hook's environment by pip-installing poollint from
the hook repository, which takes a while: these tests are marked slow (they
still run by default, and in .ci/run). The hook repository is a committed
snapshot of this checkout as it is on disk, untracked files included, so
that the tests see the code under test even before it is committed
(try-repo on the checkout itself would leave new files out). The
environment built for the README run is kept for the session in a
temporary PRE_COMMIT_HOME.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command"),
    pytest.mark.skipif(importlib.util.find_spec("pre_commit") is None, reason="needs pre-commit (test extras)"),
]

BLOCKING = "import time\n\n\nasync def handler():\n    time.sleep(1)\n"
CLEAN = "import asyncio\n\n\nasync def handler():\n    await asyncio.sleep(1)\n"
TIMEOUT = 1200


def _git_env(home: Path) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="poollint tests",
        GIT_AUTHOR_EMAIL="tests@poollint.invalid",
        GIT_COMMITTER_NAME="poollint tests",
        GIT_COMMITTER_EMAIL="tests@poollint.invalid",
        PRE_COMMIT_HOME=str(home),
        # Nothing of the user's pre-commit or poollint state may leak in.
        PRE_COMMIT_COLOR="never",
    )
    env.pop("POOLLINT_CACHE_DIR", None)
    env.pop("PYTHONPATH", None)
    return env


def _git(cwd: Path, env: Dict[str, str], *args: str) -> str:
    completed = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, f"git {' '.join(args)}: {completed.stderr}"
    return completed.stdout


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture(scope="session")
def hook_repository(tmp_path_factory, pre_commit_home: Path) -> Tuple[Path, str]:
    """This checkout as it is on disk, committed in a repository of its own: (path, commit)."""
    env = _git_env(pre_commit_home)
    snapshot = tmp_path_factory.mktemp("hook-repository")
    listed = _git(ROOT, env, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for relative in filter(None, listed.split("\0")):
        source = ROOT / relative
        if not source.is_file():
            continue  # deleted in the work tree but still in the index
        target = snapshot / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    _git(snapshot, env, "init", "-q")
    _git(snapshot, env, "add", "-A")
    _git(snapshot, env, "commit", "-q", "-m", "snapshot of the checkout under test")
    return snapshot, _git(snapshot, env, "rev-parse", "HEAD").strip()


@pytest.fixture
def project(tmp_path: Path, pre_commit_home: Path) -> Path:
    """A committed repository with a bad, a good and an excluded file."""
    env = _git_env(pre_commit_home)
    (tmp_path / "pyproject.toml").write_text('[tool.poollint]\nextend-exclude = ["legacy"]\n')
    for relative, text in (("app/bad.py", BLOCKING), ("app/good.py", CLEAN), ("legacy/old.py", BLOCKING)):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    _git(tmp_path, env, "init", "-q")
    _git(tmp_path, env, "add", "-A")
    _git(tmp_path, env, "commit", "-q", "-m", "project")
    return tmp_path


def pre_commit(project: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=project,
        env=_git_env(home),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def reported(output: str) -> List[str]:
    return re.findall(r"^(\S+?):\d+:\d+: (POL\d{3}) ", output, re.MULTILINE)


def test_try_repo_runs_this_checkouts_hook(project: Path, pre_commit_home: Path, hook_repository) -> None:
    repository, _ = hook_repository
    completed = pre_commit(project, pre_commit_home, "try-repo", str(repository), "poollint", "--all-files")
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    # The bad file fails, the good one does not, and the file excluded in
    # [tool.poollint] stays excluded although pre-commit names it.
    assert reported(output) == [("app/bad.py", "POL101")], output


def readme_config(repository: Path, rev: str) -> str:
    """The README's .pre-commit-config.yaml, pointed at `repository`, with the fix hook uncommented."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## pre-commit\n", 1)[1].split("\n## ", 1)[0]
    snippet = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert snippet, "the README's pre-commit section has no yaml snippet"
    text = snippet.group(1)
    assert text.startswith("repos:\n"), "the snippet must be a whole .pre-commit-config.yaml"
    text = re.sub(r"(?m)^(\s*- repo: ).*$", lambda m: m.group(1) + repository.as_posix(), text, count=1)
    text = re.sub(r"(?m)^(\s*rev: ).*$", lambda m: m.group(1) + rev, text, count=1)
    return text.replace("# - id: poollint-fix", "- id: poollint-fix")


def test_the_readme_snippet_fails_on_the_bad_file_and_passes_on_the_good_one(
    project: Path, pre_commit_home: Path, hook_repository
) -> None:
    repository, rev = hook_repository
    (project / ".pre-commit-config.yaml").write_text(readme_config(repository, rev))
    _git(project, _git_env(pre_commit_home), "add", ".pre-commit-config.yaml")

    good = pre_commit(project, pre_commit_home, "run", "poollint", "--files", "app/good.py")
    assert good.returncode == 0, good.stdout + good.stderr

    bad = pre_commit(project, pre_commit_home, "run", "poollint", "--files", "app/bad.py")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert reported(bad.stdout) == [("app/bad.py", "POL101")]

    everything = pre_commit(project, pre_commit_home, "run", "poollint", "--all-files")
    assert everything.returncode == 1
    assert reported(everything.stdout) == [("app/bad.py", "POL101")], everything.stdout

    # The fix hook rewrites the bad file (pre-commit fails a hook that
    # changes files) and leaves the excluded one alone.
    fixed = pre_commit(project, pre_commit_home, "run", "poollint-fix", "--all-files")
    assert fixed.returncode == 1, fixed.stdout + fixed.stderr
    assert "files were modified by this hook" in fixed.stdout
    assert "await asyncio.sleep(1)" in (project / "app" / "bad.py").read_text()
    assert (project / "legacy" / "old.py").read_text() == BLOCKING
    _git(project, _git_env(pre_commit_home), "add", "-A")
    assert pre_commit(project, pre_commit_home, "run", "--all-files").returncode == 0
