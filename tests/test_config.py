from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from poollint.config import (
    DEFAULT_EXCLUDE,
    DEFAULT_POOL_VALUES,
    DEFAULT_REQUIRED_POOL_SETTINGS,
    ConfigError,
    PoolSettings,
    Settings,
    find_config,
    load_settings,
    path_matches_glob,
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, **kwargs) -> Settings:
    config = write(tmp_path / "pyproject.toml", text)
    return load_settings(config_path=config, **kwargs)


def config_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path / "pyproject.toml") in message
    return message


# --------------------------------------------------------------------------- finding the file


def test_find_config_walks_up_past_pyproject_without_table(tmp_path):
    outer = write(tmp_path / "pyproject.toml", "[tool.poollint]\nselect = ['POL1']\n")
    # A package's own pyproject.toml without [tool.poollint] must not hide the project's.
    write(tmp_path / "pkg" / "pyproject.toml", "[project]\nname = 'pkg'\n")
    source = write(tmp_path / "pkg" / "app" / "main.py", "x = 1\n")

    assert find_config(source) == outer.resolve()
    assert find_config(source.parent) == outer.resolve()


def test_find_config_prefers_nearest_file_with_table(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.poollint]\n")
    inner = write(tmp_path / "pkg" / "pyproject.toml", "[tool.poollint]\nignore = ['POL1']\n")
    assert find_config(tmp_path / "pkg" / "mod.py") == inner.resolve()


def test_find_config_returns_none_without_any_table(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.ruff]\nline-length = 99\n")
    # The walk goes on above tmp_path; a stray config up there would be a test environment problem.
    found = find_config(tmp_path)
    assert found is None or tmp_path.resolve() not in found.parents


def test_find_config_reports_invalid_toml_on_the_way(tmp_path):
    bad = write(tmp_path / "pyproject.toml", "[tool.poollint\n")
    with pytest.raises(ConfigError, match="invalid TOML") as info:
        find_config(tmp_path / "sub")
    assert str(bad.resolve()) in str(info.value)


def test_load_settings_searches_from_start_and_roots_project_there(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.poollint]\nselect = ['POL2']\n")
    (tmp_path / "app").mkdir()
    settings = load_settings(tmp_path / "app")
    assert settings.config_path == (tmp_path / "pyproject.toml").resolve()
    assert settings.project_root == tmp_path.resolve()
    assert settings.select == ("POL2",)


def test_load_settings_without_config_uses_defaults_and_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(tmp_path)
    if settings.config_path is None:
        assert settings.project_root == Path.cwd()
    assert settings.select is None
    assert settings.exclude == DEFAULT_EXCLUDE
    assert settings.pool == PoolSettings()


def test_explicit_config_path_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(config_path=tmp_path / "nope.toml")


def test_explicit_config_without_table_gives_defaults(tmp_path):
    settings = load(tmp_path, "[project]\nname = 'x'\n")
    assert settings.config_path == tmp_path / "pyproject.toml"
    assert settings.project_root == tmp_path
    assert settings.select is None


# --------------------------------------------------------------------------- keys


def test_every_top_level_key_is_read(tmp_path):
    settings = load(
        tmp_path,
        """
        [tool.poollint]
        select = ["POL1", "POL2"]
        ignore = ["POL104"]
        extend-select = ["POL307"]
        exclude = ["migrations"]
        extend-exclude = ["app/legacy/*"]
        unsafe-fixes = true

        [tool.poollint.per-file-ignores]
        "tests/**/*.py" = ["POL2"]
        "conftest.py" = ["POL204", "POL301"]
        """,
    )
    assert settings.select == ("POL1", "POL2")
    assert settings.ignore == ("POL104",)
    assert settings.extend_select == ("POL307",)
    assert settings.exclude == ("migrations",)
    assert settings.extend_exclude == ("app/legacy/*",)
    assert settings.all_exclude == ("migrations", "app/legacy/*")
    assert settings.unsafe_fixes is True
    assert settings.per_file_ignores == (("tests/**/*.py", ("POL2",)), ("conftest.py", ("POL204", "POL301")))


def test_empty_select_selects_nothing_rather_than_defaults(tmp_path):
    assert load(tmp_path, "[tool.poollint]\nselect = []\n").select == ()


def test_pool_values_replace_defaults_one_by_one(tmp_path):
    settings = load(
        tmp_path,
        """
        [tool.poollint.pool]
        required-settings = ["pool_size", "pool_timeout"]
        pool_size = 20
        pool_pre_ping = false
        """,
    )
    assert settings.pool.required == ("pool_size", "pool_timeout")
    assert dict(settings.pool.values) == {**DEFAULT_POOL_VALUES, "pool_size": 20, "pool_pre_ping": False}


def test_pool_defaults():
    pool = PoolSettings()
    assert pool.required == DEFAULT_REQUIRED_POOL_SETTINGS
    assert dict(pool.values) == dict(DEFAULT_POOL_VALUES)


def test_pool_settings_given_partial_values_keep_the_other_defaults():
    pool = PoolSettings(values={"pool_recycle": 600})
    assert pool.values["pool_recycle"] == 600
    assert pool.values["pool_size"] == 5


def test_value_is_sqlalchemy_default():
    pool = PoolSettings(values={"pool_size": 20})
    assert not pool.value_is_sqlalchemy_default("pool_size")
    assert pool.value_is_sqlalchemy_default("max_overflow")
    assert pool.value_is_sqlalchemy_default("pool_timeout")
    # Our defaults for these differ from SQLAlchemy's: writing them changes behaviour.
    assert not pool.value_is_sqlalchemy_default("pool_recycle")
    assert not pool.value_is_sqlalchemy_default("pool_pre_ping")


def test_settings_are_hashable():
    # The engine may use settings as a cache key.
    settings = Settings(project_root=Path("/p"), config_path=None, pool=PoolSettings(values={"pool_size": 3}))
    assert hash(settings) == hash(Settings(project_root=Path("/p"), config_path=None, pool=PoolSettings(values={"pool_size": 3})))


# --------------------------------------------------------------------------- errors


def test_unknown_key_names_key_and_file(tmp_path):
    message = config_error(tmp_path, "[tool.poollint]\nselekt = ['POL1']\n")
    assert message.startswith(f"{tmp_path / 'pyproject.toml'}: [tool.poollint] unknown key 'selekt'")
    assert "did you mean 'select'" in message


def test_snake_case_key_suggests_kebab_case(tmp_path):
    message = config_error(tmp_path, "[tool.poollint]\nextend_select = ['POL1']\n")
    assert "unknown key 'extend_select'" in message
    assert "did you mean 'extend-select'" in message


def test_unknown_pool_key(tmp_path):
    message = config_error(tmp_path, "[tool.poollint.pool]\npool-size = 3\n")
    assert "[tool.poollint.pool] unknown key 'pool-size'" in message
    assert "did you mean 'pool_size'" in message


@pytest.mark.parametrize(
    "body, expected",
    [
        ("select = 'POL1'", "[tool.poollint] 'select' must be a list of strings, got 'POL1'"),
        ("ignore = ['POL1', 101]", "[tool.poollint] 'ignore' must be a list of strings, got 101 at position 2"),
        ("extend-select = true", "'extend-select' must be a list of strings, got true"),
        ("exclude = 'build'", "'exclude' must be a list of strings"),
        ("extend-exclude = [['a']]", "'extend-exclude' must be a list of strings, got an array"),
        ("unsafe-fixes = 'yes'", "[tool.poollint] 'unsafe-fixes' must be true or false, got 'yes'"),
        ("per-file-ignores = ['tests/*']", "'per-file-ignores' must be a table"),
        ("per-file-ignores = { 'tests/*' = 'POL1' }", "[tool.poollint.per-file-ignores] 'tests/*' must be a list of strings"),
        ("pool = 3", "'pool' must be a table"),
    ],
)
def test_wrong_types_name_the_key(tmp_path, body, expected):
    assert expected in config_error(tmp_path, f"[tool.poollint]\n{body}\n")


@pytest.mark.parametrize(
    "body, expected",
    [
        ("pool_size = 'ten'", "[tool.poollint.pool] 'pool_size' must be an integer, got 'ten'"),
        # bool is an int subclass in Python; `true` must not pass as 1.
        ("pool_size = true", "'pool_size' must be an integer, got true"),
        ("pool_size = 0", "'pool_size' must be >= 1, got 0"),
        ("max_overflow = -1", "'max_overflow' must be >= 0, got -1"),
        ("pool_timeout = 2.5", "'pool_timeout' must be an integer, got 2.5"),
        ("pool_recycle = -1", "'pool_recycle' must be >= 0"),
        ("pool_pre_ping = 1", "'pool_pre_ping' must be true or false, got 1"),
        ("required-settings = 'pool_size'", "'required-settings' must be a list of strings"),
        ("required-settings = ['pool_sise']", "'required-settings' names unknown setting 'pool_sise'"),
        ("max-pool-recycle = '1h'", "[tool.poollint.pool] 'max-pool-recycle' must be an integer, got '1h'"),
        ("max-pool-recycle = 0", "'max-pool-recycle' must be >= 1, got 0"),
        ("workers = 0", "'workers' must be >= 1, got 0"),
        ("workers = true", "'workers' must be an integer, got true"),
        ("max-connections = 100.0", "'max-connections' must be an integer, got 100.0"),
        ("max-connections = -5", "'max-connections' must be >= 1, got -5"),
        ("thread-pool-size = [40]", "'thread-pool-size' must be an integer, got an array"),
        ("thread-pool-size = 0", "'thread-pool-size' must be >= 1, got 0"),
    ],
)
def test_wrong_pool_values_name_the_key(tmp_path, body, expected):
    assert expected in config_error(tmp_path, f"[tool.poollint.pool]\n{body}\n")


def test_deployment_keys_default_and_read(tmp_path):
    defaults = PoolSettings()
    assert (defaults.max_pool_recycle, defaults.workers, defaults.max_connections, defaults.thread_pool_size) == (
        3600,
        None,
        None,
        40,
    )
    settings = load(
        tmp_path,
        """
        [tool.poollint.pool]
        max-pool-recycle = 900
        workers = 4
        max-connections = 100
        thread-pool-size = 80
        """,
    )
    pool = settings.pool
    assert (pool.max_pool_recycle, pool.workers, pool.max_connections, pool.thread_pool_size) == (900, 4, 100, 80)
    # The engine-level values keep their defaults.
    assert dict(pool.values) == dict(DEFAULT_POOL_VALUES)


def test_deployment_key_spelled_in_snake_case_suggests_the_kebab_one(tmp_path):
    message = config_error(tmp_path, "[tool.poollint.pool]\nmax_connections = 100\n")
    assert "unknown key 'max_connections'" in message
    assert "did you mean 'max-connections'" in message


def test_poollint_not_a_table(tmp_path):
    assert "'poollint' must be a table" in config_error(tmp_path, "[tool]\npoollint = 1\n")


def test_invalid_toml_is_one_line_naming_file(tmp_path):
    message = config_error(tmp_path, "[tool.poollint]\nselect = [\n")
    assert ": invalid TOML: " in message


def test_codes_are_not_validated_here(tmp_path):
    # Only selection.py knows the rules; config just checks they are strings.
    assert load(tmp_path, "[tool.poollint]\nselect = ['POL999']\n").select == ("POL999",)


# --------------------------------------------------------------------------- CLI overrides

BASE = """
[tool.poollint]
select = ["POL1"]
ignore = ["POL104"]
extend-select = ["POL307"]
exclude = ["migrations"]
extend-exclude = ["legacy"]
per-file-ignores = { "tests/*" = ["POL2"] }
"""


def test_overrides_of_none_leave_file_values(tmp_path):
    overrides = dict.fromkeys(
        ["select", "ignore", "extend_select", "exclude", "extend_exclude", "unsafe_fixes", "per_file_ignores"]
    )
    assert load(tmp_path, BASE, overrides=overrides) == load(tmp_path, BASE)


def test_cli_select_and_exclude_replace_file_values(tmp_path):
    settings = load(tmp_path, BASE, overrides={"select": ["POL3"], "exclude": ["gen"]})
    assert settings.select == ("POL3",)
    assert settings.exclude == ("gen",)
    assert settings.extend_exclude == ("legacy",)


def test_cli_ignore_extend_select_and_extend_exclude_add_to_file_values(tmp_path):
    settings = load(
        tmp_path,
        BASE,
        overrides={"ignore": ("POL101",), "extend_select": ("POL104",), "extend_exclude": ("vendor",)},
    )
    assert settings.select == ("POL1",)
    assert settings.ignore == ("POL104", "POL101")
    assert settings.extend_select == ("POL307", "POL104")
    assert settings.extend_exclude == ("legacy", "vendor")


def test_cli_codes_may_be_comma_separated(tmp_path):
    settings = load(tmp_path, BASE, overrides={"select": ["POL1,POL2", "POL3"], "ignore": ["POL101, POL102"]})
    assert settings.select == ("POL1", "POL2", "POL3")
    # --select starts afresh, so the file's ignore list no longer applies.
    assert settings.ignore == ("POL101", "POL102")


def test_cli_ignore_without_select_adds_to_the_file(tmp_path):
    settings = load(tmp_path, BASE, overrides={"ignore": ["POL102"]})
    assert settings.ignore == ("POL104", "POL102")


def test_cli_unsafe_fixes_and_per_file_ignores_replace(tmp_path):
    settings = load(
        tmp_path, BASE, overrides={"unsafe_fixes": True, "per_file_ignores": {"scripts/*": ["POL1"]}}
    )
    assert settings.unsafe_fixes is True
    assert settings.per_file_ignores == (("scripts/*", ("POL1",)),)


def test_overrides_apply_without_a_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(config_path=write(tmp_path / "other.toml", ""), overrides={"ignore": ["POL1"]})
    assert settings.ignore == ("POL1",)
    assert settings.exclude == DEFAULT_EXCLUDE


def test_unknown_override_is_a_programming_error(tmp_path):
    with pytest.raises(TypeError):
        load(tmp_path, BASE, overrides={"selekt": ["POL1"]})


def test_selector_sources_name_flag_and_file(tmp_path):
    settings = load(tmp_path, BASE, overrides={"select": ["POL3"], "ignore": ["POL101"]})
    wheres = {(option, where) for option, where, _ in settings.selector_sources}
    config = tmp_path / "pyproject.toml"
    # The file's select was replaced by the CLI, so it must not be reported.
    assert ("select", f"[tool.poollint] select ({config})") not in wheres
    assert ("select", "--select") in wheres
    # --select also drops the file's ignore list (ruff's layering).
    assert ("ignore", f"[tool.poollint] ignore ({config})") not in wheres
    assert ("ignore", "--ignore") in wheres
    assert ("per_file_ignores", f"[tool.poollint.per-file-ignores] 'tests/*' ({config})") in wheres


# --------------------------------------------------------------------------- globs


@pytest.mark.parametrize(
    "pattern, relpath, expected",
    [
        ("build", "build", True),
        ("build", "src/build", True),  # no "/" in the glob: the basename counts
        ("app/legacy/*", "app/legacy/x.py", True),
        ("app/legacy/*", "other/app/legacy/x.py", False),
        ("./migrations", "migrations", True),
        ("migrations/", "migrations", True),
        ("tests/**/*.py", "tests/b.py", True),
        ("tests/**/*.py", "tests/a/b.py", True),
        ("**/conftest.py", "conftest.py", True),
        ("*.egg-info", "foo.egg-info", True),
        ("Build", "build", False),
    ],
)
def test_path_matches_glob(pattern, relpath, expected):
    assert path_matches_glob(pattern, relpath) is expected


def test_path_matches_glob_outside_project_tries_basename_only():
    assert path_matches_glob(["app/*"], None, "app") is False
    assert path_matches_glob([".venv"], None, ".venv") is True


# --------------------------------------------------------------------------- target version


def test_target_version_is_read_as_major_minor(tmp_path):
    assert load(tmp_path, '[tool.poollint]\ntarget-version = "py312"\n').target_version == (3, 12)


@pytest.mark.parametrize("value", ['"3.10"', '"py2"', "310", '"py3100"'])
def test_a_bad_target_version_names_the_key(tmp_path, value):
    message = config_error(tmp_path, f"[tool.poollint]\ntarget-version = {value}\n")
    assert "'target-version' must be a Python version such as \"py310\"" in message


@pytest.mark.parametrize(
    "spec, floor",
    [
        (">=3.10", (3, 10)),
        (">=3.9, <4", (3, 9)),
        ("~=3.11", (3, 11)),
        ("==3.12.*", (3, 12)),
        # 3.9.1 satisfies `>3.9`: the floor stays 3.9.
        (">3.9", (3, 9)),
        (">=3.8,!=3.9.*,>=3.10.2", (3, 10)),
        ("<3.13", None),
        ("", None),
        ("^3.10", None),
    ],
)
def test_requires_python_gives_the_target_version(tmp_path, spec, floor):
    settings = load(tmp_path, f'[project]\nrequires-python = "{spec}"\n\n[tool.poollint]\n')
    assert settings.target_version == floor


def test_target_version_wins_over_requires_python(tmp_path):
    text = '[project]\nrequires-python = ">=3.12"\n\n[tool.poollint]\ntarget-version = "py310"\n'
    assert load(tmp_path, text).target_version == (3, 10)


def test_requires_python_is_read_without_a_poollint_table(tmp_path):
    # As ruff infers its target from the nearest pyproject.toml's requires-python.
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\nrequires-python = ">=3.11"\n')
    (tmp_path / "app").mkdir()
    settings = load_settings(tmp_path / "app")
    assert settings.config_path is None
    assert settings.target_version == (3, 11)


def test_target_version_flag_overrides_the_file(tmp_path):
    settings = load(tmp_path, '[tool.poollint]\ntarget-version = "py39"\n', overrides={"target_version": "py311"})
    assert settings.target_version == (3, 11)
    with pytest.raises(ConfigError, match="--target-version must be a Python version"):
        load(tmp_path, "[tool.poollint]\n", overrides={"target_version": "3.11"})
