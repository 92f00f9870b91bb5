"""What the project index knows across modules: route paths and engine settings."""

from __future__ import annotations

from pathlib import Path

from poollint.engine import build_index, read_facts

ROOT = Path("/virtual")


def index_of(sources):
    return build_index(read_facts(ROOT / name, ROOT, text.encode()) for name, text in sources.items())


ROUTERS = {
    "app/main.py": (
        "from fastapi import FastAPI\n"
        "from .api import api\n"
        "from .routes import items\n"
        "app = FastAPI()\n"
        'app.include_router(api, prefix="/v1")\n'
        "app.include_router(items.router)\n"
    ),
    "app/api.py": (
        "from fastapi import APIRouter\n"
        "from .routes.orders import router as orders_router\n"
        'api = APIRouter(prefix="/api")\n'
        'api.include_router(orders_router, prefix="/shop")\n'
    ),
    "app/routes/orders.py": (
        "from fastapi import APIRouter\n"
        'router = APIRouter(prefix="/orders")\n'
        '@router.get("/{order_id}")\n'
        "async def read_order(order_id: int): ...\n"
    ),
    "app/routes/items.py": (
        "from fastapi import APIRouter\n"
        "router = APIRouter()\n"
        '@router.get("/items")\n'
        "def list_items(): ...\n"
    ),
    "app/factory.py": (
        "from fastapi import FastAPI\n"
        "from .routes.items import router\n"
        "def create_app():\n"
        "    app = FastAPI()\n"
        '    app.include_router(router, prefix="/other")\n'
        "    return app\n"
    ),
}


def test_route_paths_follow_include_router_prefixes_up_the_chain() -> None:
    index = index_of({k: v for k, v in ROUTERS.items() if k != "app/factory.py"})
    assert index.route("app.routes.orders", "read_order").describe() == "GET /v1/api/shop/orders/{order_id} (read_order)"
    assert index.route("app.routes.items", "list_items").describe() == "GET /items (list_items)"


def test_a_router_included_at_two_prefixes_keeps_only_its_own() -> None:
    index = index_of(ROUTERS)
    assert index.route("app.routes.items", "list_items").describe() == "GET /items (list_items)"


def test_engine_literal_settings_are_kept_and_runtime_ones_are_not() -> None:
    index = index_of(
        {
            "db.py": (
                "from sqlalchemy import create_engine\n"
                "import settings\n"
                'engine = create_engine("postgresql://h/db", pool_size=20, max_overflow=0,\n'
                "    pool_recycle=-1, echo=True, pool_timeout=settings.TIMEOUT)\n"
            )
        }
    )
    name, engine = index.engine("db.engine")
    assert name == "db.engine"
    assert engine.literal("pool_size") == 20
    assert engine.literal("max_overflow") == 0
    assert engine.literal("pool_recycle") == -1
    assert engine.literal("echo") is True
    assert "pool_timeout" in engine.kwargs and engine.literal("pool_timeout", "unknown") == "unknown"
