"""POL301 details the fixtures cannot pin: message text and configured values."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from poollint.config import PoolSettings, Settings
from poollint.engine import FixRequest
from poollint.rule import FixSafety
from poollint.rules.pool_config.missing_pool_settings import MissingPoolSettings
from poollint.testing import fixed_text, lint_source


def _settings(**pool: object) -> Settings:
    return Settings(project_root=Path("/virtual"), config_path=None, pool=dataclasses.replace(PoolSettings(), **pool))


def test_message_names_the_dialect_and_the_missing_settings_never_the_password() -> None:
    source = 'from sqlalchemy import create_engine\nengine = create_engine("postgresql+psycopg://app:hunter2@db/shop", pool_size=5, max_overflow=10)\n'
    [finding] = lint_source(source, [MissingPoolSettings]).diagnostics
    assert finding.message == (
        "create_engine() for postgresql+psycopg leaves pool_recycle, pool_pre_ping at their defaults"
    )
    assert "hunter2" not in finding.message


def test_message_for_one_missing_setting_and_a_settings_url() -> None:
    source = (
        "import sqlalchemy as sa\n"
        "engine = sa.create_engine(settings.DATABASE_URL, pool_size=5, max_overflow=10, pool_recycle=60)\n"
    )
    [finding] = lint_source(source, [MissingPoolSettings]).diagnostics
    assert finding.message == (
        "create_engine() for the URL in `settings.DATABASE_URL` leaves pool_pre_ping at its default"
    )


def test_fix_writes_the_configured_values_and_is_unsafe_when_they_differ_from_sqlalchemy() -> None:
    source = 'from sqlalchemy import create_engine\nengine = create_engine("postgresql://db/shop")\n'
    settings = _settings(required=("pool_size", "pool_timeout"), values={"pool_size": 20, "pool_timeout": 30})
    [finding] = lint_source(source, [MissingPoolSettings], settings=settings).diagnostics
    assert finding.fix_safety is FixSafety.UNSAFE
    fixed = lint_source(source, [MissingPoolSettings], settings=settings, fix=FixRequest(apply=True, unsafe=True))
    assert fixed_text(fixed, source).endswith('create_engine("postgresql://db/shop", pool_size=20, pool_timeout=30)\n')


def test_fix_spelling_out_sqlalchemy_defaults_for_a_literal_server_url_is_safe() -> None:
    source = 'from sqlalchemy import create_engine\nengine = create_engine("postgresql://db/shop")\n'
    settings = _settings(required=("pool_size", "max_overflow", "pool_timeout"))
    fixed = lint_source(source, [MissingPoolSettings], settings=settings, fix=FixRequest(apply=True))
    assert fixed_text(fixed, source).endswith(
        'create_engine("postgresql://db/shop", pool_size=5, max_overflow=10, pool_timeout=30)\n'
    )
    assert fixed.diagnostics == []


def test_nothing_required_means_nothing_reported() -> None:
    source = 'from sqlalchemy import create_engine\nengine = create_engine("postgresql://db/shop")\n'
    assert lint_source(source, [MissingPoolSettings], settings=_settings(required=())).diagnostics == []
