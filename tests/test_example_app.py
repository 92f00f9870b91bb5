"""The example app of the README: every rule of 0.1 shows up, the look-alikes stay clean,
and the app fixed with every fix still imports under real FastAPI and SQLAlchemy."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from poollint.cli import main

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "examples" / "shop"
RULES_OF_0_1 = {"POL101", "POL102", "POL103", "POL105", "POL201", "POL202", "POL301", "POL401"}
LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<code>POL\d{3}) ")


def _findings(*args: str):
    result = CliRunner().invoke(main, ["check", str(SHOP), *args])
    return result, [m for m in map(LINE.match, result.stdout.splitlines()) if m]


def test_every_rule_of_0_1_is_shown_by_the_example_app() -> None:
    result, findings = _findings()
    assert result.exit_code == 1
    assert {m["code"] for m in findings} == RULES_OF_0_1


def test_the_example_look_alikes_stay_clean() -> None:
    _, findings = _findings()
    orders = SHOP / "app" / "routes" / "orders.py"
    marker = orders.read_text().splitlines().index("# Look-alikes that are fine and must stay clean.") + 1
    for m in findings:
        path = Path(m["path"])
        assert path.name != "reports.py", m.string
        if path.name == "orders.py":
            assert int(m["line"]) < marker, m.string


IMPORT_APP = textwrap.dedent(
    """
    import sys, types
    import sqlalchemy

    # The shop talks to PostgreSQL; here every engine gets a throwaway SQLite
    # file instead, keeping the keyword arguments the fixes wrote, so that
    # SQLAlchemy still validates them. `requests` is not a test dependency.
    real_create_engine = sqlalchemy.create_engine
    def create_engine(url, *args, **kwargs):
        return real_create_engine("sqlite:///" + sys.argv[2] + "/shop.db", *args, **kwargs)
    sqlalchemy.create_engine = create_engine
    sys.modules["requests"] = types.ModuleType("requests")

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
    assert "/orders/{order_id}" in completed.stdout
    again = CliRunner().invoke(main, ["check", str(shop), "--fix", "--unsafe-fixes"])
    assert not re.search(r"\d+ fixed", again.stdout), "fixing twice changed the app again"
