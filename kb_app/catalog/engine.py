"""The catalog's database engine: SQLite (embedded default) or PostgreSQL (KB_DATABASE_URL), with the
schema brought up to date on first use."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, event, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import create_engine

from kb_app.catalog.metadata import catalog_metadata
from kb_app.catalog.migrate import ensure_schema
from kb_app.errors import KBError

log = logging.getLogger(__name__)

# psycopg 3 is what kb-app installs; SQLAlchemy's default driver for a bare postgresql:// is psycopg2.
_POSTGRES_ALIASES = ("postgres", "postgresql")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block on the ingesting writer
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def normalise_url(url: str) -> URL:
    """Parse a catalog URL; `postgres://` and `postgresql://` mean psycopg 3."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
        raise KBError(
            f"KB_DATABASE_URL '{url}' is not a database URL ({exc}). "
            "Use sqlite:////path/catalog.db or postgresql+psycopg://user:password@host:5432/db."
        ) from None
    if parsed.drivername in _POSTGRES_ALIASES:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def open_engine(url: str) -> Engine:
    """An engine for the catalog at `url`, its schema at the newest revision (created if empty)."""
    parsed = normalise_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_pragmas)
    elif backend == "postgresql":
        # pre_ping: a restarted database server costs one failed ping, not a failed request
        engine = create_engine(parsed, pool_pre_ping=True)
    else:
        raise KBError(f"The catalog supports SQLite and PostgreSQL, not '{backend}' (KB_DATABASE_URL).")
    try:
        ensure_schema(engine, catalog_metadata())
    except OperationalError as exc:
        engine.dispose()
        where = parsed.render_as_string(hide_password=True)
        raise KBError(
            f"Cannot open the catalog database {where}: {exc.orig}. Is the server running and is "
            "KB_DATABASE_URL right?"
        ) from exc
    except BaseException:
        engine.dispose()
        raise
    log.debug("catalog at %s", parsed.render_as_string(hide_password=True))
    return engine
