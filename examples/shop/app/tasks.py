"""Background jobs: receipts, review digests and clean-ups."""

from contextlib import asynccontextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from .async_db import async_engine, get_async_db
from .db import DATABASE_URL
from .models import Order

# Jobs get a pool of their own, so that they never wait behind requests. Each
# pool looks reasonable, but with app/db.py's and app/async_db.py's, times the
# workers, they need more connections than the database accepts (see
# [tool.poollint.pool] in pyproject.toml).
jobs_engine = create_engine(
    DATABASE_URL,
    pool_size=20,
    max_overflow=10,
    # A day, with no pre-ping: the network drops connections idle for an hour,
    # and after a quiet night jobs get dead connections from the pool.
    pool_recycle=24 * 3600,
    pool_pre_ping=False,
)
JobSession = sessionmaker(bind=jobs_engine)

# One session for every job of the process, in every thread: jobs see each
# other's uncommitted work, and one failed job breaks the session for all.
job_session = JobSession()

# Written for the sync engine: it makes sync Sessions, which cannot use the
# async engine (`async with DigestSession()` raises TypeError).
DigestSession = sessionmaker(bind=async_engine)


def email_receipt(db: Session, order_id: int) -> None:
    order = db.execute(
        text("SELECT email, total FROM orders WHERE id = :id"), {"id": order_id}
    ).one()
    print(f"receipt for order {order_id} sent to {order.email}")


def mark_carts_reminded() -> None:
    job_session.execute(text("UPDATE carts SET reminded = true WHERE reminded = false"))
    job_session.commit()


async def send_review_digest() -> None:
    async with DigestSession() as db:
        reviews = await db.scalars(text("SELECT body FROM reviews WHERE digested = false"))
        print(f"{len(reviews.all())} new reviews")


def purge_stale_carts() -> None:
    # When the DELETE raises, close() never runs: the connection stays
    # checked out, one more each night, until the pool is empty.
    conn = jobs_engine.connect()
    conn.execute(text("DELETE FROM carts WHERE updated_at < now() - interval '30 days'"))
    conn.commit()
    conn.close()


def email_cancellation(order: Order) -> None:
    print(f"order {order.id} cancelled, notice sent to {order.customer.email}")


async def count_unanswered_reviews() -> int:
    # Drives the request dependency by hand: leaving the loop (the return, or
    # the query raising) does not close get_async_db(). Its session and
    # connection wait for a clean-up the event loop runs later, if ever.
    async for db in get_async_db():
        return await db.scalar(text("SELECT count(*) FROM reviews WHERE answered = false"))


# Look-alikes that are fine and must stay clean.


def email_shipping_notice(order_id: int) -> None:
    # The job opens its own session: the request's one is closed by now.
    with JobSession() as db:
        order = db.execute(text("SELECT email FROM orders WHERE id = :id"), {"id": order_id}).one()
    print(f"order {order_id} shipped, notice sent to {order.email}")


def release_expired_reservations() -> None:
    # begin() as a context manager commits and gives the connection back.
    with jobs_engine.begin() as conn:
        conn.execute(text("UPDATE stock SET reserved = 0 WHERE reserved_until < now()"))


def purge_expired_sessions() -> None:
    conn = jobs_engine.connect()
    try:
        conn.execute(text("DELETE FROM user_sessions WHERE expires_at < now()"))
        conn.commit()
    finally:
        conn.close()


def email_cancellation_by_id(order_id: int) -> None:
    # The job loads the order in its own session, relationships included.
    with JobSession() as db:
        order = db.get(Order, order_id)
        print(f"order {order_id} cancelled, notice sent to {order.customer.email}")


async def count_flagged_reviews() -> int:
    # asynccontextmanager() runs the dependency as FastAPI would: the session
    # is closed when the block ends, error or not.
    async with asynccontextmanager(get_async_db)() as db:
        return await db.scalar(text("SELECT count(*) FROM reviews WHERE flagged"))
