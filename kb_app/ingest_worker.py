"""Running ingest jobs: one job's file through the pipeline, and the per-process worker thread."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kb_app.errors import KBError
from kb_app.ingest.workers import PageCallback, one_line
from kb_app.knowledge_base import KnowledgeBase
from kb_app.protocols import Embedder
from kb_app.schema import FileReport

if TYPE_CHECKING:
    from kb_app.container import Container
    from kb_app.jobs import IngestQueue

log = logging.getLogger(__name__)

RECOVER_EVERY_S = 60.0
# One worker thread per catalog per process, however many Streamlit reruns or app startups ask for one.
_WORKERS: dict[str, tuple[threading.Thread, threading.Event]] = {}
_WORKERS_LOCK = threading.Lock()


class _ReportingEmbedder:
    """A KB's embedder that tells its job when the chunks start being embedded."""

    def __init__(self, inner: Embedder, on_embed: Callable[[], None]) -> None:
        self.inner, self.on_embed = inner, on_embed

    @property
    def embedder_id(self) -> str:
        return self.inner.embedder_id

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if texts:
            self.on_embed()
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


def ingest_one(
    container: Container, kb: KnowledgeBase, path: Path, pages: PageCallback, on_embed: Callable[[], None]
) -> dict[str, Any]:
    """Ingest one file (the caller holds the KB's write lock); returns the job fields of its outcome.

    Never raises for a bad file or a pipeline error: those become a failed outcome.
    """
    # A private KB object, so the embedding hook never reaches readers that share the cached one.
    writer = dataclasses.replace(kb, embedder=_ReportingEmbedder(kb.embedder, on_embed))
    try:
        reports = container.ingestor(writer).run([path], pages=pages)
    except Exception as exc:  # recorded on the job: a worker never leaves a job running
        if not isinstance(exc, KBError | OSError):
            log.exception("Ingesting %s crashed", path.name)
        reports = [FileReport(name=path.name, status="failed", error=one_line(exc))]
    return outcome_fields(reports)


def outcome_fields(reports: list[FileReport]) -> dict[str, Any]:
    """The job fields that record how a single-file ingest ended."""
    report = reports[-1] if reports else FileReport(name="", status="failed", error="nothing was ingested")
    if report.status == "failed":
        return {"status": "failed", "error": report.error or "ingest failed"}
    note = report.error or ("unchanged: already indexed" if report.status == "skipped" else "")
    fields: dict[str, Any] = {"status": "done", "progress": 1.0, "chunks": report.chunks, "note": note}
    if report.pages is not None:
        fields.update(pages_total=report.pages, pages_done=report.pages)
    return fields


def _key(queue: IngestQueue) -> str:
    settings = queue.container.settings
    return f"{settings.catalog_url}|{settings.home.resolve()}"


def start_worker(queue: IngestQueue, poll_s: float = 0.5) -> None:
    """Start the worker thread of this process for the queue's catalog, unless it already runs."""
    with _WORKERS_LOCK:
        running = _WORKERS.get(_key(queue))
        if running is not None and running[0].is_alive():
            return
        queue.recover_stale()
        stop = threading.Event()
        thread = threading.Thread(target=_work, args=(queue, poll_s, stop), name="kb-ingest", daemon=True)
        _WORKERS[_key(queue)] = (thread, stop)
        thread.start()


def stop_worker(queue: IngestQueue, timeout_s: float = 30.0) -> None:
    """Ask the worker thread to stop after its current job and wait for it."""
    with _WORKERS_LOCK:
        running = _WORKERS.pop(_key(queue), None)
    if running is not None:
        running[1].set()
        running[0].join(timeout_s)


def _work(queue: IngestQueue, poll_s: float, stop: threading.Event) -> None:
    last_recovery = time.monotonic()
    while not stop.is_set():
        try:
            ran = queue.run_next()
            if time.monotonic() - last_recovery > RECOVER_EVERY_S:
                queue.recover_stale()
                last_recovery = time.monotonic()
        except Exception:  # a locked database or a bug in one job must not end the worker
            log.exception("Ingest worker error; retrying in %.1f s", poll_s)
            ran = False
        if not ran:
            stop.wait(poll_s)
