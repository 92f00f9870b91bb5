"""Order endpoints: some of them block the event loop or leak connections."""

import asyncio
import subprocess
import time

import requests
from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ..db import DbSession, SessionLocal, get_db, get_db_safely

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
