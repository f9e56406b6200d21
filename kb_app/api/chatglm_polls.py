"""Answers generated in the background and collected by polling, as ChatGLM `stream_api.py` clients do:
start with a request id, then ask for "the response so far" until it is finished.

Each answer runs as an asyncio task over `answer_events` (so the model itself runs in worker threads and
one answer at a time); `close()` cancels them on shutdown, which closes the model's stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import anyio
from fastapi import HTTPException

from kb_app.api.errors import status_of
from kb_app.errors import AlreadyExists, KBError, NotFound
from kb_app.qa import StreamEvent
from kb_app.schema import Answer

log = logging.getLogger(__name__)
SHUTDOWN_MESSAGE = "The server is shutting down, so this answer was stopped; ask again when it is back."


@dataclass
class PollEntry:
    """One background answer: the text so far, then the final Answer (or an error)."""

    owner: str
    request_id: str
    prompt: str
    history: list[Any]
    text: str = ""
    answer: Answer | None = None
    error: tuple[int, str] | None = None  # (HTTP status, message)
    finished_at: float | None = None
    delivered: bool = False  # the finished answer was returned to its client once
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    # An anyio scope, not task.cancel(): its cancellation waits for the model's current piece to return
    # from its worker thread, so the model's stream is closed between pieces, never while executing.
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope, repr=False)

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


class PollRegistry:
    """Background answers by (owner, request id): at most `capacity` running or uncollected ones; finished
    ones are forgotten `expire_s` seconds after they finished.

    Args:
        capacity: Requests kept at once; a new one beyond that is refused with 429.
        expire_s: Seconds a finished answer stays available.
        clock: Monotonic seconds (tests pass a fake one).
    """

    def __init__(self, capacity: int, expire_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = max(1, capacity)
        self.expire_s = expire_s
        self._clock = clock
        self._entries: dict[tuple[str, str], PollEntry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, owner: str, request_id: str) -> PollEntry:
        """The caller's entry; NotFound (404) for ids of other users, unknown or expired ones."""
        self._expire()
        entry = self._entries.get((owner, request_id))
        if entry is None:
            raise NotFound(
                f"No request '{request_id}' of yours is known: start it with POST /chat first. Finished "
                f"answers are kept {self.expire_s:.0f} s (KB_CHATGLM_EXPIRE_S)."
            )
        return entry

    def start(self, entry: PollEntry, events: AsyncGenerator[StreamEvent, None]) -> None:
        """Run `events` in the background, recording into `entry` (call from the event loop)."""
        key = (entry.owner, entry.request_id)
        self._expire()
        previous = self._entries.get(key)
        if previous is not None and not previous.finished:
            raise AlreadyExists(
                f"Request '{entry.request_id}' is still running; poll it with POST /get_response, "
                "or start another with a new request_id."
            )
        self._entries.pop(key, None)
        if len(self._entries) >= self.capacity:
            self._drop_delivered()
        if len(self._entries) >= self.capacity:
            raise HTTPException(
                429,
                f"{len(self._entries)} answers are running or waiting to be collected (the limit is "
                f"{self.capacity}, KB_CHATGLM_QUEUE). Collect finished ones with POST /get_response or "
                "retry in a few seconds.",
                headers={"Retry-After": "5"},
            )
        entry.task = asyncio.create_task(self._run(entry, events), name=f"chatglm-{entry.request_id}")
        self._entries[key] = entry

    async def close(self) -> None:
        """Cancel the running answers (each stops after its current piece) and wait for them."""
        running = [e for e in self._entries.values() if e.task is not None and not e.task.done()]
        for entry in running:
            entry.scope.cancel()
        await asyncio.gather(*(e.task for e in running if e.task is not None), return_exceptions=True)

    async def _run(self, entry: PollEntry, events: AsyncGenerator[StreamEvent, None]) -> None:
        try:
            with entry.scope:
                async with aclosing(events):
                    async for event in events:
                        entry.text += event.text
                        entry.answer = event.answer or entry.answer
            if entry.answer is None and entry.scope.cancel_called:
                entry.error = (503, SHUTDOWN_MESSAGE)
            elif entry.answer is None:
                entry.error = (500, "The answer ended without a result; see the server log.")
        except KBError as exc:
            entry.error = (status_of(exc), str(exc))
        except Exception as exc:  # a background task has no caller that would report this
            log.exception("Background answer %r failed", entry.request_id)
            entry.error = (500, f"Answering failed ({type(exc).__name__}); see the server log.")
        finally:
            entry.finished_at = self._clock()

    def _expire(self) -> None:
        now = self._clock()
        for key, entry in list(self._entries.items()):
            if entry.finished_at is not None and now - entry.finished_at > self.expire_s:
                del self._entries[key]

    def _drop_delivered(self) -> None:
        # Clients stop polling once they got the finished answer; those entries need not wait to expire.
        for key, entry in list(self._entries.items()):
            if entry.finished and entry.delivered:
                del self._entries[key]
