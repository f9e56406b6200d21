"""Request and response bodies (they make the OpenAPI schema at /docs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from kb_app.schema import Answer, Citation, ScoredChunk


class LoginRequest(BaseModel):
    username: str = Field(max_length=256)
    password: str = Field(max_length=1024)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    username: str
    role: str


class MeOut(BaseModel):
    username: str
    role: str
    kbs: list[str]
    auth_enabled: bool


class KBCreate(BaseModel):
    name: str = Field(max_length=256, examples=["员工手册"])
    description: str = Field("", max_length=2000)
    chunk_size: int | None = Field(
        None, ge=50, le=4000, description="Characters per chunk for this KB (default: the configured size)."
    )
    chunk_overlap: int | None = Field(
        None, ge=0, le=2000, description="Characters of overlap (at most half the chunk size)."
    )


class KBPatch(BaseModel):
    name: str | None = Field(None, max_length=256, description="New name (rename).")
    description: str | None = Field(None, max_length=2000)


class KBOut(BaseModel):
    name: str
    description: str
    embedder_id: str
    files: int
    chunks: int
    disabled_chunks: int = 0
    threshold: float = Field(description="0..1 relevance below which questions are refused.")
    calibrated: bool = Field(False, description="Whether the threshold was fitted for this KB.")
    chunk_size: int = Field(300, description="Characters per chunk when this KB's files are split.")
    chunk_overlap: int = 50
    created_at: datetime | None = None


class FileOut(BaseModel):
    name: str
    status: str
    error: str | None
    pages: int | None
    chunks: int
    size: int
    updated_at: datetime | None


class JobOut(BaseModel):
    id: int
    kb: str
    file: str
    status: str = Field(description="queued | parsing | embedding | done | failed")
    error: str | None = None
    note: str = Field("", description="Why a done job changed nothing (duplicate, unchanged).")
    progress: float = Field(0.0, description="0..1")
    pages_done: int | None = None
    pages_total: int | None = None
    chunks: int | None = None
    user: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def of(cls, job: Any) -> JobOut:
        fields = {k: getattr(job, k) for k in cls.model_fields if k not in ("kb", "file")}
        return cls(kb=job.kb_name, file=job.filename, **fields)


class ReportOut(BaseModel):
    name: str
    status: str = Field(description="done | skipped | failed")
    chunks: int
    pages: int | None
    error: str | None


class UploadOut(BaseModel):
    jobs: list[JobOut]


class ChunkOut(BaseModel):
    chunk_id: str
    ordinal: int
    text: str
    page: int | None
    heading_path: list[str]
    enabled: bool = True


class ChunkPatch(BaseModel):
    text: str | None = Field(None, max_length=20000, description="New text (re-embedded).")
    enabled: bool | None = Field(None, description="false hides the chunk from retrieval.")


class SearchRequest(BaseModel):
    query: str = Field(max_length=20000, examples=["ChatGLM-6B 基于什么架构？"])
    top_k: int = Field(5, ge=1, le=100)


class Hit(BaseModel):
    chunk_id: str
    text: str
    source: str
    page: int | None
    heading_path: list[str]
    score: float = Field(description="Relevance on a 0..1 scale, higher is better.")
    dense_score: float | None = None
    keyword_score: float | None = None
    passes_threshold: bool = Field(description="Whether ask would use this chunk (score >= threshold).")

    @classmethod
    def of(cls, hit: ScoredChunk, threshold: float) -> Hit:
        c = hit.chunk
        return cls(
            chunk_id=c.chunk_id,
            text=c.text,
            source=c.source,
            page=c.page,
            heading_path=list(c.heading_path),
            score=round(hit.score, 4),
            dense_score=hit.dense_score,
            keyword_score=hit.keyword_score,
            passes_threshold=hit.score >= threshold,
        )


class SearchOut(BaseModel):
    threshold: float
    hits: list[Hit]


class Turn(BaseModel):
    question: str = Field(max_length=20000)
    answer: str = Field(max_length=100000)


class AskRequest(BaseModel):
    question: str = Field(max_length=20000, examples=["ChatGLM-6B 基于什么架构？"])
    history: list[Turn] = Field(default_factory=list, max_length=50)
    stream: bool = Field(False, description="true: text/event-stream of `delta` events, then `answer`.")


class CitationOut(BaseModel):
    source: str
    page: int | None
    chunk_id: str
    score: float
    text: str

    @classmethod
    def of(cls, c: Citation) -> CitationOut:
        return cls(**c.to_dict())


class SentenceOut(BaseModel):
    text: str
    citations: list[int] = Field(description="1-based numbers into `citations` of the passages backing it.")
    supported: bool = Field(description="false: no retrieved passage supports this sentence.")


class AnswerOut(BaseModel):
    answer: str
    refused: bool = Field(description="true: nothing relevant was found; citations are the closest text.")
    kind: str = Field("generated", description="generated (by the model) | faq (a stored FAQ answer)")
    citations: list[CitationOut]
    sentences: list[SentenceOut] = Field(
        default_factory=list, description="A generated answer's sentences with their citations."
    )
    refusal_reason: str | None = Field(
        None,
        description="Why a refused answer was refused: no_relevant (nothing above the KB's threshold; the "
        "model did not run) | model (the model said the passages do not hold it) | unsupported (nothing "
        "the model wrote is in the passages) | off_question (the passages it used are not about the "
        "question).",
    )

    @classmethod
    def of(cls, a: Answer) -> AnswerOut:
        citations = [CitationOut.of(c) for c in a.citations]
        sentences = [SentenceOut(**s.to_dict()) for s in a.sentences]
        return cls(
            answer=a.text,
            refused=a.refused,
            kind=a.kind,
            citations=citations,
            sentences=sentences,
            refusal_reason=a.reason or None,
        )


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
