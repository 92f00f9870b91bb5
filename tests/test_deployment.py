"""Deployment files: which are read, what is read from them, and how a run treats them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from poollint.config import Settings
from poollint.deployment import (
    DEPLOYMENT_RULES,
    deployment_kind,
    gunicorn_facts,
    read_deployment,
)
from poollint.discovery import discover_files, discover_python_files
from poollint.engine import read_facts
from poollint.noqa import comment_noqa_lines
from poollint.rules import ALL_RULES
from poollint.versions import admits_only_below, admits_only_between


@pytest.mark.parametrize(
    "path, kind",
    [
        ("requirements.txt", "requirements"),
        ("requirements-dev.txt", "requirements"),
        ("requirements_prod.txt", "requirements"),
        ("dev-requirements.txt", "requirements"),
        ("requirements/base.txt", "requirements"),
        ("constraints.txt", "requirements"),
        ("pyproject.toml", "pyproject"),
        ("Pipfile", "pipfile"),
        ("Pipfile.lock", "pipfile-lock"),
        ("poetry.lock", "lock"),
        ("uv.lock", "lock"),
        ("pdm.lock", "lock"),
        ("Dockerfile", "dockerfile"),
        ("docker/Dockerfile.prod", "dockerfile"),
        ("api.Dockerfile", "dockerfile"),
        ("Containerfile", "dockerfile"),
        ("Procfile", "procfile"),
        ("docker-compose.yml", "compose"),
        ("docker-compose.prod.yaml", "compose"),
        ("compose.yaml", "compose"),
        ("gunicorn.conf.py", "gunicorn"),
        ("deploy/gunicorn_conf.py", "gunicorn"),
        ("README.md", None),
        ("notes.txt", None),
        ("docs/requirements.in", None),
        ("app/requirements.py", None),
        ("dockerfiles.md", None),
        ("settings.toml", None),
        ("app/main.py", None),
    ],
)
def test_kinds_by_name(path: str, kind: str) -> None:
    assert deployment_kind(path) == kind


# -- versions -------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, style, expected",
    [
        ("==0.78.0", "pep440", True),
        ("<0.82", "pep440", True),
        ("<=0.81.2", "pep440", True),
        (">=0.70,<0.80", "pep440", True),
        ("~=0.75.0", "pep440", True),
        ("==0.81.*", "pep440", True),
        ("== 0.78.0", "pep440", True),
        ("==0.82.0rc1", "pep440", True),
        ("^0.78", "poetry", True),
        ("^0.81.2", "poetry", True),
        ("~0.78", "poetry", True),
        ("0.78.0", "poetry", True),
        (">=0.70 <0.80", "poetry", True),
        ("^0.70 || ^0.81", "poetry", True),
        # Admit a fixed release, or cannot say.
        (">=0.60", "pep440", False),
        ("", "pep440", False),
        ("*", "pep440", False),
        ("!=0.80.0", "pep440", False),
        ("~=0.75", "pep440", False),
        ("==0.*", "pep440", False),
        ("<0.82.1", "pep440", False),
        ("==0.82.0", "pep440", False),
        ("^0", "poetry", False),
        ("^0.70 || ^0.95", "poetry", False),
        (">=0.90,<0.80", "pep440", None),
        ("^0.78", "pep440", None),
        ("==${FASTAPI_VERSION}", "pep440", None),
        ("latest", "pep440", None),
    ],
)
def test_every_admitted_version_below(spec: str, style: str, expected: object) -> None:
    assert admits_only_below(spec, "0.82", style) is expected


@pytest.mark.parametrize(
    "spec, style, expected",
    [
        ("==0.110.0", "pep440", True),
        (">=0.106,<0.115", "pep440", True),
        ("~=0.109.0", "pep440", True),
        ("==0.117.*", "pep440", True),
        ("^0.110", "poetry", True),
        ("^0.106 || ^0.112", "poetry", True),
        # Some admitted version lies outside 0.106 to 0.117, or cannot say.
        ("==0.105.0", "pep440", False),
        ("==0.118.0", "pep440", False),
        ("<0.115", "pep440", False),
        (">=0.106", "pep440", False),
        ("==0.106.0rc1", "pep440", False),
        ("^0.110 || ^0.119", "poetry", False),
        (">=0.90,<0.80", "pep440", None),
    ],
)
def test_every_admitted_version_between(spec: str, style: str, expected: object) -> None:
    assert admits_only_between(spec, "0.106", "0.118", style) is expected


# -- pins -----------------------------------------------------------------------


def _pins(text: str, name: str):
    return [(p.line, p.column, p.text, p.spec, p.conditional, p.unknown) for p in read_deployment(text.encode(), name, deployment_kind(name)).pins]


def test_requirements_lines() -> None:
    text = (
        "# comment fastapi==0.1\n"
        "-r base.txt\n"
        "--index-url https://example.invalid/simple\n"
        "  FastAPI[all] == 0.78.0   # pinned for pydantic 1\n"
        "fastapi-users==10.1.0\n"
        "fastapi_utils\n"
        "sqlalchemy==1.4.41 \\\n"
        "    --hash=sha256:fastapi==0.1\n"
        'fastapi<0.80; python_version < "3.8"\n'
        "fastapi @ git+https://github.invalid/fastapi.git@0.78.0\n"
        "fastapi (>=0.70,<0.80)\n"
        "fastapi==0.79.0 --hash=sha256:abc\n"
    )
    assert _pins(text, "requirements.txt") == [
        (4, 3, "FastAPI[all] == 0.78.0", "== 0.78.0", False, False),
        (9, 1, "fastapi<0.80", "<0.80", True, False),
        (10, 1, "fastapi @ git+https://github.invalid/fastapi.git@0.78.0", "", False, True),
        (11, 1, "fastapi (>=0.70,<0.80)", ">=0.70,<0.80", False, False),
        (12, 1, "fastapi==0.79.0", "==0.79.0", False, False),
    ]


def test_a_file_that_never_says_fastapi_is_not_parsed() -> None:
    assert read_deployment(b"[not toml", "pyproject.toml", "pyproject").pins == ()
    assert read_deployment(b"fastapi = [broken", "pyproject.toml", "pyproject").pins == ()


def test_pyproject_dependencies_and_poetry() -> None:
    text = (
        "[project]\n"
        'name = "shop"\n'
        "dependencies = [\n"
        '    "sqlalchemy>=2",\n'
        "    'fastapi~=0.75.0',\n"
        "]\n"
        "[project.optional-dependencies]\n"
        'old = ["fastapi==0.60.0"]\n'
        "\n"
        "[tool.poetry.dependencies]\n"
        'python = "^3.9"\n'
        'fastapi = {version = "^0.78", extras = ["all"]}\n'
        "[tool.poetry.group.dev.dependencies]\n"
        'fastapi = "0.50.0"\n'
    )
    assert _pins(text, "pyproject.toml") == [
        (5, 6, "fastapi~=0.75.0", "~=0.75.0", False, False),
        (12, 1, 'fastapi = "^0.78"', "^0.78", False, False),
    ]


def test_poetry_subtable_and_alternatives() -> None:
    text = '[tool.poetry.dependencies.fastapi]\nversion = "0.78.0"\n'
    assert _pins(text, "pyproject.toml") == [(1, 1, 'fastapi = "0.78.0"', "0.78.0", False, False)]
    text = '[tool.poetry.dependencies]\nfastapi = [{version = "0.78", python = "<3.8"}, {version = "^0.100"}]\n'
    assert [pin[4:] for pin in _pins(text, "pyproject.toml")] == [(True, True)]


def test_pipfile_and_pipfile_lock() -> None:
    assert _pins('[packages]\n"FastAPI" = {version = "==0.80.0"}\n[dev-packages]\nfastapi = "*"\n', "Pipfile") == [
        (2, 1, 'FastAPI = "==0.80.0"', "==0.80.0", False, False)
    ]
    lock = json.dumps(
        {"_meta": {}, "default": {"fastapi": {"version": "==0.78.0", "hashes": []}}, "develop": {"fastapi": {"version": "==0.50.0"}}},
        indent=4,
    )
    [pin] = read_deployment(lock.encode(), "Pipfile.lock", "pipfile-lock").pins
    assert (pin.line, pin.spec, pin.locked, pin.text) == (4, "==0.78.0", True, "fastapi 0.78.0")


def test_lock_files_are_read_line_by_line() -> None:
    text = (
        "[[package]]\n"
        'name = "fastapi-utils"\n'
        'version = "0.2.1"\n'
        "\n"
        "[[package]]\n"
        'name = "fastapi"\n'
        'version = "0.81.0"\n'
        'dependencies = [{ name = "fastapi" }]\n'
    )
    [pin] = read_deployment(text.encode(), "uv.lock", "lock").pins
    assert (pin.line, pin.spec, pin.locked) == (6, "==0.81.0", True)


# -- worker counts ----------------------------------------------------------------


def _workers(text: str, name: str):
    return [(w.count, w.line, w.command) for w in read_deployment(text.encode(), name, deployment_kind(name)).workers]


def test_dockerfile_exec_and_shell_forms() -> None:
    text = (
        "FROM python:3.12 AS base\n"
        "RUN pip install uvicorn gunicorn && gunicorn --version\n"
        "# CMD gunicorn -w 64 app:app\n"
        "CMD gunicorn -w 64 app:app\n"
        "CMD gunicorn app:app \\\n"
        "    --workers=3 \\\n"
        "    # a comment line inside the instruction\n"
        "    --bind 0.0.0.0:80\n"
        "FROM base\n"
        'ENTRYPOINT ["python", "-m", "uvicorn"]\n'
        'CMD ["app.main:app", "--workers", "$WORKERS"]\n'
        "FROM base AS worker\n"
        'CMD ["sh", "-c", "alembic upgrade head && hypercorn app.main:app -w 2"]\n'
        "FROM base AS cli\n"
        "CMD fastapi run app/main.py --workers 5\n"
    )
    assert _workers(text, "Dockerfile") == [
        (3, 6, "gunicorn --workers 3"),
        (None, 11, "uvicorn --workers $WORKERS"),
        (2, 13, "hypercorn -w 2"),
        (5, 15, "fastapi run --workers 5"),
    ]


def test_procfile() -> None:
    text = (
        "web: gunicorn -w4 -k uvicorn.workers.UvicornWorker main:app\n"
        "worker: celery worker -c 8\n"
        "#web: uvicorn --workers 9\n"
        "dev: uvicorn main:app --reload\n"
    )
    assert _workers(text, "Procfile") == [(4, 1, "gunicorn -w 4"), (None, 4, "uvicorn")]


def test_compose_commands_in_every_form() -> None:
    text = (
        "services:\n"
        "  a:\n"
        "    command: uvicorn app:app --workers 2  # two\n"
        "  b:\n"
        '    command: ["gunicorn", "app:app", "-w", "3"]\n'
        "  c:\n"
        "    command:\n"
        "      - uvicorn\n"
        "      - app:app\n"
        "      - --workers\n"
        '      - "4"\n'
        "    environment:\n"
        "      - WORKERS=40\n"
        "  d:\n"
        "    entrypoint: >\n"
        '      sh -c "alembic upgrade head &&\n'
        '             gunicorn app:app --workers 5"\n'
        "  e:\n"
        "    # command: uvicorn app:app --workers 99\n"
        "    command: 'celery -A app worker --concurrency 8'\n"
        "  f:\n"
        "    command: sh -c \"alembic upgrade head && gunicorn app:app --workers 6 -k uvicorn.workers.UvicornWorker\"\n"
        "  g:\n"
        "    command: [\n"
        "      uvicorn, app:app,\n"
        "      --workers=7,\n"
        "    ]\n"
    )
    assert _workers(text, "docker-compose.yml") == [
        (2, 3, "uvicorn --workers 2"),
        (3, 5, "gunicorn -w 3"),
        (4, 10, "uvicorn --workers 4"),
        (5, 17, "gunicorn --workers 5"),
        (6, 22, "gunicorn --workers 6"),
        (7, 24, "uvicorn --workers 7"),
    ]


def test_gunicorn_config() -> None:
    assert gunicorn_facts(b"bind = ':80'\nworkers = 4  # cores\n", "gunicorn.conf.py").workers[0].count == 4  # type: ignore[union-attr]
    unknown = gunicorn_facts(b"import multiprocessing\nworkers = multiprocessing.cpu_count() * 2 + 1\n", "g.py")
    assert unknown.workers[0].count is None  # type: ignore[union-attr]
    assert gunicorn_facts(b"workers = 4\nif DEBUG:\n    workers = 1\n", "g.py").workers[0].line == 1  # type: ignore[union-attr]
    assert gunicorn_facts(b"threads = 4\n", "g.py") is None


# -- noqa ---------------------------------------------------------------------------


def test_noqa_in_files_with_hash_comments() -> None:
    source = b"fastapi==0.78.0  # noqa: POL311\nfastapi<0.80 # NOQA\nurl#egg=fastapi\n"
    assert comment_noqa_lines(source) == {1: frozenset({"POL311"}), 2: None}


# -- discovery and facts --------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name, text in {
        "app/main.py": "",
        "requirements.txt": "fastapi==0.78.0\n",
        "Dockerfile": "CMD uvicorn app.main:app --workers 2\n",
        ".venv/requirements.txt": "fastapi==0.1\n",
        "vendor/Procfile": "web: gunicorn -w 9 x:app\n",
        "notes.txt": "",
    }.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_discovery_adds_deployment_files_only_when_asked(tree: Path) -> None:
    settings = Settings(project_root=tree, config_path=None, extend_exclude=("vendor",))
    names = lambda paths: [p.relative_to(tree).as_posix() for p in paths]  # noqa: E731
    assert names(discover_python_files([tree], settings)) == ["app/main.py"]
    assert names(discover_files([tree], settings, deployment=True)) == ["Dockerfile", "app/main.py", "requirements.txt"]


def test_deployment_files_are_never_read_as_python(tree: Path) -> None:
    result = read_facts(tree / "requirements.txt", tree)
    assert result.facts is None and result.error is None and result.is_deployment_file
    assert result.deploy.path == "requirements.txt" and result.deploy.pins[0].spec == "==0.78.0"  # type: ignore[union-attr]
    assert result.digest == result.deploy.digest  # type: ignore[union-attr]
    gunicorn = read_facts(tree / "gunicorn.conf.py", tree, b"workers = 3\n")
    assert gunicorn.facts is not None and not gunicorn.is_deployment_file
    assert gunicorn.deploy.workers[0].count == 3  # type: ignore[union-attr]


def test_the_cli_knows_which_rules_need_deployment_files() -> None:
    assert DEPLOYMENT_RULES == {rule.CODE for rule in ALL_RULES if rule.READS_DEPLOYMENT_FILES}
    for rule in ALL_RULES:
        assert not rule.DEPLOYMENT_KINDS or rule.READS_DEPLOYMENT_FILES, rule.CODE
