"""`--config KEY = VALUE` options, `--isolated`, and the file-choosing settings (config.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from poollint.config import ConfigError, load_settings, split_config_arguments


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.poollint]\nignore = ["POL101"]\nextend-exclude = ["legacy"]\n'
        "[tool.poollint.pool]\npool_size = 20\nworkers = 2\n"
    )
    return tmp_path


def test_values_are_files_or_toml_options(project: Path) -> None:
    assert split_config_arguments(["pyproject.toml", "select = ['POL1']", "pool.workers = 4"]) == (
        "pyproject.toml",
        ("select = ['POL1']", "pool.workers = 4"),
    )
    assert split_config_arguments([]) == (None, ())


@pytest.mark.parametrize(
    "value, message",
    [
        ("missing.toml", "missing.toml: config file does not exist"),
        ("select = [", "--config 'select = [': not a file, nor a valid KEY = VALUE option"),
    ],
)
def test_a_value_that_is_neither_is_an_error(project: Path, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as raised:
        split_config_arguments([value])
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_two_files_are_an_error(project: Path) -> None:
    (project / "other.toml").write_text("[tool.poollint]\n")
    with pytest.raises(ConfigError, match="give one configuration file"):
        split_config_arguments(["pyproject.toml", "other.toml"])


def test_options_win_over_the_file_and_pool_keys_one_by_one(project: Path) -> None:
    settings = load_settings(project, config_options=("ignore = []", "pool.workers = 4", "unsafe-fixes = true"))
    assert settings.ignore == ()
    assert settings.extend_exclude == ("legacy",)
    assert settings.pool.workers == 4
    assert settings.pool.values["pool_size"] == 20
    assert settings.unsafe_fixes is True
    assert settings.config_path == project / "pyproject.toml"


def test_later_options_win_and_flags_win_over_options(project: Path) -> None:
    settings = load_settings(
        project,
        config_options=("select = ['POL1']", "select = ['POL3']"),
        overrides={"force_exclude": True},
    )
    assert settings.select == ("POL3",)
    assert settings.force_exclude is True
    settings = load_settings(project, config_options=("select = ['POL3']",), overrides={"select": ("POL101",)})
    assert settings.select == ("POL101",)


def test_an_option_error_names_the_option(project: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(project, config_options=("pool.pool_size = 'big'",))
    assert str(raised.value) == (
        "--config \"pool.pool_size = 'big'\": [tool.poollint.pool] 'pool_size' must be an integer, got 'big'"
    )


def test_selectors_from_options_are_attributed_to_them(project: Path) -> None:
    settings = load_settings(project, config_options=("ignore = ['POL2']",))
    ignore_sources = [where for option, where, _ in settings.selector_sources if option == "ignore"]
    assert ignore_sources == ["[tool.poollint] ignore (--config \"ignore = ['POL2']\")"]


def test_isolated_reads_no_file(project: Path) -> None:
    settings = load_settings(project, isolated=True)
    assert settings.config_path is None
    assert settings.ignore == () and settings.pool.workers is None
    assert settings.project_root == project
    assert load_settings(project, isolated=True, config_options=("pool.workers = 3",)).pool.workers == 3
    with pytest.raises(ConfigError, match="cannot be used with --isolated"):
        load_settings(project, isolated=True, config_path=project / "pyproject.toml")


def test_force_exclude_and_respect_gitignore_in_the_file(project: Path) -> None:
    defaults = load_settings(project)
    assert (defaults.force_exclude, defaults.respect_gitignore) == (False, True)
    (project / "pyproject.toml").write_text("[tool.poollint]\nforce-exclude = true\nrespect-gitignore = false\n")
    settings = load_settings(project)
    assert (settings.force_exclude, settings.respect_gitignore) == (True, False)
    assert load_settings(project, overrides={"respect_gitignore": True}).respect_gitignore is True
    (project / "pyproject.toml").write_text('[tool.poollint]\nforce-exclude = "yes"\n')
    with pytest.raises(ConfigError, match="'force-exclude' must be true or false"):
        load_settings(project)


def test_file_choosing_settings_leave_the_cache_key_alone(project: Path) -> None:
    from poollint.cache import settings_key

    (project / "pyproject.toml").write_text("[tool.poollint]\n")
    plain = load_settings(project)
    chosen = load_settings(project, overrides={"force_exclude": True, "respect_gitignore": False})
    assert settings_key(plain, []) == settings_key(chosen, [])
