"""Request body limits with a message that says what to do. FastAPI's own `max_body_size` still backs
them up (for bodies sent without a Content-Length), with its terse "Content Too Large"."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from kb_app.api.errors import error_body

JSON_BODY_LIMIT = 16 * 2**20


def upload_body_limit(max_file_mb: int) -> int:
    """Largest upload request: room for two files of the per-file limit, plus form overhead."""
    return 2 * max_file_mb * 2**20 + 2**20


def is_upload(scope: Scope) -> bool:
    return scope["method"] == "POST" and str(scope["path"]).rstrip("/").endswith("/files")


class DeclaredSizeLimit:
    """Answer 413 with a clear message when Content-Length is over the limit, before reading the body."""

    def __init__(self, app: ASGIApp, max_file_mb: int) -> None:
        self.app = app
        self.max_file_mb = max_file_mb

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = Headers(scope=scope).get("content-length", "")
            upload = is_upload(scope)
            limit = upload_body_limit(self.max_file_mb) if upload else JSON_BODY_LIMIT
            if length.isdigit() and int(length) > limit:
                message = f"The request is {int(length) / 2**20:.1f} MiB; " + (
                    f"upload at most {self.max_file_mb} MiB per file (KB_MAX_FILE_MB), in several "
                    "requests if need be."
                    if upload
                    else f"the limit is {JSON_BODY_LIMIT // 2**20} MiB."
                )
                await JSONResponse(error_body(413, message), status_code=413)(scope, receive, send)
                return
        await self.app(scope, receive, send)
