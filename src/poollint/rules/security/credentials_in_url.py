"""POL501: a database URL written in the source with its password."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, List, Optional, Set, Union

import libcst as cst

from poollint.gate import SourceView
from poollint.project import ProjectIndex, is_test_module
from poollint.rule import FixAvailability, Invalid, PoolRule, RuleScope, Valid
from poollint.urls import FIELD as _FIELD
from poollint.urls import is_literal_password as _is_literal_password
from poollint.urls import password_urls

URL_CREATE = frozenset({"sqlalchemy.URL.create", "sqlalchemy.engine.URL.create", "sqlalchemy.engine.url.URL.create"})

# Calls and keyword arguments whose strings document rather than configure.
_DOC_CALLS = frozenset(
    {
        "print",
        "debug",
        "info",
        "warning",
        "warn",
        "error",
        "exception",
        "critical",
        "log",
        "echo",
        "secho",
        "fail",
        "skip",
    }
)
_DOC_KEYWORDS = frozenset(
    {"help", "description", "example", "examples", "title", "summary", "doc", "epilog", "usage", "metavar", "msg"}
)

_StringNode = Union[cst.SimpleString, cst.FormattedString, cst.ConcatenatedString]


@dataclass(frozen=True)
class _Credential:
    scheme: str
    user: str
    host: str

    def describe(self) -> str:
        """`postgresql+asyncpg://app@db.example.com`: never the password."""
        who = f"{self.user}@{self.host}" if self.user else self.host
        return f"{self.scheme}://{who}".replace(_FIELD, "{...}")


class CredentialsInUrl(PoolRule):
    """
    ## What it does
    Flags a database URL written in the source with its password
    (`postgresql://app:s3cret@db/shop`, also `?password=s3cret`), wherever it
    sits: an assignment, a settings class default (pydantic `BaseSettings`
    fields), a `create_engine()`/`create_async_engine()` argument, a default
    of `os.getenv()`. An f-string counts when the password part is literal
    (`f"postgresql://app:s3cret@{host}/db"`), and so does
    `URL.create(..., password="s3cret")`. The message names the scheme, user
    and host, never the password.

    Not flagged: a password that is a template field or an environment
    lookup (`{password}`, `f"...:{settings.DB_PASSWORD}@..."`,
    `${DB_PASSWORD}`, `$DB_PASSWORD`, `%s`, `%(password)s`), an obvious
    placeholder (`<password>`, `[password]`, `***`, `xxxx`), a regular
    expression that matches such URLs (`(?P<password>[^@]+)`), an empty
    password, URLs of other schemes (`https://user:token@...`), docstrings,
    strings handed to `print()`/logging/warnings or to `help=`/`description=`/
    `examples=`, and test code (`tests/`, `test_*.py`, `conftest.py`), whose
    databases are throwaway containers. Words such as `password`, `changeme`
    or `postgres` are flagged like any other: they are the password the code
    will send, and defaults like these are the ones that reach production
    unchanged. A deliberate local default can carry `# noqa: POL501`.

    ## Why is this bad?
    A password in the source is in every clone, fork, CI log and backup of the
    repository, and it outlives the rotation of the real one: whoever reads
    the code can open connections to the database, up to its connection
    limit. It also ties the pool to one database: the same code cannot point
    at staging or production without an edit. Read the URL (or the password)
    from the environment or a secret store, and keep only a password-less
    default in the code.

    ## Example
    ```python
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine("postgresql+asyncpg://app:Xk2v9sQ@db.internal/shop")
    ```

    ## Use instead
    ```python
    import os

    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(os.environ["DATABASE_URL"])
    ```
    """

    @classmethod
    def may_fire(cls, view: "SourceView", index: "ProjectIndex") -> bool:
        if view.facts is not None:
            may_carry = view.facts.password_url
        else:
            may_carry = view.mentions_database_url
        return may_carry or _may_call_url_create(view)


    CODE = "POL501"
    NAME = "credentials-in-url"
    RUFF_NOTE = (
        "ruff's S105-S107 (hardcoded passwords) look at names such as `password`, not inside database "
        "URLs."
    )
    MESSAGE = "{what} carries a password written in the source: read it from the environment or a secret store"
    FIX_AVAILABILITY = FixAvailability.NONE
    TRIGGERS = ("://", "password", "URL.create")
    # String literals and URL.create() calls of the file itself.
    SCOPE = RuleScope.FILE

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.skipped = is_test_module(ctx.facts.module)
        # Strings that document rather than configure, and the parts of
        # implicitly concatenated strings (judged as a whole).
        self.ignored: Set[cst.CSTNode] = set()
        self.raise_depth = 0

    # -- where strings do not configure anything --------------------------------------
    def visit_Expr(self, node: cst.Expr) -> None:
        # A docstring, or a string statement used as a comment.
        self.ignored.add(node.value)

    def visit_Raise(self, node: cst.Raise) -> None:
        self.raise_depth += 1

    def leave_Raise(self, original_node: cst.Raise) -> None:
        self.raise_depth -= 1

    def visit_Assert(self, node: cst.Assert) -> None:
        if node.msg is not None:
            self.ignored.add(node.msg)

    # -- strings ---------------------------------------------------------------------------
    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self._check_string(node)

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self._check_string(node)

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
        self._check_string(node)
        part: cst.BaseExpression = node
        while isinstance(part, cst.ConcatenatedString):
            self.ignored.add(part.left)
            self.ignored.add(part.right)
            part = part.right

    def _check_string(self, node: _StringNode) -> None:
        if self.skipped or self.raise_depth or node in self.ignored:
            return
        template = _template(node)
        if template is None or "://" not in template:
            return
        for credential in _credentials(template):
            self.report(node, what=f"database URL `{credential.describe()}`")
            return

    # -- URL.create(..., password=...) -------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        called = func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) else None
        for arg in node.args:
            if called in _DOC_CALLS or (arg.keyword is not None and arg.keyword.value in _DOC_KEYWORDS):
                self.ignored.add(arg.value)
        if self.skipped or self.ctx.qualified_name(func) not in URL_CREATE:
            return
        values = _url_create_args(node)
        password = values.get("password")
        if password is None:
            return
        secret = _template(password) if isinstance(password, _STRING_TYPES) else None
        if secret is None or not _is_literal_password(secret):
            return
        parts = {key: _template(values[key]) if isinstance(values.get(key), _STRING_TYPES) else None for key in ("drivername", "username", "host")}
        scheme = parts["drivername"] or "{...}"
        credential = _Credential(scheme, parts["username"] or "", parts["host"] or "{...}")
        self.ignored.add(password)
        self.report(password, what=f"URL.create() for `{credential.describe()}`")

    VALID = [
        Valid(
            """
            import os
            from sqlalchemy import create_engine

            engine = create_engine(os.environ["DATABASE_URL"])
            fallback = os.getenv("DATABASE_URL", "postgresql://app@localhost/shop")
            """
        ),
        Valid(
            """
            from pydantic_settings import BaseSettings

            class Settings(BaseSettings):
                db_user: str = "app"
                db_password: str
                db_host: str = "localhost"

                @property
                def database_url(self) -> str:
                    return f"postgresql+asyncpg://{self.db_user}:{self.db_password}@{self.db_host}/shop"
            """
        ),
        Valid(
            """
            DATABASE_URL_TEMPLATE = "postgresql://{user}:{password}@{host}/{db}"
            COMPOSE_URL = "postgresql://app:${POSTGRES_PASSWORD}@db/shop"
            DOCS_URL = "mysql://app:<password>@db/shop"
            MASKED = "postgresql://app:****@db/shop"
            NO_PASSWORD = "postgresql://app:@db/shop"
            HTTP = "https://user:token@example.com/api"
            """
        ),
        Valid(
            '''
            def connect(url: str):
                """Connect, e.g. connect("postgresql://app:secret@db/shop")."""
                print("use postgresql://app:secret@db/shop for a local run")
            '''
        ),
    ]
    INVALID = [
        Invalid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine("postgresql+asyncpg://app:Xk2v9sQ@db.internal/shop")
            """
        ),
        Invalid(
            """
            from pydantic_settings import BaseSettings

            class Settings(BaseSettings):
                database_url: str = "mysql+aiomysql://root:changeme@mysql:3306/shop"
            """
        ),
        Invalid(
            """
            import os

            host = os.environ["DB_HOST"]
            url = f"postgresql://app:s3cret@{host}/shop"
            """
        ),
        Invalid(
            """
            from sqlalchemy import URL

            url = URL.create("postgresql+psycopg", username="app", password="s3cret", host="db", database="shop")
            """
        ),
    ]


_STRING_TYPES = (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)
_CREATE_ON = re.compile(rb"([A-Za-z_][A-Za-z0-9_]*)\s*\.\s*create\s*\(")


def _may_call_url_create(view: SourceView) -> bool:
    """Whether `<URL or a name imported for it>.create(` occurs outside docstrings."""
    if "create" not in view.called or (view.facts is not None and "create" not in view.facts.gate_calls):
        return False
    url_names = {"URL"}
    if view.facts is not None:
        url_names.update(local for local, qualified in _imports(view.facts) if qualified.rsplit(".", 1)[-1] == "URL")
    for match in _CREATE_ON.finditer(view.source):
        if match.group(1).decode("ascii") in url_names or view.facts is None:
            if _may_pass_password(view.source, match.end()):
                return True
    return False


def _may_pass_password(source: bytes, start: int) -> bool:
    """Whether the arguments from `start` to the closing parenthesis may hold
    a password: a `password` keyword, a third positional argument (`*`/`**`
    too), or text this count of brackets cannot follow (strings with brackets)."""
    depth = 1
    commas = 0
    for position in range(start, min(len(source), start + 2000)):
        byte = source[position]
        if byte in b"([{":
            depth += 1
        elif byte in b")]}":
            depth -= 1
            if depth == 0:
                text = source[start:position]
                return b"password" in text or commas >= 2 or b"*" in text
        elif byte == 44 and depth == 1:  # a comma between arguments
            commas += 1
        elif byte in b"\"'#":
            return True
    return True


def _imports(facts) -> Iterator:  # type: ignore[no-untyped-def]
    yield from facts.imports.items()
    for fn in facts.functions.values():
        yield from fn.local_imports.items()


def _template(node: cst.BaseExpression) -> Optional[str]:
    """A string literal's text, with _FIELD for each f-string replacement field."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.FormattedString):
        parts: List[str] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value.replace("{{", "{").replace("}}", "}"))
            else:
                parts.append(_FIELD)
        return "".join(parts)
    if isinstance(node, cst.ConcatenatedString):
        left = _template(node.left)
        right = _template(node.right)
        return left + right if left is not None and right is not None else None
    return None


def _credentials(text: str) -> Iterator[_Credential]:
    for match in password_urls(text):
        yield _Credential(match.group("scheme"), match.group("user") or "", match.group("host"))


def _url_create_args(call: cst.Call) -> dict:
    """URL.create(drivername, username, password, host, port, database, query) by name."""
    order = ("drivername", "username", "password", "host", "port", "database", "query")
    found = {}
    for position, arg in enumerate(call.args):
        if arg.star:
            continue
        if arg.keyword is not None:
            found[arg.keyword.value] = arg.value
        elif position < len(order):
            found[order[position]] = arg.value
    return found
