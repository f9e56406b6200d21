"""ChatGLM-compatible endpoints, so that clients written for ChatGLM's demo servers work unchanged.

- `POST /`: ChatGLM-6B / ChatGLM2 `api.py` (`{"prompt", "history"}` -> `{"response", "history", "status",
  "time"}`); history as [[question, answer], ...] or ChatGLM3's role/content messages.
- `POST /chat` + `POST /get_response`: `stream_api.py` habits: start an answer under a request id, then
  poll the text written so far until `finished`.

Answers come from the knowledge base `kb`, or KB_DEFAULT_KB. The sources are a footnote in `response` and a
`citations` list; the history sent back holds the answer without the footnote.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from kb_app.api.chatglm_polls import PollEntry, PollRegistry
from kb_app.api.deps import Access, Anyone, check_kb, container_of
from kb_app.api.errors import error_body
from kb_app.api.streaming import answer_events, final_answer
from kb_app.chat_history import extend_history, normalize_history
from kb_app.errors import KnowledgeBaseNotFound
from kb_app.footnotes import with_footnotes
from kb_app.schema import Answer

log = logging.getLogger(__name__)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    try:
        yield
    finally:
        polls = getattr(app.state, "chatglm_polls", None)
        if polls is not None:
            await polls.close()  # stop background answers, so the model is free when the server exits


router = APIRouter(tags=["chatglm"], lifespan=_lifespan)


class GLMRequest(BaseModel):
    """ChatGLM `api.py`'s request; max_length, top_p and temperature are accepted and ignored (the
    server's KB_LLM__* settings apply)."""

    model_config = ConfigDict(extra="allow")
    prompt: str = Field(max_length=20000, examples=["年假需要提前几天申请？"])
    history: list[Any] | None = Field(
        None, max_length=100, description='[["question", "answer"], ...] or [{"role", "content"}, ...]'
    )
    kb: str | None = Field(None, max_length=256, description="Knowledge base; default KB_DEFAULT_KB.")
    max_length: int | None = None
    top_p: float | None = None
    temperature: float | None = None


class PollStart(GLMRequest):
    request_id: str | None = Field(None, max_length=128, description="Your id for it; default: a new one.")


class PollRequest(BaseModel):
    request_id: str = Field(max_length=128)


def _citations(answer: Answer) -> list[dict[str, Any]]:
    return [{"file": c.source, "page": c.page, "text": c.text, "score": c.score} for c in answer.citations]


def _polls(request: Request) -> PollRegistry:
    state = request.app.state
    if getattr(state, "chatglm_polls", None) is None:
        settings = container_of(request).settings
        state.chatglm_polls = PollRegistry(settings.chatglm_queue, settings.chatglm_expire_s)
    polls: PollRegistry = state.chatglm_polls
    return polls


async def _events(body: GLMRequest, principal: Any, request: Request) -> Any:
    """The answer's StreamEvents; access, the KB and the question are checked before anything runs."""
    container = container_of(request)
    kb_name = check_kb(principal, body.kb or container.settings.default_kb, Access.READ)
    history = normalize_history(body.history)
    try:
        qa = await run_in_threadpool(container.qa, kb_name)
    except KnowledgeBaseNotFound as exc:
        if body.kb:
            raise
        raise KnowledgeBaseNotFound(
            f'{exc} Requests without "kb" use KB_DEFAULT_KB; name a knowledge base with "kb" in the body.'
        ) from None
    question = qa.check_question(body.prompt)
    return answer_events(container, request.app.state.answer_slot, kb_name, question, history)


@router.post("/")
async def chatglm_chat(body: GLMRequest, principal: Anyone, request: Request) -> dict[str, Any]:
    """ChatGLM `api.py`: the whole answer at once, sources as a footnote and in `citations`."""
    answer: Answer = await final_answer(await _events(body, principal, request))
    return {
        "response": with_footnotes(answer),
        "history": extend_history(body.history, body.prompt, answer.text),
        "status": 200,
        "time": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        "citations": _citations(answer),
        "refused": answer.refused,
    }


@router.post("/chat")
async def start_chat(body: PollStart, principal: Anyone, request: Request) -> dict[str, str]:
    """Start answering in the background; poll with POST /get_response and the same request_id."""
    request_id = body.request_id or uuid.uuid4().hex
    events = await _events(body, principal, request)
    entry = PollEntry(principal.username, request_id, body.prompt, list(body.history or []))
    _polls(request).start(entry, events)
    return {"request_id": request_id, "status": "started"}


@router.post("/get_response")
async def get_response(body: PollRequest, principal: Anyone, request: Request) -> Any:
    """The text written so far; when `finished`, the whole response with its footnote and citations."""
    entry = _polls(request).get(principal.username, body.request_id)
    reply: dict[str, Any] = {"request_id": entry.request_id, "finished": entry.finished, "status": 200}
    if entry.error is not None and entry.finished:
        entry.delivered = True
        status, message = entry.error
        reply.update(error_body(status, message), response=entry.text, status=status)
        reply["history"] = extend_history(entry.history, entry.prompt, entry.text)
        return JSONResponse(reply, status_code=status)
    if entry.answer is None or not entry.finished:
        reply.update(response=entry.text, history=extend_history(entry.history, entry.prompt, entry.text))
        return reply
    entry.delivered = True
    reply.update(
        response=with_footnotes(entry.answer),
        history=extend_history(entry.history, entry.prompt, entry.answer.text),
        citations=_citations(entry.answer),
        refused=entry.answer.refused,
    )
    return reply
