"""SQLModel tables. The catalog is the source of truth: the vector index can always be rebuilt from it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class KnowledgeBaseRow(SQLModel, table=True):
    __tablename__ = "knowledge_base"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    description: str = ""
    embedder_id: str
    threshold: float | None = None
    generation: int = 0  # bumped on every committed change; keys derived caches (BM25)
    created_at: datetime = Field(default_factory=utcnow)


class FileRow(SQLModel, table=True):
    __tablename__ = "kb_file"
    __table_args__ = (UniqueConstraint("kb_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    kb_id: int = Field(foreign_key="knowledge_base.id", index=True)
    name: str  # relative to the KB's content folder, '/'-separated
    origin: str = ""  # absolute path it was ingested from (for --sync)
    sha256: str = ""
    size: int = 0
    status: str = "queued"  # queued | parsing | embedding | done | failed
    error: str | None = None
    pages: int | None = None
    chunks: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


class ChunkRow(SQLModel, table=True):
    __tablename__ = "kb_chunk"

    chunk_id: str = Field(primary_key=True)
    kb_id: int = Field(foreign_key="knowledge_base.id", index=True)
    file_id: int = Field(foreign_key="kb_file.id", index=True)
    vector_id: int = Field(index=True)
    ordinal: int
    text: str
    page: int | None = None
    heading: str = ""  # heading path joined with ' > '
    char_start: int = 0
    char_end: int = 0
    enabled: bool = True
