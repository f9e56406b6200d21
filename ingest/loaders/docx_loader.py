"""Word (.docx) loader: paragraphs and tables in body order, one SourceDocument per heading section."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kb_app.errors import CorruptDocument, EmptyDocument, EncryptedDocument
from kb_app.ingest.cleaning import remove_control_chars
from kb_app.ingest.loaders.archive import MAX_UNPACKED_BYTES, check_unpacked_size
from kb_app.schema import SourceDocument

_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)
_TOC_STYLE = re.compile(r"^(?:toc|目录)\b", re.IGNORECASE)
# Password-protected Office files are OLE compound files, not zip packages.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


class DocxLoader:
    """Headings (styles "Heading N"/"标题 N", "Title", or an outline level) build heading_path.

    Each table row becomes one line `列名：值；列名：值` with the first row as header, so that a row
    can be understood on its own in a retrieved chunk.
    """

    def __init__(self, max_unpacked_bytes: int = MAX_UNPACKED_BYTES) -> None:
        self.max_unpacked_bytes = max_unpacked_bytes

    extensions: tuple[str, ...] = (".docx",)

    def load(self, path: Path, source: str) -> list[SourceDocument]:
        """Read `path` section by section.

        Raises:
            EncryptedDocument: the file is password-protected.
            CorruptDocument: the file is not a readable .docx package.
            EmptyDocument: the document holds no text (for example only images).
        """
        if zipfile.is_zipfile(path):  # not a zip: _open explains (encrypted, or not a .docx at all)
            check_unpacked_size(path, source, self.max_unpacked_bytes)
        sections = _sections(_open(path, source))
        documents = [
            SourceDocument(text="\n".join(lines), source=source, heading_path=headings)
            for headings, lines in sections
            if len(lines) > (1 if headings else 0)  # a heading with nothing under it is not a section
        ]
        if not documents:
            raise EmptyDocument(f"'{source}' holds no text (images are not read yet); nothing to index.")
        return documents


def _sections(document: Any) -> list[tuple[tuple[str, ...], list[str]]]:
    """(heading path, lines) per section; a section's first line is its own heading."""
    sections: list[tuple[tuple[str, ...], list[str]]] = [((), [])]
    stack: list[tuple[int, str]] = []
    for block in _iter_blocks(document.element.body, document):
        if block.__class__.__name__ == "Table":
            sections[-1][1].extend(render_table(block))
            continue
        text = remove_control_chars(block.text).strip()
        level = _heading_level(block)
        if not text or _TOC_STYLE.match(_style_name(block)):
            continue
        if level is None:
            sections[-1][1].append(text)
            continue
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, " ".join(text.split())))  # numbered headings hold tabs: "1.2\tTables"
        sections.append((tuple(title for _, title in stack), [stack[-1][1]]))
    return sections


def _open(path: Path, source: str) -> Any:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    with path.open("rb") as handle:
        if handle.read(len(_OLE_MAGIC)) == _OLE_MAGIC:
            raise EncryptedDocument(
                f"'{source}' is password-protected (or an old Word 97-2003 file); remove the password "
                "and save it as .docx, then upload again."
            )
    unreadable = f"'{source}' is not a readable Word .docx file; save a fresh copy in Word and upload again."
    try:
        with zipfile.ZipFile(path) as package:
            if "word/document.xml" not in package.namelist():
                raise CorruptDocument(unreadable)
        return docx.Document(str(path))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError, SyntaxError) as error:
        # lxml's XMLSyntaxError is a SyntaxError subclass.
        raise CorruptDocument(unreadable) from error


def _iter_blocks(parent: Any, document: Any) -> Iterator[Any]:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in parent.iterchildren():
        if child.tag == f"{_W}p":
            yield Paragraph(child, document)
        elif child.tag == f"{_W}tbl":
            yield Table(child, document)
        elif child.tag == f"{_W}sdt" and not _is_table_of_contents(child):
            for content in child.iterchildren(f"{_W}sdtContent"):  # a content control's blocks
                yield from _iter_blocks(content, document)


def _is_table_of_contents(sdt: Any) -> bool:
    # A generated TOC repeats every heading with page numbers: noise for retrieval.
    gallery = sdt.xpath("./w:sdtPr/w:docPartObj/w:docPartGallery/@w:val", namespaces={"w": _W[1:-1]})
    return bool(gallery) and str(gallery[0]).lower() == "table of contents"


def _heading_level(paragraph: Any) -> int | None:
    style, name = paragraph.style, _style_name(paragraph)
    if name.lower() == "title":
        return 0
    match = _HEADING_STYLE.match(name)
    if match:
        return int(match.group(1))
    levels = paragraph._p.xpath("./w:pPr/w:outlineLvl/@w:val")
    if not levels and style is not None:
        levels = style.element.xpath("./w:pPr/w:outlineLvl/@w:val")
    if levels and str(levels[0]).isdigit() and int(levels[0]) < 9:  # 9 means body text
        return int(levels[0]) + 1
    return None


def _style_name(paragraph: Any) -> str:
    style = paragraph.style
    return str(style.name) if style is not None and style.name else ""


def _cell_text(cell: Any) -> str:
    return " ".join(remove_control_chars(cell.text).split())


def _row_cells(row: Any) -> list[tuple[int, str]]:
    """(grid column, text) per cell; a horizontally merged cell counts once, at its first column."""
    cells = list(row.cells)
    return [(i, _cell_text(c)) for i, c in enumerate(cells) if i == 0 or c._tc is not cells[i - 1]._tc]


def _plain(rows: list[list[tuple[int, str]]]) -> list[str]:
    lines = ("；".join(text for _, text in row if text) for row in rows)
    return [line for line in lines if line]


def render_table(table: Any) -> list[str]:
    """Render a table as one line per data row: `列名：值；列名：值` (first row = header).

    Vertically merged cells repeat their value in every row they span, so each line stands alone.
    A first row merged across the whole table is a caption, not a header.
    """
    rows = [_row_cells(row) for row in table.rows]
    if len(rows) > 1 and len(rows[0]) == 1:
        return _plain(rows)
    # Not de-duplicated: a merged header cell names every column under it.
    header = dict(enumerate(_cell_text(cell) for cell in table.rows[0].cells)) if rows else {}
    if len(rows) <= 1 or not any(header.values()):
        return _plain(rows)
    lines = []
    for row in rows[1:]:
        pairs = [f"{header[col]}：{text}" if header.get(col) else text for col, text in row if text]
        if pairs:
            lines.append("；".join(pairs))
    return lines
