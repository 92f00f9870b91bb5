"""Reading SQLAlchemy database URLs without ever handing out their secrets.

Only the scheme (`postgresql+psycopg`) and whether a SQLite database lives in
memory are read: user, password, host and database name never leave here,
so nothing built on these helpers can print a credential.
"""

from __future__ import annotations

import re
from typing import Iterator, Optional, Tuple

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9_.+-]*")

# Database URL schemes (the dialect before `+driver`): SQLAlchemy's own
# dialects, common third-party ones, and libpq's `postgres`. A SQLite URL
# carries a password only as SQLCipher's passphrase, which is a secret too.
DATABASE_SCHEMES = frozenset(
    {
        "postgresql",
        "postgres",
        "pgsql",
        "mysql",
        "mariadb",
        "mssql",
        "oracle",
        "sqlite",
        "cockroachdb",
        "redshift",
        "snowflake",
        "db2",
        "ibm_db_sa",
        "teradatasql",
        "clickhouse",
        "clickhousedb",
        "trino",
        "presto",
        "databricks",
        "hana",
        "sybase",
        "firebird",
        "vertica",
        "exasol",
        "crate",
        "hive",
        "impala",
        "doris",
        "starrocks",
        "singlestoredb",
        "tidb",
        "yugabytedb",
        "timescaledb",
        "awsathena",
        "informix",
        "access",
    }
)


def url_scheme(url: str) -> Optional[str]:
    """`postgresql+psycopg` of `postgresql+psycopg://app@db/shop`; None when the
    text names no scheme, or one built at run time (`{}://...`)."""
    scheme, sep, _ = url.partition("://")
    return scheme if sep and _SCHEME.fullmatch(scheme) else None


def dialect_and_driver(url: str) -> Tuple[Optional[str], Optional[str]]:
    """(dialect, driver) of a URL: ("postgresql", "asyncpg"), ("sqlite", None)."""
    scheme = url_scheme(url)
    if scheme is None:
        return None, None
    dialect, _, driver = scheme.partition("+")
    return dialect.lower(), (driver.lower() or None)


def sqlite_in_memory(url: str) -> Optional[bool]:
    """Whether a SQLite URL names an in-memory database (`sqlite://`,
    `sqlite:///:memory:`, `?mode=memory`); None when that is only known at run time."""
    _, sep, rest = url.partition("://")
    if not sep:
        return None
    location, _, query = rest.partition("?")
    database = location.split("/", 1)[1] if "/" in location else ""
    if "{}" in database:
        return None
    return database in ("", ":memory:") or "mode=memory" in query


FIELD = "\x00"  # stands for an f-string replacement field in a template

# `scheme://user:password@host`: the password runs to the last `@` that is
# followed by a host and the end of the authority (`/`, `?`, `#`, a quote or
# whitespace), so a password holding `@` or `/` is still all password.
_URL = re.compile(
    r"(?<![A-Za-z0-9_+.\-])"
    r"(?P<scheme>(?P<dialect>[A-Za-z][A-Za-z0-9_]*)(?:\+[A-Za-z0-9_]+)?)://"
    r"(?P<user>[^:/@?#\s]*):(?P<password>\S*)@(?P<host>[^@/?#\s]*)"
    r"(?=$|[/?#\s\"'])"
)
# `scheme://user@host/db?password=...` (libpq and several drivers read it).
_URL_NO_USERINFO = re.compile(
    r"(?<![A-Za-z0-9_+.\-])"
    r"(?P<scheme>(?P<dialect>[A-Za-z][A-Za-z0-9_]*)(?:\+[A-Za-z0-9_]+)?)://"
    r"(?:(?P<user>[^:/@?#\s]*)@)?(?P<host>[^@/?#\s]*)[^?\s]*\?(?:[^#\s]*&)?password=(?P<password>[^&#\s]*)"
)
# Template fields and printf conversions: `{password}`, `${DB_PASSWORD}`,
# `$DB_PASSWORD`, `%s`, `%(password)s`; angle or square brackets around a
# name (`<password>`); masks made of `*`, `x`, `.` (`***`, `xxxx`).
_PLACEHOLDER = re.compile(
    r"\{.*\}|^\$|%(\([^)]*\))?[sdr]|^<[^<>]*>$|^\[[^\[\]]*\]$|^[*xX.\u2022\u00b7\u2026]+$"
    # A regular expression that matches URLs: `(?P<password>[^@]+)`.
    r"|\(\?|\[\^|\.[*+]|\\[dwsSDW]"
)


def password_urls(text: str) -> Iterator["re.Match[str]"]:
    """Matches of database URLs in `text` that carry a literal password (the
    match's `password` group). Only POL501 and its gate read that group."""
    for pattern in (_URL, _URL_NO_USERINFO):
        for match in pattern.finditer(text):
            if match.group("dialect").lower() not in DATABASE_SCHEMES:
                continue
            if not is_literal_password(match.group("password")):
                continue
            yield match


def is_literal_password(password: str) -> bool:
    """A non-empty password written out, not a template field or placeholder."""
    if not password or FIELD in password:
        return False
    return _PLACEHOLDER.search(password) is None
