"""Which modules define catalog tables. The catalog's `create_all`, its migrations and the test that
compares them all read the tables from here, so a new table module is added in exactly one place
(see kb_app/catalog/migrations/README.md)."""

from __future__ import annotations

from importlib import import_module

from sqlalchemy import MetaData
from sqlmodel import SQLModel

TABLE_MODULES = (
    "kb_app.catalog.tables",
    "kb_app.auth.tables",
)


def catalog_metadata() -> MetaData:
    """The SQLModel metadata with every catalog table registered (imports `TABLE_MODULES`)."""
    for module in TABLE_MODULES:
        import_module(module)
    return SQLModel.metadata
