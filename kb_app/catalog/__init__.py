"""The catalog: knowledge bases, files and chunks in SQLModel (SQLite by default)."""

from kb_app.catalog.store import Catalog

__all__ = ["Catalog"]
