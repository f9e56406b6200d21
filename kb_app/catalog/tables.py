"""SQLModel tables. The catalog is the source of truth: the vector index can always be rebuilt from it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, UniqueConstraint
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
    size: int = Field(0, sa_type=BigInteger)
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
    vector_id: int = Field(index=True, sa_type=BigInteger)  # 60 bits (schema.vector_id_of): not INTEGER
    ordinal: int
    text: str
    page: int | None = None
    heading: str = ""  # heading path joined with ' > '
    char_start: int = 0
    char_end: int = 0
    enabled: bool = True


class IngestJobRow(SQLModel, table=True):
    """One staged file waiting for, or done with, background ingestion (`kb_app.jobs`)."""

    __tablename__ = "ingest_job"

    id: int | None = Field(default=None, primary_key=True)
    kb_name: str = Field(index=True)
    filename: str
    path: str  # the staged file to ingest
    status: str = Field(default="queued", index=True)  # queued | parsing | embedding | done | failed
    error: str | None = None
    note: str = ""  # why a done job changed nothing (same content as another file, unchanged)
    progress: float = 0.0  # 0..1
    pages_done: int | None = None
    pages_total: int | None = None
    chunks: int | None = None
    user: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class KBSettingsRow(SQLModel, table=True):
    """Per-KB options added after `knowledge_base` existed: a table of their own, so an older catalog
    gains it by `create_all` instead of needing a column migration."""

    __tablename__ = "kb_settings"

    kb_id: int = Field(foreign_key="knowledge_base.id", primary_key=True, ondelete="CASCADE")
    faq_mode: bool = False
    faq_threshold: float | None = None  # None: kb_app.faq_mode.DEFAULT_FAQ_THRESHOLD
    chunk_size: int | None = None  # None: the configured KB_CHUNKING__CHUNK_SIZE (kb_app.kb_chunking)
    chunk_overlap: int | None = None


class ConversationRow(SQLModel, table=True):
    """One chat of one user with one or more knowledge bases (`kb_app.conversations`)."""

    __tablename__ = "conversation"

    id: int | None = Field(default=None, primary_key=True)
    user: str = Field(index=True)
    kb_names: str = ""  # comma-joined (KB names cannot hold commas)
    title: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class MessageRow(SQLModel, table=True):
    """One message of a conversation, with the citations and the user's feedback of an answer."""

    __tablename__ = "conversation_message"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True, ondelete="CASCADE")
    role: str  # user | assistant
    text: str
    citations_json: str = "[]"
    sentences_json: str = "[]"  # an answer's SentenceSupport list: which sentences no source supports
    refused: bool = False
    kind: str = ""  # an assistant answer's Answer.kind ("generated", "faq")
    created_at: datetime = Field(default_factory=utcnow)
    feedback: int = 0  # -1 | 0 | +1
    feedback_note: str = ""
