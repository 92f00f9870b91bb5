"""POL305: echo=True (or "debug") on create_engine()/create_async_engine()."""

from __future__ import annotations

from poollint.rule import Fix, FixAvailability, FixSafety, Invalid, RuleScope, Valid
from poollint.rules._call_args import without_keyword
from poollint.rules.pool_config._engine_call import EngineCall, EngineCallRule, literal_value


class EchoEnabled(EngineCallRule):
    """
    ## What it does
    Flags `echo=True` and `echo="debug"`, written as literals, on
    `create_engine()` and `create_async_engine()` (any import form, SQLModel's
    too). An `echo` read from settings (`echo=settings.DEBUG`) or an
    expression is left alone, and so are test code and scripts, where the
    output is what one runs them for: engines created under
    `if __name__ == "__main__":`, modules under a `scripts/` or `bin/`
    directory, and modules that define no FastAPI app, router or route but
    have a main block or do their work at import time (a module-level `with`
    block, `asyncio.run(...)`).

    ## Why is this bad?
    `echo=True` makes the engine log every statement it runs, with its
    parameters, at INFO level through Python's logging (`echo="debug"` adds
    every row fetched). Under load that is a log line per query, written
    while the request holds its pooled connection, so connections are held
    longer and the pool drains sooner; and the parameters (e-mail addresses,
    password hashes, tokens) end up in the application's logs and whatever
    collects them. Turn statement logging on where it is needed, from
    settings or with `logging.getLogger("sqlalchemy.engine")`.

    ## Example
    ```python
    from sqlalchemy import create_engine

    engine = create_engine("postgresql+psycopg://app@db/shop", echo=True)
    ```

    ## Use instead
    ```python
    from sqlalchemy import create_engine

    from app.config import settings

    engine = create_engine("postgresql+psycopg://app@db/shop", echo=settings.SQL_ECHO)
    ```

    ## Fix safety
    The fix removes the `echo` argument and leaves the rest of the call, its
    layout and its comments as they were (a trailing comma stays where there
    was one). It is unsafe: the statement log goes away, and someone may be
    reading it.
    """

    CODE = "POL305"
    NAME = "echo-enabled"
    MESSAGE = (
        "echo={value} on {call}() logs every statement{rows} with its parameters: slow under load and it "
        "leaks data into the logs; read it from settings or drop it"
    )
    FIX_TITLE = "Remove `echo`"
    FIX_AVAILABILITY = FixAvailability.ALWAYS
    TRIGGERS = ("echo",)
    # A literal keyword of a call, the file's own main block, path and app.
    SCOPE = RuleScope.FILE

    VALID = [
        Valid(
            """
            from sqlalchemy import create_engine

            engine = create_engine("postgresql://app@db/shop", echo=False)
            """
        ),
        Valid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.config import settings

            engine = create_async_engine(settings.DATABASE_URL, echo=settings.DEBUG)
            """
        ),
        Valid(
            """
            from sqlalchemy import create_engine

            if __name__ == "__main__":
                engine = create_engine("sqlite:///./debug.db", echo=True)
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from sqlalchemy import create_engine

            engine = create_engine("postgresql://app@db/shop", echo=True)
            """,
            expected_replacement="""
            from sqlalchemy import create_engine

            engine = create_engine("postgresql://app@db/shop")
            """,
            unsafe_fixes=True,
        ),
        Invalid(
            """
            from sqlmodel import create_engine

            engine = create_engine(
                "sqlite:///database.db",
                echo=True,  # see the SQL
                connect_args={"check_same_thread": False},
            )
            """,
            expected_replacement="""
            from sqlmodel import create_engine

            engine = create_engine(
                "sqlite:///database.db",
                connect_args={"check_same_thread": False},
            )
            """,
            unsafe_fixes=True,
        ),
        Invalid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine(
                "postgresql+asyncpg://app@db/shop",
                pool_pre_ping=True,
                echo="debug",
            )
            """,
            expected_replacement="""
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine(
                "postgresql+asyncpg://app@db/shop",
                pool_pre_ping=True,
            )
            """,
            unsafe_fixes=True,
        ),
        # Without --unsafe-fixes the call is left as it is.
        Invalid(
            """
            import sqlalchemy as sa

            engine = sa.create_engine("mysql+pymysql://app@db/shop", echo=True)
            """
        ),
    ]

    def check(self, engine: EngineCall) -> None:
        arg = engine.keyword("echo")
        if arg is None or engine.in_main_block or self.in_script():
            return
        value = literal_value(arg.value)
        if value is not True and value != "debug":
            return
        self.report(
            arg,
            fix=Fix(
                node=engine.node,
                replacement=without_keyword(engine.node, "echo"),
                # The statement log goes away; someone may be reading it.
                safety=FixSafety.UNSAFE,
            ),
            value=self.ctx.module.code_for_node(arg.value),
            call=engine.name,
            rows=" and every row fetched" if value == "debug" else "",
        )
