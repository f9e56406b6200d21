"""`kb catalog-copy`: an embedded SQLite catalog moves to PostgreSQL (or another SQLite file) whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from kb_app.auth.tables import GrantRow, UserRow
from kb_app.catalog import Catalog
from kb_app.catalog.copy import copy_catalog
from kb_app.catalog.metadata import catalog_metadata
from kb_app.catalog.tables import ConversationRow, IngestJobRow, KBSettingsRow, MessageRow
from kb_app.errors import KBError
from kb_app.schema import Chunk, make_chunk_id


def _fill(catalog: Catalog) -> list[Chunk]:
    """A small catalog touching every kind of table: KBs, files, chunks, users, grants, history, jobs."""
    chunks: list[Chunk] = []
    for kb_name in ("制度", "手册"):
        kb = catalog.create_kb(kb_name, "e", description=f"{kb_name}库")
        assert kb.id is not None
        for f in range(3):
            row = catalog.upsert_file(kb.id, f"{kb_name}{f}.md", status="embedding", size=2**33 + f)
            texts = [f"{kb_name}第{f}篇第{i}段：内容。" for i in range(4)]
            made = [
                Chunk(make_chunk_id(kb_name, row.name, i, t), t, row.name, ordinal=i)
                for i, t in enumerate(texts)
            ]
            catalog.commit_files(kb.id, [(row, made, {})])
            chunks += made
    with catalog.session() as s:
        user = UserRow(username="李四", password_hash="$argon2id$x", role="editor")
        conversation = ConversationRow(user="李四", kb_names="制度", title="年假")
        s.add_all([user, conversation])
        s.commit()
        assert user.id is not None and conversation.id is not None
        s.add_all(
            [
                GrantRow(user_id=user.id, kb_id=catalog.get_kb("制度").id or 0),
                KBSettingsRow(kb_id=catalog.get_kb("手册").id or 0, faq_mode=True),
                MessageRow(conversation_id=conversation.id, role="user", text="年假几天？"),
                IngestJobRow(kb_name="制度", filename="新.pdf", path="/tmp/新.pdf"),
            ]
        )
        s.commit()
    return chunks


def _rows(catalog: Catalog) -> dict[str, list[dict[str, Any]]]:
    with catalog.engine.connect() as conn:
        return {
            t.name: [dict(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns)).mappings()]
            for t in catalog_metadata().sorted_tables
        }


def test_copy_keeps_every_row_and_id_and_the_target_keeps_working(tmp_path: Path, catalog_url: str) -> None:
    source = Catalog(f"sqlite:///{tmp_path / 'old' / 'catalog.db'}")
    chunks = _fill(source)
    counts = copy_catalog(source.url, catalog_url)
    assert counts["kb_chunk"] == len(chunks) and counts["kb_file"] == 6 and counts["knowledge_base"] == 2
    target = Catalog(catalog_url)
    try:
        assert _rows(target) == _rows(source)
        kb = target.get_kb("制度")
        assert kb.id is not None
        found = target.chunks_by_vector_ids(kb.id, [c.vector_id for c in chunks])
        assert {c.text for c in found.values()} == {c.text for c in chunks if c.source.startswith("制度")}
        # new rows get fresh ids after the copied ones (PostgreSQL sequences were moved on)
        new_kb = target.create_kb("新库", "e")
        assert new_kb.id is not None and new_kb.id > max(k.id or 0 for k in source.list_kbs())
        new_file = target.upsert_file(kb.id, "新文件.txt", status="queued")
        assert new_file.id is not None and new_file.id > 6
        with target.session() as s:
            s.add(UserRow(username="王五", password_hash="x"))
            s.commit()
    finally:
        target.close()
        source.close()


def test_a_target_with_rows_is_never_overwritten(tmp_path: Path, catalog_url: str) -> None:
    source_url = f"sqlite:///{tmp_path / 'old.db'}"
    _fill(Catalog(source_url))
    occupied = Catalog(catalog_url)
    occupied.create_kb("已有", "e")
    occupied.close()
    with pytest.raises(KBError, match="not empty"):
        copy_catalog(source_url, catalog_url)
    with pytest.raises(KBError, match="same database"):
        copy_catalog(source_url, source_url)


def test_cli_copies_into_the_configured_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kb_app.cli import app

    source_url = f"sqlite:///{tmp_path / 'old.db'}"
    _fill(Catalog(source_url))
    target_url = f"sqlite:///{tmp_path / 'new.db'}"
    monkeypatch.setenv("KB_DATABASE_URL", target_url)
    result = CliRunner().invoke(app, ["catalog-copy", "--from", source_url])
    assert result.exit_code == 0, result.output
    assert "24 kb_chunk" in result.output
    assert [kb.name for kb in Catalog(target_url).list_kbs()] == sorted(["手册", "制度"])
    again = CliRunner().invoke(app, ["catalog-copy", "--from", source_url])
    assert again.exit_code == 2 and "not empty" in again.output
