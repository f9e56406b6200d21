"""Incremental, resumable ingestion: files -> loader -> splitter -> embedder -> index + catalog.

Order of writes per batch (crash safety): vectors are added to the index and the index is persisted
atomically first; then one catalog transaction records the chunks and marks the files done; then the
staged originals move into the content folder. A crash anywhere leaves the catalog describing exactly
what is searchable, plus at worst orphan vectors that `KnowledgeBase.reconcile` drops on the next run.
Files not marked done are simply processed again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kb_app.catalog.tables import FileRow
from kb_app.errors import KBError
from kb_app.ingest.parsing import Limits, ParseResult
from kb_app.ingest.workers import PageCallback, ParseContext, one_line, parse_all
from kb_app.knowledge_base import KnowledgeBase
from kb_app.names import clean_relative_name
from kb_app.protocols import Splitter
from kb_app.schema import Chunk, FileReport

log = logging.getLogger(__name__)

ProgressCallback = Callable[[FileReport], None]
STAGING = ".staging"


@dataclass
class _Pending:
    row: FileRow
    chunks: list[Chunk]
    pages: int | None
    staged: Path | None


@dataclass
class _Job:
    row: FileRow
    existing: FileRow | None
    name: str
    parse_path: Path
    staged: Path | None
    fields: dict[str, Any]


@dataclass
class IngestOptions:
    """How one ingest run behaves."""

    sync: bool = False
    batch_chunks: int = 256
    max_file_bytes: int = 200 * 1024 * 1024
    workers: int = 2
    limits: Limits = field(default_factory=Limits)


def discover(paths: Sequence[Path], content_dir: Path) -> Iterator[tuple[Path, str]]:
    """Yield (absolute path, relative name) for every regular, non-hidden file under `paths`.

    A folder's files are named relative to that folder; a single file by its own name; files already in
    the KB's content folder keep their name there.
    """
    content = content_dir.resolve()
    for raw in paths:
        path = Path(raw).resolve()
        if path.is_dir():
            base = content if path.is_relative_to(content) else path
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                rel = file.relative_to(path)
                if any(part.startswith(".") for part in rel.parts):
                    continue
                yield file, file.relative_to(base).as_posix()
        elif path.is_file():
            yield path, path.relative_to(content).as_posix() if path.is_relative_to(content) else path.name
        else:
            raise KBError(f"No such file or folder: {raw}. Check the path and try again.")


class Ingestor:
    """Runs one ingest over a knowledge base."""

    def __init__(self, kb: KnowledgeBase, splitter: Splitter, options: IngestOptions | None = None) -> None:
        self.kb = kb
        self.splitter = splitter
        self.options = options or IngestOptions()
        self._pending: list[_Pending] = []
        self._reports: list[FileReport] = []
        self._progress: ProgressCallback | None = None
        self._digests: dict[str, str] = {}
        self._pages: PageCallback | None = None

    def run(
        self,
        paths: Sequence[Path],
        progress: ProgressCallback | None = None,
        pages: PageCallback | None = None,
    ) -> list[FileReport]:
        """Ingest `paths`; returns one report per file (and per file removed by --sync).

        Args:
            progress: Called with each file's report as soon as it is final.
            pages: Called as (file name, pages done, pages total) during slow page-by-page work (OCR).
        """
        self._progress = progress
        self._pages = pages
        self.kb.content_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.kb.content_dir / STAGING, ignore_errors=True)  # leftovers of an interrupted run
        self.kb.reconcile()
        found, clashes = _unique(discover(paths, self.kb.content_dir))
        for path, name in clashes:
            error = f"another file in this run is also named '{name}'; rename {path} and ingest it again"
            self._report(FileReport(name=name, status="failed", error=error))
        jobs = [job for path, name in found if (job := self._prepare(path, name)) is not None]
        for job, result in self._parse_all(jobs):
            self._accept(job, result)
        self._flush()
        if self.options.sync:
            self._sync(paths, {p for p, _ in found})
        if any(r.status in ("done", "removed") for r in self._reports):
            self.kb.keyword_index()  # rebuild BM25 now, so the first question after an upload doesn't wait
        return self._reports

    def _report(self, report: FileReport) -> None:
        self._reports.append(report)
        if self._progress is not None:
            self._progress(report)

    def _prepare(self, path: Path, raw_name: str) -> _Job | None:
        """Read, hash and stage one file; None when there is nothing to parse (skipped or failed)."""
        try:
            name = clean_relative_name(raw_name)
            data = self._read(path)
        except (KBError, OSError) as exc:
            self._report(FileReport(name=raw_name, status="failed", error=one_line(exc)))
            return None
        digest = hashlib.sha256(data).hexdigest()
        existing = self.kb.catalog.get_file(self.kb.kb_id, name)
        if existing is not None and existing.status == "done" and existing.sha256 == digest:
            self._report(
                FileReport(name=name, status="skipped", chunks=existing.chunks, pages=existing.pages)
            )
            return None
        twin = self._same_content(digest, name)
        if twin is not None:
            self._report(
                FileReport(name=name, status="skipped", error=f"same content as '{twin}' (not indexed twice)")
            )
            return None
        in_place = path == (self.kb.content_dir / name).resolve()
        staged = None if in_place else self._stage(data, name)
        fields: dict[str, Any] = {"origin": str(path), "sha256": digest, "size": len(data)}
        if existing is None or existing.status != "done":
            row = self.kb.catalog.upsert_file(self.kb.kb_id, name, status="queued", error=None, **fields)
        else:
            row = existing  # keep the previous version searchable until the new one commits
        return _Job(row, existing, name, staged or path, staged, fields)

    def _same_content(self, digest: str, name: str) -> str | None:
        """Another file of this KB (done, or earlier in this run) with identical bytes."""
        if digest in self._digests and self._digests[digest] != name:
            return self._digests[digest]
        self._digests.setdefault(digest, name)
        twin = self.kb.catalog.find_file_by_hash(self.kb.kb_id, digest)
        if twin is None or twin.name == name or (twin.origin and not Path(twin.origin).exists()):
            return None  # no twin, or the twin was moved/renamed away: index this one
        return twin.name

    def _parse_all(self, jobs: list[_Job]) -> Iterator[tuple[_Job, ParseResult | Exception]]:
        """Parse jobs in order (in worker processes when there are several files and workers allowed)."""
        for job in jobs:
            if job.existing is None or job.existing.status != "done":
                self.kb.catalog.upsert_file(self.kb.kb_id, job.name, status="parsing")
        context = ParseContext(self.kb.name, self.splitter, self.options.limits)
        yield from parse_all(
            jobs, lambda job: (job.parse_path, job.name), context, self.options.workers, self._pages
        )

    def _accept(self, job: _Job, result: ParseResult | Exception) -> None:
        if isinstance(result, Exception):
            self._fail(job.row, job.existing, job.name, result, job.staged)
            return
        for key, value in job.fields.items():
            setattr(job.row, key, value)
        self._pending.append(_Pending(job.row, result.chunks, result.pages, job.staged))
        if sum(len(p.chunks) for p in self._pending) >= self.options.batch_chunks:
            self._flush()

    def _read(self, path: Path) -> bytes:
        size = path.stat().st_size
        if size > self.options.max_file_bytes:
            raise KBError(
                f"file is {size / 2**20:.0f} MiB, over the "
                f"{self.options.max_file_bytes / 2**20:.0f} MiB limit "
                "(raise KB_MAX_FILE_MB or split the file)"
            )
        return path.read_bytes()

    def _stage(self, data: bytes, name: str) -> Path:
        staging = self.kb.content_dir / STAGING
        staging.mkdir(parents=True, exist_ok=True)
        target = staging / (hashlib.sha1(name.encode()).hexdigest() + Path(name).suffix.lower())
        target.write_bytes(data)
        return target

    def _fail(
        self, row: FileRow, existing: FileRow | None, name: str, exc: Exception, staged: Path | None
    ) -> None:
        error = one_line(exc)
        if staged is not None:
            staged.unlink(missing_ok=True)
        if existing is not None and existing.status == "done":
            error = f"{error} (the previous version stays indexed)"
        else:
            self.kb.catalog.upsert_file(self.kb.kb_id, name, status="failed", error=error)
        self._report(FileReport(name=name, status="failed", error=error))

    def _flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        catalog, store = self.kb.catalog, self.kb.store
        for p in batch:
            catalog.upsert_file(self.kb.kb_id, p.row.name, status="embedding")
        texts = [c.text for p in batch for c in p.chunks]
        vectors = self.kb.embedder.embed_documents(texts)
        old_ids = [v for p in batch if p.row.id is not None for v in catalog.vector_ids_of_file(p.row.id)]
        store.delete(old_ids)
        store.add(np.asarray([c.vector_id for p in batch for c in p.chunks], dtype=np.int64), vectors)
        store.persist()
        catalog.commit_files(self.kb.kb_id, [(p.row, p.chunks, _committed_fields(p)) for p in batch])
        for p in batch:
            if p.staged is not None:
                target = self.kb.content_dir / p.row.name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(p.staged, target)
            self._report(FileReport(name=p.row.name, status="done", chunks=len(p.chunks), pages=p.pages))

    def _sync(self, paths: Sequence[Path], seen: set[Path]) -> None:
        folders = [Path(p).resolve() for p in paths if Path(p).is_dir()]
        gone = [
            row
            for row in self.kb.files()
            if row.origin
            and any(Path(row.origin).is_relative_to(f) for f in folders)
            and Path(row.origin) not in seen
            and not Path(row.origin).exists()
        ]
        self.kb.remove_files(gone)
        for row in gone:
            self._report(FileReport(name=row.name, status="removed", chunks=row.chunks))


def _unique(found: Iterator[tuple[Path, str]]) -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
    """Split into (files to ingest, name clashes): the same file given twice counts once; a different
    file that would get a name already taken in this run is a clash (the first one wins)."""
    names: dict[str, Path] = {}
    clashes = []
    for path, name in found:
        if name not in names:
            names[name] = path
        elif names[name] != path:
            clashes.append((path, name))
    return [(path, name) for name, path in names.items()], clashes


def _committed_fields(pending: _Pending) -> dict[str, Any]:
    """What the catalog records for a file once its new chunks commit (a changed file's new hash too,
    so the next run skips it)."""
    row = pending.row
    return {"pages": pending.pages, "sha256": row.sha256, "size": row.size, "origin": row.origin}
