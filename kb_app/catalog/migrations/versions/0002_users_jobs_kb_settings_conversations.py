"""Users, grants and API tokens; background ingest jobs; per-KB settings (FAQ mode); conversations.

New tables only: an existing catalog keeps every row. Grants and KB settings go with their KB
(ON DELETE CASCADE), tokens with their user, messages with their conversation.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:19:02.578448
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(), nullable=False),
        sa.Column("kb_names", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conversation_user"), ["user"], unique=False)

    op.create_table(
        "ingest_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kb_name", sa.String(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("pages_done", sa.Integer(), nullable=True),
        sa.Column("pages_total", sa.Integer(), nullable=True),
        sa.Column("chunks", sa.Integer(), nullable=True),
        sa.Column("user", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ingest_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingest_job_kb_name"), ["kb_name"], unique=False)
        batch_op.create_index(batch_op.f("ix_ingest_job_status"), ["status"], unique=False)

    op.create_table(
        "kb_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("kb_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_user_username"), ["username"], unique=True)

    op.create_table(
        "conversation_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("citations_json", sa.String(), nullable=False),
        sa.Column("refused", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("feedback", sa.Integer(), nullable=False),
        sa.Column("feedback_note", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conversation_message", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_message_conversation_id"), ["conversation_id"], unique=False
        )

    op.create_table(
        "kb_api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["kb_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("kb_api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_api_token_token_sha256"), ["token_sha256"], unique=True)
        batch_op.create_index(batch_op.f("ix_kb_api_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "kb_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kb_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["kb_id"], ["knowledge_base.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["kb_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "kb_id"),
    )
    with op.batch_alter_table("kb_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_grant_kb_id"), ["kb_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_grant_user_id"), ["user_id"], unique=False)

    op.create_table(
        "kb_settings",
        sa.Column("kb_id", sa.Integer(), nullable=False),
        sa.Column("faq_mode", sa.Boolean(), nullable=False),
        sa.Column("faq_threshold", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["kb_id"], ["knowledge_base.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("kb_id"),
    )


def downgrade() -> None:
    op.drop_table("kb_settings")
    with op.batch_alter_table("kb_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_grant_user_id"))
        batch_op.drop_index(batch_op.f("ix_kb_grant_kb_id"))

    op.drop_table("kb_grant")
    with op.batch_alter_table("kb_api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_api_token_user_id"))
        batch_op.drop_index(batch_op.f("ix_kb_api_token_token_sha256"))

    op.drop_table("kb_api_token")
    with op.batch_alter_table("conversation_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_message_conversation_id"))

    op.drop_table("conversation_message")
    with op.batch_alter_table("kb_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_user_username"))

    op.drop_table("kb_user")
    with op.batch_alter_table("ingest_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_job_status"))
        batch_op.drop_index(batch_op.f("ix_ingest_job_kb_name"))

    op.drop_table("ingest_job")
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_user"))

    op.drop_table("conversation")
