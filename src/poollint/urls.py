"""Reading SQLAlchemy database URLs without ever handing out their secrets.

Only the scheme (`postgresql+psycopg`) and whether a SQLite database lives in
memory are read: user, password, host and database name never leave here,
so nothing built on these helpers can print a credential.
"""

from __future__ import annotations

import re
from typing import Optional, Tuple

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
