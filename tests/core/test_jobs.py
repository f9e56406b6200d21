"""Background ingestion: staging, the job table, claims, stale-job recovery, and one writer per KB across
processes (catalog and vector index agree after two processes ingest into one KB at once)."""

from __future__ import annotations

import io
import multiprocessing
import os
import threading
from pathlib import Path

import pytest
from conftest import write_files

from kb_app.catalog.tables import IngestJobRow
from kb_app.errors import InvalidName, KBError
from kb_app.locks import KnowledgeBaseBusy, kb_write_lock
from kb_app.schema import FileReport

TEXTS = {
    "router.txt": "星河路由器的默认管理地址是 192.168.8.1。出厂密码印在机身背面的标签上。",
    "leave.md": "# 请假制度\n\n员工每年享有十五天带薪年假。病假需要提供医院证明。",
}


def _consistent(container, name: str) -> int:
    kb = container.open_kb(name)
    ids, _ = kb.catalog.chunk_texts(kb.kb_id)
    assert set(ids) == kb.store.ids() and len(ids) == kb.store.count(), "catalog and index disagree"
    return len(ids)


def _set_job(container, job_id: int, **fields) -> None:
    with container.catalog.session() as s:
        row = s.get(IngestJobRow, job_id)
        for key, value in fields.items():
            setattr(row, key, value)
        s.add(row)
        s.commit()


@pytest.mark.parametrize(
    ("hostile", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\报告.docx", "报告.docx"),
        ("\u202eevil\u200b.txt", "evil.txt"),
        (".hidden.txt", "hidden.txt"),
        ("长" * 200 + ".pdf", "长" * 78 + ".pdf"),
    ],
)
def test_stage_upload_cleans_hostile_names(fast_container, hostile, expected):
    staged = fast_container.jobs.stage_upload("hr", hostile, b"data")
    uploads = (fast_container.settings.home / ".uploads").resolve()
    assert staged.name == expected and staged.resolve().is_relative_to(uploads / "hr")
    assert staged.read_bytes() == b"data"


@pytest.mark.parametrize("bad", ["..", "/", "\u200b"])
def test_stage_upload_refuses_unusable_names(fast_container, bad):
    with pytest.raises(InvalidName):
        fast_container.jobs.stage_upload("hr", bad, b"data")


@pytest.mark.parametrize("as_stream", [False, True])
def test_stage_upload_refuses_files_over_the_limit_and_leaves_nothing(fast_container, as_stream):
    fast_container.settings.max_file_mb = 1
    data = b"x" * (2**20 + 1)
    with pytest.raises(KBError, match="KB_MAX_FILE_MB"):
        fast_container.jobs.stage_upload("hr", "big.txt", io.BytesIO(data) if as_stream else data)
    assert not any(p.is_file() for p in (fast_container.settings.home / ".uploads").rglob("*"))
    staged = fast_container.jobs.stage_upload("hr", "ok.txt", io.BytesIO(data[: 2**20]))
    assert staged.stat().st_size == 2**20


def test_submit_and_run_jobs_records_outcomes_newest_first(fast_container, tmp_path):
    queue = fast_container.jobs
    staged = [queue.stage_upload("hr", name, text.encode()) for name, text in TEXTS.items()]
    bad = queue.stage_upload("hr", "broken.pdf", b"%PDF-1.4 not really a pdf")
    ids = queue.submit("hr", [*staged, bad], user="alice")
    assert [j.id for j in queue.jobs("hr")] == ids[::-1]
    assert all(j.status == "queued" and j.user == "alice" for j in queue.jobs())
    ran = 0
    while queue.run_next():
        ran += 1
    assert ran == 3 and not queue.run_next()
    jobs = {j.filename: j for j in queue.jobs("hr")}
    assert jobs["router.txt"].status == "done" and jobs["router.txt"].progress == 1.0
    assert jobs["router.txt"].chunks and jobs["router.txt"].chunks > 0
    assert jobs["broken.pdf"].status == "failed" and jobs["broken.pdf"].error
    assert {f.name for f in fast_container.open_kb("hr").files() if f.status == "done"} == set(TEXTS)
    assert not any(p.exists() for p in [*staged, bad]), "staged uploads are removed once ingested"
    assert _consistent(fast_container, "hr") == sum(j.chunks or 0 for j in jobs.values())


def test_a_job_passes_through_embedding_and_a_duplicate_is_noted(fast_container, monkeypatch):
    queue = fast_container.jobs
    statuses: list[str] = []
    update = queue._update
    monkeypatch.setattr(
        queue, "_update", lambda job_id, **f: (statuses.append(f.get("status", "")), update(job_id, **f))
    )
    first = queue.submit("hr", [queue.stage_upload("hr", "a.txt", TEXTS["router.txt"].encode())])
    queue.run_next()
    assert [s for s in statuses if s] == ["embedding", "done"]
    twin = queue.submit("hr", [queue.stage_upload("hr", "b.txt", TEXTS["router.txt"].encode())])
    queue.run_next()
    done = queue.get(twin[0])
    assert done.status == "done" and "a.txt" in done.note and queue.get(first[0]).note == ""


def test_page_progress_is_recorded_while_parsing(fast_container, monkeypatch):
    import kb_app.ingest_worker

    queue = fast_container.jobs
    seen: list[tuple[str, int | None, float]] = []

    def fake_ingest(container, kb, path, pages, on_embed):
        for done in (1, 2, 4):
            pages(path.name, done, 4)
            job = queue.jobs("hr")[0]
            seen.append((job.status, job.pages_done, job.progress))
        on_embed()
        seen.append((queue.jobs("hr")[0].status, None, queue.jobs("hr")[0].progress))
        return kb_app.ingest_worker.outcome_fields(
            [FileReport(name=path.name, status="done", chunks=3, pages=4)]
        )

    monkeypatch.setattr(kb_app.ingest_worker, "ingest_one", fake_ingest)
    [job_id] = queue.submit("hr", [queue.stage_upload("hr", "scan.pdf", b"%PDF")])
    assert queue.run_next()
    assert seen == [("parsing", 1, 0.2), ("parsing", 2, 0.4), ("parsing", 4, 0.8), ("embedding", None, 0.8)]
    job = queue.get(job_id)
    assert (job.status, job.progress, job.pages_done, job.pages_total, job.chunks) == ("done", 1.0, 4, 4, 3)


def test_unknown_job_and_missing_file_are_clear_errors(fast_container, tmp_path):
    with pytest.raises(KBError, match="No ingest job"):
        fast_container.jobs.get(12345)
    with pytest.raises(KBError, match="Not a file"):
        fast_container.jobs.submit("hr", [tmp_path / "nope.txt"])


def test_a_claim_is_taken_once(fast_container):
    queue = fast_container.jobs
    [job_id] = queue.submit("hr", [queue.stage_upload("hr", "a.txt", b"text")])
    assert queue._claim(job_id) and not queue._claim(job_id)
    assert queue.get(job_id).status == "parsing"


def test_stale_jobs_are_requeued_only_when_their_kb_is_not_locked(fast_container):
    queue = fast_container.jobs
    [job_id] = queue.submit("hr", [queue.stage_upload("hr", "a.txt", TEXTS["leave.md"].encode())])
    _set_job(fast_container, job_id, status="embedding", progress=0.8)  # as a crashed worker leaves it
    with kb_write_lock(fast_container.open_kb("hr").root):  # a live worker would hold this
        assert queue.recover_stale() == 0
    assert queue.get(job_id).status == "embedding"
    assert queue.recover_stale() == 1
    assert queue.get(job_id).status == "queued"
    assert queue.run_next() and queue.get(job_id).status == "done"


def test_jobs_of_a_deleted_kb_fail_instead_of_recreating_it(fast_container):
    queue = fast_container.jobs
    [job_id] = queue.submit("gone", [queue.stage_upload("gone", "a.txt", b"text")])
    fast_container.delete_kb("gone")
    assert queue.run_next()
    assert queue.get(job_id).status == "failed" and "deleted" in (queue.get(job_id).error or "")
    assert fast_container.catalog.find_kb("gone") is None


def test_a_busy_kb_is_skipped_and_writers_exclude_each_other(fast_container):
    queue = fast_container.jobs
    [job_id] = queue.submit("hr", [queue.stage_upload("hr", "a.txt", TEXTS["leave.md"].encode())])
    with fast_container.writing("hr"):
        assert not queue.run_next(), "the job waits while another writer holds the KB"
        with pytest.raises(KnowledgeBaseBusy, match="hr"), fast_container.writing("hr", wait_s=0.1):
            pass
        holder = threading.Thread(target=lambda: fast_container.ingest("hr", []))
        holder.start()
        holder.join(0.3)
        assert holder.is_alive(), "container.ingest waits for the write lock"
    holder.join(10)
    assert queue.run_next() and queue.get(job_id).status == "done"


def test_start_worker_is_idempotent_and_runs_jobs(fast_container):
    queue = fast_container.jobs
    try:
        queue.start_worker(poll_s=0.05)
        queue.start_worker(poll_s=0.05)
        assert sum(t.name == "kb-ingest" for t in threading.enumerate()) == 1
        ids = queue.submit("hr", [queue.stage_upload("hr", n, t.encode()) for n, t in TEXTS.items()])
        assert [j.status for j in queue.wait(ids, timeout_s=30)] == ["done", "done"]
    finally:
        queue.stop_worker()
    assert not any(t.name == "kb-ingest" for t in threading.enumerate())


def _ingest_in_child(home: str, folder: str, user: str) -> None:
    """A second process: its own Container submits its files, then runs jobs until all are finished."""
    os.environ.update(KB_HOME=home, KB_EMBEDDER__BACKEND="test-hash", KB_INGEST_WORKERS="1")
    from conftest import HashingEmbedder

    from kb_app import registry
    from kb_app.container import Container

    registry.register("embedder", "test-hash", HashingEmbedder)
    queue = Container().jobs
    queue.submit("shared", sorted(Path(folder).iterdir()), user=user)
    while any(j.status not in ("done", "failed") for j in queue.jobs("shared")):
        if not queue.run_next():
            threading.Event().wait(0.02)


def test_two_processes_ingesting_one_kb_keep_catalog_and_index_in_agreement(fast_container, tmp_path):
    folders = [
        write_files(
            tmp_path / f"p{p}",
            {f"p{p}-{i}.txt": f"第{p}组第{i}份文件：内容编号{p * 100 + i}。" * 10 for i in range(4)},
        )
        for p in range(2)
    ]
    fast_container.ingest("shared", [write_files(tmp_path / "first", {"first.txt": "最早的文件。"})])
    reader = fast_container.open_kb("shared")
    assert reader.store.count() > 0  # this process has the index loaded before the others write
    spawn = multiprocessing.get_context("spawn")
    home = str(fast_container.settings.home)
    children = [
        spawn.Process(target=_ingest_in_child, args=(home, str(f), f"u{i}")) for i, f in enumerate(folders)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(120)
        assert child.exitcode == 0
    jobs = fast_container.jobs.jobs("shared")
    assert len(jobs) == 8 and all(j.status == "done" for j in jobs)
    files = {f.name for f in fast_container.open_kb("shared").files() if f.status == "done"}
    assert files == {"first.txt"} | {p.name for f in folders for p in f.iterdir()}
    chunks = _consistent(fast_container, "shared")  # a fresh object: the cached one saw an older index
    assert chunks == sum(f.chunks for f in fast_container.open_kb("shared").files())
    assert fast_container.open_kb("shared") is not reader
