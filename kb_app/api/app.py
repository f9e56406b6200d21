"""The FastAPI application: thin routes over the same services the CLI and UI call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from kb_app import __version__
from kb_app.api.chatglm import router as chatglm_router
from kb_app.api.errors import install_error_handlers
from kb_app.api.limits import JSON_BODY_LIMIT, DeclaredSizeLimit, upload_body_limit
from kb_app.api.routers import ask, auth, chunks, files, kbs, openai

DESCRIPTION = """
Ask questions about your own documents, with cited answers, offline.

**Authentication**: send `Authorization: Bearer TOKEN`. Get a token from `POST /auth/login` (user name and
password) or, on the server, `kb users token NAME`. With `KB_AUTH=off` no token is needed.

**Roles**: *admin* may do everything; *editor* manages files and chunks and asks in the knowledge bases
granted to them; *viewer* asks and searches in granted knowledge bases.

**OpenAI-compatible**: `POST /v1/chat/completions` with `model` = a knowledge-base name works with the
official `openai` client (`base_url=".../v1"`, `api_key=TOKEN`).
"""


def create_app(container: Any) -> FastAPI:
    """Build the API over `container` (a `kb_app.container.Container`). Starting the app (uvicorn, or a
    TestClient used as a context manager) starts the background ingest worker."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        container.jobs.start_worker()
        try:
            yield
        finally:
            # No new job after shutdown; one cut short is re-queued at the next start (jobs.recover_stale).
            container.jobs.stop_worker(timeout_s=5)

    app = FastAPI(
        title="kb-app",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.container = container
    # The local model writes one answer at a time; other questions wait here instead of in a thread.
    app.state.answer_slot = asyncio.Lock()
    install_error_handlers(app)
    for module in (auth, kbs, chunks, ask, openai):
        app.include_router(module.router, max_body_size=JSON_BODY_LIMIT)
    # Uploads are read before a handler sees them: cap the whole body (one file of the size limit fits).
    max_file_mb = int(container.settings.max_file_mb)
    app.include_router(files.router, max_body_size=upload_body_limit(max_file_mb))
    app.add_middleware(DeclaredSizeLimit, max_file_mb=max_file_mb)
    app.include_router(chatglm_router, max_body_size=JSON_BODY_LIMIT)  # ChatGLM api.py / stream_api.py

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness check; needs no token."""
        return {"status": "ok", "version": __version__}

    return app
