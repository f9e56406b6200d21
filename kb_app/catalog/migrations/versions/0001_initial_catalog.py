"""Initial catalog: knowledge bases, files and chunks, as every kb-app before migrations created them.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 15:37:08.807364
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "knowledge_base",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("embedder_id", sa.String(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("knowledge_base", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_knowledge_base_name"), ["name"], unique=True)

    op.create_table(
        "kb_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kb_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("origin", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["kb_id"],
            ["knowledge_base.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kb_id", "name"),
    )
    with op.batch_alter_table("kb_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_file_kb_id"), ["kb_id"], unique=False)

    op.create_table(
        "kb_chunk",
        sa.Column("chunk_id", sa.String(), nullable=False),
        sa.Column("kb_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("vector_id", sa.BigInteger(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.Column("heading", sa.String(), nullable=False),
        sa.Column("char_start", sa.Integer(), nullable=False),
        sa.Column("char_end", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["kb_file.id"],
        ),
        sa.ForeignKeyConstraint(
            ["kb_id"],
            ["knowledge_base.id"],
        ),
        sa.PrimaryKeyConstraint("chunk_id"),
    )
    with op.batch_alter_table("kb_chunk", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_chunk_file_id"), ["file_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_chunk_kb_id"), ["kb_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_chunk_vector_id"), ["vector_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kb_chunk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_chunk_vector_id"))
        batch_op.drop_index(batch_op.f("ix_kb_chunk_kb_id"))
        batch_op.drop_index(batch_op.f("ix_kb_chunk_file_id"))

    op.drop_table("kb_chunk")
    with op.batch_alter_table("kb_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_file_kb_id"))

    op.drop_table("kb_file")
    with op.batch_alter_table("knowledge_base", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_knowledge_base_name"))

    op.drop_table("knowledge_base")
