"""Schema migrations of the catalog (Alembic, shipped in kb_app/catalog/migrations/).

`ensure_schema` runs when a catalog opens, so installing a newer kb-app upgrades an existing database in
place and keeps its data. A database already at the head revision costs one query (Alembic itself is
not even imported); an empty one gets `create_all` plus a stamp, which equals running every revision as
long as models and revisions agree (tests/catalog/test_migrations.py checks that they do).

New revisions: `python -m kb_app.catalog.migrations revision "add foo"` (see migrations/README.md).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, inspect, text

from kb_app.errors import KBError

VERSION_TABLE = "alembic_version"
# Every catalog created before migrations existed has this table but no version table: it is stamped
# with the initial revision (which is exactly that schema) and upgraded from there.
LEGACY_MARKER_TABLE = "knowledge_base"
INITIAL_REVISION = "0001"
_REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py$")
_PG_LOCK_KEY = 0x6B62_6361_7461  # any constant: serialises migrators of one PostgreSQL database


def migrations_dir() -> Path:
    """The Alembic script directory, found through the installed package (works from a wheel)."""
    return Path(str(files("kb_app.catalog") / "migrations"))


def head_revision() -> str:
    """The newest revision id. Revision files are named `NNNN_slug.py` with id NNNN, in one line."""
    ids = [
        m.group(1) for p in (migrations_dir() / "versions").iterdir() if (m := _REVISION_FILE.match(p.name))
    ]
    return max(ids)


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Any:
    """An Alembic Config for our scripts, bound to an open connection or to a URL."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def _read_version(conn: Connection) -> str | None:
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty or pre-migration database."""
    with engine.connect() as conn:
        return _read_version(conn)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that no other process migrating this database holds at once."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # batch migrations copy tables; no cascades
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock now; SQLite DDL is transactional
        elif engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        try:
            yield conn
            conn.commit()
        finally:
            if sqlite:
                conn.rollback()
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")


def ensure_schema(engine: Engine, metadata: MetaData) -> None:
    """Bring the database to the head revision (see the module docstring)."""
    head = head_revision()
    if current_revision(engine) == head:
        return
    from alembic import command

    with _migration_lock(engine) as conn:
        current = _read_version(conn)
        if current == head:  # another process migrated while we waited
            return
        if current is not None and current > head:
            raise KBError(
                f"The catalog database is at schema revision {current}, newer than this kb-app knows "
                f"({head}). Upgrade kb-app (pip install -U kb-app) or point KB_DATABASE_URL elsewhere."
            )
        if current is None and not inspect(conn).has_table(LEGACY_MARKER_TABLE):
            metadata.create_all(conn)
            command.stamp(alembic_config(conn), head)
            return
        if current is None:
            command.stamp(alembic_config(conn), INITIAL_REVISION)
        command.upgrade(alembic_config(conn), head)


def new_revision(message: str) -> Path:
    """Autogenerate the next revision from the difference between the models and the head revision.

    Review the file it writes: Alembic cannot see renames and guesses server defaults.
    """
    from alembic import command

    next_id = f"{int(head_revision()) + 1:04d}"
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'head.db'}"
        command.upgrade(alembic_config(url=url), "head")
        command.revision(alembic_config(url=url), message=message, autogenerate=True, rev_id=next_id)
    return next(p for p in (migrations_dir() / "versions").glob(f"{next_id}_*.py"))
