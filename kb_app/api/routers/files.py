"""Files of a knowledge base: upload (ingested in the background), list, download, delete, reindex;
and the ingest jobs' status."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Path, Request, Response, UploadFile
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from kb_app import curation
from kb_app.api.deps import Access, Anyone, Editor, Reader, check_kb, container_of
from kb_app.api.models import FileOut, JobOut, ReportOut
from kb_app.errors import KBError, NotFound

router = APIRouter(tags=["files"])
Container = Annotated[Any, Depends(container_of)]
MAX_FILES_PER_UPLOAD = 100
JobId = Annotated[int, Path(ge=1, lt=2**63, description="The id an upload returned.")]


class UploadTooLarge(KBError):
    """An upload over KB_MAX_FILE_MB (the API answers 413)."""


def existing_file(container: Any, kb_name: str, file: str) -> str:
    """The file's name if the KB has it; NotFound (404) otherwise."""
    kb = container.open_kb(kb_name)
    if container.catalog.get_file(kb.kb_id, file) is None:
        raise NotFound(f"Knowledge base '{kb.name}' has no file '{file}' (see GET /kbs/{kb.name}/files).")
    return file


def _check_sizes(uploads: list[UploadFile], limit: int) -> None:
    if len(uploads) > MAX_FILES_PER_UPLOAD:
        raise KBError(f"At most {MAX_FILES_PER_UPLOAD} files per upload; split it into several requests.")
    for upload in uploads:
        if upload.size is not None and upload.size > limit:
            raise UploadTooLarge(
                f"'{upload.filename}' is {upload.size / 2**20:.1f} MiB; the limit is {limit / 2**20:.0f} MiB "
                "(KB_MAX_FILE_MB). Split the document or ask an administrator to raise the limit."
            )


@router.post("/kbs/{name}/files", status_code=202, response_model=list[JobOut])
async def upload_files(
    name: str,
    request: Request,
    principal: Editor,
    files: Annotated[list[UploadFile], File(description="One or more documents (pdf, docx, xlsx, ...).")],
) -> list[JobOut]:
    """Upload documents; each becomes a background ingest job (follow it with GET /jobs/{id})."""
    container = container_of(request)
    _check_sizes(files, int(container.settings.max_file_mb) * 2**20)
    kb = await run_in_threadpool(container.open_kb, name)
    staged = []
    for upload in files:
        filename = upload.filename or "upload"
        staged.append(await run_in_threadpool(container.jobs.stage_upload, kb.name, filename, upload.file))
    job_ids = await run_in_threadpool(container.jobs.submit, kb.name, staged, principal.username)
    return [JobOut.of(container.jobs.get(i)) for i in job_ids]


@router.get("/kbs/{name}/files", response_model=list[FileOut])
def list_files(name: str, _: Reader, container: Container) -> list[FileOut]:
    fields = FileOut.model_fields
    return [FileOut(**{k: getattr(f, k) for k in fields}) for f in container.open_kb(name).files()]


@router.get("/kbs/{name}/files/{file:path}/original", response_class=FileResponse)
def download_original(name: str, file: str, _: Reader, container: Container) -> FileResponse:
    """The file as it was uploaded."""
    path = curation.original_path(container, name, existing_file(container, name, file))
    return FileResponse(path, filename=path.name)


@router.post("/kbs/{name}/files/{file:path}/reindex", response_model=ReportOut)
def reindex_file(name: str, file: str, _: Editor, container: Container) -> ReportOut:
    """Parse, split and embed the file again from its original (waits until done). Chunk edits of the
    file are lost; the old version stays searchable if re-parsing fails."""
    report = curation.reindex_file(container, name, existing_file(container, name, file))
    return ReportOut(**{k: getattr(report, k) for k in ReportOut.model_fields})


@router.delete("/kbs/{name}/files/{file:path}", status_code=204)
def delete_file(name: str, file: str, _: Editor, container: Container) -> Response:
    """Remove the file, its chunks, vectors and stored original."""
    curation.delete_file(container, name, existing_file(container, name, file))
    return Response(status_code=204)


@router.get("/kbs/{name}/jobs", response_model=list[JobOut])
def list_jobs(name: str, _: Reader, container: Container) -> list[JobOut]:
    """The latest ingest jobs of this knowledge base, newest first."""
    return [JobOut.of(j) for j in container.jobs.jobs(container.open_kb(name).name)]


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: JobId, principal: Anyone, container: Container) -> JobOut:
    """One ingest job: queued | parsing | embedding | done | failed (with the error)."""
    try:
        job = container.jobs.get(job_id)
    except KBError as exc:
        raise NotFound(str(exc)) from None
    check_kb(principal, job.kb_name, Access.READ)
    return JobOut.of(job)
