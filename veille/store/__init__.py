"""The store: the system of record (SQLAlchemy 2 + Alembic), on SQLite or PostgreSQL."""

from veille.store.database import make_engine, migrate

__all__ = ["make_engine", "migrate"]
