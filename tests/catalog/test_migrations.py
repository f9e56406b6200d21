"""Migrations: they match the models, they upgrade a deployed catalog without losing its data, and a
catalog opens them safely (once, under a lock, refusing a database newer than the code)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, create_engine, inspect, text

from kb_app.catalog import Catalog
from kb_app.catalog.metadata import TABLE_MODULES, catalog_metadata
from kb_app.catalog.migrate import INITIAL_REVISION, alembic_config, current_revision, head_revision
from kb_app.errors import KBError
from kb_app.schema import make_chunk_id, vector_id_of

REPO = Path(__file__).resolve().parents[2]
HOW_TO_FIX = (
    "The models and the migrations differ. Add a revision: "
    "`.venv/bin/python -m kb_app.catalog.migrations revision 'what changed'`, review it, "
    "see kb_app/catalog/migrations/README.md."
)


@pytest.fixture
def engine(catalog_url: str) -> Iterator[Engine]:
    plain = create_engine(catalog_url)
    yield plain
    plain.dispose()


def _upgrade(url: str, revision: str) -> None:
    command.upgrade(alembic_config(url=url), revision)


def _schema_diff(engine: Engine) -> list[str]:
    """What autogenerate would put into a new revision, one line per change."""
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), catalog_metadata())
    return [_describe(change) for change in diff]


def _describe(change: Any) -> str:
    if isinstance(change, list):  # column modifications come grouped
        return "; ".join(_describe(c) for c in change)
    op, *args = change
    names = [getattr(a, "name", None) or str(a) for a in args if a is not None and not isinstance(a, dict)]
    return f"{op} {' '.join(names[:3])}"


def test_revisions_form_one_line_named_by_their_ids() -> None:
    script = ScriptDirectory(str(alembic_config().get_main_option("script_location")))
    assert script.get_heads() == [head_revision()], "revisions must form a single line (one head)"
    chain = list(script.walk_revisions())
    assert chain[-1].revision == INITIAL_REVISION
    for rev in chain:
        assert rev.path is not None
        name = Path(rev.path).name
        assert re.fullmatch(r"\d{4}_\w+\.py", name), f"{name}: name revisions NNNN_slug.py (--rev-id NNNN)"
        assert name.startswith(rev.revision + "_"), f"{name} holds revision {rev.revision}"


def test_migrations_create_exactly_the_models(catalog_url: str, engine: Engine) -> None:
    _upgrade(catalog_url, "head")
    diff = _schema_diff(engine)
    assert not diff, HOW_TO_FIX + "\n  " + "\n  ".join(diff)


def test_downgrade_to_nothing_and_back(catalog_url: str, engine: Engine) -> None:
    _upgrade(catalog_url, "head")
    command.downgrade(alembic_config(url=catalog_url), "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    _upgrade(catalog_url, "head")
    assert _schema_diff(engine) == []


def _seed_initial_schema(engine: Engine) -> tuple[int, list[int]]:
    """Rows as kb-app wrote them at the initial revision (columns of that revision only)."""
    tables = MetaData()
    tables.reflect(engine)
    kb, files, chunks = (tables.tables[n] for n in ("knowledge_base", "kb_file", "kb_chunk"))
    now = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    with engine.begin() as conn:
        kb_id = conn.execute(
            kb.insert().returning(kb.c.id),
            {"name": "旧库", "description": "升级前", "embedder_id": "e", "threshold": 0.3, "generation": 7,
             "created_at": now},
        ).scalar_one()  # fmt: skip
        file_id = conn.execute(
            files.insert().returning(files.c.id),
            {"kb_id": kb_id, "name": "制度.md", "origin": "/data/制度.md", "sha256": "a" * 64,
             "size": 3 * 2**31, "status": "done", "error": None, "pages": 1, "chunks": 2, "updated_at": now},
        ).scalar_one()  # fmt: skip
        vector_ids = []
        for i, body in enumerate(["年假十五天。", "病假需证明。"]):
            chunk_id = make_chunk_id("旧库", "制度.md", i, body)
            vector_ids.append(vector_id_of(chunk_id))
            conn.execute(
                chunks.insert(),
                {"chunk_id": chunk_id, "kb_id": kb_id, "file_id": file_id, "vector_id": vector_ids[-1],
                 "ordinal": i, "text": body, "page": 1, "heading": "制度 > 假期", "char_start": 0,
                 "char_end": len(body), "enabled": True},
            )  # fmt: skip
    return kb_id, vector_ids


@pytest.mark.parametrize("had_version_table", [True, False], ids=["at-0001", "before-migrations"])
def test_opening_an_old_catalog_upgrades_it_and_keeps_its_data(
    catalog_url: str, engine: Engine, had_version_table: bool
) -> None:
    _upgrade(catalog_url, INITIAL_REVISION)
    kb_id, vector_ids = _seed_initial_schema(engine)
    if not had_version_table:  # a catalog made by create_all before kb-app had migrations
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE alembic_version"))
    catalog = Catalog(catalog_url)
    try:
        old = catalog.get_kb("旧库")
        assert (old.id, old.generation, old.threshold) == (kb_id, 7, pytest.approx(0.3))
        (row,) = catalog.list_files(kb_id)
        assert (row.name, row.size, row.status, row.updated_at) == (
            "制度.md", 3 * 2**31, "done", datetime(2024, 5, 1, 8, 30, tzinfo=UTC),
        )  # fmt: skip
        found = catalog.chunks_by_vector_ids(kb_id, vector_ids)
        assert [found[v].text for v in vector_ids] == ["年假十五天。", "病假需证明。"]
        assert found[vector_ids[0]].heading_path == ("制度", "假期")
        new = catalog.create_kb("新库", "e")  # ids keep counting after the old rows (sequences intact)
        assert new.id is not None and new.id > kb_id
        assert current_revision(catalog.engine) == head_revision()
        assert _schema_diff(engine) == []
    finally:
        catalog.close()


def test_a_catalog_newer_than_the_code_is_refused(catalog_url: str, engine: Engine) -> None:
    current = Catalog(catalog_url)
    current.list_kbs()
    current.close()
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(KBError, match="newer than this kb-app"):
        Catalog(catalog_url).list_kbs()


def test_concurrent_first_opens_create_the_schema_once(catalog_url: str, engine: Engine) -> None:
    barrier = threading.Barrier(4)

    def open_and_use(i: int) -> str:
        barrier.wait()
        catalog = Catalog(catalog_url)
        try:
            return catalog.create_kb(f"kb{i}", "e").name
        finally:
            catalog.close()

    with ThreadPoolExecutor(4) as pool:
        assert sorted(pool.map(open_and_use, range(4))) == ["kb0", "kb1", "kb2", "kb3"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
            head_revision()
        ]


def test_a_fresh_catalog_is_stamped_at_head() -> None:
    catalog = Catalog("sqlite://")  # in memory
    assert current_revision(catalog.engine) == head_revision()


def test_every_module_defining_tables_is_registered() -> None:
    defining = set()
    for folder in ("kb_app", "ingest", "vectorstores", "ui"):
        for path in (REPO / folder).rglob("*.py"):
            if re.search(r"^class \w+\(SQLModel, table=True\)", path.read_text(encoding="utf-8"), re.M):
                parts = path.relative_to(REPO).with_suffix("").parts
                package = "kb_app" if parts[0] == "kb_app" else f"kb_app.{parts[0]}"
                defining.add(".".join([package, *parts[1:]]))
    assert defining <= set(TABLE_MODULES), (
        f"Add {sorted(defining - set(TABLE_MODULES))} to kb_app.catalog.metadata.TABLE_MODULES: "
        "otherwise neither new catalogs nor migrations know the tables."
    )


def test_rows_that_reference_a_kb_go_with_it() -> None:
    """`Catalog.delete_kb` removes files and chunks itself; anything else pointing at a KB must say
    ON DELETE CASCADE (or SET NULL), or deleting a KB fails with a foreign-key error."""
    own = {"kb_file", "kb_chunk"}
    for table in catalog_metadata().sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "knowledge_base" and table.name not in own:
                assert fk.ondelete in ("CASCADE", "SET NULL"), f"{table.name}.{fk.parent.name}: ondelete?"
