"""Reporting runs on a local SQLite file: no server-side pool to size."""

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool

reports_engine = create_engine("sqlite:///./reports.db")
ReportSession = sessionmaker(bind=reports_engine)

# A one-off maintenance engine that opens a connection per use on purpose.
maintenance_engine = create_engine("postgresql+psycopg://ops@db.internal/shop", poolclass=NullPool)


def count_reports() -> int:
    with ReportSession() as session:
        return session.execute("SELECT count(*) FROM reports").scalar_one()
