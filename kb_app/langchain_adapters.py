"""LangChain adapters: a knowledge base as a `BaseRetriever`, the QA service as a `Runnable`.

LangChain types live only in this module; nothing in our own Protocols depends on them, so a
LangChain upgrade cannot ripple through the code. Import this module only when you use LangChain.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import ConfigDict

from kb_app.schema import Answer, ScoredChunk


def to_document(hit: ScoredChunk) -> Document:
    """A retrieved chunk as a LangChain Document (score and location in metadata)."""
    c = hit.chunk
    return Document(
        page_content=c.text,
        id=c.chunk_id,
        metadata={
            "source": c.source,
            "page": c.page,
            "heading_path": list(c.heading_path),
            "score": hit.score,
        },
    )


class KnowledgeBaseRetriever(BaseRetriever):
    """Use a kb-app knowledge base anywhere LangChain expects a retriever.

    Example:
        >>> from kb_app.container import Container
        >>> container = Container()
        >>> kb = container.open_kb("samples")
        >>> retriever = KnowledgeBaseRetriever(retriever=container.retriever(kb), top_k=3)
        >>> docs = retriever.invoke("ChatGLM-6B 基于什么架构？")  # doctest: +SKIP
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any
    top_k: int = 5

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [to_document(hit) for hit in self.retriever.search(query, top_k=self.top_k)]


class QAChain(Runnable[str | dict[str, Any], dict[str, Any]]):
    """The QA service as a Runnable: a question (or {"question", "history"}) in, Answer.to_dict() out."""

    def __init__(self, qa: Any) -> None:
        self.qa = qa

    def invoke(
        self, input: str | dict[str, Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        question, history = (
            (input, []) if isinstance(input, str) else (input["question"], input.get("history", []))
        )
        answer: Answer = self.qa.ask(question, history=[tuple(turn) for turn in history])
        return answer.to_dict()
