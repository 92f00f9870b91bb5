"""The example app of the README: every rule on by default shows up, the look-alikes stay
clean, and the app fixed with every fix still imports under real FastAPI and SQLAlchemy."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from poollint.cli import main
from poollint.rules import ALL_RULES

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "examples" / "shop"
# A new rule on by default must be shown by the example app too.
DEFAULT_RULES = {rule.CODE for rule in ALL_RULES if rule.DEFAULT_ENABLED}
# In a module that has mistakes, the look-alikes follow this line; a module
# without it is look-alike code through and through.
MARKER = "# Look-alikes that are fine and must stay clean."
MODULES_WITH_LOOK_ALIKES = {
    "app/async_db.py",
    "app/config.py",
    "app/db.py",
    "app/routes/orders.py",
    "app/routes/reviews.py",
    "app/tasks.py",
    "requirements.txt",
}
LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<code>POL\d{3}) ")


def _findings(*args: str):
    result = CliRunner().invoke(main, ["check", str(SHOP), *args])
    return result, [m for m in map(LINE.match, result.stdout.splitlines()) if m]


def test_every_default_rule_is_shown_by_the_example_app() -> None:
    result, findings = _findings()
    assert result.exit_code == 1
    assert {m["code"] for m in findings} == DEFAULT_RULES


def _marker_line(module: str) -> int | None:
    lines = (SHOP / module).read_text().splitlines()
    return lines.index(MARKER) + 1 if MARKER in lines else None


def test_the_example_look_alikes_stay_clean() -> None:
    for module in MODULES_WITH_LOOK_ALIKES:
        assert _marker_line(module), f"{module} lost its look-alike marker"
    _, findings = _findings()
    for m in findings:
        module = Path(m["path"]).resolve().relative_to(SHOP).as_posix()
        marker = _marker_line(module)
        assert marker is not None, f"finding in a module of look-alikes only: {m.string}"
        assert int(m["line"]) < marker, f"finding among the look-alikes: {m.string}"


IMPORT_APP = textwrap.dedent(
    """
    import sys, types
    import sqlalchemy
    import sqlalchemy.ext.asyncio

    # The shop talks to PostgreSQL; here every engine gets a throwaway SQLite
    # file instead, keeping the keyword arguments the fixes wrote, so that
    # SQLAlchemy still validates them; the async engine gets a sync one, as no
    # async driver is installed (async_sessionmaker() does not look at its bind).
    # `requests` and `httpx` are not test dependencies; the psycopg2 import
    # of app/legacy.py runs only when a route calls it.
    real_create_engine = sqlalchemy.create_engine
    def create_engine(url, *args, **kwargs):
        return real_create_engine("sqlite:///" + sys.argv[2] + "/shop.db", *args, **kwargs)
    sqlalchemy.create_engine = create_engine
    sqlalchemy.ext.asyncio.create_async_engine = create_engine
    sys.modules["requests"] = types.ModuleType("requests")
    sys.modules["httpx"] = types.ModuleType("httpx")

    sys.path.insert(0, sys.argv[1])
    from app.main import app
    # Building the OpenAPI schema makes FastAPI read every route's signature.
    print(sorted(app.openapi()["paths"]))
    """
)


def test_the_fixed_example_app_still_imports_under_fastapi(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(SHOP, shop)
    result = CliRunner().invoke(main, ["check", str(shop), "--fix", "--unsafe-fixes"])
    assert result.exit_code in (0, 1), result.stdout
    assert re.search(r"\(\d+ fixed, \d+ remaining\)", result.stdout), result.stdout
    for path in shop.rglob("*.py"):
        compile(path.read_text(), str(path), "exec")
    assert (shop / "app" / "db.py").read_text() != (SHOP / "app" / "db.py").read_text()
    completed = subprocess.run(
        [sys.executable, "-c", IMPORT_APP, str(shop), str(tmp_path)], capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    for path in (
        "/api/orders/{order_id}",
        "/api/reviews/{review_id}/approve",
        "/api/products/{product_id}",
    ):
        assert path in completed.stdout, completed.stdout
    again = CliRunner().invoke(main, ["check", str(shop), "--fix", "--unsafe-fixes"])
    assert not re.search(r"\d+ fixed", again.stdout), "fixing twice changed the app again"
