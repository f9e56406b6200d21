"""PowerPoint (.pptx) loader: one SourceDocument per slide, its text in reading order."""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kb_app.errors import CorruptDocument, EmptyDocument, EncryptedDocument
from kb_app.ingest.cleaning import remove_control_chars
from kb_app.ingest.loaders.archive import MAX_UNPACKED_BYTES, check_unpacked_size
from kb_app.schema import SourceDocument

# Shapes whose tops differ by less than a quarter inch sit on one visual line: read them left to right.
_SAME_LINE_EMU = 228_600
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_DAMAGED = (zipfile.BadZipFile, zlib.error, KeyError, ValueError, TypeError, EOFError, SyntaxError)
NOTES_LABEL = "备注："


class PptxLoader:
    """Slides as SourceDocuments: page = slide number (1-based), heading_path = (slide title,).

    Shapes are read top to bottom, then left to right; group shapes are opened; a table becomes one
    line per row `列名：值；列名：值` (first row = header, as for Word tables). Speaker notes follow a
    `备注：` line. Slides without any text are skipped; pictures and charts are not read.
    """

    extensions: tuple[str, ...] = (".pptx",)

    def __init__(self, max_unpacked_bytes: int = MAX_UNPACKED_BYTES) -> None:
        self.max_unpacked_bytes = max_unpacked_bytes

    def load(self, path: Path, source: str) -> list[SourceDocument]:
        """Read `path` slide by slide.

        Raises:
            EncryptedDocument: the file is password-protected.
            CorruptDocument: the file is not a readable .pptx package, or a zip bomb.
            EmptyDocument: no slide holds text (for example only pictures).
        """
        presentation = self._open(path, source)
        documents = []
        for number, slide in enumerate(presentation.slides, start=1):
            lines = shape_lines(slide.shapes)
            notes = _notes(slide)
            if notes:
                lines += [NOTES_LABEL, notes]
            if lines:
                title = _title(slide)
                documents.append(
                    SourceDocument(
                        text="\n".join(lines),
                        source=source,
                        page=number,
                        heading_path=(title,) if title else (),
                    )
                )
        if not documents:
            raise EmptyDocument(f"'{source}' holds no text (pictures are not read yet); nothing to index.")
        return documents

    def _open(self, path: Path, source: str) -> Any:
        import pptx
        from pptx.exc import PackageNotFoundError

        from kb_app.ingest.loaders import office_zip_kind

        with path.open("rb") as handle:
            if handle.read(len(_OLE_MAGIC)) == _OLE_MAGIC:
                raise EncryptedDocument(
                    f"'{source}' is password-protected (or an old PowerPoint 97-2003 file); remove the "
                    "password and save it as .pptx, then upload again."
                )
        unreadable = (
            f"'{source}' is not a readable PowerPoint .pptx file; save a fresh copy and upload again."
        )
        if office_zip_kind(path) != ".pptx":
            raise CorruptDocument(unreadable)
        check_unpacked_size(path, source, self.max_unpacked_bytes)
        try:
            return pptx.Presentation(str(path))
        except (PackageNotFoundError, *_DAMAGED) as error:
            raise CorruptDocument(unreadable) from error


def _clean(text: str) -> list[str]:
    # python-pptx returns a line break inside a paragraph as a vertical tab.
    lines = remove_control_chars(text.replace("\v", "\n")).split("\n")
    return [line.strip() for line in lines if line.strip()]


def _reading_order(shapes: Iterable[Any]) -> list[Any]:
    lines: list[list[Any]] = []
    for shape in sorted(shapes, key=lambda s: (s.top or 0, s.left or 0)):
        if lines and (shape.top or 0) - (lines[-1][0].top or 0) < _SAME_LINE_EMU:
            lines[-1].append(shape)
        else:
            lines.append([shape])
    return [shape for line in lines for shape in sorted(line, key=lambda s: s.left or 0)]


def shape_lines(shapes: Iterable[Any]) -> list[str]:
    """The text lines of `shapes` in reading order, group shapes opened, tables rendered by row."""
    from pptx.shapes.group import GroupShape

    lines: list[str] = []
    for shape in _reading_order(shapes):
        if isinstance(shape, GroupShape):
            lines.extend(shape_lines(shape.shapes))
        elif getattr(shape, "has_table", False):
            lines.extend(render_slide_table(shape.table))
        elif shape.has_text_frame:
            lines.extend(_clean(shape.text_frame.text))
    return lines


def render_slide_table(table: Any) -> list[str]:
    """One line per data row, `列名：值；列名：值`; merged cells repeat their value over the merge."""
    grid = [[" ".join(_clean(cell.text)) for cell in row.cells] for row in table.rows]
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            if cell.is_merge_origin:
                for rr in range(r, min(r + cell.span_height, len(grid))):
                    for cc in range(c, min(c + cell.span_width, len(grid[rr]))):
                        grid[rr][cc] = grid[r][c]
    header = grid[0] if len(grid) > 1 and any(grid[0]) else []
    lines = []
    for row in grid[1:] if header else grid:
        names = [*header, *[""] * (len(row) - len(header))]
        pairs = [
            f"{name}：{value}" if name else value for name, value in zip(names, row, strict=False) if value
        ]
        if pairs:
            lines.append("；".join(pairs))
    return lines


def _title(slide: Any) -> str:
    title = slide.shapes.title
    return " ".join(_clean(title.text_frame.text)) if title is not None and title.has_text_frame else ""


def _notes(slide: Any) -> str:
    if not slide.has_notes_slide:
        return ""
    frame = slide.notes_slide.notes_text_frame
    return "\n".join(_clean(frame.text)) if frame is not None else ""
