"""POL501 reports database URLs with passwords and never repeats a password in its message."""

from __future__ import annotations

import pytest

from poollint.rules.security.credentials_in_url import CredentialsInUrl
from poollint.testing import lint_source

# Passwords whose every 4-character piece is unlikely to occur in a message by chance.
PASSWORDS = ["Zq7Wm3Rk", "Vb9:Tn4@Hx2/Lp", "Qf6 Jy", "Gd5%40Kw", "Ux8}Ne{1"]

TEMPLATES = [
    'URL = "postgresql://app:{pw}@db.internal/shop"',
    'URL = "mysql+pymysql://root:{pw}@mysql.internal:3306/shop?charset=utf8mb4"',
    'URL = "postgresql://app@db/shop?sslmode=require&password={pw}"',
    'URL = ("mssql+pyodbc://sa:{pw}" "@sqlserver/shop")',
    'import os\nURL = f"postgresql://app:{pw}@{{os.environ[\'HOST\']}}/shop"',
    'from sqlalchemy import URL\nURL.create("postgresql", username="app", password="{pw}", host="db")',
    'from sqlalchemy import URL\nURL.create("postgresql", "app", "{pw}", "db")',
    'class Settings:\n    database_url: str = "postgresql+asyncpg://app:{pw}@db/app"',
]


def _pieces(password: str, size: int = 4):
    return {password[i : i + size] for i in range(len(password) - size + 1)} or {password}


# A URL ends at whitespace: a password with a space only fits URL.create().
CASES = [(t, p) for t in TEMPLATES for p in PASSWORDS if " " not in p or "URL.create" in t]


@pytest.mark.parametrize("template, password", CASES)
def test_the_password_never_appears_in_a_message(template: str, password: str) -> None:
    source = template.format(pw=password) + "\n"
    result = lint_source(source, [CredentialsInUrl])
    messages = [d.message for d in result.diagnostics]
    assert messages, f"not flagged: {source!r}"
    for message in messages:
        for piece in _pieces(password):
            assert piece not in message, f"{piece!r} of the password leaked into {message!r}"


def test_message_names_scheme_user_and_host() -> None:
    result = lint_source('URL = "postgresql+asyncpg://app:Zq7Wm3Rk@db.internal:5432/shop"\n', [CredentialsInUrl])
    assert [d.message.split(" carries")[0] for d in result.diagnostics] == [
        "database URL `postgresql+asyncpg://app@db.internal:5432`"
    ]


def test_test_modules_are_skipped() -> None:
    source = 'URL = "postgresql://app:Zq7Wm3Rk@localhost/test"\n'
    assert lint_source(source, [CredentialsInUrl], filename="tests/conftest.py").diagnostics == []
    assert lint_source(source, [CredentialsInUrl], filename="app/config.py").diagnostics != []
