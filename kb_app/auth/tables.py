"""Users, their knowledge-base grants and API tokens. `kb_app.catalog.store` imports this module so that
the catalog's `create_all` creates these tables too."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


def _utcnow() -> datetime:
    return datetime.now(UTC)


class UserRow(SQLModel, table=True):
    __tablename__ = "kb_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True)
    password_hash: str  # argon2id, parameters inside the hash
    role: str = "viewer"  # admin | editor | viewer
    created_at: datetime = Field(default_factory=_utcnow)
    disabled: bool = False


class GrantRow(SQLModel, table=True):
    """A user may use a knowledge base. Keyed by KB id so a rename keeps grants; a KB or user delete
    removes them (ON DELETE CASCADE)."""

    __tablename__ = "kb_grant"
    __table_args__ = (UniqueConstraint("user_id", "kb_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="kb_user.id", index=True, ondelete="CASCADE")
    kb_id: int = Field(foreign_key="knowledge_base.id", index=True, ondelete="CASCADE")


class ApiTokenRow(SQLModel, table=True):
    """An API token; only its sha256 is stored, the token itself is shown once."""

    __tablename__ = "kb_api_token"

    id: int | None = Field(default=None, primary_key=True)
    token_sha256: str = Field(index=True, unique=True)
    user_id: int = Field(foreign_key="kb_user.id", index=True, ondelete="CASCADE")
    name: str = ""
    created_at: datetime = Field(default_factory=_utcnow)
    last_used: datetime | None = None
