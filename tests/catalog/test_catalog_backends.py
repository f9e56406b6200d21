"""The catalog behaves the same on SQLite and on PostgreSQL (every test runs on both; see conftest.py)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from kb_app.catalog import Catalog
from kb_app.catalog.metadata import catalog_metadata
from kb_app.catalog.tables import ChunkRow, FileRow, KBSettingsRow
from kb_app.errors import KnowledgeBaseNotFound
from kb_app.schema import Chunk, make_chunk_id

TEXTS = ["第一条：员工每年享有十五天带薪年假。", "第二条：病假需要提供医院证明。", "第三条：加班需提前申请。"]


def _chunks(kb: str, source: str, texts: list[str]) -> list[Chunk]:
    return [
        Chunk(
            chunk_id=make_chunk_id(kb, source, i, text),
            text=text,
            source=source,
            page=i + 1,
            heading_path=("员工手册", f"第{i + 1}节"),
            ordinal=i,
            char_start=i * 20,
            char_end=i * 20 + len(text),
        )
        for i, text in enumerate(texts)
    ]


def _ingest(catalog: Catalog, kb_id: int, name: str, texts: list[str], **fields: object) -> list[Chunk]:
    row = catalog.upsert_file(kb_id, name, status="embedding", **fields)
    chunks = _chunks(str(kb_id), name, texts)
    catalog.commit_files(kb_id, [(row, chunks, {"pages": len(texts)})])
    return chunks


def test_knowledge_bases_are_created_listed_found_and_deleted(catalog: Catalog) -> None:
    for name in ("医学", "法律", "hr"):
        catalog.create_kb(name, "test-hash-256", description=f"{name}资料")
    assert [kb.name for kb in catalog.list_kbs()] == sorted(["医学", "法律", "hr"])
    assert catalog.get_kb("法律").description == "法律资料"
    assert catalog.find_kb("不存在") is None
    with pytest.raises(KnowledgeBaseNotFound, match="医学"):
        catalog.get_kb("不存在")
    with pytest.raises(IntegrityError):
        catalog.create_kb("法律", "test-hash-256")
    catalog.delete_kb(catalog.get_kb("法律").id or 0)
    assert [kb.name for kb in catalog.list_kbs()] == sorted(["医学", "hr"])


def test_upsert_file_keeps_one_row_and_updates_only_given_fields(catalog: Catalog) -> None:
    kb = catalog.create_kb("kb", "e")
    assert kb.id is not None
    first = catalog.upsert_file(kb.id, "报告/年度.pdf", status="queued", size=6 * 2**30, sha256="a" * 64)
    second = catalog.upsert_file(kb.id, "报告/年度.pdf", status="failed", error="坏文件")
    assert second.id == first.id
    assert (second.status, second.error, second.size, second.sha256) == (
        "failed",
        "坏文件",
        6 * 2**30,
        "a" * 64,
    )
    assert second.updated_at >= first.updated_at
    assert second.updated_at.tzinfo is not None
    assert abs(second.updated_at - datetime.now(UTC)) < timedelta(minutes=5)
    catalog.upsert_file(kb.id, "a.txt")
    assert [f.name for f in catalog.list_files(kb.id)] == ["a.txt", "报告/年度.pdf"]
    got = catalog.get_file(kb.id, "a.txt")
    assert got is not None and got.status == "queued" and got.chunks == 0


def test_concurrent_upserts_of_one_new_file_make_one_row(catalog: Catalog) -> None:
    kb = catalog.create_kb("kb", "e")
    assert kb.id is not None
    kb_id = kb.id
    barrier = threading.Barrier(6)

    def register(i: int) -> int | None:
        barrier.wait()
        return catalog.upsert_file(kb_id, "同一个.txt", status=f"s{i}").id

    with ThreadPoolExecutor(6) as pool:
        ids = list(pool.map(register, range(6)))
    assert len(set(ids)) == 1
    assert [f.name for f in catalog.list_files(kb_id)] == ["同一个.txt"]


def test_committed_chunks_round_trip_with_60_bit_vector_ids(catalog: Catalog) -> None:
    kb = catalog.create_kb("kb", "e")
    assert kb.id is not None
    before = catalog.generation(kb.id)
    chunks = _ingest(catalog, kb.id, "手册.md", TEXTS)
    assert max(c.vector_id for c in chunks) > 2**32  # would overflow a 32-bit INTEGER column
    ids = np.asarray([c.vector_id for c in chunks], dtype=np.int64)  # as the vector store returns them
    assert catalog.chunks_by_vector_ids(kb.id, ids.tolist()) == {c.vector_id: c for c in chunks}
    assert catalog.chunks_by_vector_ids(kb.id, list(ids)) == {c.vector_id: c for c in chunks}
    assert catalog.generation(kb.id) == before + 1
    row = catalog.get_file(kb.id, "手册.md")
    assert row is not None and row.id is not None
    assert (row.status, row.chunks, row.pages, row.error) == ("done", 3, 3, None)
    assert sorted(catalog.vector_ids_of_file(row.id)) == sorted(c.vector_id for c in chunks)
    vector_ids, texts = catalog.chunk_texts(kb.id)
    assert vector_ids == sorted(c.vector_id for c in chunks)
    assert texts == [next(c.text for c in chunks if c.vector_id == v) for v in vector_ids]
    assert catalog.chunk_sources(kb.id) == {c.vector_id: ("手册.md", c.text) for c in chunks}
    assert catalog.file_chunks(kb.id, row.id) == chunks


def test_recommitting_a_file_replaces_its_chunks(catalog: Catalog) -> None:
    kb = catalog.create_kb("kb", "e")
    assert kb.id is not None
    old = _ingest(catalog, kb.id, "手册.md", TEXTS)
    new = _ingest(catalog, kb.id, "手册.md", ["修订：年假改为二十天。"])
    assert catalog.chunks_by_vector_ids(kb.id, [c.vector_id for c in old]) == {}
    assert catalog.chunk_texts(kb.id)[1] == [new[0].text]
    assert catalog.generation(kb.id) == 2


def test_disabled_chunks_are_not_retrieved(catalog: Catalog) -> None:
    kb = catalog.create_kb("kb", "e")
    assert kb.id is not None
    chunks = _ingest(catalog, kb.id, "手册.md", TEXTS)
    with catalog.session() as s:
        row = s.get(ChunkRow, chunks[0].chunk_id)
        assert row is not None
        row.enabled = False
        s.add(row)
        s.commit()
    found = catalog.chunks_by_vector_ids(kb.id, [c.vector_id for c in chunks])
    assert set(found) == {c.vector_id for c in chunks[1:]}
    assert chunks[0].vector_id not in catalog.chunk_texts(kb.id)[0]


def test_find_file_by_hash_sees_only_done_files_of_the_same_kb(catalog: Catalog) -> None:
    a, b = catalog.create_kb("a", "e"), catalog.create_kb("b", "e")
    assert a.id is not None and b.id is not None
    _ingest(catalog, a.id, "x.txt", TEXTS, sha256="f" * 64)
    catalog.upsert_file(a.id, "y.txt", status="failed", sha256="e" * 64)
    found = catalog.find_file_by_hash(a.id, "f" * 64)
    assert found is not None and found.name == "x.txt"
    assert catalog.find_file_by_hash(a.id, "e" * 64) is None  # failed
    assert catalog.find_file_by_hash(b.id, "f" * 64) is None  # other KB


def test_delete_files_removes_rows_and_chunks_and_bumps_generation(catalog: Catalog) -> None:
    kb = catalog.create_kb("kb", "e")
    assert kb.id is not None
    gone = _ingest(catalog, kb.id, "gone.txt", TEXTS)
    kept = _ingest(catalog, kb.id, "kept.txt", ["保留的内容。"])
    row = catalog.get_file(kb.id, "gone.txt")
    assert row is not None and row.id is not None
    generation = catalog.generation(kb.id)
    catalog.delete_files(kb.id, [row.id])
    assert [f.name for f in catalog.list_files(kb.id)] == ["kept.txt"]
    assert catalog.chunks_by_vector_ids(kb.id, [c.vector_id for c in gone]) == {}
    assert catalog.chunk_texts(kb.id) == ([kept[0].vector_id], [kept[0].text])
    assert catalog.generation(kb.id) == generation + 1


def test_thresholds_are_stored_and_cleared(catalog: Catalog) -> None:
    kb = catalog.create_kb("kb", "e")
    assert kb.id is not None and kb.threshold is None
    catalog.set_threshold(kb.id, 0.4321)
    assert catalog.get_kb("kb").threshold == pytest.approx(0.4321)
    catalog.set_threshold(kb.id, None)
    assert catalog.get_kb("kb").threshold is None


def test_delete_kb_keeps_other_kbs_and_removes_rows_that_reference_it(catalog: Catalog) -> None:
    from kb_app.auth.tables import GrantRow, UserRow

    doomed, kept = catalog.create_kb("doomed", "e"), catalog.create_kb("kept", "e")
    assert doomed.id is not None and kept.id is not None
    _ingest(catalog, doomed.id, "a.txt", TEXTS)
    kept_chunks = _ingest(catalog, kept.id, "a.txt", TEXTS)
    with catalog.session() as s:
        user = UserRow(username="张三", password_hash="x")
        s.add(user)
        s.commit()
        assert user.id is not None
        s.add_all([GrantRow(user_id=user.id, kb_id=doomed.id), GrantRow(user_id=user.id, kb_id=kept.id)])
        s.add(KBSettingsRow(kb_id=doomed.id, faq_mode=True))
        s.commit()
    catalog.delete_kb(doomed.id)
    with catalog.session() as s:
        assert [g.kb_id for g in s.exec(select(GrantRow))] == [kept.id]
        assert s.exec(select(KBSettingsRow)).all() == []
        assert s.exec(select(UserRow)).one().username == "张三"
        assert {r.kb_id for r in s.exec(select(FileRow))} == {kept.id}
    assert catalog.chunk_texts(kept.id)[0] == sorted(c.vector_id for c in kept_chunks)


def test_every_table_of_the_models_exists_with_its_columns(catalog: Catalog) -> None:
    inspector = inspect(catalog.engine)
    for table in catalog_metadata().sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name


def test_reopening_keeps_data_and_does_not_migrate_again(catalog_url: str) -> None:
    first = Catalog(catalog_url)
    kb = first.create_kb("kb", "e")
    assert kb.id is not None
    chunks = _ingest(first, kb.id, "a.txt", TEXTS)
    first.close()
    again = Catalog(catalog_url)
    try:
        assert again.chunks_by_vector_ids(kb.id, [c.vector_id for c in chunks]) == {
            c.vector_id: c for c in chunks
        }
    finally:
        again.close()
