"""Ruled tables in a PDF text layer, read as rows that each carry the table's column names.

pdfplumber's table finder (MIT) works on the page's ruling lines. Its own page parsing (pdfminer) costs
0.1-0.45 s a page, 3-10x the rest of our loader, so the ruling lines come from pypdfium2's path objects
and the cell text from pypdfium2's text page; pdfplumber only does the geometry.
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from kb_app.ingest.cleaning import join_cjk_line_breaks, remove_control_chars
from kb_app.ingest.loaders.tabular import ROW_GROUP_CHARS, group_rows, header_names, render_record
from kb_app.schema import SourceDocument

Box = tuple[float, float, float, float]  # left, bottom, right, top in PDF points, y upwards

# Fewer path objects cannot rule a table of 2x2 cells; prose pages have none (measured: 0 on every
# page of the government report, 33 and more on the rating tables).
_MIN_PATHS = 4
# Zebra-striped tables (shaded rows, no rules) give vertical edges only on every other row; joining
# edges across one unshaded row (16 pt in the broker report) reads them as one table.
_TABLE_SETTINGS = {"join_y_tolerance": 18}
_THIN = 2.0  # a rectangle thinner than this is a drawn line
_MAX_HEADER_CHARS = 30
_VALUE = re.compile(r"^[-+]?[\d,.]+%?$")
_YEAR = re.compile(r"^(?:19|20)\d\d")


@dataclass(frozen=True)
class PageTable:
    """A table found on a page: its box, an optional caption row, and its rows, header first."""

    box: Box
    rows: list[list[str]]
    caption: str = ""


class _Ruling:
    """The little of a pdfplumber Page that its TableFinder reads with the "lines" strategy."""

    def __init__(self, edges: list[dict[str, Any]], width: float, height: float) -> None:
        self.edges = edges
        self.bbox = (0.0, 0.0, width, height)


def find_tables(page: Any, textpage: Any) -> list[PageTable]:
    """Tables of at least 2 rows and 2 non-empty columns on a pypdfium2 page, top to bottom."""
    from pdfplumber.table import TableFinder

    paths = list(_paths(page))
    if len(paths) < _MIN_PATHS:
        return []
    width, height = page.get_size()
    edges = [edge for path, chain in paths for edge in _path_edges(path, chain, height)]
    tables = []
    for table in TableFinder(_Ruling(edges, width, height), _TABLE_SETTINGS).tables:  # type: ignore[arg-type]
        if len(table.rows) < 2 or len(table.rows[0].cells) < 2:
            continue  # a shaded box or one row: not worth reading its cells
        rows = [[_cell_text(textpage, cell, height) for cell in row.cells] for row in table.rows]
        found = _shape(rows, [list(row.cells) for row in table.rows])
        if found is not None:
            x0, top, x1, bottom = table.bbox
            tables.append(PageTable((x0, height - bottom, x1, height - top), *found))
    return tables


def _matrix(raw: Any) -> Any:
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    matrix = pdfium_c.FS_MATRIX()
    pdfium_c.FPDFPageObj_GetMatrix(raw, matrix)
    return pypdfium2.PdfMatrix.from_raw(matrix)


def _paths(page: Any) -> Iterator[tuple[Any, list[Any]]]:
    """Raw path objects with the matrices from their form's space to the page's, innermost first.

    Raw calls, because wrapping each of a page's thousands of text objects doubled the loader's time.
    """
    import pypdfium2.raw as pdfium_c

    stack: list[tuple[Any, bool, list[Any]]] = [(page.raw, False, [])]
    while stack:
        parent, is_form, chain = stack.pop()
        count, get = (
            (pdfium_c.FPDFFormObj_CountObjects, pdfium_c.FPDFFormObj_GetObject)
            if is_form
            else (pdfium_c.FPDFPage_CountObjects, pdfium_c.FPDFPage_GetObject)
        )
        for index in range(count(parent)):
            raw = get(parent, index)
            kind = pdfium_c.FPDFPageObj_GetType(raw)
            if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
                yield raw, chain
            elif kind == pdfium_c.FPDF_PAGEOBJ_FORM:
                stack.append((raw, True, [_matrix(raw), *chain]))


def _on_page(chain: list[Any], x: float, y: float) -> tuple[float, float]:
    for matrix in chain:
        x, y = matrix.on_point(x, y)
    return x, y


def _path_edges(path: Any, chain: list[Any], height: float) -> Iterator[dict[str, Any]]:
    import pypdfium2.raw as pdfium_c

    chain = [_matrix(path), *chain]
    subpaths: list[list[tuple[float, float]]] = []
    curved: set[int] = set()
    x, y = ctypes.c_float(), ctypes.c_float()
    for index in range(pdfium_c.FPDFPath_CountSegments(path)):
        segment = pdfium_c.FPDFPath_GetPathSegment(path, index)
        kind = pdfium_c.FPDFPathSegment_GetType(segment)
        pdfium_c.FPDFPathSegment_GetPoint(segment, x, y)
        if kind == pdfium_c.FPDF_SEGMENT_MOVETO or not subpaths:
            subpaths.append([])
        if kind == pdfium_c.FPDF_SEGMENT_BEZIERTO:
            curved.add(len(subpaths) - 1)  # a curve (a glyph outline, a logo) rules no table
        subpaths[-1].append(_on_page(chain, x.value, y.value))
    for number, points in enumerate(subpaths):
        if number not in curved and len(points) > 1:
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            yield from _box_edges(min(xs), height - max(ys), max(xs), height - min(ys))


def _box_edges(x0: float, top: float, x1: float, bottom: float) -> list[dict[str, Any]]:
    """pdfplumber edges (y downwards) of a rectangle, or the one edge of a thin one (a drawn line)."""

    def h(y: float) -> dict[str, Any]:
        return {"x0": x0, "x1": x1, "top": y, "bottom": y, "width": x1 - x0, "height": 0, "orientation": "h"}

    def v(x: float) -> dict[str, Any]:
        return {
            "x0": x,
            "x1": x,
            "top": top,
            "bottom": bottom,
            "width": 0,
            "height": bottom - top,
            "orientation": "v",
        }

    if x1 - x0 <= _THIN and bottom - top <= _THIN:
        return []
    if bottom - top <= _THIN:
        return [h((top + bottom) / 2)]
    if x1 - x0 <= _THIN:
        return [v((x0 + x1) / 2)]
    return [h(top), h(bottom), v(x0), v(x1)]


def _cell_text(textpage: Any, cell: Sequence[float] | None, height: float) -> str | None:
    if cell is None:
        return None  # covered by a merged cell
    x0, top, x1, bottom = cell
    # One point inside the rules, so that a neighbour's glyph touching the rule is not read twice.
    text = textpage.get_text_bounded(
        left=x0 + 1, bottom=height - bottom + 1, right=x1 - 1, top=height - top - 1
    )
    text = join_cjk_line_breaks(remove_control_chars(str(text)))
    return " ".join(text.split())


def _shape(rows: list[list[str | None]], cells: list[list[Any]]) -> tuple[list[list[str]], str] | None:
    """Rows with merged cells filled and empty columns dropped, and the caption; None if not a table."""
    filled = [[value or "" for value in row] for row in rows]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None and r > 0 and c < len(cells[r - 1]) and _spans_down(cells, r, c):
                filled[r][c] = filled[r - 1][c]  # a cell merged over rows holds for each of them
    caption = ""
    if len(filled) > 2 and sum(1 for value in filled[0] if value) == 1:
        caption, filled = next(value for value in filled[0] if value), filled[1:]
    columns = [c for c in range(len(filled[0])) if any(row[c] for row in filled if c < len(row))]
    filled = [[row[c] if c < len(row) else "" for c in columns] for row in filled]
    filled = [row for row in filled if any(row)]
    if len(filled) < 2 or len(columns) < 2 or any(len(name) > _MAX_HEADER_CHARS for name in filled[0]):
        return None  # a form (a shipping order) ruled as boxes has long labels, not column names
    return filled, caption


def _spans_down(cells: list[list[Any]], r: int, c: int) -> bool:
    """Whether the cell above row r, column c, is a merged cell that reaches down into row r."""
    for above in range(r - 1, -1, -1):
        box = cells[above][c] if c < len(cells[above]) else None
        if box is not None:
            row_top = next(cell[1] for cell in cells[r] if cell is not None)
            return bool(box[3] > row_top)
    return False


def _looks_like_data(row: Sequence[str]) -> bool:
    """A first row mostly of numbers (not years) continues a table whose header is on an earlier page."""
    values = [value for value in row[1:] if value]
    numbers = sum(1 for value in values if _VALUE.match(value) and not _YEAR.match(value))
    return bool(values) and numbers * 2 > len(values)


def table_documents(
    tables: Sequence[PageTable], source: str, page: int, group_chars: int = ROW_GROUP_CHARS
) -> list[SourceDocument]:
    """Atomic documents of whole rows, each row rendered `列名：值；…` with the table's column names."""
    documents = []
    for number, table in enumerate(tables, start=1):
        rows = table.rows
        header = [f"列{i + 1}" for i in range(len(rows[0]))] if _looks_like_data(rows[0]) else rows[0]
        body = rows if header is not rows[0] else rows[1:]
        names = header_names(header)
        base = {"table": True, "table_number": number}
        heading = (table.caption,) if table.caption else ()
        records = ((i, render_record(names, row)) for i, row in enumerate(body, start=1))
        for first, last, text, atomic in group_rows(records, group_chars):
            metadata = {**base, "first_row": first, "last_row": last, "atomic": atomic}
            documents.append(
                SourceDocument(text=text, source=source, page=page, heading_path=heading, metadata=metadata)
            )
    return documents


def text_outside(textpage: Any, boxes: Sequence[Box]) -> str:
    """The page's text without the characters inside `boxes` (generated line breaks are kept)."""
    import pypdfium2.raw as pdfium_c

    kept = []
    for index in range(textpage.count_chars()):
        char = chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, index))
        if char not in "\r\n":
            left, bottom, right, top = textpage.get_charbox(index)
            x, y = (left + right) / 2, (bottom + top) / 2
            if any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes):
                continue
        kept.append(char)
    # PDFium hands out UTF-16 units: rejoin the surrogate pairs of characters beyond the BMP.
    return "".join(kept).encode("utf-16", "surrogatepass").decode("utf-16")
