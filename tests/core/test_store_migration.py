"""`kb migrate`: a KB's vectors move FAISS -> Milvus -> FAISS unchanged, and a failure changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import write_files
from typer.testing import CliRunner

from kb_app.cli import app
from kb_app.errors import KBError
from kb_app.store_migration import migrate_store
from kb_app.vectorstores.store_record import recorded_store

DOCS = {
    "router.txt": "星河路由器的默认管理地址是 192.168.8.1，初始密码印在机身底部的标签上。",
    "leave.txt": "员工请年假需要提前三个工作日在系统中提交申请，并由直属主管审批。",
    "expense.txt": "差旅报销需要提供发票原件、行程单和审批单，每月二十五日前提交财务部。",
}
QUESTION = "年假要提前几天申请？"


@pytest.fixture(autouse=True)
def _stop_lite_servers() -> Iterator[None]:
    yield
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_all()


@pytest.fixture
def faiss_kb(fast_container: Any, tmp_path: Path) -> Any:
    fast_container.ingest("hr", [write_files(tmp_path / "docs", DOCS)])
    return fast_container


def collection_exists(store: Any) -> bool:
    from pymilvus import MilvusClient

    return bool(MilvusClient(store.uri).has_collection(store.collection))


def snapshot(container: Any) -> tuple[dict[int, np.ndarray], list[tuple[str, float]]]:
    kb = container.open_kb("hr")
    ids = sorted(kb.store.ids())
    hits = container.retriever(kb).search(QUESTION, top_k=3)
    return dict(zip(ids, kb.store.reconstruct(ids), strict=True)), [(h.chunk.source, h.score) for h in hits]


def test_migrate_to_milvus_and_back_keeps_vectors_and_answers(faiss_kb: Any) -> None:
    vectors, hits = snapshot(faiss_kb)
    index_file = faiss_kb.open_kb("hr").index_dir / "index.faiss"
    assert index_file.exists()
    seen: list[tuple[int, int]] = []

    report = migrate_store(faiss_kb, "hr", "milvus", progress=lambda done, total: seen.append((done, total)))
    assert (report.source, report.target, report.vectors, report.reembedded) == (
        "faiss",
        "milvus",
        len(vectors),
        0,
    )
    assert seen[-1] == (len(vectors), len(vectors))
    kb = faiss_kb.open_kb("hr")
    assert type(kb.store).__name__ == "MilvusVectorStore" and recorded_store(kb.root) == "milvus"
    assert not index_file.exists()  # the old index goes only after the copy verified
    moved, moved_hits = snapshot(faiss_kb)
    assert moved.keys() == vectors.keys()
    assert all(np.allclose(moved[i], vectors[i], atol=1e-6) for i in vectors)
    assert [s for s, _ in moved_hits] == [s for s, _ in hits]
    assert np.allclose([x for _, x in moved_hits], [x for _, x in hits], atol=1e-3)

    store = kb.store
    migrate_store(faiss_kb, "hr", "faiss")
    assert type(faiss_kb.open_kb("hr").store).__name__ == "FaissVectorStore" and index_file.exists()
    assert not collection_exists(store)
    back, back_hits = snapshot(faiss_kb)
    assert all(np.allclose(back[i], vectors[i], atol=1e-6) for i in vectors) and back.keys() == vectors.keys()
    assert [s for s, _ in back_hits] == [s for s, _ in hits]
    assert np.allclose([x for _, x in back_hits], [x for _, x in hits], atol=1e-3)


def test_unreadable_source_is_re_embedded_from_the_catalog(faiss_kb: Any) -> None:
    kb = faiss_kb.open_kb("hr")
    expected = set(kb.catalog.chunk_texts(kb.kb_id)[0])
    (kb.index_dir / "index.faiss").write_bytes(b"damaged")
    faiss_kb.forget_kb("hr")
    report = migrate_store(faiss_kb, "hr", "milvus")
    assert report.reembedded == len(expected) == report.vectors
    assert faiss_kb.open_kb("hr").store.ids() == expected


def test_a_copy_that_does_not_verify_leaves_the_kb_on_its_old_store(
    faiss_kb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kb_app.vectorstores.milvus_store import MilvusVectorStore

    vectors, _ = snapshot(faiss_kb)
    monkeypatch.setattr(MilvusVectorStore, "count", lambda self: 0)
    with pytest.raises(KBError, match="still uses its old store"):
        migrate_store(faiss_kb, "hr", "milvus")
    kb = faiss_kb.open_kb("hr")
    assert recorded_store(kb.root) == "faiss" and (kb.index_dir / "index.faiss").exists()
    assert kb.store.ids() == set(vectors)


def test_refuses_an_unknown_or_the_current_store(faiss_kb: Any) -> None:
    with pytest.raises(KBError, match="Known vector stores: faiss, milvus"):
        migrate_store(faiss_kb, "hr", "qdrant")
    with pytest.raises(KBError, match="already uses faiss"):
        migrate_store(faiss_kb, "hr", "faiss")


def test_cli_migrate_both_ways(faiss_kb: Any) -> None:
    runner = CliRunner()
    count = faiss_kb.open_kb("hr").store.count()
    result = runner.invoke(app, ["migrate", "--kb", "hr", "--to", "milvus"])
    assert result.exit_code == 0, result.output
    assert f"{count} vectors moved from faiss to milvus" in result.output
    result = runner.invoke(app, ["migrate", "--kb", "hr", "--to", "faiss"])
    assert result.exit_code == 0 and "from milvus to faiss" in result.output
    result = runner.invoke(app, ["migrate", "--kb", "hr", "--to", "faiss"])
    assert result.exit_code == 2 and "already uses faiss" in result.output
