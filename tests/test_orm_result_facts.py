"""Pass 1's FunctionFact.orm_result: which helpers return ORM objects loaded
through (or added to) the session they are given, for POL211."""

from __future__ import annotations

from poollint.facts import collect_facts

HELPERS = b'''
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import models
from .models import Order


def get_order(db: Session, order_id: int):
    return db.get(models.Order, order_id)


def by_email(tenant, db, email):
    stmt = select(Order).where(Order.email == email).limit(1)
    return db.scalars(stmt).first()


async def recent(*, session, limit=10):
    result = await session.execute(select(Order).order_by(Order.id).limit(limit))
    return result.scalars().all()


def create(db, data):
    order = Order(**data)
    db.add(order)
    db.commit()
    db.refresh(order)
    return order


def validated(db, data):
    order = Order.model_validate(data)
    db.add(order)
    db.commit()
    return order


def maybe(db, order_id):
    if not order_id:
        return None
    return db.query(Order).filter(Order.id == order_id).first()


def email_of(db, order_id):
    return db.get(Order, order_id).email


def rows(db):
    return db.execute(select(Order)).all()


def second_column(db):
    return db.execute(select(Order.id, Order)).scalars(1).all()


def never_added(db, data):
    db.commit()
    return Order(**data)


def mixed(db, order_id):
    if order_id:
        return db.get(Order, order_id)
    return db.query(Order).all()


def rebound(db, order_id):
    order = db.get(Order, order_id)
    order = order.email
    return order


def from_a_module_session(order_id):
    return SessionLocal().get(Order, order_id)


class Repository:
    def get(self, db, order_id):
        return db.get(Order, order_id)
'''


def test_helpers_returning_orm_objects_through_a_parameter() -> None:
    functions = collect_facts(HELPERS, "app.crud", "app/crud.py").functions
    found = {name: fn.orm_result for name, fn in functions.items()}
    assert found["get_order"] == ("db", 0, "app.models.Order", False)
    assert found["by_email"] == ("db", 1, "app.models.Order", False)
    assert found["recent"] == ("session", -1, "app.models.Order", True)
    assert found["create"] == ("db", 0, "app.models.Order", False)
    assert found["validated"] == ("db", 0, "app.models.Order", False)
    assert found["maybe"] == ("db", 0, "app.models.Order", False)
    for name in ("email_of", "rows", "second_column", "never_added", "mixed", "rebound", "from_a_module_session"):
        assert found[name] is None, name
    # Methods are called on instances poollint does not follow.
    assert found["Repository.get"] is None
