"""Catalogue endpoints, served from the read replica."""

from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.orm import Session

from ..db import get_replica_db

router = APIRouter(prefix="/products")


@router.get("/{product_id}")
def read_product(product_id: int, db: Session = Depends(get_replica_db)):
    return dict(
        db.execute(text("SELECT * FROM products WHERE id = :id"), {"id": product_id})
        .mappings()
        .one()
    )
