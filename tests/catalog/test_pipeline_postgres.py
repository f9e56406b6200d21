"""The whole pipeline with its catalog on PostgreSQL: real files in, cited answers out, re-ingest and sync
consistent (fast hashing embedder and scripted generator; the server is the throwaway one of tests/pg.py)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import SHARED_DOCS

REAL_FILES = [
    "langchain-chatchat/md/大模型推理优化策略.md",
    "langchain-chatchat/md/大模型指令对齐训练原理.md",
    "weknora/test.html",
    "weknora/issue_2634_vertical_merge.docx",
]

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_container(postgres_url: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Any:
    monkeypatch.setenv("KB_DATABASE_URL", postgres_url)
    container = request.getfixturevalue("fast_container")
    yield container
    container.catalog.close()


def test_ingest_ask_reingest_and_sync_with_the_catalog_on_postgresql(
    pg_container: Any, tmp_path: Path
) -> None:
    assert pg_container.catalog.engine.dialect.name == "postgresql"
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in REAL_FILES:
        shutil.copy2(SHARED_DOCS / name, docs / Path(name).name)
    reports = {r.name: r for r in pg_container.ingest("资料", [docs])}
    assert {n: r.status for n, r in reports.items()} == {Path(n).name: "done" for n in REAL_FILES}
    assert all(r.chunks > 0 for r in reports.values())

    kb = pg_container.open_kb("资料")
    vector_ids, _ = kb.catalog.chunk_texts(kb.kb_id)
    assert len(vector_ids) == sum(r.chunks for r in reports.values())
    assert set(vector_ids) == kb.store.ids()  # catalog and FAISS index agree

    answer = pg_container.qa("资料").ask("大模型推理优化有哪些策略？")
    assert not answer.refused and answer.citations
    assert answer.citations[0].source in reports
    assert all(c.text for c in answer.citations)  # chunk text comes back from PostgreSQL

    again = pg_container.ingest("资料", [docs])
    assert {r.status for r in again} == {"skipped"}
    (docs / "test.html").unlink()
    synced = {r.name: r.status for r in pg_container.ingest("资料", [docs], sync=True)}
    assert synced["test.html"] == "removed"
    assert sorted(f.name for f in kb.files()) == sorted(n for n in reports if n != "test.html")
    assert set(kb.catalog.chunk_texts(kb.kb_id)[0]) == kb.store.ids()

    pg_container.delete_kb("资料")
    assert pg_container.catalog.list_kbs() == []
