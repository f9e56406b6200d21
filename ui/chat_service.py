"""Answering a chat question over one or several knowledge bases, FAQ answers first.

Several KBs are searched one by one and their hits merged by score: every KB scores relevance on the same
0..1 scale (`kb_app.retrieval`), so the best passages win wherever they come from.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, cast

from kb_app.auth import Principal
from kb_app.container import Container
from kb_app.qa import StreamEvent
from kb_app.schema import ScoredChunk
from kb_app.ui.actions import ensure


class MergedRetriever:
    """Looks like one retriever to `QAService`; asks each KB's retriever and keeps the best hits."""

    def __init__(self, retrievers: Sequence[Any], top_k: int) -> None:
        self.retrievers = list(retrievers)
        self.top_k = top_k

    def search(self, query: str, top_k: int | None = None, fusion: str | None = None) -> list[ScoredChunk]:
        k = top_k or self.top_k
        hits = [
            hit for retriever in self.retrievers for hit in retriever.search(query, top_k=k, fusion=fusion)
        ]
        return sorted(hits, key=lambda hit: hit.score, reverse=True)[:k]


def qa_service(app: Container, kb_names: Sequence[str]) -> Any:
    """A QAService over the KBs; with several, the lowest of their thresholds applies (a KB with a strict
    threshold should not silence one with a lenient one)."""
    if len(kb_names) == 1:
        return app.qa(kb_names[0])
    from kb_app.qa import QAService

    kbs = [app.open_kb(name) for name in kb_names]
    top_k = app.settings.retrieval.top_k
    retriever = MergedRetriever([app.retriever(kb) for kb in kbs], top_k)
    return QAService(
        cast(Any, retriever),
        app.generator,
        threshold=min(app.threshold(kb) for kb in kbs),
        max_question_chars=app.settings.max_question_chars,
        context_tokens=app.settings.llm.context_tokens,
        max_new_tokens=app.settings.llm.max_new_tokens,
    )


def answer_events(
    app: Container,
    user: Principal,
    kb_names: Sequence[str],
    question: str,
    history: Sequence[tuple[str, str]] = (),
) -> Iterator[StreamEvent]:
    """Text pieces, then the final Answer: a stored FAQ answer when a KB in FAQ mode matches, else the
    usual retrieve-and-generate answer.

    Raises:
        PermissionDenied: when the user may not read one of the KBs.
    """
    from kb_app.faq_mode import faq_answer

    if not kb_names:
        raise ValueError("answer_events needs at least one knowledge base")
    for name in kb_names:
        ensure(user.can_read(name), f"ask knowledge base '{name}'")
    for name in kb_names:
        faq = faq_answer(app, name, question)
        if faq is not None:
            yield StreamEvent(answer=faq)
            return
    yield from qa_service(app, kb_names).stream(question, history)
