"""Chat history in the shapes ChatGLM users pass around, turned into the (question, answer) pairs that
`QAService` takes.

ChatGLM-6B and ChatGLM2 use `[(query, response), ...]` (tuples, or lists after a JSON round trip);
ChatGLM3 and OpenAI clients use `[{"role": "user", "content": ...}, {"role": "assistant", ...}]`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kb_app.errors import KBError
from kb_app.footnotes import strip_footnotes

Pairs = list[tuple[str, str]]


class InvalidHistory(KBError):
    """History that is neither (query, response) pairs nor role/content messages."""


def _pairs_from_messages(messages: Sequence[Mapping[str, Any]]) -> Pairs:
    pairs: Pairs = []
    question: str | None = None
    for message in messages:
        role, content = message.get("role"), str(message.get("content") or "")
        if role == "user":
            question = content
        elif role == "assistant" and question is not None:
            pairs.append((question, content))
            question = None
    return pairs  # system/tool messages and an unanswered last question carry no finished turn


def normalize_history(history: Sequence[Any] | None) -> Pairs:
    """(question, answer) pairs with our own citation footnotes removed from the answers.

    Raises:
        InvalidHistory: for anything but pairs or role/content dicts.
    """
    if not history:
        return []
    if all(isinstance(item, Mapping) for item in history):
        pairs = _pairs_from_messages(history)
    else:
        pairs = []
        for item in history:
            if isinstance(item, str | bytes | Mapping) or not isinstance(item, Sequence) or len(item) != 2:
                raise InvalidHistory(
                    f"History item {item!r} is not a (question, answer) pair. Pass history as "
                    '[("问题", "回答"), ...] or [{"role": "user", "content": "问题"}, ...].'
                )
            pairs.append((str(item[0] or ""), str(item[1] or "")))
    return [(q, strip_footnotes(a)) for q, a in pairs]


def extend_history(history: Sequence[Any] | None, query: str, response: str) -> list[Any]:
    """A new history list with this turn appended, in the shape the caller used (pairs by default)."""
    past = list(history or [])
    if past and all(isinstance(item, Mapping) for item in past):
        return [*past, {"role": "user", "content": query}, {"role": "assistant", "content": response}]
    return [*past, (query, response)]
