"""Review endpoints, on the async engine: some of them misuse the AsyncSession."""

import asyncio

import httpx
from fastapi import APIRouter
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from ..async_db import AsyncDb, ReviewSession
from ..legacy import fetch_archived_reviews

router = APIRouter(prefix="/reviews")


@router.post("/{review_id}/approve")
async def approve_review(review_id: int, db: AsyncDb):
    await db.execute(text("UPDATE reviews SET approved = true WHERE id = :id"), {"id": review_id})
    # Never awaited: the commit does not happen, and the approval is rolled back.
    db.commit()
    return {"approved": review_id}


@router.get("/product/{product_id}")
async def product_reviews(product_id: int, db: AsyncDb):
    # Both queries run at once on one session, which drives one connection:
    # "another operation is in progress", or transactions mixed up.
    reviews, rating = await asyncio.gather(
        db.execute(text("SELECT * FROM reviews WHERE product_id = :id"), {"id": product_id}),
        db.scalar(
            text("SELECT avg(stars) FROM reviews WHERE product_id = :id"), {"id": product_id}
        ),
    )
    return {"rating": rating, "reviews": [dict(r._mapping) for r in reviews]}


@router.post("/{review_id}/moderate")
async def moderate_review(review_id: int, db: AsyncDb):
    body = await db.scalar(text("SELECT body FROM reviews WHERE id = :id"), {"id": review_id})
    # The session holds its connection, idle in a transaction, for as long as
    # the moderation service takes to answer.
    async with httpx.AsyncClient() as client:
        verdict = (
            await client.post("https://moderation.example/check", json={"text": body})
        ).json()
    await db.execute(
        text("UPDATE reviews SET verdict = :v WHERE id = :id"),
        {"v": verdict["verdict"], "id": review_id},
    )
    await db.commit()
    return verdict


@router.get("/archive/{customer_id}")
async def archived_reviews(customer_id: int):
    # fetch_archived_reviews() queries with psycopg2, on the event loop's thread.
    return fetch_archived_reviews(customer_id)


# Look-alikes that are fine and must stay clean.


@router.post("/{review_id}/reject")
async def reject_review(review_id: int, db: AsyncDb):
    await db.execute(text("UPDATE reviews SET rejected = true WHERE id = :id"), {"id": review_id})
    await db.commit()
    return {"rejected": review_id}


@router.get("/product/{product_id}/summary")
async def product_summary(product_id: int):
    # Each concurrent query gets its own session, so its own connection.
    async def count() -> int:
        async with ReviewSession() as db:
            return await db.scalar(
                text("SELECT count(*) FROM reviews WHERE product_id = :id"), {"id": product_id}
            )

    async def rating() -> float:
        async with ReviewSession() as db:
            return await db.scalar(
                text("SELECT avg(stars) FROM reviews WHERE product_id = :id"), {"id": product_id}
            )

    reviews, stars = await asyncio.gather(count(), rating())
    return {"reviews": reviews, "rating": stars}


@router.post("/{review_id}/flag")
async def flag_review(review_id: int, db: AsyncDb):
    body = await db.scalar(text("SELECT body FROM reviews WHERE id = :id"), {"id": review_id})
    # The commit ends the transaction: the connection is back in the pool
    # while the moderation service answers.
    await db.commit()
    async with httpx.AsyncClient() as client:
        verdict = (
            await client.post("https://moderation.example/check", json={"text": body})
        ).json()
    await db.execute(
        text("UPDATE reviews SET verdict = :v WHERE id = :id"),
        {"v": verdict["verdict"], "id": review_id},
    )
    await db.commit()
    return verdict


@router.get("/archive/{customer_id}/count")
async def count_archived_reviews(customer_id: int):
    # The psycopg2 query runs in the thread pool, off the event loop.
    return len(await run_in_threadpool(fetch_archived_reviews, customer_id))
