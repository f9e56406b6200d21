"""Hit testing (search) and questions (ask), as JSON or server-sent events."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from kb_app.api.deps import Reader, container_of
from kb_app.api.models import AnswerOut, AskRequest, Hit, SearchOut, SearchRequest, dump
from kb_app.api.streaming import ClosingStreamingResponse, answer_events, final_answer, guarded, sse
from kb_app.footnotes import strip_footnotes
from kb_app.qa import StreamEvent

router = APIRouter(tags=["search and ask"])
Container = Annotated[Any, Depends(container_of)]

_SSE_DOC = {
    "content": {"text/event-stream": {"example": 'event: delta\ndata: {"text": "ChatGLM"}\n\n'}},
    "description": "With stream=true: `delta` events ({text}), then one `answer` event (AnswerOut), or "
    "an `error` event ({detail}).",
}


@router.post("/kbs/{name}/search", response_model=SearchOut)
def search(name: str, body: SearchRequest, _: Reader, container: Container) -> SearchOut:
    """The chunks retrieval finds, best first, with 0..1 scores and whether ask would use them."""
    kb = container.open_kb(name)
    qa = container.qa(kb.name)
    query = qa.check_question(body.query)
    hits = qa.retriever.search(query, top_k=body.top_k)
    return SearchOut(threshold=qa.threshold, hits=[Hit.of(h, qa.threshold) for h in hits])


@router.post("/kbs/{name}/ask", response_model=AnswerOut, responses={200: _SSE_DOC})
async def ask(name: str, body: AskRequest, _: Reader, request: Request) -> Response:
    """Answer from the knowledge base with citations; `stream: true` streams the text as it is written.
    Closing the connection stops the model."""
    container = container_of(request)
    qa = await run_in_threadpool(container.qa, name)  # 404 for a missing KB before any streaming
    question = qa.check_question(body.question)
    history = [(t.question, strip_footnotes(t.answer)) for t in body.history]
    events = answer_events(container, request.app.state.answer_slot, name, question, history)
    if not body.stream:
        return JSONResponse(dump(AnswerOut.of(await final_answer(events))))
    return ClosingStreamingResponse(
        guarded(_as_sse(events), lambda msg: sse({"detail": msg}, "error")), media_type="text/event-stream"
    )


async def _as_sse(events: AsyncGenerator[StreamEvent, None]) -> AsyncGenerator[str, None]:
    async with aclosing(events):
        async for event in events:
            if event.text:
                yield sse({"text": event.text}, "delta")
            if event.answer is not None:
                yield sse(dump(AnswerOut.of(event.answer)), "answer")
