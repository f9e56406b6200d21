"""Ingestion: incremental, resumable, consistent, and bad input never loses what is already indexed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import SHARED_DOCS, write_files

from kb_app.errors import InvalidName

FACTS = {
    "router.txt": "星河路由器的默认管理地址是 192.168.8.1。出厂密码印在机身背面的标签上。",
    "leave.md": "# 请假制度\n\n员工每年享有十五天带薪年假。病假需要提供医院证明。",
}


_write = write_files


def _consistent(container, name: str) -> None:
    kb = container.open_kb(name)
    catalog_ids, _ = kb.catalog.chunk_texts(kb.kb_id)
    assert set(catalog_ids) == kb.store.ids(), "catalog and vector index disagree"


def test_ingest_then_skip_unchanged_then_replace_changed(fast_container, tmp_path):
    docs = _write(tmp_path / "docs", FACTS)
    first = fast_container.ingest("hr", [docs])
    assert sorted(r.status for r in first) == ["done", "done"]
    again = fast_container.ingest("hr", [docs])
    assert [r.status for r in again] == ["skipped", "skipped"]
    (docs / "router.txt").write_text("星河路由器的默认管理地址改为 10.0.0.1。", encoding="utf-8")
    third = {r.name: r.status for r in fast_container.ingest("hr", [docs])}
    assert third == {"leave.md": "skipped", "router.txt": "done"}
    fourth = {r.name: r.status for r in fast_container.ingest("hr", [docs])}
    assert fourth == {"leave.md": "skipped", "router.txt": "skipped"}  # the new version's hash was recorded
    kb = fast_container.open_kb("hr")
    texts = " ".join(kb.catalog.chunk_texts(kb.kb_id)[1])
    assert "10.0.0.1" in texts and "192.168.8.1" not in texts
    assert (
        (kb.content_dir / "router.txt").read_text(encoding="utf-8").startswith("星河路由器的默认管理地址改为")
    )
    _consistent(fast_container, "hr")


def test_sync_removes_deleted_files_and_their_vectors(fast_container, tmp_path):
    docs = _write(tmp_path / "docs", FACTS)
    fast_container.ingest("hr", [docs])
    (docs / "leave.md").unlink()
    reports = fast_container.ingest("hr", [docs], sync=True)
    assert {r.name: r.status for r in reports} == {"router.txt": "skipped", "leave.md": "removed"}
    kb = fast_container.open_kb("hr")
    assert [f.name for f in kb.files()] == ["router.txt"]
    assert not (kb.content_dir / "leave.md").exists()
    _consistent(fast_container, "hr")


def test_bad_files_fail_alone_with_clear_errors(fast_container, tmp_path):
    docs = _write(tmp_path / "docs", FACTS)
    (docs / "empty.txt").write_bytes(b"")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7\n this is not really a pdf")
    (docs / "data.xyz").write_bytes(b"\x00\x01\x02binary")
    (docs / "fake.docx").write_bytes(b"not a zip at all")
    reports = {r.name: r for r in fast_container.ingest("hr", [docs])}
    assert reports["router.txt"].status == "done" and reports["leave.md"].status == "done"
    for bad in ("empty.txt", "broken.pdf", "data.xyz", "fake.docx"):
        assert reports[bad].status == "failed", bad
        assert reports[bad].error and "\n" not in reports[bad].error
    assert "xyz" in reports["data.xyz"].error or "support" in reports["data.xyz"].error.lower()
    files = {f.name: f for f in fast_container.open_kb("hr").files()}
    assert files["broken.pdf"].status == "failed" and files["broken.pdf"].error
    _consistent(fast_container, "hr")


def test_a_corrupted_new_version_keeps_the_old_one_searchable(fast_container, tmp_path):
    docs = _write(tmp_path / "docs", {"manual.txt": FACTS["router.txt"]})
    fast_container.ingest("hr", [docs])
    (docs / "manual.txt").write_bytes(b"\x00" * 200)
    report = fast_container.ingest("hr", [docs])[0]
    assert report.status == "failed" and "previous version" in report.error
    kb = fast_container.open_kb("hr")
    assert "192.168.8.1" in " ".join(kb.catalog.chunk_texts(kb.kb_id)[1])
    _consistent(fast_container, "hr")


def test_hostile_names_stay_inside_the_content_folder(fast_container, tmp_path):
    from kb_app.names import clean_relative_name

    assert clean_relative_name("../../etc/passwd") == "etc/passwd"
    assert clean_relative_name("..\\..\\boot.ini") == "boot.ini"
    assert clean_relative_name("报告\u202egnp.txt") == "报告gnp.txt"
    with pytest.raises(InvalidName):
        clean_relative_name("../..")
    odd = _write(tmp_path / "odd", {"é\u0301 报告 (最终版).txt": FACTS["router.txt"]})
    report = fast_container.ingest("hr", [odd])[0]
    assert report.status == "done"
    kb = fast_container.open_kb("hr")
    assert all(p.resolve().is_relative_to(kb.content_dir.resolve()) for p in kb.content_dir.rglob("*"))


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden", "x" * 65, "a\\b"])
def test_kb_names_with_path_characters_are_rejected(fast_container, name):
    with pytest.raises(InvalidName, match="Invalid knowledge-base name"):
        fast_container.open_kb(name, create=True)


def test_reconcile_repairs_orphans_and_lost_vectors(fast_container, tmp_path):
    import numpy as np

    docs = _write(tmp_path / "docs", FACTS)
    fast_container.ingest("hr", [docs])
    kb = fast_container.open_kb("hr")
    kb.store.add(np.array([12345], dtype=np.int64), kb.embedder.embed_documents(["孤儿向量"]))
    lost = next(iter(kb.store.ids() - {12345}))
    kb.store.delete([lost])
    kb.store.persist()
    assert kb.reconcile() == (1, 1)
    _consistent(fast_container, "hr")


def test_unreadable_index_is_rebuilt_from_the_catalog(fast_container, tmp_path):
    docs = _write(tmp_path / "docs", FACTS)
    fast_container.ingest("hr", [docs])
    kb = fast_container.open_kb("hr")
    count = kb.store.count()
    index_dir = kb.index_dir
    for f in index_dir.glob("*.faiss"):
        f.write_bytes(b"garbage")
    fresh = type(fast_container)(fast_container.settings)
    fresh.__dict__["generator"] = fast_container.generator
    kb2 = fresh.open_kb("hr")
    kb2.reconcile()
    assert kb2.store.count() == count
    _consistent(fresh, "hr")


CRASHER = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, {tests!r})
    from conftest import HashingEmbedder
    from kb_app import registry
    from kb_app.container import Container
    registry.register("embedder", "test-hash", HashingEmbedder)
    import kb_app.ingest.pipeline as pipeline
    real_commit = pipeline.Ingestor._flush
    calls = {{"n": 0}}
    def flush_then_die(self):
        calls["n"] += 1
        if calls["n"] == 2:
            # die between persisting the index and committing the catalog
            self.kb.catalog.commit_files = lambda *a, **k: os.kill(os.getpid(), 9)
        real_commit(self)
    pipeline.Ingestor._flush = flush_then_die
    if __name__ == "__main__":
        Container().ingest("hr", [sys.argv[1]])
    """
)


def test_kill_9_mid_ingest_loses_nothing_and_the_next_run_resumes(kb_home, tmp_path, monkeypatch):
    docs = tmp_path / "many"
    _write(docs, {f"doc{i:02d}.txt": f"第{i}号文件。" + "内容句子。" * 80 for i in range(12)})
    script = tmp_path / "crash.py"
    script.write_text(CRASHER.format(tests=str(Path(__file__).resolve().parents[1])), encoding="utf-8")
    env = {
        **os.environ,
        "KB_HOME": str(kb_home),
        "KB_EMBEDDER__BACKEND": "test-hash",
        "KB_CHUNKING__CHUNK_SIZE": "120",
        "KB_INGEST_BATCH_CHUNKS": "8",
    }
    proc = subprocess.run([sys.executable, str(script), str(docs)], env=env, capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]

    from conftest import HashingEmbedder

    from kb_app import registry
    from kb_app.container import Container
    from kb_app.settings import Settings

    registry.register("embedder", "test-hash", HashingEmbedder)
    monkeypatch.setenv("KB_EMBEDDER__BACKEND", "test-hash")
    monkeypatch.setenv("KB_CHUNKING__CHUNK_SIZE", "120")
    monkeypatch.setenv("KB_INGEST_BATCH_CHUNKS", "8")
    container = Container(Settings())
    done_before = {f.name for f in container.open_kb("hr").files() if f.status == "done"}
    assert 0 < len(done_before) < 12
    reports = container.ingest("hr", [docs])
    statuses = {r.name: r.status for r in reports}
    assert all(statuses[n] == "skipped" for n in done_before)
    assert all(f.status == "done" for f in container.open_kb("hr").files())
    assert len(container.open_kb("hr").files()) == 12
    _consistent(container, "hr")
    shutil.rmtree(kb_home)


def test_the_same_file_given_twice_is_ingested_once(fast_container, tmp_path):
    docs = _write(tmp_path / "docs", {"router.txt": FACTS["router.txt"]})
    reports = fast_container.ingest("hr", [docs / "router.txt", docs / "router.txt", docs])
    assert [r.status for r in reports] == ["done"]
    _consistent(fast_container, "hr")


def test_two_files_with_the_same_name_in_one_run_are_reported(fast_container, tmp_path):
    a = _write(tmp_path / "a", {"same.txt": FACTS["router.txt"]})
    b = _write(tmp_path / "b", {"same.txt": FACTS["leave.md"]})
    reports = fast_container.ingest("hr", [a / "same.txt", b / "same.txt"])
    assert sorted(r.status for r in reports) == ["done", "failed"]
    failed = next(r for r in reports if r.status == "failed")
    assert "also named" in failed.error


def test_parsing_in_worker_processes_gives_the_same_chunks(fast_container, tmp_path, monkeypatch):
    docs = _write(
        tmp_path / "docs", {f"f{i}.txt": f"第{i}份文件。" + "这是一个句子。" * 60 for i in range(5)}
    )
    (docs / "bad.pdf").write_bytes(b"%PDF-1.4 broken")
    inline = fast_container.ingest("inline", [docs])
    fast_container.settings.ingest_workers = 2
    pooled = fast_container.ingest("pooled", [docs])
    assert [(r.name, r.status, r.chunks) for r in inline] == [(r.name, r.status, r.chunks) for r in pooled]
    texts = [
        fast_container.catalog.chunk_texts(fast_container.open_kb(n).kb_id)[1] for n in ("inline", "pooled")
    ]
    assert sorted(texts[0]) == sorted(texts[1])
    _consistent(fast_container, "pooled")


def test_identical_content_under_another_name_is_not_indexed_twice(fast_container, tmp_path):
    docs = _write(tmp_path / "docs", {"a.txt": FACTS["router.txt"], "copy of a.txt": FACTS["router.txt"]})
    reports = {r.name: r for r in fast_container.ingest("hr", [docs])}
    assert reports["a.txt"].status == "done"
    assert reports["copy of a.txt"].status == "skipped" and "same content" in reports["copy of a.txt"].error
    assert fast_container.open_kb("hr").store.count() == reports["a.txt"].chunks


def test_zip_bombs_and_overlong_pdfs_are_refused(fast_container, tmp_path):
    import zipfile

    docs = tmp_path / "docs"
    docs.mkdir()
    with zipfile.ZipFile(docs / "bomb.docx", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\x00" * (3 * 2**20))
    with zipfile.ZipFile(docs / "bomb.xlsx", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"\x00" * (3 * 2**20))
    pdf = SHARED_DOCS / "llm-cookbook" / "2024年北京市政府工作报告.pdf"
    shutil.copy(pdf, docs / "report.pdf")
    fast_container.settings.ingest_max_unpacked_mb = 1
    fast_container.settings.ingest_max_pages = 10
    reports = {r.name: r for r in fast_container.ingest("hr", [docs])}
    for bomb in ("bomb.docx", "bomb.xlsx"):  # the setting governs every office loader
        assert reports[bomb].status == "failed" and "zip bomb" in reports[bomb].error, reports[bomb]
        assert "KB_INGEST_MAX_UNPACKED_MB" in reports[bomb].error
    assert reports["report.pdf"].status == "failed" and "13 pages" in reports["report.pdf"].error


def test_unchanged_reingest_makes_no_embedding_calls(fast_container, tmp_path):
    docs = _write(tmp_path / "docs", {f"n{i:03d}.txt": f"第{i}号通知：请按时提交材料。" for i in range(150)})
    fast_container.ingest("notes", [docs])
    kb = fast_container.open_kb("notes")
    calls = []
    real = kb.embedder.embed_documents
    kb.embedder.embed_documents = lambda texts: calls.append(len(texts)) or real(texts)
    reports = fast_container.ingest("notes", [docs])
    assert {r.status for r in reports} == {"skipped"} and len(reports) == 150
    assert calls == []


def test_files_over_the_size_limit_fail_clearly_and_change_nothing(fast_container, tmp_path):
    docs = _write(tmp_path / "docs", FACTS)
    fast_container.ingest("hr", [docs])
    before = fast_container.open_kb("hr").store.count()
    (docs / "huge.txt").write_text("大" * (2 * 2**20), encoding="utf-8")
    fast_container.settings.max_file_mb = 1
    reports = {r.name: r for r in fast_container.ingest("hr", [docs])}
    assert reports["huge.txt"].status == "failed" and "KB_MAX_FILE_MB" in reports["huge.txt"].error
    assert fast_container.open_kb("hr").store.count() == before
    _consistent(fast_container, "hr")


@pytest.mark.parametrize("workers", [1, 2])
def test_ocr_page_progress_reaches_the_caller(fast_container, tmp_path, workers):
    from pypdf import PdfReader, PdfWriter

    docs = tmp_path / "docs"
    docs.mkdir()
    writer = PdfWriter()
    writer.add_page(PdfReader(SHARED_DOCS / "mineru" / "small_ocr.pdf").pages[0])
    with (docs / "scan.pdf").open("wb") as fh:
        writer.write(fh)
    (docs / "note.txt").write_text(FACTS["router.txt"], encoding="utf-8")
    fast_container.settings.ingest_workers = workers
    events: list[tuple[str, int, int]] = []
    reports = fast_container.ingest("hr", [docs], pages=lambda *event: events.append(event))
    assert {r.name: r.status for r in reports} == {"scan.pdf": "done", "note.txt": "done"}
    assert events == [("scan.pdf", 1, 1)]
    chunks = fast_container.catalog.file_chunks(
        fast_container.open_kb("hr").kb_id,
        fast_container.catalog.get_file(fast_container.open_kb("hr").kb_id, "scan.pdf").id,
    )
    assert chunks and all(c.page == 1 for c in chunks)


def test_the_same_file_in_two_kbs_is_two_independent_files(fast_container, tmp_path):
    docs = _write(tmp_path / "docs", {"router.txt": FACTS["router.txt"]})
    fast_container.ingest("a", [docs])
    fast_container.ingest("b", [docs])
    a, b = fast_container.open_kb("a"), fast_container.open_kb("b")
    assert a.store.count() == b.store.count() > 0
    a.remove_files(a.files())
    assert a.store.count() == 0 and b.store.count() > 0
    assert [f.name for f in b.files()] == ["router.txt"] and (b.content_dir / "router.txt").exists()
    _consistent(fast_container, "a")
    _consistent(fast_container, "b")
