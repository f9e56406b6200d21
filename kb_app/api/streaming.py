"""Answer streams for HTTP: blocking generation in worker threads, one answer at a time, and the model
stopped as soon as the client goes away."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Sequence
from contextlib import aclosing
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from kb_app.errors import KBError
from kb_app.faq_mode import faq_answer
from kb_app.qa import StreamEvent

log = logging.getLogger(__name__)


class ClosingStreamingResponse(StreamingResponse):
    """A StreamingResponse that always closes its body iterator, also when the client disconnected,
    so that the generator's `finally` (which stops the model) runs at once rather than at GC time."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                await aclose()


def sse(data: Any, event: str | None = None) -> str:
    """One server-sent event; `data` is JSON-encoded unless it is a str."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return (f"event: {event}\n" if event else "") + f"data: {payload}\n\n"


async def _pull(events: Generator[StreamEvent, None, None]) -> AsyncGenerator[StreamEvent, None]:
    try:
        while True:
            # A cancelled await waits for the running `next` to return, so `close` below never meets a
            # generator that is executing in another thread.
            event = await run_in_threadpool(next, events, None)
            if event is None:
                return
            yield event
    finally:
        events.close()


async def answer_events(
    container: Any, slot: asyncio.Lock, kb_name: str, question: str, history: Sequence[tuple[str, str]]
) -> AsyncGenerator[StreamEvent, None]:
    """The answer as StreamEvents: an FAQ match at once, else the QA stream (holding `slot`, since the
    local model serves one answer at a time)."""
    faq = await run_in_threadpool(faq_answer, container, kb_name, question)
    if faq is not None:
        yield StreamEvent(answer=faq)
        return
    qa = await run_in_threadpool(container.qa, kb_name)
    async with slot, aclosing(_pull(qa.stream(question, history))) as stream:
        async for event in stream:
            yield event


async def final_answer(events: AsyncGenerator[StreamEvent, None]) -> Any:
    answer = None
    async with aclosing(events):
        async for event in events:
            answer = event.answer or answer
    return answer


async def guarded(events: AsyncGenerator[str, None], error_event: Any) -> AsyncIterator[str]:
    """Pass SSE strings through; a KBError mid-stream becomes one error event (the status is sent).
    Closing this generator closes `events` at once (and so the model's stream)."""
    try:
        async with aclosing(events):
            async for item in events:
                yield item
    except KBError as exc:
        log.warning("Answer stream failed: %s", exc)
        yield error_event(str(exc))
