"""Per-KB chunk size: two nullable columns on kb_settings (NULL: the configured default); the
per-sentence support of stored answers (conversation_message.sentences_json, "[]" for old rows).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 19:10:06.373333
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kb_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chunk_size", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("chunk_overlap", sa.Integer(), nullable=True))
    with op.batch_alter_table("conversation_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sentences_json", sa.String(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("conversation_message", schema=None) as batch_op:
        batch_op.drop_column("sentences_json")
    with op.batch_alter_table("kb_settings", schema=None) as batch_op:
        batch_op.drop_column("chunk_overlap")
        batch_op.drop_column("chunk_size")
