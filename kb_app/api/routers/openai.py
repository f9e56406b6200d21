"""OpenAI-compatible chat: `model` is a knowledge base ("manuals" or "kb:manuals"), the last user message
is the question and earlier user/assistant pairs are the history. Works with the official `openai`
client. Citations come as an extra top-level `citations` field and as a footnote in the text."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from kb_app.api.deps import Access, Anyone, check_kb, container_of
from kb_app.api.models import CitationOut, dump
from kb_app.api.streaming import ClosingStreamingResponse, answer_events, final_answer, guarded, sse
from kb_app.chat_history import normalize_history
from kb_app.errors import InvalidQuestion
from kb_app.footnotes import format_footnotes, support_note, with_footnotes
from kb_app.qa import StreamEvent
from kb_app.schema import Answer

router = APIRouter(tags=["openai"])
Container = Annotated[Any, Depends(container_of)]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str = Field(max_length=64)
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """The OpenAI request; sampling fields (temperature, max_tokens, ...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(max_length=256, description="A knowledge base: 'manuals' or 'kb:manuals'.")
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False


def _split(messages: list[ChatMessage]) -> tuple[str, list[tuple[str, str]]]:
    turns = [{"role": m.role, "content": m.text()} for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1]["role"] != "user":
        raise InvalidQuestion("The last message must be the user's question (role 'user').")
    return turns[-1]["content"], normalize_history(turns[:-1])


def _envelope(model: str, obj: str, ident: str) -> dict[str, Any]:
    return {"id": ident, "object": obj, "created": int(time.time()), "model": model}


def _citations(answer: Answer) -> list[dict[str, Any]]:
    return [dump(CitationOut.of(c)) for c in answer.citations]


@router.post("/v1/chat/completions", responses={200: {"content": {"text/event-stream": {}}}})
async def chat_completions(body: ChatRequest, principal: Anyone, request: Request) -> Response:
    """Answer the last user message from the knowledge base named by `model`."""
    container = container_of(request)
    kb_name = check_kb(principal, body.model.removeprefix("kb:"), Access.READ)
    question, history = _split(body.messages)
    qa = await run_in_threadpool(container.qa, kb_name)
    question = qa.check_question(question)
    events = answer_events(container, request.app.state.answer_slot, kb_name, question, history)
    ident = f"chatcmpl-{uuid.uuid4().hex}"
    if not body.stream:
        answer: Answer = await final_answer(events)
        text = with_footnotes(answer)
        message = {"role": "assistant", "content": text}
        choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        result = {**_envelope(body.model, "chat.completion", ident), "choices": [choice], "usage": usage}
        return JSONResponse({**result, "citations": _citations(answer), "refused": answer.refused})
    chunks = _chunks(events, _envelope(body.model, "chat.completion.chunk", ident))
    return ClosingStreamingResponse(
        guarded(chunks, lambda msg: sse({"error": {"message": msg, "type": "error"}})),
        media_type="text/event-stream",
    )


async def _chunks(
    events: AsyncGenerator[StreamEvent, None], envelope: dict[str, Any]
) -> AsyncGenerator[str, None]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return sse({**envelope, "choices": [choice], **extra})

    yield chunk({"role": "assistant", "content": ""})
    sent = ""
    async with aclosing(events):
        async for event in events:
            if event.text:
                sent += event.text
                yield chunk({"content": event.text})
            if event.answer is not None:
                answer = event.answer
                if not sent.strip():  # refused before the model, or an FAQ answer: nothing streamed yet
                    yield chunk({"content": answer.text})
                note = support_note(answer, streamed=bool(sent.strip()))
                if note:
                    yield chunk({"content": note})
                if not answer.refused and answer.citations:
                    yield chunk({"content": format_footnotes(answer.citations)})
                yield chunk({}, "stop", citations=_citations(answer), refused=answer.refused)
    yield sse("[DONE]")


@router.get("/v1/models")
def list_models(principal: Anyone, container: Container) -> dict[str, Any]:
    """The knowledge bases the caller may ask, as OpenAI models."""
    rows = [r for r in container.catalog.list_kbs() if principal.can_read(r.name)]
    data = [
        {"id": r.name, "object": "model", "created": int(r.created_at.timestamp()), "owned_by": "kb-app"}
        for r in rows
    ]
    return {"object": "list", "data": data}
