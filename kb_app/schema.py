"""The data model every stage speaks.

file -> loader -> SourceDocument(s) -> splitter -> Chunk(s) -> embedder/vector store
     -> retrieval -> ScoredChunk(s) -> prompting -> generator -> citations -> Answer

All records are frozen: a stage returns new records instead of changing the ones it got.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SourceDocument:
    """A unit of text that a loader read from one file: one page of a PDF, one section of a docx.

    Attributes:
        text: The text, already cleaned (Chinese hard wraps joined, control characters removed).
        source: The file name relative to the knowledge base's content folder.
        page: 1-based page (or slide) number, or None where a format has no pages.
        heading_path: Headings above this text, outermost first.
        metadata: Format-specific extras (encoding detected, sheet name, ...).
    """

    text: str
    source: str
    page: int | None = None
    heading_path: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def make_chunk_id(kb: str, source: str, ordinal: int, text: str) -> str:
    """A stable id: the same text at the same place of the same file always gets the same id."""
    digest = hashlib.blake2b(digest_size=12)
    for part in (kb, source, str(ordinal), text):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def vector_id_of(chunk_id: str) -> int:
    """The int64 id a vector store keys this chunk by (the first 60 bits of the chunk id)."""
    return int(chunk_id[:15], 16)


@dataclass(frozen=True)
class Chunk:
    """A piece of a document small enough to embed and to quote as a source.

    Attributes:
        chunk_id: See `make_chunk_id`.
        text: The chunk's text.
        source: File name relative to the knowledge base's content folder.
        page: 1-based page number or None.
        heading_path: Headings above the chunk, outermost first.
        ordinal: Position of the chunk within its file, from 0.
        char_start: Offset of the chunk in its SourceDocument's text.
        char_end: End offset (exclusive) in its SourceDocument's text.
    """

    chunk_id: str
    text: str
    source: str
    page: int | None = None
    heading_path: tuple[str, ...] = ()
    ordinal: int = 0
    char_start: int = 0
    char_end: int = 0

    @property
    def vector_id(self) -> int:
        return vector_id_of(self.chunk_id)


@dataclass(frozen=True)
class ScoredChunk:
    """A chunk found for a query.

    Attributes:
        chunk: The chunk.
        score: Relevance on one 0..1 scale, higher is better, comparable with the KB's threshold.
        dense_score: The embedder's raw cosine similarity (diagnostics only).
        keyword_score: BM25 score normalised to 0..1 by the query's best possible score (diagnostics).
        rerank_score: The cross-encoder's score when a reranker ordered this hit (diagnostics; the order
            follows it, `score` stays the relevance the threshold compares against).
    """

    chunk: Chunk
    score: float
    dense_score: float | None = None
    keyword_score: float | None = None
    rerank_score: float | None = None


@dataclass(frozen=True)
class Citation:
    """A source an answer relies on, as shown to users and returned by the API."""

    source: str
    page: int | None
    chunk_id: str
    score: float
    text: str

    @classmethod
    def from_scored(cls, scored: ScoredChunk) -> Citation:
        c = scored.chunk
        return cls(
            source=c.source, page=c.page, chunk_id=c.chunk_id, score=round(scored.score, 4), text=c.text
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "page": self.page,
            "chunk_id": self.chunk_id,
            "score": self.score,
            "text": self.text,
        }


@dataclass(frozen=True)
class SentenceSupport:
    """One sentence of a generated answer and what backs it (`kb_app.citations.verify_answer`).

    Attributes:
        cited: 1-based numbers of the answer's citations that contain this sentence's content.
        supported: False when no retrieved passage backs the sentence: shown flagged to the user.
    """

    text: str
    cited: tuple[int, ...] = ()
    supported: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "citations": list(self.cited), "supported": self.supported}


# Why an answer was refused: nothing relevant was retrieved (the model did not run); the model said the
# passages do not hold the answer; no sentence of its answer is in the passages; or the passages that
# hold its answer are not about what was asked (kb_app.question_match).
REFUSAL_REASONS = ("no_relevant", "model", "unsupported", "off_question")


@dataclass(frozen=True)
class Answer:
    """What a question gets back.

    Attributes:
        kind: Where the text comes from: "generated" by the model, or "faq", a stored FAQ answer
            returned as it is (`kb_app.faq_mode`).
        sentences: A generated answer's sentences with their citations and support (empty for
            refusals and FAQ answers).
        reason: Why an answer was refused, one of REFUSAL_REASONS ("" when it was not).
    """

    text: str
    citations: tuple[Citation, ...] = ()
    refused: bool = False
    kind: str = "generated"
    sentences: tuple[SentenceSupport, ...] = ()
    reason: str = ""

    @property
    def unsupported(self) -> list[str]:
        """The sentences no retrieved passage supports."""
        return [s.text for s in self.sentences if not s.supported]

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "sentences": [s.to_dict() for s in self.sentences],
            "refusal_reason": self.reason or None,
        }


@dataclass(frozen=True)
class FileReport:
    """The outcome of ingesting one file."""

    name: str
    status: str  # "done", "skipped", "failed", "removed"
    chunks: int = 0
    pages: int | None = None
    error: str | None = None
