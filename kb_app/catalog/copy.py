"""Copy a whole catalog into another database (`kb catalog-copy`): how an embedded install moves its
knowledge bases, users and history from SQLite to PostgreSQL (or back) without re-ingesting anything.

Rows keep their ids, so vector indexes, grants and conversations stay valid. Both databases are brought
to the newest schema first; the target must be empty. On PostgreSQL the id sequences are moved past the
copied ids afterwards, or the next insert would collide with a copied row.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Integer, Table, func, select, text

from kb_app.catalog.metadata import catalog_metadata
from kb_app.catalog.store import Catalog
from kb_app.errors import KBError

BATCH = 2000
Progress = Callable[[str, int], None]  # (table name, rows copied so far)


def copy_catalog(source_url: str, target_url: str, progress: Progress | None = None) -> dict[str, int]:
    """Copy every row of every catalog table; returns rows copied per table.

    Raises:
        KBError: same database, or the target already holds rows (it is never overwritten).
    """
    if source_url == target_url:
        raise KBError("The source and the target catalog are the same database; name another with --to.")
    source, target = Catalog(source_url), Catalog(target_url)
    tables = catalog_metadata().sorted_tables  # parents before the rows that reference them
    try:
        with source.engine.connect() as src, target.engine.begin() as dst:
            occupied = [t.name for t in tables if dst.execute(select(func.count()).select_from(t)).scalar()]
            if occupied:
                raise KBError(
                    f"The target catalog is not empty ({', '.join(occupied)} hold rows). "
                    "Copy into a new, empty database."
                )
            counts = {table.name: _copy_table(table, src, dst, progress) for table in tables}
            if dst.dialect.name == "postgresql":
                for table in tables:
                    _advance_sequence(table, dst)
    finally:
        source.close()
        target.close()
    return counts


def _copy_table(table: Table, src: Connection, dst: Connection, progress: Progress | None) -> int:
    copied = 0
    result = src.execution_options(yield_per=BATCH).execute(select(table))
    for rows in result.mappings().partitions():
        dst.execute(table.insert(), [dict(row) for row in rows])
        copied += len(rows)
        if progress:
            progress(table.name, copied)
    return copied


def _advance_sequence(table: Table, dst: Connection) -> None:
    """setval(seq, max(id)) for an integer primary key fed by a sequence (SERIAL / IDENTITY)."""
    keys = list(table.primary_key.columns)
    if len(keys) != 1 or not isinstance(keys[0].type, Integer):
        return
    column = keys[0].name
    sequence = dst.execute(
        text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column}
    ).scalar()
    if sequence:
        dst.execute(
            text(f'SELECT setval(:s, COALESCE((SELECT MAX("{column}") FROM "{table.name}"), 0) + 1, false)'),
            {"s": sequence},
        )
