"""Curation: rename a KB, delete and re-index files, edit and hide chunks; index and catalog stay in step."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_files

from kb_app import curation
from kb_app.errors import InvalidName, KBError, KnowledgeBaseNotFound

DOCS = {
    "router.txt": "星河路由器的默认管理地址是 192.168.8.1。出厂密码印在机身背面的标签上。",
    "leave.md": "# 请假制度\n\n员工每年享有十五天带薪年假。病假需要提供医院证明。",
}


@pytest.fixture
def hr(fast_container, tmp_path):
    fast_container.ingest("hr", [write_files(tmp_path / "docs", DOCS)])
    return fast_container


def _consistent(container, name: str) -> int:
    kb = container.open_kb(name)
    ids, _ = kb.catalog.chunk_texts(kb.kb_id)
    assert set(ids) == kb.store.ids(), "catalog and vector index disagree"
    return len(ids)


def _chunk(container, kb_name: str, needle: str):
    kb = container.open_kb(kb_name)
    return next(c for f in kb.files() for c in kb.catalog.file_chunks(kb.kb_id, f.id) if needle in c.text)


def _found(container, kb_name: str, query: str, fusion: str) -> set[str]:
    hits = container.retriever(container.open_kb(kb_name)).search(query, top_k=10, fusion=fusion)
    return {h.chunk.chunk_id for h in hits}


def test_rename_moves_folder_catalog_and_queued_jobs(hr):
    old_root = hr.open_kb("hr").root
    [job] = hr.jobs.submit("hr", [hr.jobs.stage_upload("hr", "new.txt", "新制度：每周五下午休息。".encode())])
    curation.rename_kb(hr, "hr", "人事")
    with pytest.raises(KnowledgeBaseNotFound):
        hr.open_kb("hr")
    kb = hr.open_kb("人事")
    assert not old_root.exists() and (kb.content_dir / "router.txt").is_file()
    assert _consistent(hr, "人事") > 0
    assert _chunk(hr, "人事", "192.168.8.1").chunk_id in _found(hr, "人事", "默认管理地址", "dense")
    assert hr.jobs.get(job).kb_name == "人事"
    assert hr.jobs.run_next() and hr.jobs.get(job).status == "done"
    assert hr.catalog.find_kb("hr") is None, "running the renamed job did not bring the old name back"


def test_rename_refuses_a_taken_or_invalid_name(hr, tmp_path):
    hr.ingest("other", [write_files(tmp_path / "o", {"a.txt": "别的知识库。"})])
    with pytest.raises(KBError, match="already exists"):
        curation.rename_kb(hr, "hr", "other")
    with pytest.raises(InvalidName):
        curation.rename_kb(hr, "hr", "../escape")
    assert hr.open_kb("hr").files()


def test_delete_file_removes_rows_vectors_and_original(hr):
    before = _consistent(hr, "hr")
    kb = hr.open_kb("hr")
    removed = curation.delete_file(hr, "hr", "leave.md")
    assert removed > 0 and _consistent(hr, "hr") == before - removed
    assert [f.name for f in hr.open_kb("hr").files()] == ["router.txt"]
    assert not (kb.content_dir / "leave.md").exists()
    with pytest.raises(KBError, match="no file"):
        curation.delete_file(hr, "hr", "leave.md")


@pytest.mark.parametrize("name", ["../catalog.db", "/etc/passwd", "a/../../x", "..\\catalog.db"])
def test_original_path_refuses_traversal(hr, name):
    with pytest.raises(InvalidName):
        curation.original_path(hr, "hr", name)


def test_original_path_gives_the_stored_file_and_refuses_symlinks_out(hr, tmp_path):
    path = curation.original_path(hr, "hr", "router.txt")
    assert path.read_text(encoding="utf-8") == DOCS["router.txt"]
    kb = hr.open_kb("hr")
    outside = write_files(tmp_path / "outside", {"secret.txt": "secret"}) / "secret.txt"
    (kb.content_dir / "link.txt").symlink_to(outside)
    hr.catalog.upsert_file(kb.kb_id, "link.txt", status="done")
    with pytest.raises(InvalidName):
        curation.original_path(hr, "hr", "link.txt")
    with pytest.raises(KBError, match="no file"):
        curation.original_path(hr, "hr", "missing.txt")


def test_edit_chunk_reembeds_under_the_same_vector_id_and_rebuilds_bm25(hr):
    chunk = _chunk(hr, "hr", "192.168.8.1")
    count = _consistent(hr, "hr")
    new_text = "星河路由器的默认管理地址已改为 10.0.0.1，蓝鲸口令在说明书第三页。"
    edited = curation.edit_chunk(hr, "hr", chunk.chunk_id, f"  {new_text}\n")
    assert edited.text == new_text and edited.chunk_id == chunk.chunk_id and edited.source == "router.txt"
    kb = hr.open_kb("hr")
    assert _consistent(hr, "hr") == count
    stored = kb.store.reconstruct([chunk.vector_id])[0]
    assert np.allclose(stored, kb.embedder.embed_documents([new_text])[0], atol=1e-5)
    assert chunk.chunk_id in _found(hr, "hr", "蓝鲸口令", "bm25")
    assert "10.0.0.1" in _chunk(hr, "hr", "蓝鲸").text
    with pytest.raises(KBError, match="empty"):
        curation.edit_chunk(hr, "hr", chunk.chunk_id, "   ")
    with pytest.raises(KBError, match="no chunk"):
        curation.edit_chunk(hr, "hr", "0" * 24, "text")


def test_disabled_chunks_are_invisible_to_retrieval_until_enabled(hr):
    chunk = _chunk(hr, "hr", "十五天带薪年假")
    count = _consistent(hr, "hr")
    query = "员工每年享有十五天带薪年假"
    assert all(chunk.chunk_id in _found(hr, "hr", query, f) for f in ("dense", "bm25"))
    curation.set_chunk_enabled(hr, "hr", chunk.chunk_id, False)
    assert _consistent(hr, "hr") == count - 1
    assert not any(chunk.chunk_id in _found(hr, "hr", query, f) for f in ("dense", "bm25"))
    assert hr.open_kb("hr").reconcile() == (0, 0), "reconcile does not bring a disabled chunk back"
    curation.edit_chunk(hr, "hr", chunk.chunk_id, "员工每年享有二十天带薪年假。")
    assert chunk.chunk_id not in hr.open_kb("hr").store.ids(), "editing a hidden chunk keeps it hidden"
    curation.set_chunk_enabled(hr, "hr", chunk.chunk_id, True)
    assert _consistent(hr, "hr") == count
    assert chunk.chunk_id in _found(hr, "hr", "二十天带薪年假", "dense")


def test_reindex_parses_the_stored_original_again(hr):
    chunk = _chunk(hr, "hr", "192.168.8.1")
    curation.edit_chunk(hr, "hr", chunk.chunk_id, "被编辑的文本。")
    before = {f.name: f.chunks for f in hr.open_kb("hr").files()}
    hr.settings.chunking.chunk_size, hr.settings.chunking.chunk_overlap = 20, 0
    report = curation.reindex_file(hr, "hr", "router.txt")
    assert report.status == "done" and report.chunks > before["router.txt"]
    texts = " ".join(hr.catalog.chunk_texts(hr.open_kb("hr").kb_id)[1])
    assert "192.168.8.1" in texts and "被编辑的文本" not in texts
    assert _consistent(hr, "hr") == report.chunks + before["leave.md"]
    row = hr.catalog.get_file(hr.open_kb("hr").kb_id, "router.txt")
    assert row is not None and row.sha256, "the file's hash is restored: unchanged uploads are skipped again"


def test_kb_stats_counts_files_chunks_and_disabled(hr, tmp_path):
    chunk = _chunk(hr, "hr", "192.168.8.1")
    curation.set_chunk_enabled(hr, "hr", chunk.chunk_id, False)
    hr.open_kb("empty", create=True)
    stats = {s["name"]: s for s in curation.kb_stats(hr)}
    assert list(stats) == ["empty", "hr"]
    total = sum(f.chunks for f in hr.open_kb("hr").files())
    assert stats["hr"]["files"] == 2 and stats["hr"]["chunks"] == total
    assert stats["hr"]["disabled_chunks"] == 1 and stats["empty"]["chunks"] == 0
    assert stats["hr"]["threshold"] == 0.05 and not stats["hr"]["calibrated"]  # KB_RETRIEVAL__THRESHOLD
    hr.catalog.set_threshold(hr.open_kb("hr").kb_id, 0.5)
    again = {s["name"]: s for s in curation.kb_stats(hr)}["hr"]
    assert again["threshold"] == 0.5 and again["calibrated"]
    assert again["embedder_id"] == "test-hash-256" and again["created_at"] is not None
