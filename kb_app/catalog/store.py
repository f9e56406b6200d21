"""Catalog operations. Every write is one transaction; callers order index and catalog writes so that
a crash leaves at worst orphan vectors in the index, which `KnowledgeBase.reconcile` removes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, delete, select

from kb_app.catalog.engine import open_engine
from kb_app.catalog.tables import ChunkRow, FileRow, KnowledgeBaseRow, utcnow
from kb_app.errors import KnowledgeBaseNotFound
from kb_app.schema import Chunk

HEADING_SEPARATOR = " > "


def chunk_from_row(row: ChunkRow, source: str) -> Chunk:
    heading = tuple(row.heading.split(HEADING_SEPARATOR)) if row.heading else ()
    return Chunk(
        chunk_id=row.chunk_id,
        text=row.text,
        source=source,
        page=row.page,
        heading_path=heading,
        ordinal=row.ordinal,
        char_start=row.char_start,
        char_end=row.char_end,
    )


class Catalog:
    """Knowledge bases, their files and chunks."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = open_engine(self.url)  # SQLite or PostgreSQL, migrated to the newest schema
        return self._engine

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def close(self) -> None:
        """Close the pooled connections (reopened on next use)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # -- knowledge bases -------------------------------------------------------------------------
    def get_kb(self, name: str) -> KnowledgeBaseRow:
        with self.session() as s:
            row = s.exec(select(KnowledgeBaseRow).where(KnowledgeBaseRow.name == name)).first()
        if row is None:
            known = ", ".join(r.name for r in self.list_kbs()) or "none yet"
            raise KnowledgeBaseNotFound(
                f"Knowledge base '{name}' does not exist (known: {known}). "
                f"Create it with `kb ingest --kb {name} PATH`."
            )
        return row

    def find_kb(self, name: str) -> KnowledgeBaseRow | None:
        with self.session() as s:
            return s.exec(select(KnowledgeBaseRow).where(KnowledgeBaseRow.name == name)).first()

    def create_kb(self, name: str, embedder_id: str, description: str = "") -> KnowledgeBaseRow:
        with self.session() as s:
            row = KnowledgeBaseRow(name=name, embedder_id=embedder_id, description=description)
            s.add(row)
            s.commit()
            s.refresh(row)
            return row

    def list_kbs(self) -> list[KnowledgeBaseRow]:
        with self.session() as s:
            return list(s.exec(select(KnowledgeBaseRow).order_by(KnowledgeBaseRow.name)))

    def delete_kb(self, kb_id: int) -> None:
        with self.session() as s:
            s.exec(delete(ChunkRow).where(col(ChunkRow.kb_id) == kb_id))
            s.exec(delete(FileRow).where(col(FileRow.kb_id) == kb_id))
            s.exec(delete(KnowledgeBaseRow).where(col(KnowledgeBaseRow.id) == kb_id))
            s.commit()

    def set_threshold(self, kb_id: int, threshold: float | None) -> None:
        with self.session() as s:
            row = s.get(KnowledgeBaseRow, kb_id)
            assert row is not None
            row.threshold = threshold
            s.add(row)
            s.commit()

    # -- files -----------------------------------------------------------------------------------
    def list_files(self, kb_id: int) -> list[FileRow]:
        with self.session() as s:
            return list(s.exec(select(FileRow).where(FileRow.kb_id == kb_id).order_by(FileRow.name)))

    def get_file(self, kb_id: int, name: str) -> FileRow | None:
        with self.session() as s:
            return s.exec(select(FileRow).where(FileRow.kb_id == kb_id, FileRow.name == name)).first()

    def upsert_file(self, kb_id: int, name: str, **fields: Any) -> FileRow:
        """Create or update a file row (status, error, hash, ...) in its own transaction."""
        fields = {**fields, "updated_at": utcnow()}
        with self.session() as s:
            # INSERT .. ON CONFLICT: two processes registering the same new file (API upload and a CLI
            # sync) both succeed on PostgreSQL too, where select-then-insert loses the race
            s.execute(_upsert(s, FileRow(kb_id=kb_id, name=name, **fields), ("kb_id", "name"), fields))
            row = s.exec(select(FileRow).where(FileRow.kb_id == kb_id, FileRow.name == name)).one()
            s.commit()
            return row

    def find_file_by_hash(self, kb_id: int, sha256: str) -> FileRow | None:
        """A done file of this KB with these exact bytes, if any (content dedupe)."""
        with self.session() as s:
            return s.exec(
                select(FileRow).where(
                    FileRow.kb_id == kb_id, FileRow.sha256 == sha256, FileRow.status == "done"
                )
            ).first()

    def vector_ids_of_file(self, file_id: int) -> list[int]:
        with self.session() as s:
            return list(s.exec(select(ChunkRow.vector_id).where(ChunkRow.file_id == file_id)))

    def commit_files(
        self, kb_id: int, done: Sequence[tuple[FileRow, Sequence[Chunk], dict[str, Any]]]
    ) -> None:
        """Replace the chunks of several files and mark them done, in one transaction."""
        with self.session() as s:
            for file_row, chunks, fields in done:
                s.exec(delete(ChunkRow).where(col(ChunkRow.file_id) == file_row.id))
                s.add_all(_chunk_rows(kb_id, file_row, chunks))
                row = s.get(FileRow, file_row.id)
                assert row is not None
                for key, value in {**fields, "status": "done", "error": None, "chunks": len(chunks)}.items():
                    setattr(row, key, value)
                row.updated_at = utcnow()
                s.add(row)
            self._bump_generation(s, kb_id)
            s.commit()

    def delete_files(self, kb_id: int, file_ids: Iterable[int]) -> None:
        ids = list(file_ids)
        with self.session() as s:
            s.exec(delete(ChunkRow).where(col(ChunkRow.file_id).in_(ids)))
            s.exec(delete(FileRow).where(col(FileRow.id).in_(ids)))
            self._bump_generation(s, kb_id)
            s.commit()

    # -- chunks ----------------------------------------------------------------------------------
    def chunks_by_vector_ids(self, kb_id: int, vector_ids: Sequence[int]) -> dict[int, Chunk]:
        if not vector_ids:
            return {}
        with self.session() as s:
            rows = s.exec(
                select(ChunkRow, FileRow.name)
                .join(FileRow, col(FileRow.id) == col(ChunkRow.file_id))
                .where(
                    ChunkRow.kb_id == kb_id,
                    col(ChunkRow.vector_id).in_([int(v) for v in vector_ids]),  # numpy ints cannot bind
                    ChunkRow.enabled,
                )
            ).all()
        return {row.vector_id: chunk_from_row(row, name) for row, name in rows}

    def chunk_texts(self, kb_id: int) -> tuple[list[int], list[str]]:
        """Vector ids and texts of all enabled chunks, in a stable order."""
        with self.session() as s:
            rows = s.exec(
                select(ChunkRow.vector_id, ChunkRow.text)
                .where(ChunkRow.kb_id == kb_id, ChunkRow.enabled)
                .order_by(col(ChunkRow.vector_id))
            ).all()
        return [r[0] for r in rows], [r[1] for r in rows]

    def chunk_sources(self, kb_id: int) -> dict[int, tuple[str, str]]:
        """vector id -> (file name, chunk text) for every enabled chunk (evaluation and diagnostics)."""
        with self.session() as s:
            rows = s.exec(
                select(ChunkRow.vector_id, FileRow.name, ChunkRow.text)
                .join(FileRow, col(FileRow.id) == col(ChunkRow.file_id))
                .where(ChunkRow.kb_id == kb_id, ChunkRow.enabled)
            ).all()
        return {r[0]: (r[1], r[2]) for r in rows}

    def file_chunks(self, kb_id: int, file_id: int) -> list[Chunk]:
        with self.session() as s:
            name = s.get(FileRow, file_id)
            rows = s.exec(
                select(ChunkRow).where(ChunkRow.file_id == file_id).order_by(col(ChunkRow.ordinal))
            ).all()
        return [chunk_from_row(r, name.name if name else "") for r in rows]

    def generation(self, kb_id: int) -> int:
        with self.session() as s:
            row = s.get(KnowledgeBaseRow, kb_id)
            return row.generation if row else 0

    @staticmethod
    def _bump_generation(s: Session, kb_id: int) -> None:
        row = s.get(KnowledgeBaseRow, kb_id)
        if row is not None:
            row.generation += 1
            s.add(row)

    # -- curation (kb_app.curation) ---------------------------------------------------------------
    def rename_kb(self, kb_id: int, new_name: str) -> None:
        """Rename a KB and its ingest jobs in one transaction; the generation bump makes cached copies
        of the KB (in this and other processes) look it up again."""
        from sqlalchemy import update

        from kb_app.catalog.tables import IngestJobRow

        with self.session() as s:
            row = s.get(KnowledgeBaseRow, kb_id)
            assert row is not None
            jobs = update(IngestJobRow).where(col(IngestJobRow.kb_name) == row.name)
            s.exec(jobs.values(kb_name=new_name))
            row.name = new_name
            s.add(row)
            self._bump_generation(s, kb_id)
            s.commit()

    def chunk_row(self, kb_id: int, chunk_id: str) -> tuple[ChunkRow, str] | None:
        """A chunk of this KB (enabled or not) and its file's name, or None."""
        with self.session() as s:
            found = s.exec(
                select(ChunkRow, FileRow.name)
                .join(FileRow, col(FileRow.id) == col(ChunkRow.file_id))
                .where(ChunkRow.kb_id == kb_id, ChunkRow.chunk_id == chunk_id)
            ).first()
        return (found[0], found[1]) if found else None

    def update_chunk(self, kb_id: int, chunk_id: str, **fields: Any) -> None:
        """Change a chunk's text or `enabled`; the generation bump makes the BM25 index rebuild."""
        with self.session() as s:
            row = s.get(ChunkRow, chunk_id)
            assert row is not None and row.kb_id == kb_id
            for key, value in fields.items():
                setattr(row, key, value)
            s.add(row)
            self._bump_generation(s, kb_id)
            s.commit()

    def kb_counts(self) -> dict[int, dict[str, int]]:
        """Per KB id: its number of files, chunks and disabled chunks (KBs without files are absent)."""
        from sqlalchemy import func

        counts: dict[int, dict[str, int]] = {}
        with self.session() as s:
            queries = {
                "files": select(FileRow.kb_id, func.count()).group_by(col(FileRow.kb_id)),
                "chunks": select(ChunkRow.kb_id, func.count()).group_by(col(ChunkRow.kb_id)),
                "disabled_chunks": select(ChunkRow.kb_id, func.count())
                .where(col(ChunkRow.enabled).is_(False))
                .group_by(col(ChunkRow.kb_id)),
            }
            for key, query in queries.items():
                for kb_id, count in s.exec(query).all():
                    counts.setdefault(kb_id, dict.fromkeys(queries, 0))[key] = count
        return counts


def _upsert(s: Session, row: SQLModel, keys: tuple[str, ...], update: dict[str, Any]) -> Any:
    """INSERT `row`, or UPDATE the columns in `update` of the row with the same `keys`."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert: Any = postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
    values = row.model_dump(exclude={"id"})  # model defaults (status, sizes, ...) are not column defaults
    return insert(type(row)).values(values).on_conflict_do_update(index_elements=list(keys), set_=update)


def _chunk_rows(kb_id: int, file_row: FileRow, chunks: Sequence[Chunk]) -> list[ChunkRow]:
    assert file_row.id is not None
    return [
        ChunkRow(
            chunk_id=c.chunk_id,
            kb_id=kb_id,
            file_id=file_row.id,
            vector_id=c.vector_id,
            ordinal=c.ordinal,
            text=c.text,
            page=c.page,
            heading=HEADING_SEPARATOR.join(c.heading_path),
            char_start=c.char_start,
            char_end=c.char_end,
        )
        for c in chunks
    ]
