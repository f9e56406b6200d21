"""Alembic environment of the catalog.

`kb_app.catalog.migrate` passes its open connection (config.attributes["connection"]); the `alembic`
command line (migrations/README.md) passes a URL with `-x url=...` or KB_DATABASE_URL.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from alembic import context
from sqlalchemy import Connection, TypeDecorator, create_engine

from kb_app.catalog.metadata import catalog_metadata


def _url() -> str:
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or context.config.get_main_option("sqlalchemy.url")
        or os.environ.get("KB_DATABASE_URL")
    )
    if not url:
        raise SystemExit(
            "Name the catalog database: alembic -x url=postgresql+psycopg://... (or KB_DATABASE_URL)"
        )
    return url


def _render_item(kind: str, obj: Any, _context: Any) -> str | Literal[False]:
    """Write SQLModel's column types (AutoString, UTCDateTime) as the plain SQLAlchemy types they store
    as, so revisions do not depend on SQLModel internals that change between its releases."""
    if kind == "type" and isinstance(obj, TypeDecorator) and type(obj).__module__.startswith("sqlmodel"):
        return f"sa.{obj.impl_instance!r}"
    return False


def _run(connection: Connection) -> None:
    # Batch mode: SQLite cannot ALTER most things, so revisions are written (and run) as table copies
    # there; on PostgreSQL the same batch operations are plain ALTER TABLE statements.
    context.configure(
        connection=connection,
        target_metadata=catalog_metadata(),
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """`alembic upgrade head --sql`: print the SQL for a database administrator to run."""
    context.configure(url=_url(), target_metadata=catalog_metadata(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(_url())
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
