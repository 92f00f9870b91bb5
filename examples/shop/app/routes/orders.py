"""Order endpoints: some of them block the event loop, leak connections or waste the pool."""

import asyncio
import subprocess
import time
from functools import lru_cache
from typing import Iterator

import requests
from fastapi import APIRouter, BackgroundTasks, Depends
from fastapi.responses import StreamingResponse
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from .. import tasks
from ..config import ANALYTICS_URL
from ..db import DbSession, SessionLocal, get_db, get_db_safely
from ..models import Order

router = APIRouter(prefix="/orders")


@router.get("/{order_id}")
async def read_order(order_id: int, db: Session = Depends(get_db)):
    # Simulated latency left over from a load test.
    time.sleep(0.05)
    row = db.execute(text("SELECT * FROM orders WHERE id = :id"), {"id": order_id})
    return dict(row.mappings().one())


@router.post("/{order_id}/ship")
async def ship_order(order_id: int, db: DbSession):
    response = requests.post("https://carrier.example/api/shipments", json={"order": order_id})
    db.commit()
    return response.json()


@router.post("/{order_id}/invoice")
async def render_invoice(order_id: int):
    subprocess.run(["render-invoice", str(order_id)], check=True)
    return {"ok": True}


@router.get("/{order_id}/audit")
def audit_order(order_id: int):
    # A session that is never closed if the query raises.
    db = SessionLocal()
    rows = db.execute(text("SELECT * FROM audit WHERE order_id = :id"), {"id": order_id}).all()
    db.close()
    return [dict(r._mapping) for r in rows]


@router.post("/{order_id}/receipt")
def send_receipt(
    order_id: int, background_tasks: BackgroundTasks, db: Session = Depends(get_db_safely)
):
    # The task runs after the response, with the request's session: closed
    # by then, or kept checked out for as long as the task takes.
    background_tasks.add_task(tasks.email_receipt, db, order_id)
    return {"queued": order_id}


@router.post("/{order_id}/export")
def export_order(order_id: int):
    # A new engine, so a new pool, on every request: each export opens a fresh
    # connection, and the engine is never disposed.
    analytics = create_engine(ANALYTICS_URL)
    with analytics.begin() as conn:
        conn.execute(text("INSERT INTO exports (order_id) VALUES (:id)"), {"id": order_id})
    return {"exported": order_id}


@router.get("/export.csv")
def export_orders_csv(db: Session = Depends(get_db_safely)):
    # FastAPI closes the dependency's session only once the last line is sent:
    # every client downloading the export keeps a pooled connection checked
    # out, idle in transaction, for as long as the download takes.
    def lines():
        for order in db.execute(text("SELECT id, total FROM orders")):
            yield f"{order.id},{order.total}\n"

    return StreamingResponse(lines(), media_type="text/csv")


def get_audit_db() -> Iterator[Session]:
    with SessionLocal() as audit:
        yield audit


@router.post("/{order_id}/refund")
def refund_order(order_id: int, db: Session = Depends(get_db_safely), audit: Session = Depends(get_audit_db)):
    # Two sessions of one pool per request: every refund holds a connection
    # through db and asks for a second one through audit. Once refunds hold
    # every connection of the pool, each waits for another's: none finishes.
    db.execute(text("UPDATE orders SET refunded = true WHERE id = :id"), {"id": order_id})
    audit.execute(text("INSERT INTO audit (order_id, event) VALUES (:id, 'refund')"), {"id": order_id})
    db.commit()
    audit.commit()
    return {"refunded": order_id}


@router.post("/{order_id}/cancel")
def cancel_order(order_id: int, background_tasks: BackgroundTasks, db: Session = Depends(get_db_safely)):
    order = db.get(Order, order_id)
    order.status = "cancelled"
    db.commit()
    # The commit expired the order, and its session is closed when the task
    # runs: reading order.customer there raises DetachedInstanceError.
    background_tasks.add_task(tasks.email_cancellation, order)
    return {"cancelled": order_id}


# Look-alikes that are fine and must stay clean.


@router.get("/{order_id}/status")
def order_status(order_id: int, db: Session = Depends(get_db_safely)):
    # A plain def route: FastAPI runs it in its thread pool.
    time.sleep(0.01)
    return db.execute(text("SELECT status FROM orders WHERE id = :id"), {"id": order_id}).scalar_one()


@router.get("/{order_id}/eta")
async def order_eta(order_id: int, db: Session = Depends(get_db_safely)):
    await asyncio.sleep(0.01)
    # The blocking query runs in the thread pool, off the event loop.
    return await run_in_threadpool(lambda: db.execute(text("SELECT 1")).scalar_one())


@router.get("/{order_id}/history")
def order_history(order_id: int):
    with SessionLocal() as db:
        return db.execute(text("SELECT * FROM history WHERE order_id = :id"), {"id": order_id}).all()


@router.get("/{order_id}/notes")
def order_notes(order_id: int):
    db = SessionLocal()
    try:
        return db.execute(text("SELECT note FROM notes WHERE order_id = :id"), {"id": order_id}).all()
    finally:
        db.close()


@router.post("/{order_id}/shipped")
def notify_shipped(order_id: int, background_tasks: BackgroundTasks):
    # The task is given the order id and opens its own session.
    background_tasks.add_task(tasks.email_shipping_notice, order_id)
    return {"queued": order_id}


@lru_cache(maxsize=1)
def analytics_engine():
    # Made on first use, then kept: one pool for the life of the process.
    return create_engine(
        ANALYTICS_URL, pool_size=5, max_overflow=5, pool_recycle=1800, pool_pre_ping=True
    )


@router.get("/{order_id}/exports")
def list_exports(order_id: int):
    with analytics_engine().connect() as conn:
        return conn.execute(
            text("SELECT * FROM exports WHERE order_id = :id"), {"id": order_id}
        ).all()


@router.get("/export-fresh.csv")
def export_orders_fresh():
    # The generator opens its own session and closes it once the rows are read.
    def lines():
        with SessionLocal() as db:
            for order in db.execute(text("SELECT id, total FROM orders")):
                yield f"{order.id},{order.total}\n"

    return StreamingResponse(lines(), media_type="text/csv")


def current_customer(db: Session = Depends(get_db_safely)):
    return db.execute(text("SELECT id FROM customers LIMIT 1")).scalar()


@router.get("/{order_id}/owner")
def order_owner(order_id: int, db: Session = Depends(get_db_safely), customer=Depends(current_customer)):
    # get_db_safely is named twice, but FastAPI calls it once per request: one session.
    return {"order": order_id, "customer": customer}


@router.post("/{order_id}/close")
def close_order(order_id: int, background_tasks: BackgroundTasks, db: Session = Depends(get_db_safely)):
    order = db.get(Order, order_id)
    order.status = "closed"
    db.commit()
    # The task gets the id and loads the order in a session of its own.
    background_tasks.add_task(tasks.email_cancellation_by_id, order_id)
    return {"closed": order_id}
