"""Background ingestion: a job table in the catalog, claimed by worker threads in any process.

A job goes queued -> parsing -> (embedding) -> done | failed. A worker takes the KB's write lock
(`kb_app.locks`) *before* it claims a job of that KB and holds it until the job is finished, so a job in
`parsing`/`embedding` whose KB lock is free belongs to a process that died: `recover_stale` (run when a
worker starts, and every minute) puts it back in the queue. Uploads are staged by `stage_upload` under
`<KB_HOME>/.uploads/<kb>/<random>/<clean name>` and removed once their job has finished.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import update
from sqlmodel import col, select

from kb_app.catalog.tables import IngestJobRow, utcnow
from kb_app.errors import KBError, KnowledgeBaseNotFound
from kb_app.knowledge_base import KnowledgeBase
from kb_app.locks import KnowledgeBaseBusy, kb_write_lock
from kb_app.uploads import is_staged, remove_staged, stage_upload

if TYPE_CHECKING:
    from kb_app.container import Container

log = logging.getLogger(__name__)

RUNNING = ("parsing", "embedding")
FINISHED = ("done", "failed")


class IngestQueue:
    """Submit files for ingestion, follow their jobs, and run them (`start_worker` or `run_next`)."""

    def __init__(self, container: Container) -> None:
        self.container = container

    @property
    def uploads_dir(self) -> Path:
        return self.container.settings.home / ".uploads"

    def stage_upload(self, kb_name: str, filename: str, data: bytes | BinaryIO) -> Path:
        """Save an upload under a clean name in the staging folder; see `kb_app.uploads.stage_upload`."""
        limit = self.container.settings.max_file_mb * 2**20
        return stage_upload(self.uploads_dir, kb_name, filename, data, limit)

    def submit(self, kb_name: str, paths: Sequence[Path], user: str = "") -> list[int]:
        """Queue one job per file (the KB is created if missing); returns the job ids in order.

        The files must stay where they are until their jobs finish (`stage_upload` puts uploads there).
        """
        missing = [str(p) for p in paths if not Path(p).is_file()]
        if missing:
            raise KBError(f"Not a file: {', '.join(missing)}. Submit files that exist (folders one by one).")
        name = self.container.open_kb(kb_name, create=True).name
        rows = [IngestJobRow(kb_name=name, filename=Path(p).name, path=str(p), user=user) for p in paths]
        with self.container.catalog.session() as s:
            s.add_all(rows)
            s.commit()
            return [r.id for r in rows if r.id is not None]

    def jobs(self, kb_name: str | None = None, limit: int = 100) -> list[IngestJobRow]:
        """The newest jobs first, of one KB or of all."""
        query = select(IngestJobRow).order_by(col(IngestJobRow.id).desc()).limit(limit)
        if kb_name is not None:
            query = query.where(IngestJobRow.kb_name == kb_name)
        with self.container.catalog.session() as s:
            return list(s.exec(query))

    def get(self, job_id: int) -> IngestJobRow:
        with self.container.catalog.session() as s:
            row = s.get(IngestJobRow, job_id)
        if row is None:
            raise KBError(f"No ingest job {job_id}; list the jobs to see their ids.")
        return row

    def wait(self, job_ids: Sequence[int], timeout_s: float = 60.0) -> list[IngestJobRow]:
        """Block until every job is done or failed (tests, scripts); raises KBError on timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            rows = [self.get(i) for i in job_ids]
            if all(r.status in FINISHED for r in rows):
                return rows
            if time.monotonic() > deadline:
                states = ", ".join(f"{r.id}: {r.status}" for r in rows)
                raise KBError(f"Ingest jobs still running after {timeout_s:.0f} s ({states}).")
            time.sleep(0.05)

    def run_next(self) -> bool:
        """Run the oldest queued job whose KB nobody is writing; False when there was nothing to run."""
        for job in self._queued_heads():
            assert job.id is not None
            try:
                with self.container.writing(job.kb_name, wait_s=0) as kb:
                    if not self._claim(job.id):
                        continue  # another worker took it first
                    self._run(job, kb)
                return True
            except KnowledgeBaseBusy:
                continue
            except KnowledgeBaseNotFound:
                if self._claim(job.id):
                    self._update(job.id, status="failed", error="the knowledge base was deleted")
                    remove_staged(self.uploads_dir, Path(job.path))
                    return True
        return False

    def recover_stale(self) -> int:
        """Re-queue jobs left parsing/embedding by a process that died. Returns how many."""
        with self.container.catalog.session() as s:
            running = list(s.exec(select(IngestJobRow).where(col(IngestJobRow.status).in_(RUNNING))))
        recovered = 0
        for job in running:
            if self.container.catalog.find_kb(job.kb_name) is None:
                self._set_status(job.id, RUNNING, "failed", error="the knowledge base was deleted")
                continue
            try:
                with kb_write_lock(self.container.settings.home / job.kb_name, wait_s=0):
                    recovered += self._set_status(job.id, RUNNING, "queued", progress=0.0)
            except KnowledgeBaseBusy:
                continue  # its worker is alive and still holds the lock
        if recovered:
            log.warning("Re-queued %d ingest job(s) interrupted by a crash.", recovered)
        return recovered

    def start_worker(self, poll_s: float = 0.5) -> None:
        """Start this process's worker thread (idempotent: safe on every Streamlit rerun or app start)."""
        from kb_app.ingest_worker import start_worker

        start_worker(self, poll_s)

    def stop_worker(self, timeout_s: float = 30.0) -> None:
        """Stop this process's worker thread after its current job (tests, clean shutdown)."""
        from kb_app.ingest_worker import stop_worker

        stop_worker(self, timeout_s)

    def _queued_heads(self) -> list[IngestJobRow]:
        """The oldest queued job of each KB, oldest first."""
        query = select(IngestJobRow).where(IngestJobRow.status == "queued").order_by(col(IngestJobRow.id))
        with self.container.catalog.session() as s:
            queued = list(s.exec(query.limit(1000)))
        heads: dict[str, IngestJobRow] = {}
        for job in queued:
            heads.setdefault(job.kb_name, job)
        return list(heads.values())

    def _claim(self, job_id: int) -> bool:
        """Atomically move a queued job to parsing; False if another worker claimed it first."""
        return self._set_status(job_id, ("queued",), "parsing", progress=0.0) == 1

    def _set_status(self, job_id: int | None, before: Sequence[str], status: str, **fields: Any) -> int:
        """Set the status of a job still in one of the `before` states; returns 1 if it was, else 0."""
        query = update(IngestJobRow).where(
            col(IngestJobRow.id) == job_id, col(IngestJobRow.status).in_(before)
        )
        with self.container.catalog.session() as s:
            result = s.exec(query.values(status=status, updated_at=utcnow(), **fields))
            s.commit()
            return int(result.rowcount)

    def _update(self, job_id: int, **fields: Any) -> None:
        with self.container.catalog.session() as s:
            row = s.get(IngestJobRow, job_id)
            assert row is not None
            for key, value in {**fields, "updated_at": utcnow()}.items():
                setattr(row, key, value)
            s.add(row)
            s.commit()

    def _run(self, job: IngestJobRow, kb: KnowledgeBase) -> None:
        """Ingest one claimed job's file (the caller holds the KB's write lock) and record the outcome."""
        from kb_app.ingest_worker import ingest_one

        assert job.id is not None
        job_id = job.id

        def on_pages(_name: str, done: int, total: int) -> None:
            progress = 0.8 * done / total if total else 0.0
            self._update(job_id, pages_done=done, pages_total=total, progress=round(progress, 3))

        def on_embed() -> None:
            self._update(job_id, status="embedding", progress=0.8)

        path = Path(job.path)
        try:
            outcome = ingest_one(self.container, kb, path, on_pages, on_embed)
        finally:
            remove_staged(self.uploads_dir, path)
        row = kb.catalog.get_file(kb.kb_id, job.filename)
        if is_staged(self.uploads_dir, path) and row is not None and row.origin == job.path:
            # No origin on disk any more: keeps content dedupe working (see Ingestor._same_content).
            kb.catalog.upsert_file(kb.kb_id, job.filename, origin="")
        self._update(job_id, **outcome)
