"""POL104: blocking file I/O (open(), pathlib reads and writes, shutil) inside an async def."""

from __future__ import annotations

from typing import Hashable, Optional

import libcst as cst

from poollint.rule import FixAvailability, Invalid, Valid
from poollint.rules.event_loop._blocking import Term, ValueTrackingRule
from poollint.rules.event_loop._ruff import (
    ASYNC230,
    NO_OVERLAP,
    OLDEST,
    PATH_METHODS_SINCE,
    RUFF_OPEN_PATH_CLASS,
    RUFF_PATH_CLASSES,
    RUFF_PATH_METHODS,
    Overlap,
)

_OPENERS = {
    "builtins.open": "open()",
    "io.open": "io.open()",
    "codecs.open": "codecs.open()",
}
_SHUTIL = {
    f"shutil.{name}": f"shutil.{name}()"
    for name in ("copy", "copy2", "copyfile", "copytree", "move", "rmtree", "make_archive", "unpack_archive")
}
# Concrete paths only: a PurePath cannot touch the file system.
_PATH_CLASSES = frozenset(
    {
        "pathlib.Path",
        "pathlib.PosixPath",
        "pathlib.WindowsPath",
    }
)
_PATH_CONSTRUCTORS = _PATH_CLASSES | {f"{cls}.{name}" for cls in _PATH_CLASSES for name in ("cwd", "home")}
_PATH = "pathlib.Path"
# What still gives a Path when taken from one.
_PATH_STEPS = frozenset(
    {
        "/",
        ".parent",
        "joinpath()",
        "with_name()",
        "with_stem()",
        "with_suffix()",
        "resolve()",
        "absolute()",
        "expanduser()",
    }
)
_PATH_IO = frozenset({"read_text", "read_bytes", "write_text", "write_bytes", "open"})


class BlockingFileIo(ValueTrackingRule):
    """
    ## What it does
    Flags file I/O made directly inside an `async def`: the builtin `open()`
    (unless the name is shadowed or imported from elsewhere, as
    `aiofiles.open` is), `io.open()`, `codecs.open()`, the copying, moving
    and removing functions of `shutil`, and `read_text()`, `read_bytes()`,
    `write_text()`, `write_bytes()` and `open()` on a `pathlib.Path` that is
    visibly one: `Path(...)` itself, a parameter annotated `Path`, or a name
    (in the function or at module level) every binding of which is a `Path`
    or derived from one (`/`, `.parent`, `.with_suffix()`...). A receiver
    that could be anything else (an `anyio.Path`, an untyped parameter) is
    left alone, and so are startup and shutdown hooks.

    A sync function of the project whose own body calls `open()`, `io.open()`,
    `codecs.open()` or a `shutil` function is followed one level: calling it
    from an `async def` (`load_template(name)`, from any module, in any import
    form) is reported at that call, naming the helper and the line of the call
    in it. A helper handed to `asyncio.to_thread()` or `run_in_threadpool()`
    (not called here), an async or generator helper, a decorated one
    (`@lru_cache`, `@retry`...; `@staticmethod` and `@classmethod` are fine),
    and the call inside the helper's own nested functions or lambdas are left
    alone.

    It is off by default: reading a small local file is often fast enough,
    and async code that does it on purpose is common.

    ## Why is this bad?
    The event loop waits for the disk: on a slow, busy or network file
    system every other request of the worker stands still meanwhile, and the
    pooled connections those requests hold stay checked out for the whole
    wait.

    ## Example
    ```python
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/terms")
    async def terms():
        with open("terms.txt") as handle:
            return {"text": handle.read()}
    ```

    ## Use instead
    ```python
    import anyio
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/terms")
    async def terms():
        return {"text": await anyio.Path("terms.txt").read_text()}
    ```
    Or use `aiofiles`, run the blocking part in a thread
    (`await run_in_threadpool(path.read_text)`), or make the route a plain `def`.
    """

    CODE = "POL104"
    NAME = "blocking-file-io"
    RUFF_EQUIVALENT = ("ASYNC230", "ASYNC240")
    FLAKE8_ASYNC_EQUIVALENT = ("ASYNC230", "ASYNC231", "ASYNC232", "ASYNC240")
    RUFF_NOTE = (
        "ruff reports `open()`, `io.open()` and the methods of a path it can type (also `os.path` "
        "functions and more `Path` methods, ASYNC240); poollint also `codecs.open()`, `shutil`, paths "
        "derived with `/` or `.parent`, and the project's sync helpers (opt-in)."
    )
    FIX_TITLE = None
    FIX_AVAILABILITY = FixAvailability.NONE
    DEFAULT_ENABLED = False
    TRIGGERS = ("open", "read_", "write_", "shutil")
    BLOCKING_CALLS = {**_OPENERS, **_SHUTIL}
    BLOCKING_METHODS = _PATH_IO

    def constructor_kind(self, qualified: str) -> Optional[Hashable]:
        return _PATH if qualified in _PATH_CONSTRUCTORS else None

    def annotation_kind(self, qualified: str) -> Optional[Hashable]:
        return _PATH if qualified in _PATH_CLASSES else None

    def derive(self, kind: Hashable, step: str) -> Optional[Hashable]:
        return kind if kind == _PATH and step in _PATH_STEPS else None

    def method_call(self, kind: Hashable, receiver: str, method: str) -> Optional[str]:
        return f"{receiver}.{method}() (pathlib.Path)" if kind == _PATH and method in _PATH_IO else None

    def method_overlap(self, receiver: cst.BaseExpression, method: str, term: Term) -> Overlap:
        code = RUFF_PATH_METHODS.get(method)
        if code is None:
            return NO_OVERLAP
        # ruff types `Path(...)` itself, or a name whose only binding is one
        # (ASYNC240 also a parameter annotated with a path class), never a
        # path derived with `/`, `.parent` and the like.
        value = term if term.name is None else self.only_term(term)
        if term.steps or value is None or value.steps or value.origin is None:
            return code, None
        if code == ASYNC230:
            return code, OLDEST if value.origin == RUFF_OPEN_PATH_CLASS else None
        typed = value.origin.replace("annotation:", "", 1) in RUFF_PATH_CLASSES
        return code, PATH_METHODS_SINCE if typed else None

    VALID = [
        Valid(
            """
            import aiofiles

            async def handler():
                async with aiofiles.open("report.csv") as handle:
                    return await handle.read()
            """
        ),
        Valid(
            """
            import anyio
            from pathlib import Path

            async def handler(name: str):
                path = Path("uploads") / name
                await anyio.to_thread.run_sync(path.read_bytes)
                return await anyio.Path(path).read_text()
            """
        ),
        Valid(
            """
            def sync_route(path):
                with open(path) as handle:
                    return handle.read()
            """
        ),
        Valid(
            """
            async def handler(path, template):
                # Nothing says these are pathlib paths.
                return path.read_text() + template.open().read()
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            async def handler():
                with open("settings.json") as handle:
                    return handle.read()
            """
        ),
        Invalid(
            """
            from pathlib import Path

            async def handler(report: Path):
                target = Path("/srv/reports") / report.name
                target.write_text(report.read_text())
            """
        ),
        Invalid(
            """
            import shutil

            async def handler(upload_dir: str):
                shutil.rmtree(upload_dir)
            """
        ),
        Invalid(
            """
            def load_template(name):
                with open(f"templates/{name}.html") as handle:
                    return handle.read()

            async def handler():
                return load_template("index")
            """
        ),
    ]
